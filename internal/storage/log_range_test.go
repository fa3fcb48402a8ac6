package storage

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// TestReadRangeMatchesReadAppend: a range covers exactly the bytes
// ReadAppend returns, for any offset and limits.
func TestReadRangeMatchesReadAppend(t *testing.T) {
	t.Run("small", func(t *testing.T) { testReadRange(t, testCfg(), 200, 6000) })
	cfg := testCfg()
	cfg.SegmentBytes = 256 << 10
	t.Run("mixed", func(t *testing.T) { testReadRange(t, cfg, 3000, 64<<10) })
}

func testReadRange(t *testing.T, cfg Config, maxValue, maxFetch int) {
	e := newEnv(t, cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 120 {
		v := 10 + rng.IntN(maxValue)
		if rng.IntN(3) == 0 {
			v = 10 + rng.IntN(100)
		}
		e.append(spec{n: 1 + i%5, value: v})
	}
	leo := e.log.LogEndOffset()
	for range 3000 {
		off := rng.Int64N(leo + 1)
		maxBytes := rng.IntN(maxFetch)
		maxOffset := off + rng.Int64N(leo-off+2)
		minOne := rng.IntN(2) == 0
		want, err := e.log.ReadAppend(nil, off, maxBytes, maxOffset, minOne)
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.log.ReadRange(off, maxBytes, maxOffset, minOne)
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			if len(want) != 0 {
				t.Fatalf("ReadRange(%d, %d, %d, %v) = nil, ReadAppend %d bytes", off, maxBytes, maxOffset, minOne, len(want))
			}
			continue
		}
		// ReadAt in two pieces split anywhere gives the same bytes, and a
		// read running past the end returns what is there and io.EOF.
		split := rng.Int64N(r.Len() + 1)
		viaReadAt := make([]byte, r.Len())
		if n, err := r.ReadAt(viaReadAt[:split], 0); err != nil || int64(n) != split {
			t.Fatalf("ReadAt(0..%d): %d, %v", split, n, err)
		}
		if n, err := r.ReadAt(viaReadAt[split:], split); err != nil || int64(n) != r.Len()-split {
			t.Fatalf("ReadAt(%d..): %d, %v", split, n, err)
		}
		if !bytes.Equal(viaReadAt, want) {
			t.Fatalf("ReadAt bytes differ from ReadAppend at offset %d", off)
		}
		if n, err := r.ReadAt(make([]byte, 10), r.Len()-3); err != io.EOF || n != 3 {
			t.Fatalf("ReadAt past the end: %d, %v; want 3, io.EOF", n, err)
		}
		got, err := r.AppendTo([]byte("x"))
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[1:], want) {
			t.Fatalf("ReadRange(%d, %d, %d, %v): %d bytes, ReadAppend %d", off, maxBytes, maxOffset, minOne, len(got)-1, len(want))
		}
	}
	if _, err := e.log.ReadRange(leo+1, 100, leo+10, true); err == nil {
		t.Fatal("no error past the log end")
	}
}

// TestReadRangeOutlivesDeletedSegment: a range taken before retention
// deletes (closes and removes) its segment still reads the same bytes.
func TestReadRangeOutlivesDeletedSegment(t *testing.T) {
	e := newEnv(t, testCfg()) // file.delete.delay.ms 0: removed at once
	for range 20 {
		e.append(spec{n: 3, value: 300})
	}
	want, err := e.log.Read(0, 1<<20, 1<<62, true)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.log.ReadRange(0, 1<<20, 1<<62, true)
	if err != nil || r == nil {
		t.Fatal(r, err)
	}
	defer r.Close()
	if _, err := e.log.DeleteRecordsBefore(e.log.LogEndOffset() - 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fileName(e.log.Dir(), 0, logSuffix)); !os.IsNotExist(err) {
		t.Fatalf("segment 0 still there: %v", err)
	}
	got, err := r.AppendTo(nil)
	if err != nil || !bytes.Equal(got, want) || !r.Unchanged() {
		t.Fatalf("after delete: %d bytes (want %d), %v, unchanged %v", len(got), len(want), err, r.Unchanged())
	}
}

// TestReadRangeSeesTruncation: truncating the segment marks its ranges
// changed, so a writer that sent them knows the bytes may be wrong.
func TestReadRangeSeesTruncation(t *testing.T) {
	e := newEnv(t, testCfg())
	for range 4 {
		e.append(spec{n: 2})
	}
	r, err := e.log.ReadRange(0, 1<<20, 1<<62, true)
	if err != nil || r == nil {
		t.Fatal(r, err)
	}
	defer r.Close()
	if !r.Unchanged() {
		t.Fatal("changed before truncation")
	}
	if err := e.log.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if r.Unchanged() {
		t.Fatal("unchanged after truncation")
	}
	if _, err := r.AppendTo(nil); err == nil {
		t.Fatal("AppendTo of a truncated range did not fail")
	}
}
