package storage

import (
	"os"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// FuzzRecover writes arbitrary bytes as the tail of the active segment after
// an unclean stop. Invariant: open never panics or fails, and the recovered
// log holds only CRC-valid batches with increasing offsets, keeps every batch
// written before the tail, and accepts an append at its log end offset.
func FuzzRecover(f *testing.F) {
	good := makeBatch(spec{n: 3})
	record.Header(good).SetBaseOffset(6)
	f.Add([]byte{})
	f.Add(good)
	f.Add(good[:40])
	f.Add(append(append([]byte{}, good...), good[:70]...))
	f.Add(make([]byte, 200))
	f.Fuzz(func(t *testing.T, tail []byte) {
		cfg := testCfg()
		e := newEnv(t, cfg)
		for i := 0; i < 2; i++ {
			e.append(spec{n: 3})
		}
		path := e.log.active().logPath()
		e.crash(func() {
			fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			fh.Write(tail)
			fh.Close()
		})
		if e.log.LogEndOffset() < 6 {
			t.Fatalf("lost good data: end %d", e.log.LogEndOffset())
		}
		got := readAll(t, e.log, 0) // checks CRCs and contiguity
		prev := int64(-1)
		for _, g := range got {
			if g[0] <= prev || g[1] < g[0] {
				t.Fatalf("offsets not monotonic: %v", got)
			}
			prev = g[1]
		}
		end := e.log.LogEndOffset()
		if info := e.append(spec{n: 1}); info.FirstOffset != end {
			t.Fatalf("append at %d, want %d", info.FirstOffset, end)
		}
	})
}

// BenchmarkAppend appends 16 KiB batches (one record each) to a log with
// default settings: no fsync per append.
func BenchmarkAppend(b *testing.B) {
	e := newEnv(b, DefaultConfig())
	batch := makeBatch(spec{n: 1, value: 16<<10 - record.HeaderSize - 11})
	if len(batch) != 16<<10 {
		b.Fatalf("batch is %d bytes", len(batch))
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.log.AppendAsLeader(batch, 0, -1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendIdempotent adds the producer state check.
func BenchmarkAppendIdempotent(b *testing.B) {
	e := newEnv(b, DefaultConfig())
	batch := makeBatch(spec{n: 1, value: 16<<10 - record.HeaderSize - 10, idem: true, pid: 1})
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		record.Header(batch).SetBaseOffset(0)
		// Sequence numbers advance by one record per batch.
		seq := int32(i)
		batch[53], batch[54], batch[55], batch[56] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
		if _, err := e.log.AppendAsLeader(batch, 0, -1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads 1 MiB from the middle of a log.
func BenchmarkRead(b *testing.B) {
	e := newEnv(b, DefaultConfig())
	batch := makeBatch(spec{n: 1, value: 4000})
	for i := 0; i < 5000; i++ {
		e.log.AppendAsLeader(batch, 0, -1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.log.Read(int64(i%4000), 1<<20, 1<<62, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPwriteBaseline is the bare write syscall BenchmarkAppend pays
// for, to tell storage's CPU cost from the kernel's.
func BenchmarkPwriteBaseline(b *testing.B) {
	f, err := os.Create(b.TempDir() + "/x")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var pos int64
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(buf, pos); err != nil {
			b.Fatal(err)
		}
		pos += int64(len(buf))
	}
}
