package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

func TestAppendReadAcrossRolls(t *testing.T) {
	e := newEnv(t, testCfg())
	const batches = 300
	for i := 0; i < batches; i++ {
		info := e.append(spec{n: 3, ts: 1000 + int64(i), value: 50})
		if info.FirstOffset != int64(3*i) || info.LastOffset != int64(3*i+2) {
			t.Fatalf("batch %d got offsets [%d, %d]", i, info.FirstOffset, info.LastOffset)
		}
		if info.LogAppendTime != -1 || info.Duplicate || info.MaxTimestamp != 1000+int64(i)+2 {
			t.Fatalf("batch %d info %+v", i, info)
		}
	}
	if e.log.LogEndOffset() != 3*batches {
		t.Fatalf("log end %d", e.log.LogEndOffset())
	}
	if n := e.log.NumSegments(); n < 10 {
		t.Fatalf("only %d segments", n)
	}
	check := func() {
		t.Helper()
		got := readAll(t, e.log, 0)
		if len(got) != batches {
			t.Fatalf("read %d batches", len(got))
		}
		for i, g := range got {
			if g != [2]int64{int64(3 * i), int64(3*i + 2)} {
				t.Fatalf("batch %d = %v", i, g)
			}
		}
		// Reading from every offset starts with the batch that holds it.
		for off := int64(0); off < 3*batches; off += 7 {
			b, err := e.log.Read(off, 1, 1<<62, true)
			if err != nil {
				t.Fatal(err)
			}
			h := record.Header(b)
			if h.BaseOffset() != off/3*3 || len(b) != h.Size() {
				t.Fatalf("read %d got batch %d (%d bytes)", off, h.BaseOffset(), len(b))
			}
		}
	}
	check()
	sizeBefore, segsBefore := e.log.Size(), e.log.NumSegments()
	e.reopen()
	if e.log.LogEndOffset() != 3*batches || e.log.Size() != sizeBefore || e.log.NumSegments() != segsBefore {
		t.Fatalf("after reopen: end %d size %d segs %d", e.log.LogEndOffset(), e.log.Size(), e.log.NumSegments())
	}
	check()
	if info := e.append(spec{n: 2}); info.FirstOffset != 3*batches {
		t.Fatalf("append after reopen at %d", info.FirstOffset)
	}
	// Segment files are named by base offset and inactive indexes are trimmed.
	segs := e.log.segments()
	for _, s := range segs[:len(segs)-1] {
		st, err := os.Stat(fileName(e.log.Dir(), s.base, indexSuffix))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != int64(s.index.entries())*offsetEntrySize {
			t.Fatalf("segment %d index is %d bytes for %d entries", s.base, st.Size(), s.index.entries())
		}
	}
	if _, err := os.Stat(filepath.Join(e.log.Dir(), "00000000000000000000.log")); err != nil {
		t.Fatal(err)
	}
}

func TestReadLimits(t *testing.T) {
	e := newEnv(t, DefaultConfig())
	var sizes []int
	for i := 0; i < 10; i++ { // batch i holds offsets [2i, 2i+1]
		b := makeBatch(spec{n: 2, value: 100})
		sizes = append(sizes, len(b))
		if _, err := e.log.AppendAsLeader(b, 0, -1); err != nil {
			t.Fatal(err)
		}
	}
	bs := sizes[0]
	count := func(b []byte) (n int, first, last int64) {
		first = -1
		for len(b) > 0 {
			h, rest, err := record.Next(b)
			if err != nil {
				t.Fatal(err)
			}
			if first < 0 {
				first = h.BaseOffset()
			}
			last = h.LastOffset()
			n++
			b = rest
		}
		return n, first, last
	}
	for _, tc := range []struct {
		name        string
		offset      int64
		maxBytes    int
		maxOffset   int64
		minOne      bool
		batches     int
		first, last int64
		wantErr     error
	}{
		{"all", 0, 1 << 20, 1 << 62, false, 10, 0, 19, nil},
		{"mid-batch offset starts at its batch", 5, 1 << 20, 1 << 62, false, 8, 4, 19, nil},
		{"high watermark", 0, 1 << 20, 6, false, 3, 0, 5, nil},
		{"high watermark mid-batch keeps the batch", 0, 1 << 20, 7, false, 4, 0, 7, nil},
		{"maxBytes whole batches", 0, 3*bs + bs/2, 1 << 62, false, 3, 0, 5, nil},
		{"maxBytes below one batch", 0, bs - 1, 1 << 62, false, 0, -1, 0, nil},
		{"minOneBatch overrides maxBytes", 4, 1, 1 << 62, true, 1, 4, 5, nil},
		{"at high watermark", 6, 1 << 20, 6, true, 0, -1, 0, nil},
		{"at log end", 20, 1 << 20, 1 << 62, true, 0, -1, 0, nil},
		{"past log end", 21, 1 << 20, 1 << 62, true, 0, -1, 0, ErrOffsetOutOfRange},
		{"negative", -1, 1 << 20, 1 << 62, true, 0, -1, 0, ErrOffsetOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := e.log.Read(tc.offset, tc.maxBytes, tc.maxOffset, tc.minOne)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			n, first, last := count(b)
			if n != tc.batches || (n > 0 && (first != tc.first || last != tc.last)) {
				t.Fatalf("got %d batches [%d, %d], want %d [%d, %d]", n, first, last, tc.batches, tc.first, tc.last)
			}
		})
	}
}

func TestOffsetForTimestampAndMaxTimestamp(t *testing.T) {
	cfg := testCfg()
	e := newEnv(t, cfg)
	if _, _, _, ok, err := e.log.MaxTimestamp(); ok || err != nil {
		t.Fatalf("empty log: ok=%v err=%v", ok, err)
	}
	// Batch i holds 4 records with timestamps 10i+{0,2,4,6}, except batch 20
	// which holds the maximum out of order.
	for i := 0; i < 40; i++ {
		s := spec{n: 4, ts: 1000 + int64(10*i), tsDeltas: []int64{0, 2, 4, 6}, value: 40}
		if i == 20 {
			s.tsDeltas = []int64{0, 7800, 4, 7800} // 9000
		}
		if _, err := e.log.AppendAsLeader(makeBatch(s), int32(i/10), -1); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ts         int64
		off, found int64
		epoch      int32
		ok         bool
	}{
		{-5, 0, 1000, 0, true},
		{1000, 0, 1000, 0, true},
		{1001, 1, 1002, 0, true},
		{1007, 4, 1010, 0, true},
		{1055, 23, 1056, 0, true},
		{1196, 79, 1196, 1, true},
		{1201, 81, 9000, 2, true}, // batch 20's second record
		{1396, 81, 9000, 2, true}, // the first offset at or after, not the closest timestamp
		{1000 + 390, 81, 9000, 2, true},
		{9000, 81, 9000, 2, true},
		{9001, 0, 0, 0, false},
	} {
		off, ts, ep, ok, err := e.log.OffsetForTimestamp(tc.ts)
		if err != nil || ok != tc.ok || (ok && (off != tc.off || ts != tc.found || ep != tc.epoch)) {
			t.Errorf("OffsetForTimestamp(%d) = %d, %d, %d, %v, %v; want %d, %d, %d, %v", tc.ts, off, ts, ep, ok, err, tc.off, tc.found, tc.epoch, tc.ok)
		}
	}
	ts, off, ep, ok, err := e.log.MaxTimestamp()
	if err != nil || !ok || ts != 9000 || off != 81 || ep != 2 {
		t.Fatalf("MaxTimestamp = %d, %d, %d, %v, %v", ts, off, ep, ok, err)
	}
	e.reopen()
	ts, off, _, ok, err = e.log.MaxTimestamp()
	if err != nil || !ok || ts != 9000 || off != 81 {
		t.Fatalf("MaxTimestamp after reopen = %d, %d, %v, %v", ts, off, ok, err)
	}
	if off, _, _, ok, _ := e.log.OffsetForTimestamp(1055); !ok || off != 23 {
		t.Fatalf("OffsetForTimestamp after reopen = %d %v", off, ok)
	}
}

func TestRetentionByTime(t *testing.T) {
	cfg := testCfg()
	cfg.RetentionMs = 60_000
	e := newEnv(t, cfg)
	now := e.clock.Now().UnixMilli()
	// Old data: 5 segments of timestamps an hour ago.
	for i := 0; i < 5; i++ {
		e.append(spec{n: 1, ts: now - 3_600_000, value: 10})
		if err := e.log.Roll(); err != nil {
			t.Fatal(err)
		}
	}
	// Fresh data in two segments.
	e.append(spec{n: 1, ts: now})
	e.log.Roll()
	e.append(spec{n: 1, ts: now})
	if e.log.NumSegments() != 7 {
		t.Fatalf("%d segments", e.log.NumSegments())
	}
	n, err := e.log.EnforceRetention()
	if err != nil || n != 5 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if e.log.LogStartOffset() != 5 || e.log.NumSegments() != 2 || e.log.LogEndOffset() != 7 {
		t.Fatalf("start %d segs %d end %d", e.log.LogStartOffset(), e.log.NumSegments(), e.log.LogEndOffset())
	}
	if _, err := e.log.Read(4, 100, 1<<62, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	// Everything expires: the active segment is rolled and an empty one stays.
	e.clock.Add(time.Hour)
	n, err = e.log.EnforceRetention()
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if e.log.NumSegments() != 1 || e.log.LogStartOffset() != 7 || e.log.LogEndOffset() != 7 || e.log.Size() != 0 {
		t.Fatalf("segs %d start %d end %d size %d", e.log.NumSegments(), e.log.LogStartOffset(), e.log.LogEndOffset(), e.log.Size())
	}
	if n, _ := e.log.EnforceRetention(); n != 0 {
		t.Fatalf("empty active segment deleted")
	}
	ents, _ := os.ReadDir(e.log.Dir())
	for _, f := range ents {
		if strings.HasSuffix(f.Name(), ".log") && f.Name() != "00000000000000000007.log" {
			t.Fatalf("leftover %s", f.Name())
		}
	}
	e.reopen()
	if e.log.LogStartOffset() != 7 || e.log.LogEndOffset() != 7 {
		t.Fatalf("after reopen start %d end %d", e.log.LogStartOffset(), e.log.LogEndOffset())
	}
	if info := e.append(spec{ts: now}); info.FirstOffset != 7 {
		t.Fatalf("append at %d", info.FirstOffset)
	}
}

func TestRetentionByBytes(t *testing.T) {
	cfg := testCfg()
	e := newEnv(t, cfg)
	for i := 0; i < 10; i++ {
		e.append(spec{n: 1, value: 100})
		e.log.Roll()
	}
	e.append(spec{n: 1, value: 100}) // active, non-empty
	segSize := e.log.segments()[0].size.Load()
	cfg.RetentionBytes = 3 * segSize // Kafka deletes only while the rest stays >= retention.bytes
	e.log.SetConfig(cfg)
	n, err := e.log.EnforceRetention()
	if err != nil || n != 8 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if e.log.Size() != 3*segSize || e.log.LogStartOffset() != 8 {
		t.Fatalf("size %d start %d", e.log.Size(), e.log.LogStartOffset())
	}
	got := readAll(t, e.log, 8)
	if len(got) != 3 || got[0][0] != 8 {
		t.Fatalf("remaining %v", got)
	}
}

func TestDeletedFilesWaitForDelay(t *testing.T) {
	cfg := testCfg()
	cfg.FileDeleteDelayMs = 60_000
	e := newEnv(t, cfg)
	e.append(spec{})
	e.log.Roll()
	e.append(spec{})
	if _, err := e.log.DeleteRecordsBefore(1); err != nil {
		t.Fatal(err)
	}
	deleted := fileName(e.log.Dir(), 0, logSuffix) + deletedSuffix
	if _, err := os.Stat(deleted); err != nil {
		t.Fatalf("renamed file missing: %v", err)
	}
	e.clock.Add(61 * time.Second)
	e.log.EnforceRetention()
	if _, err := os.Stat(deleted); !os.IsNotExist(err) {
		t.Fatalf("deleted file still there: %v", err)
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	e := newEnv(t, testCfg())
	for i := 0; i < 10; i++ {
		e.append(spec{n: 5})
		e.log.Roll()
	}
	if _, err := e.log.DeleteRecordsBefore(51); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past end: %v", err)
	}
	start, err := e.log.DeleteRecordsBefore(23)
	if err != nil || start != 23 {
		t.Fatalf("%d %v", start, err)
	}
	if e.log.LogStartOffset() != 23 || e.log.segments()[0].base != 20 {
		t.Fatalf("start %d first segment %d", e.log.LogStartOffset(), e.log.segments()[0].base)
	}
	if start, _ := e.log.DeleteRecordsBefore(10); start != 23 {
		t.Fatalf("moved back to %d", start)
	}
	// Reading at the start returns the batch containing it.
	b, err := e.log.Read(23, 1000, 1<<62, true)
	if err != nil || record.Header(b).BaseOffset() != 20 {
		t.Fatalf("read: %v", err)
	}
	if _, err := e.log.Read(22, 1000, 1<<62, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	// Persisted before returning: survives a crash too.
	data, err := os.ReadFile(filepath.Join(e.path, logStartCheckpointFile))
	if err != nil || string(data) != "0\n1\norders 3 23\n" {
		t.Fatalf("checkpoint %q %v", data, err)
	}
	e.crash(nil)
	if e.log.LogStartOffset() != 23 || e.log.LogEndOffset() != 50 {
		t.Fatalf("after crash start %d end %d", e.log.LogStartOffset(), e.log.LogEndOffset())
	}
	e.reopen()
	if e.log.LogStartOffset() != 23 {
		t.Fatalf("after reopen start %d", e.log.LogStartOffset())
	}
	// Up to the log end: the log keeps its active segment.
	if s, err := e.log.DeleteRecordsBefore(50); err != nil || s != 50 {
		t.Fatal(s, err)
	}
	if b, err := e.log.Read(50, 100, 1<<62, true); b != nil || err != nil {
		t.Fatalf("read at end: %v %v", b, err)
	}
	if info := e.append(spec{}); info.FirstOffset != 50 || info.LogStartOffset != 50 {
		t.Fatalf("%+v", info)
	}
}

func TestIdempotentProducer(t *testing.T) {
	e := newEnv(t, testCfg())
	p := func(epoch int16, seq int32, n int) spec {
		return spec{idem: true, pid: 42, epoch: epoch, seq: seq, n: n}
	}
	mustAppend := func(s spec) AppendInfo {
		t.Helper()
		info, err := e.log.AppendAsLeader(makeBatch(s), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	e.append(spec{n: 3})        // offsets 0..2, no producer
	a := mustAppend(p(0, 0, 5)) // 3..7
	b := mustAppend(p(0, 5, 5)) // 8..12
	if a.FirstOffset != 3 || b.FirstOffset != 8 {
		t.Fatal(a, b)
	}
	checkDup := func(s spec, want AppendInfo) {
		t.Helper()
		end := e.log.LogEndOffset()
		info, err := e.log.AppendAsLeader(makeBatch(s), 0, -1)
		if err != nil || !info.Duplicate || info.FirstOffset != want.FirstOffset || info.LastOffset != want.LastOffset {
			t.Fatalf("retry: %+v %v, want offsets of %+v", info, err, want)
		}
		if e.log.LogEndOffset() != end {
			t.Fatal("duplicate was written")
		}
	}
	checkDup(p(0, 0, 5), a)
	checkDup(p(0, 5, 5), b)
	if _, err := e.log.AppendAsLeader(makeBatch(p(0, 11, 1)), 0, -1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap: %v", err)
	}
	c := mustAppend(p(0, 10, 1))
	if _, err := e.log.AppendAsLeader(makeBatch(p(1, 3, 1)), 0, -1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("new epoch not at 0: %v", err)
	}
	d := mustAppend(p(1, 0, 2))
	if _, err := e.log.AppendAsLeader(makeBatch(p(0, 11, 1)), 0, -1); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old epoch: %v", err)
	}
	// Wrap at MaxInt32.
	other := spec{idem: true, pid: 7, epoch: 0, seq: 1<<31 - 2, n: 3}
	w := mustAppend(other)
	mustAppend(spec{idem: true, pid: 7, epoch: 0, seq: 1, n: 1})
	checkDup(other, w) // still in the last five
	_ = c
	states := e.log.ProducerStates()
	if len(states) != 2 || states[1].ProducerID != 42 || states[1].ProducerEpoch != 1 || states[1].LastSequence != 1 || states[1].LastOffset != d.LastOffset {
		t.Fatalf("states %+v", states)
	}
	e.reopen() // clean: state comes from the snapshot at the log end
	if _, err := os.Stat(fileName(e.log.Dir(), e.log.LogEndOffset(), snapshotSuffix)); err != nil {
		t.Fatal(err)
	}
	checkDup(p(1, 0, 2), d) // the snapshot keeps each producer's last batch, as Kafka's
	if _, err := e.log.AppendAsLeader(makeBatch(p(1, 5, 1)), 0, -1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap after reopen: %v", err)
	}
	f := mustAppend(p(1, 2, 3))
	// Unclean: the tail after the last snapshot is replayed from batch headers.
	e.crash(nil)
	checkDup(p(1, 2, 3), f)
	checkDup(p(1, 0, 2), d) // older batch from the snapshot window
	if _, err := e.log.AppendAsLeader(makeBatch(p(0, 0, 1)), 0, -1); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old epoch after crash: %v", err)
	}
	g := mustAppend(p(1, 5, 1))
	if g.FirstOffset != f.LastOffset+1 {
		t.Fatalf("offset after crash %d", g.FirstOffset)
	}
	// Even with every snapshot lost, replay from the log start rebuilds it.
	e.crash(func() {
		snaps, _ := filepath.Glob(filepath.Join(e.path, "orders-3", "*.snapshot"))
		for _, s := range snaps {
			os.Remove(s)
		}
	})
	checkDup(p(1, 5, 1), g)
}

func TestProducerExpiration(t *testing.T) {
	e := newEnv(t, testCfg())
	now := e.clock.Now().UnixMilli()
	e.append(spec{idem: true, pid: 1, seq: 0, ts: now})
	e.clock.Add(25 * time.Hour)
	e.log.EnforceRetention()
	if len(e.log.ProducerStates()) != 0 {
		t.Fatal("producer not expired")
	}
	// An expired producer may continue at any sequence.
	if _, err := e.log.AppendAsLeader(makeBatch(spec{idem: true, pid: 1, seq: 100}), 0, -1); err != nil {
		t.Fatal(err)
	}
}

func TestLeaderEpochs(t *testing.T) {
	e := newEnv(t, testCfg())
	for _, ep := range []int32{1, 1, 3, 3, 3, 6} {
		if _, err := e.log.AppendAsLeader(makeBatch(spec{n: 2}), ep, -1); err != nil {
			t.Fatal(err)
		}
	}
	// epoch 1 at 0, 3 at 4, 6 at 10; end 12.
	for _, tc := range []struct {
		epoch     int32
		wantEpoch int32
		wantEnd   int64
	}{{-1, -1, -1}, {0, 0, 0}, {1, 1, 4}, {2, 1, 4}, {3, 3, 10}, {5, 3, 10}, {6, 6, 12}, {7, -1, -1}} {
		ep, end := e.log.EndOffsetForEpoch(tc.epoch)
		if ep != tc.wantEpoch || end != tc.wantEnd {
			t.Errorf("EndOffsetForEpoch(%d) = %d, %d; want %d, %d", tc.epoch, ep, end, tc.wantEpoch, tc.wantEnd)
		}
	}
	if e.log.LatestEpoch() != 6 {
		t.Fatal(e.log.LatestEpoch())
	}
	data, _ := os.ReadFile(filepath.Join(e.log.Dir(), leaderEpochCheckpointFile))
	if string(data) != "0\n3\n1 0\n3 4\n6 10\n" {
		t.Fatalf("%q", data)
	}
	if err := e.log.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if e.log.LogEndOffset() != 4 || e.log.LatestEpoch() != 1 {
		t.Fatalf("end %d epoch %d", e.log.LogEndOffset(), e.log.LatestEpoch())
	}
	e.reopen()
	if e.log.LatestEpoch() != 1 || e.log.LogEndOffset() != 4 {
		t.Fatal(e.log.LatestEpoch(), e.log.LogEndOffset())
	}
	if _, err := e.log.DeleteRecordsBefore(3); err != nil {
		t.Fatal(err)
	}
	if got := e.log.EpochEntries(); len(got) != 1 || got[0] != (EpochEntry{1, 3}) {
		t.Fatalf("%v", got)
	}
}

func TestTruncateAcrossSegments(t *testing.T) {
	e := newEnv(t, testCfg())
	for i := 0; i < 100; i++ {
		e.append(spec{n: 2, value: 60})
	}
	segs := e.log.NumSegments()
	if err := e.log.Truncate(51); err != nil { // inside batch [50, 51]
		t.Fatal(err)
	}
	if e.log.LogEndOffset() != 50 || e.log.NumSegments() >= segs {
		t.Fatalf("end %d segs %d/%d", e.log.LogEndOffset(), e.log.NumSegments(), segs)
	}
	if info := e.append(spec{n: 2}); info.FirstOffset != 50 {
		t.Fatal(info)
	}
	got := readAll(t, e.log, 0)
	if len(got) != 26 || got[25] != [2]int64{50, 51} {
		t.Fatalf("%v", got[len(got)-2:])
	}
	e.crash(nil)
	if len(readAll(t, e.log, 0)) != 26 || e.log.LogEndOffset() != 52 {
		t.Fatal("after crash")
	}
	if err := e.log.Truncate(0); err != nil || e.log.LogEndOffset() != 0 || e.log.Size() != 0 {
		t.Fatal(err)
	}
}

func TestConcurrentReadsAndAppends(t *testing.T) {
	e := newEnv(t, testCfg())
	const n = 2000
	var wg sync.WaitGroup
	done := make(chan struct{})
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				end := e.log.LogEndOffset()
				if end == 0 {
					continue
				}
				off := end / 2
				b, err := e.log.Read(off, 4096, end, true)
				if err != nil {
					t.Error(err)
					return
				}
				h, _, err := record.Next(b)
				if err != nil || !h.ValidCRC() || h.BaseOffset() > off || h.LastOffset() < off {
					t.Errorf("read %d: %v", off, err)
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		if _, err := e.log.AppendAsLeader(makeBatch(spec{n: 1, value: 30}), 0, -1); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			e.log.DeleteRecordsBefore(int64(i / 4))
		}
	}
	close(done)
	wg.Wait()
}

func TestDir(t *testing.T) {
	e := newEnv(t, testCfg())
	e.append(spec{n: 3})
	l2, err := e.dir.OpenLog("my-topic.v2", 11, testCfg(), e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.OpenLog("orders", 3, testCfg(), e.opts()); !errors.Is(err, ErrLogExists) {
		t.Fatal(err)
	}
	l2.AppendAsLeader(makeBatch(spec{}), 0, -1)
	tps, err := e.dir.Partitions()
	if err != nil || len(tps) != 2 || tps[0] != (TopicPartition{"my-topic.v2", 11}) || tps[1] != (TopicPartition{"orders", 3}) {
		t.Fatalf("%v %v", tps, err)
	}
	md, _ := os.ReadFile(filepath.Join(e.log.Dir(), "partition.metadata"))
	if string(md) != "version: 0\ntopic_id: AQIDAAAAAAAAAAAAAAAAAA\n" {
		t.Fatalf("%q", md)
	}
	if id, ok, err := ReadPartitionMetadata(e.log.Dir()); err != nil || !ok || id != [16]byte{1, 2, 3} {
		t.Fatal(id, ok, err)
	}
	if err := e.dir.DeleteLog(l2); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.Close(); err != nil {
		t.Fatal(err)
	}
	rp, _ := os.ReadFile(filepath.Join(e.path, recoveryPointCheckpointFile))
	if string(rp) != "0\n1\norders 3 3\n" {
		t.Fatalf("%q", rp)
	}
	if _, err := os.Stat(filepath.Join(e.path, cleanShutdownFile)); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(e.path)
	for _, f := range ents {
		if strings.Contains(f.Name(), "my-topic") {
			t.Fatalf("deleted partition left %s", f.Name())
		}
	}
	e.open()
	if !e.dir.CleanShutdown() {
		t.Fatal("not clean")
	}
	if _, err := os.Stat(filepath.Join(e.path, cleanShutdownFile)); !os.IsNotExist(err) {
		t.Fatal("marker not consumed")
	}
}

// A leader records its epoch's start before appending (AssignEpochStart);
// if it loses the leadership without appending, truncating to its log end
// as a follower drops that empty epoch, so it no longer announces an epoch
// its new leader never had (which made the follower loop on divergence).
func TestEmptyEpochDroppedByTruncate(t *testing.T) {
	e := newEnv(t, testCfg())
	if _, err := e.log.AppendAsLeader(makeBatch(spec{n: 2}), 2, -1); err != nil {
		t.Fatal(err)
	}
	if err := e.log.AssignEpochStart(3); err != nil {
		t.Fatal(err)
	}
	if e.log.LatestEpoch() != 3 {
		t.Fatalf("latest epoch %d after AssignEpochStart(3)", e.log.LatestEpoch())
	}
	if ep, end := e.log.EndOffsetForEpoch(2); ep != 2 || end != 2 {
		t.Fatalf("EndOffsetForEpoch(2) = %d, %d", ep, end)
	}
	if err := e.log.Truncate(e.log.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	if e.log.LatestEpoch() != 2 || e.log.LogEndOffset() != 2 {
		t.Fatalf("after truncating to the log end: epoch %d end %d", e.log.LatestEpoch(), e.log.LogEndOffset())
	}
	e.reopen()
	if got := e.log.EpochEntries(); len(got) != 1 || got[0] != (EpochEntry{2, 0}) {
		t.Fatalf("epochs after reopen: %v", got)
	}
}
