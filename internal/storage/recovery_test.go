package storage

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// fill appends batches of 2 records until the log has at least segs
// segments, returning the batch count.
func fill(e *env, segs int) int {
	n := 0
	for e.log.NumSegments() < segs {
		e.append(spec{n: 2, value: 70})
		n++
	}
	for i := 0; i < 5; i++ {
		e.append(spec{n: 2, value: 70})
		n++
	}
	return n
}

func lastSegPath(e *env) (string, int64) {
	s := e.log.active()
	return s.logPath(), s.size.Load()
}

func TestRecoveryDamagedTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		// mutate damages the active segment of size size whose last batch
		// starts at lastPos; keptBatches is how many of the n batches survive.
		mutate func(t *testing.T, path string, size, lastPos int64)
		lost   int
	}{
		{"torn mid-batch", func(t *testing.T, path string, size, lastPos int64) {
			must(t, os.Truncate(path, lastPos+30))
		}, 1},
		{"torn mid-header", func(t *testing.T, path string, size, lastPos int64) {
			must(t, os.Truncate(path, lastPos+5))
		}, 1},
		{"flipped byte in last batch", func(t *testing.T, path string, size, lastPos int64) {
			flip(t, path, size-3)
		}, 1},
		{"flipped byte in second to last batch", func(t *testing.T, path string, size, lastPos int64) {
			flip(t, path, lastPos-3)
		}, 2},
		{"garbage appended", func(t *testing.T, path string, size, lastPos int64) {
			appendBytes(t, path, bytes.Repeat([]byte{0xAB}, 100))
		}, 0},
		{"zeros appended (preallocated tail)", func(t *testing.T, path string, size, lastPos int64) {
			appendBytes(t, path, make([]byte, 4096))
		}, 0},
		{"a whole valid batch with a stale offset appended", func(t *testing.T, path string, size, lastPos int64) {
			appendBytes(t, path, makeBatch(spec{n: 2})) // base offset 0: goes backwards
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testCfg())
			n := fill(e, 3)
			path, size := lastSegPath(e)
			b, _ := e.log.Read(e.log.LogEndOffset()-1, 1, 1<<62, true)
			lastPos := size - int64(len(b))
			e.crash(func() { tc.mutate(t, path, size, lastPos) })
			want := n - tc.lost
			if e.log.LogEndOffset() != int64(2*want) {
				t.Fatalf("log end %d, want %d", e.log.LogEndOffset(), 2*want)
			}
			got := readAll(t, e.log, 0)
			if len(got) != want {
				t.Fatalf("%d batches survive, want %d", len(got), want)
			}
			if tc.lost > 0 || strings.Contains(tc.name, "appended") {
				if !strings.Contains(e.logs.String(), "truncating damaged log tail") {
					t.Fatalf("no warning logged:\n%s", e.logs.String())
				}
			}
			if info := e.append(spec{n: 2}); info.FirstOffset != int64(2*want) {
				t.Fatalf("append at %d", info.FirstOffset)
			}
			e.reopen()
			if len(readAll(t, e.log, 0)) != want+1 {
				t.Fatal("after reopen")
			}
		})
	}
}

func TestRecoveryDamageInEarlierSegmentDropsLaterOnes(t *testing.T) {
	e := newEnv(t, testCfg())
	fill(e, 4)
	segs := e.log.segments()
	second := segs[1]
	// The second segment's last batch ends where the third begins.
	path, size := second.logPath(), second.size.Load()
	keepEnd := segs[2].base
	e.crash(func() {
		flip(t, path, size-2)
		// Pretend nothing was flushed.
		os.Remove(e.path + "/" + recoveryPointCheckpointFile)
	})
	if e.log.NumSegments() != 2 || e.log.LogEndOffset() != keepEnd-2 {
		t.Fatalf("segments %d end %d, want 2 and %d", e.log.NumSegments(), e.log.LogEndOffset(), keepEnd-2)
	}
	readAll(t, e.log, 0)
	if info := e.append(spec{n: 2}); info.FirstOffset != keepEnd-2 {
		t.Fatal(info)
	}
	e.reopen()
	if e.log.LogEndOffset() != keepEnd {
		t.Fatal(e.log.LogEndOffset())
	}
}

func TestCleanShutdownSkipsScan(t *testing.T) {
	e := newEnv(t, testCfg())
	n := fill(e, 3)
	// Damage an old segment's data after a clean shutdown: the scan is
	// skipped, so it is not noticed (as in Kafka), but the log still opens.
	first := e.log.segments()[0].logPath()
	must(t, e.dir.Close())
	flip(t, first, 100)
	e.open()
	if e.log.LogEndOffset() != int64(2*n) {
		t.Fatal(e.log.LogEndOffset())
	}
	if strings.Contains(e.logs.String(), "truncating") {
		t.Fatal("scanned despite clean shutdown")
	}
}

func TestIndexRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, e *env, base int64)
	}{
		{"offset index deleted", func(t *testing.T, e *env, base int64) {
			must(t, os.Remove(fileName(e.log.Dir(), base, indexSuffix)))
		}},
		{"time index deleted", func(t *testing.T, e *env, base int64) {
			must(t, os.Remove(fileName(e.log.Dir(), base, timeIndexSuffix)))
		}},
		{"offset index torn", func(t *testing.T, e *env, base int64) {
			p := fileName(e.log.Dir(), base, indexSuffix)
			st, _ := os.Stat(p)
			must(t, os.Truncate(p, st.Size()-3))
		}},
		{"offset index garbage", func(t *testing.T, e *env, base int64) {
			p := fileName(e.log.Dir(), base, indexSuffix)
			st, _ := os.Stat(p)
			must(t, os.WriteFile(p, bytes.Repeat([]byte{0x7f}, int(st.Size())), 0o644))
		}},
		{"offset index zero-filled past its entries", func(t *testing.T, e *env, base int64) {
			appendBytes(t, fileName(e.log.Dir(), base, indexSuffix), make([]byte, 80))
		}},
		{"time index garbage", func(t *testing.T, e *env, base int64) {
			p := fileName(e.log.Dir(), base, timeIndexSuffix)
			st, _ := os.Stat(p)
			must(t, os.WriteFile(p, bytes.Repeat([]byte{0x01}, int(st.Size())), 0o644))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testCfg())
			n := fill(e, 4)
			s := e.log.segments()[1]
			entries := s.index.entries()
			tentries := s.timeIndex.entries()
			if entries == 0 {
				t.Fatal("test segment has no index entries")
			}
			base := s.base
			must(t, e.dir.Close())
			tc.mutate(t, e, base)
			e.open()
			s = e.log.segments()[1]
			if s.index.entries() != entries || s.timeIndex.entries() != tentries {
				t.Fatalf("rebuilt %d/%d entries, want %d/%d", s.index.entries(), s.timeIndex.entries(), entries, tentries)
			}
			if err := s.index.sane(s.size.Load()); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, e.log, 0)
			if len(got) != n {
				t.Fatalf("%d batches, want %d", len(got), n)
			}
			for off := base; off < base+20; off++ {
				b, err := e.log.Read(off, 1, 1<<62, true)
				if err != nil || record.Header(b).BaseOffset() != off/2*2 {
					t.Fatalf("read %d: %v", off, err)
				}
			}
		})
	}
}

func TestIndexLookupTable(t *testing.T) {
	dir := t.TempDir()
	x, _, err := openMmapIndex(dir+"/x.index", 100, offsetEntrySize, 80, true)
	must(t, err)
	defer x.close()
	ix := offsetIndex{x}
	var sc [timeEntrySize]byte
	for _, e := range [][2]int64{{105, 400}, {110, 900}, {150, 4000}} {
		ix.add(e[0], e[1], &sc)
	}
	for _, tc := range []struct{ target, off, pos int64 }{
		{99, 100, 0}, {100, 100, 0}, {104, 100, 0}, {105, 105, 400}, {109, 105, 400},
		{110, 110, 900}, {149, 110, 900}, {150, 150, 4000}, {1 << 40, 150, 4000},
	} {
		o, p := ix.lookup(tc.target)
		if o != tc.off || p != tc.pos {
			t.Errorf("lookup(%d) = %d, %d; want %d, %d", tc.target, o, p, tc.off, tc.pos)
		}
	}
	ix.truncateTo(110)
	if ix.entries() != 1 {
		t.Fatal(ix.entries())
	}
	if ix.full() || ix.maxEntries != 10 {
		t.Fatal(ix.maxEntries)
	}

	y, _, err := openMmapIndex(dir+"/x.timeindex", 100, timeEntrySize, 36, true)
	must(t, err)
	defer y.close()
	ti := timeIndex{y}
	ti.maybeAdd(1000, 103, false, &sc)
	ti.maybeAdd(1000, 104, false, &sc) // not larger: skipped
	ti.maybeAdd(2000, 120, false, &sc)
	ti.maybeAdd(3000, 130, false, &sc) // last slot is reserved
	if ti.entries() != 2 || !ti.fullForAppend() {
		t.Fatal(ti.entries())
	}
	ti.maybeAdd(3000, 130, true, &sc) // roll may use it
	for _, tc := range []struct{ ts, off int64 }{
		{0, 100}, {999, 100}, {1000, 103}, {1999, 103}, {2000, 120}, {2500, 120}, {3000, 130}, {9999, 130},
	} {
		if o := ti.lookup(tc.ts); o != tc.off {
			t.Errorf("time lookup(%d) = %d, want %d", tc.ts, o, tc.off)
		}
	}
	// Trimmed on close and readable at its exact size.
	must(t, y.close())
	st, _ := os.Stat(dir + "/x.timeindex")
	if st.Size() != 36 {
		t.Fatal(st.Size())
	}
}

func TestCheckpointFormat(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/cp"
	m := map[TopicPartition]int64{{"a", 0}: 5, {"b-c", 12}: 9}
	must(t, writeOffsetCheckpoint(p, m))
	data, _ := os.ReadFile(p)
	if string(data) != "0\n2\na 0 5\nb-c 12 9\n" {
		t.Fatalf("%q", data)
	}
	got, err := readOffsetCheckpoint(p)
	if err != nil || len(got) != 2 || got[TopicPartition{"b-c", 12}] != 9 {
		t.Fatal(got, err)
	}
	os.WriteFile(p, []byte("0\n3\na 0 5\n"), 0o644)
	if _, err := readOffsetCheckpoint(p); err == nil {
		t.Fatal("bad count accepted")
	}
	for _, tc := range []struct {
		name string
		ok   bool
		tp   TopicPartition
	}{{"a-0", true, TopicPartition{"a", 0}}, {"my-topic-12", true, TopicPartition{"my-topic", 12}},
		{"a-01", false, TopicPartition{}}, {"a", false, TopicPartition{}}, {"a-0.abc-delete", false, TopicPartition{}}, {"-1", false, TopicPartition{}}} {
		tp, ok := parsePartitionDir(tc.name)
		if ok != tc.ok || tp != tc.tp {
			t.Errorf("%s: %v %v", tc.name, tp, ok)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	p := newProducerStates(t.TempDir())
	h := record.Header(makeBatch(spec{idem: true, pid: 9, epoch: 3, seq: 1<<31 - 2, n: 4}))
	h.SetBaseOffset(77)
	p.update(h)
	must(t, p.writeSnapshot(81))
	q := newProducerStates(p.dir)
	off, err := q.loadLatestSnapshot(100, func(string, error) { t.Fatal("warned") })
	if err != nil || off != 81 {
		t.Fatal(off, err)
	}
	e := q.producers[9]
	m, _ := e.last()
	if e.epoch != 3 || m.firstSeq != 1<<31-2 || m.lastSeq != 1 || m.firstOffset != 77 || m.lastOffset != 80 || e.currentTxnFirstOffset != -1 {
		t.Fatalf("%+v %+v", e, m)
	}
	b := p.encodeSnapshot()
	if len(b) != snapshotHeader+snapshotEntrySize {
		t.Fatal(len(b))
	}
	b[20] ^= 1
	if _, err := decodeSnapshot("x", b); err == nil {
		t.Fatal("bad CRC accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, at)
	must(t, err)
	b[0] ^= 0x55
	_, err = f.WriteAt(b, at)
	must(t, err)
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	defer f.Close()
	_, err = f.Write(b)
	must(t, err)
}
