package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// compactCfg is a small-segment compacted-log config.
func compactCfg() Config {
	c := testCfg()
	c.Compact, c.Delete = true, false
	c.MinCleanableDirtyRatio = 0.5
	c.DeleteRetentionMs = time.Hour.Milliseconds()
	return c
}

// kv is one record to append; a nil value is a tombstone.
type kv struct {
	key   string
	value []byte
	ts    int64 // 0: the clock
}

// rec is one record read back.
type rec struct {
	offset int64
	ts     int64
	key    string
	value  []byte
}

// model tracks what a compacted log must show: the latest record per key.
type model struct {
	latest map[string]rec
}

func newModel() *model { return &model{latest: map[string]rec{}} }

// appendKVs appends one batch with codec and records the offsets.
func (e *env) appendKVs(m *model, codec int8, kvs ...kv) AppendInfo {
	e.t.Helper()
	var b record.Builder
	b.Reset(record.NonIdempotent)
	for _, r := range kvs {
		ts := r.ts
		if ts == 0 {
			ts = e.clock.Now().UnixMilli()
		}
		b.Append(ts, []byte(r.key), r.value, nil)
	}
	h, err := b.Finish(codec, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := e.log.AppendAsLeader(append([]byte(nil), h...), 0, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	if m != nil {
		base := info.FirstOffset
		i := 0
		record.ForEachRecord(h, func(r *record.Record) error {
			m.latest[string(r.Key)] = rec{offset: base + int64(i), ts: h.BaseTimestamp() + r.TimestampDelta, key: string(r.Key), value: bytes.Clone(r.Value)}
			i++
			return nil
		})
	}
	return info
}

// readRecs reads every record from the log start to the end, checking
// CRCs and that offsets strictly increase.
func readRecs(t testing.TB, l *Log) []rec {
	t.Helper()
	var out []rec
	off := l.LogStartOffset()
	last := int64(-1)
	for off < l.LogEndOffset() {
		b, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatalf("read %d: %v", off, err)
		}
		if len(b) == 0 {
			t.Fatalf("read %d: empty before log end %d", off, l.LogEndOffset())
		}
		for len(b) > 0 {
			h, rest, err := record.Next(b)
			if err != nil {
				t.Fatal(err)
			}
			if !h.ValidCRC() {
				t.Fatalf("bad CRC at offset %d", h.BaseOffset())
			}
			if h.BaseOffset() <= last {
				t.Fatalf("batch at %d after offset %d", h.BaseOffset(), last)
			}
			err = record.ForEachRecord(h, func(r *record.Record) error {
				o := h.BaseOffset() + int64(r.OffsetDelta)
				if o <= last || o > h.LastOffset() {
					return fmt.Errorf("record offset %d after %d in batch [%d, %d]", o, last, h.BaseOffset(), h.LastOffset())
				}
				last = o
				out = append(out, rec{offset: o, ts: h.BaseTimestamp() + r.TimestampDelta, key: string(r.Key), value: bytes.Clone(r.Value)})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			last = h.LastOffset()
			off = h.NextOffset()
			b = rest
		}
	}
	return out
}

// checkLatest asserts that reading the log yields, for each key, its latest
// record at its original offset, and that below upTo no key appears twice.
// With dropped tombstones, keys whose latest record is a tombstone may be
// missing altogether.
func checkLatest(t testing.TB, l *Log, m *model, upTo int64, tombstonesGone bool) []rec {
	t.Helper()
	recs := readRecs(t, l)
	final := map[string]rec{}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.offset < upTo {
			if seen[r.key] {
				t.Fatalf("key %q appears twice below %d (offset %d)", r.key, upTo, r.offset)
			}
			seen[r.key] = true
		}
		final[r.key] = r
	}
	for k, want := range m.latest {
		got, ok := final[k]
		if !ok {
			if want.value == nil && tombstonesGone {
				continue
			}
			t.Fatalf("key %q lost (latest at offset %d)", k, want.offset)
		}
		if want.value == nil && tombstonesGone {
			t.Fatalf("tombstoned key %q still present at offset %d", k, got.offset)
		}
		if got.offset != want.offset || !bytes.Equal(got.value, want.value) || (want.value == nil) != (got.value == nil) || got.ts != want.ts {
			t.Fatalf("key %q: got offset %d value %q ts %d, want offset %d value %q ts %d", k, got.offset, got.value, got.ts, want.offset, want.value, want.ts)
		}
	}
	if len(final) > len(m.latest) {
		t.Fatalf("%d keys read, %d written", len(final), len(m.latest))
	}
	return recs
}

func val(i, round int) []byte {
	return []byte(fmt.Sprintf("value-%d-%d-%s", i, round, strings.Repeat("x", i%7)))
}

// fillKeys writes rounds of updates to nkeys keys, batches of 5, with
// tombstones for every 7th key in the last round when tomb.
func fillKeys(e *env, m *model, codec int8, nkeys, rounds int, tomb bool) {
	for r := 0; r < rounds; r++ {
		var batch []kv
		for i := 0; i < nkeys; i++ {
			v := val(i, r)
			if tomb && r == rounds-1 && i%7 == 0 {
				v = nil
			}
			batch = append(batch, kv{key: fmt.Sprintf("key-%03d", i), value: v})
			if len(batch) == 5 {
				e.appendKVs(m, codec, batch...)
				batch = nil
			}
		}
		if len(batch) > 0 {
			e.appendKVs(m, codec, batch...)
		}
		e.clock.Add(time.Millisecond)
	}
}

func (e *env) clean(force bool) CleanResult {
	e.t.Helper()
	res, err := e.log.Clean(context.Background(), e.clock.Now(), force)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestCleanKeepsLatestPerKey(t *testing.T) {
	for _, codec := range []int8{record.CodecNone, record.CodecLZ4, record.CodecZstd} {
		t.Run(fmt.Sprint("codec", codec), func(t *testing.T) {
			e := newEnv(t, compactCfg())
			m := newModel()
			fillKeys(e, m, codec, 60, 15, false)
			leo := e.log.LogEndOffset()
			before, segsBefore := e.log.Size(), e.log.NumSegments()
			activeBase := e.log.active().base
			res := e.clean(true)
			if !res.Cleaned || res.RecordsRemoved == 0 {
				t.Fatalf("nothing cleaned: %+v", res)
			}
			if e.log.LogEndOffset() != leo {
				t.Fatalf("log end moved %d -> %d", leo, e.log.LogEndOffset())
			}
			if e.log.Size() >= before {
				t.Fatalf("size %d -> %d", before, e.log.Size())
			}
			if e.log.CleanerOffset() != activeBase {
				t.Fatalf("cleaner offset %d, want the active base %d", e.log.CleanerOffset(), activeBase)
			}
			checkLatest(t, e.log, m, activeBase, false)
			// The codec is kept.
			b, _ := e.log.Read(e.log.LogStartOffset(), 1<<20, 1<<62, true)
			for len(b) > 0 {
				h, rest, _ := record.Next(b)
				if h.RecordCount() > 0 && h.Codec() != codec {
					t.Fatalf("codec %d after cleaning, want %d", h.Codec(), codec)
				}
				b = rest
			}
			// Segments are grouped by their sizes before cleaning (as Kafka
			// does), so the second pass merges what the first shrank; a
			// third finds nothing to do.
			e.clean(true)
			if e.log.NumSegments() >= segsBefore {
				t.Fatalf("segments %d -> %d", segsBefore, e.log.NumSegments())
			}
			checkLatest(t, e.log, m, activeBase, false)
			if res := e.clean(true); res.Cleaned {
				t.Fatalf("third pass rewrote: %+v", res)
			}
			e.reopen()
			if strings.Contains(e.logs.String(), "rebuilding") {
				t.Fatalf("indexes rebuilt after a clean reopen:\n%s", e.logs)
			}
			if e.log.CleanerOffset() != activeBase {
				t.Fatalf("cleaner offset %d after reopen, want %d", e.log.CleanerOffset(), activeBase)
			}
			checkLatest(t, e.log, m, activeBase, false)
		})
	}
}

func TestCleanActiveSegmentUntouched(t *testing.T) {
	e := newEnv(t, compactCfg())
	m := newModel()
	fillKeys(e, m, record.CodecNone, 20, 30, false)
	a := e.log.active()
	path := a.logPath()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e.clean(true)
	if e.log.active() != a {
		t.Fatal("active segment replaced")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("active segment changed")
	}
	checkLatest(t, e.log, m, a.base, false)
}

func TestCleanMergesSegments(t *testing.T) {
	cfg := compactCfg()
	cfg.SegmentBytes = 1024
	e := newEnv(t, cfg)
	m := newModel()
	fillKeys(e, m, record.CodecNone, 10, 60, false)
	n := e.log.NumSegments()
	e.log.SetConfig(func() Config { c := cfg; c.SegmentBytes = 16 << 10; return c }())
	res := e.clean(true)
	if e.log.NumSegments() > 3 || res.SegmentsAfter >= res.SegmentsBefore {
		t.Fatalf("segments %d -> %d: %+v", n, e.log.NumSegments(), res)
	}
	for _, s := range e.log.segments() {
		if s.size.Load() > 16<<10 {
			t.Fatalf("merged segment %d has %d bytes", s.base, s.size.Load())
		}
	}
	checkLatest(t, e.log, m, e.log.active().base, false)
	e.crash(nil)
	checkLatest(t, e.log, m, e.log.active().base, false)
}

func TestCleanTombstonesAfterDeleteRetention(t *testing.T) {
	e := newEnv(t, compactCfg())
	m := newModel()
	fillKeys(e, m, record.CodecNone, 50, 8, true)
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	e.appendKVs(nil, record.CodecNone, kv{key: "other", value: []byte("x")})
	m.latest["other"] = rec{offset: e.log.LogEndOffset() - 1, value: []byte("x"), ts: e.clock.Now().UnixMilli(), key: "other"}
	end := e.log.active().base
	e.clean(true)
	checkLatest(t, e.log, m, end, false) // tombstones stay, now with a horizon
	e.clock.Add(time.Hour - time.Second)
	e.clean(true)
	checkLatest(t, e.log, m, end, false)
	e.clock.Add(2 * time.Second)
	res := e.clean(false) // due: the horizon passed
	if !res.Cleaned {
		t.Fatalf("tombstones not removed: %+v", res)
	}
	checkLatest(t, e.log, m, end, true)
	e.reopen()
	checkLatest(t, e.log, m, end, true)
}

func TestCleanMinCompactionLag(t *testing.T) {
	cfg := compactCfg()
	cfg.MinCompactionLagMs = time.Hour.Milliseconds()
	e := newEnv(t, cfg)
	m := newModel()
	fillKeys(e, m, record.CodecNone, 20, 20, false)
	if res := e.clean(true); res.Cleaned {
		t.Fatalf("records newer than min.compaction.lag.ms cleaned: %+v", res)
	}
	e.log.Roll()
	mid := e.log.LogEndOffset()
	e.clock.Add(2 * time.Hour)
	fillKeys(e, m, record.CodecNone, 20, 20, false) // new records, within the lag
	res := e.clean(true)
	if !res.Cleaned || res.End != mid {
		t.Fatalf("want the old part [.., %d) cleaned: %+v", mid, res)
	}
	checkLatest(t, e.log, m, 0, false)
	// Every key's last record before mid stays: its successors are within
	// the lag.
	n := 0
	for _, r := range readRecs(t, e.log) {
		if r.offset < mid {
			n++
		}
	}
	if n != 20 {
		t.Fatalf("%d records below %d, want one per key", n, mid)
	}
}

func TestCleanDirtyRatioAndMaxLag(t *testing.T) {
	cfg := compactCfg()
	cfg.MinCleanableDirtyRatio = 0.6
	e := newEnv(t, cfg)
	m := newModel()
	fillKeys(e, m, record.CodecNone, 40, 10, false)
	e.log.Roll()
	e.clean(true) // all clean now
	e.clean(true) // and merged
	// A little dirt: below the ratio.
	fillKeys(e, m, record.CodecNone, 5, 1, false)
	e.log.Roll()
	if res := e.clean(false); res.Cleaned {
		t.Fatalf("cleaned below min.cleanable.dirty.ratio: %+v", res)
	}
	// max.compaction.lag.ms forces it once the oldest dirty record is old.
	c := cfg
	c.MaxCompactionLagMs = time.Minute.Milliseconds()
	e.log.SetConfig(c)
	if res := e.clean(false); res.Cleaned {
		t.Fatalf("cleaned before max.compaction.lag.ms: %+v", res)
	}
	e.clock.Add(2 * time.Minute)
	if res := e.clean(false); !res.Cleaned {
		t.Fatalf("max.compaction.lag.ms did not force cleaning: %+v", res)
	}
	checkLatest(t, e.log, m, e.log.active().base, false)
	// Lots of dirt: above the ratio.
	e.log.SetConfig(cfg)
	fillKeys(e, m, record.CodecNone, 40, 10, false)
	if res := e.clean(false); !res.Cleaned {
		t.Fatalf("not cleaned above the ratio: %+v", res)
	}
	checkLatest(t, e.log, m, e.log.active().base, false)
}

func TestCleanIndexesAfterCleaning(t *testing.T) {
	cfg := compactCfg()
	cfg.SegmentBytes = 8192
	cfg.IndexIntervalBytes = 100
	e := newEnv(t, cfg)
	m := newModel()
	ts := int64(baseTime)
	for r := 0; r < 40; r++ {
		for i := 0; i < 30; i += 3 {
			var batch []kv
			for j := i; j < i+3; j++ {
				ts += 10
				batch = append(batch, kv{key: fmt.Sprint("k", j), value: val(j, r), ts: ts})
			}
			e.appendKVs(m, record.CodecNone, batch...)
		}
	}
	check := func() {
		recs := readRecs(t, e.log)
		for i, r := range recs {
			b, err := e.log.Read(r.offset, 1, 1<<62, true)
			if err != nil || len(b) == 0 {
				t.Fatalf("read %d: %v", r.offset, err)
			}
			h, _, _ := record.Next(b)
			if h.BaseOffset() > r.offset || h.LastOffset() < r.offset {
				t.Fatalf("read %d returned batch [%d, %d]", r.offset, h.BaseOffset(), h.LastOffset())
			}
			// By timestamp: the first kept record at or after r.ts.
			off, gotTs, _, ok, err := e.log.OffsetForTimestamp(r.ts)
			if err != nil || !ok {
				t.Fatalf("offset for %d: %v %v", r.ts, ok, err)
			}
			want := r
			for _, q := range recs[:i] {
				if q.ts >= r.ts {
					want = q
					break
				}
			}
			if off != want.offset || gotTs != want.ts {
				t.Fatalf("offset for timestamp %d = %d (ts %d), want %d (ts %d)", r.ts, off, gotTs, want.offset, want.ts)
			}
		}
		// Past the last timestamp: none.
		if _, _, _, ok, _ := e.log.OffsetForTimestamp(ts + 1); ok {
			t.Fatal("found an offset past the last timestamp")
		}
	}
	e.clean(true)
	for _, s := range e.log.segments()[:e.log.NumSegments()-1] {
		if s.index.entries() == 0 && s.size.Load() > 4*int64(cfg.IndexIntervalBytes) {
			t.Fatalf("segment %d has no offset index entries", s.base)
		}
		if err := s.index.sane(s.size.Load()); err != nil {
			t.Fatal(err)
		}
	}
	check()
	e.reopen()
	check()
	e.crash(nil) // full recovery rebuilds the indexes from the cleaned files
	check()
	checkLatest(t, e.log, m, e.log.active().base, false)
}

// TestCleanKeepsBatchFields: offsets, producer fields, committed
// transactional records and their marker survive; a committed record
// supersedes an older one like any other.
func TestCleanKeepsBatchFields(t *testing.T) {
	e := newEnv(t, compactCfg())
	var b record.Builder
	app := func(f record.BatchFields, recs ...kv) AppendInfo {
		b.Reset(f)
		for _, r := range recs {
			b.Append(e.clock.Now().UnixMilli(), []byte(r.key), r.value, nil)
		}
		h, _ := b.Finish(record.CodecNone, 0)
		info, err := e.log.AppendAsLeader(append([]byte(nil), h...), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	idem := record.BatchFields{ProducerID: 7, ProducerEpoch: 2, BaseSequence: 0, PartitionLeaderEpoch: -1}
	app(idem, kv{key: "a", value: []byte("1")}, kv{key: "b", value: []byte("1")}, kv{key: "c", value: []byte("1")})
	txn := record.BatchFields{ProducerID: 9, ProducerEpoch: 0, BaseSequence: 0, Transactional: true, PartitionLeaderEpoch: -1}
	app(txn, kv{key: "a", value: []byte("txn")})
	ctl := record.BatchFields{BaseOffset: 4, ProducerID: 9, ProducerEpoch: 0, BaseSequence: -1, Transactional: true, Control: true, PartitionLeaderEpoch: 0}
	b.Reset(ctl)
	b.Append(e.clock.Now().UnixMilli(), []byte("\x00\x00\x00\x01"), []byte("\x00\x00\x00\x00\x00\x00"), nil)
	marker, _ := b.Finish(record.CodecNone, 0)
	if err := e.log.AppendAsFollower(append([]byte(nil), marker...)); err != nil {
		t.Fatal(err)
	}
	idem.BaseSequence = 3
	app(idem, kv{key: "b", value: []byte("2")}, kv{key: "x", value: []byte("2")})
	e.log.Roll()
	e.appendKVs(nil, record.CodecNone, kv{key: "z", value: []byte("z")})
	e.clean(true)
	var batches []record.Header
	off := int64(0)
	for off < e.log.active().base {
		buf, err := e.log.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := record.Next(buf)
		batches = append(batches, append(record.Header(nil), h...))
		off = h.NextOffset()
	}
	if len(batches) != 4 {
		t.Fatalf("%d batches", len(batches))
	}
	// Batch 1: "a" goes (the committed transaction wrote it again), so does
	// "b"; "c" stays.
	h := batches[0]
	if h.BaseOffset() != 0 || h.LastOffset() != 2 || h.RecordCount() != 1 || h.ProducerID() != 7 || h.ProducerEpoch() != 2 || h.BaseSequence() != 0 {
		t.Fatalf("first batch: base %d last %d count %d pid %d epoch %d seq %d", h.BaseOffset(), h.LastOffset(), h.RecordCount(), h.ProducerID(), h.ProducerEpoch(), h.BaseSequence())
	}
	var keys []string
	record.ForEachRecord(h, func(r *record.Record) error {
		keys = append(keys, fmt.Sprint(string(r.Key), h.BaseOffset()+int64(r.OffsetDelta)))
		return nil
	})
	if strings.Join(keys, ",") != "c2" {
		t.Fatalf("kept %v", keys)
	}
	if !batches[1].Transactional() || batches[1].RecordCount() != 1 || !batches[2].Control() || batches[2].RecordCount() != 1 ||
		batches[2].Attributes()&record.DeleteHorizonBit != 0 {
		t.Fatal("committed transactional batch or its marker changed")
	}
	if h := batches[3]; h.BaseOffset() != 5 || h.RecordCount() != 2 || h.BaseSequence() != 3 {
		t.Fatalf("last batch: base %d count %d seq %d", h.BaseOffset(), h.RecordCount(), h.BaseSequence())
	}
	// Producer state still knows producer 7's last sequence after a crash.
	e.crash(nil)
	for _, p := range e.log.ProducerStates() {
		if p.ProducerID == 7 && p.LastSequence != 4 {
			t.Fatalf("producer 7 last sequence %d", p.LastSequence)
		}
	}
}

// TestCleanRetainsEmptyLastBatchOfProducer: a producer's last batch whose
// records are all superseded stays as an empty batch.
func TestCleanRetainsEmptyLastBatchOfProducer(t *testing.T) {
	e := newEnv(t, compactCfg())
	var b record.Builder
	b.Reset(record.BatchFields{ProducerID: 5, ProducerEpoch: 0, BaseSequence: 0, PartitionLeaderEpoch: -1})
	b.Append(baseTime, []byte("k"), []byte("v1"), nil)
	h, _ := b.Finish(record.CodecLZ4, 0)
	if _, err := e.log.AppendAsLeader(append([]byte(nil), h...), 0, -1); err != nil {
		t.Fatal(err)
	}
	e.appendKVs(nil, record.CodecNone, kv{key: "k", value: []byte("v2")})
	e.log.Roll()
	e.clean(true)
	buf, _ := e.log.Read(0, 1<<20, 1<<62, true)
	first, _, _ := record.Next(buf)
	if first.RecordCount() != 0 || first.ProducerID() != 5 || first.LastOffset() != 0 || !first.ValidCRC() {
		t.Fatalf("empty batch: count %d pid %d last %d", first.RecordCount(), first.ProducerID(), first.LastOffset())
	}
}

// TestCleanNoCompactPolicy: delete-only logs are never cleaned, and
// compact-only logs ignore retention.ms.
func TestCleanPolicies(t *testing.T) {
	cfg := testCfg()
	e := newEnv(t, cfg)
	fillKeys(e, newModel(), record.CodecNone, 10, 20, false)
	if res := e.clean(true); res.Cleaned {
		t.Fatal("cleaned a delete-policy log")
	}
	c := compactCfg()
	c.RetentionMs = 1
	e.log.SetConfig(c)
	e.clock.Add(time.Hour)
	if n, err := e.log.EnforceRetention(); err != nil || n != 0 {
		t.Fatalf("retention deleted %d segments of a compact-only log: %v", n, err)
	}
	c.Delete = true
	e.log.SetConfig(c)
	if n, err := e.log.EnforceRetention(); err != nil || n == 0 {
		t.Fatalf("compact,delete: retention deleted %d: %v", n, err)
	}
}

// TestCleanCrashAtEveryStep stops a pass at each step of writing and
// swapping, abandons the log as SIGKILL would, and reopens it: the log reads,
// every key's latest value is there at its offset, and no cleaner files are
// left.
func TestCleanCrashAtEveryStep(t *testing.T) {
	steps := []string{"cleaned", "renamed-to-swap.index", "renamed-to-swap.timeindex", "renamed-to-swap.log",
		"swap-locked", "old-deleted", "swapped.index", "swapped.timeindex", "swapped.log"}
	for _, step := range steps {
		for _, nth := range []int{1, 2} { // the first group, or the second
			t.Run(fmt.Sprint(step, "/", nth), func(t *testing.T) {
				cfg := compactCfg()
				cfg.SegmentBytes = 2048
				e := newEnv(t, cfg)
				m := newModel()
				fillKeys(e, m, record.CodecLZ4, 40, 12, true)
				leo := e.log.LogEndOffset()
				seen := 0
				crashHook = func(s string) error {
					if s == step {
						seen++
						if seen == nth {
							return errors.New("crash")
						}
					}
					return nil
				}
				defer func() { crashHook = nil }()
				_, err := e.log.Clean(context.Background(), e.clock.Now(), true)
				crashHook = nil
				if err == nil {
					t.Fatalf("pass did not stop at %s", step)
				}
				e.crash(nil)
				if e.log.LogEndOffset() != leo {
					t.Fatalf("log end %d, want %d", e.log.LogEndOffset(), leo)
				}
				checkLatest(t, e.log, m, 0, false)
				ents, _ := os.ReadDir(e.log.Dir())
				for _, en := range ents {
					if strings.HasSuffix(en.Name(), swapSuffix) || strings.HasSuffix(en.Name(), cleanedSuffix) || strings.HasSuffix(en.Name(), deletedSuffix) {
						t.Fatalf("left over: %s", en.Name())
					}
				}
				// And cleaning again finishes the job.
				e.clean(true)
				checkLatest(t, e.log, m, e.log.active().base, false)
				e.crash(nil)
				checkLatest(t, e.log, m, e.log.active().base, false)
			})
		}
	}
}

// TestCleanConcurrentAppendsAndReads runs passes while other goroutines
// append and read (run with -race).
func TestCleanConcurrentAppendsAndReads(t *testing.T) {
	cfg := compactCfg()
	cfg.SegmentBytes = 2048
	e := newEnv(t, cfg)
	m := newModel()
	fillKeys(e, m, record.CodecNone, 30, 5, false)
	stop := make(chan struct{})
	done := make(chan error, 2)
	go func() { // appender
		rng := rand.New(rand.NewPCG(1, 1))
		for i := 0; i < 3000; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			k := rng.IntN(30)
			e.appendKVs(m, record.CodecNone, kv{key: fmt.Sprintf("key-%03d", k), value: val(k, 100+i)})
		}
		done <- nil
		<-stop
	}()
	go func() { // reader: ranges and reads keep working across swaps
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			off := e.log.LogStartOffset()
			r, err := e.log.ReadRange(off, 4096, 1<<62, true)
			if err != nil {
				done <- err
				return
			}
			if r != nil {
				if _, err := r.AppendTo(nil); err != nil {
					r.Close()
					done <- err
					return
				}
				r.Close()
			}
			if _, err := e.log.Read(off, 4096, 1<<62, true); err != nil {
				done <- err
				return
			}
		}
	}()
	passes := 0
	var appended bool
	for !appended || passes < 3 {
		if _, err := e.log.Clean(context.Background(), e.clock.Now(), true); err != nil {
			t.Fatal(err)
		}
		passes++
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			appended = true
		default:
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkLatest(t, e.log, m, 0, false)
}

// TestCleanLeavesFolderTidy: no cleaner files remain and the checkpoint is
// in Kafka's format.
func TestCleanCheckpointFile(t *testing.T) {
	e := newEnv(t, compactCfg())
	fillKeys(e, newModel(), record.CodecNone, 20, 20, false)
	e.clean(true)
	b, err := os.ReadFile(filepath.Join(e.path, cleanerCheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("0\n1\norders 3 %d\n", e.log.CleanerOffset())
	if string(b) != want {
		t.Fatalf("checkpoint %q, want %q", b, want)
	}
}

// TestCleanStopsOnCancelAndClose: a cancelled pass and a pass on a closed
// log leave the log as it was and say why.
func TestCleanStopsOnCancelAndClose(t *testing.T) {
	e := newEnv(t, compactCfg())
	m := newModel()
	fillKeys(e, m, record.CodecNone, 30, 20, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.log.Clean(ctx, e.clock.Now(), true); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pass: %v", err)
	}
	checkLatest(t, e.log, m, 0, false)
	ents, _ := os.ReadDir(e.log.Dir())
	for _, en := range ents {
		if strings.HasSuffix(en.Name(), cleanedSuffix) || strings.HasSuffix(en.Name(), swapSuffix) {
			t.Fatalf("left over: %s", en.Name())
		}
	}
	crashHook = func(step string) error {
		if step == "cleaned" {
			e.log.Close()
		}
		return nil
	}
	defer func() { crashHook = nil }()
	if _, err := e.log.Clean(context.Background(), e.clock.Now(), true); err != nil && !errors.Is(err, ErrLogClosed) {
		t.Fatalf("pass on a log closed under it: %v", err)
	}
	crashHook = nil
	e.reopen()
	checkLatest(t, e.log, m, 0, false)
}

// TestCleanedSegmentsCoverTheirGroup: every cleaned segment ends at the
// offset before the next segment, which is what opening after a crash
// relies on to know which old segments a .swap file replaces.
func TestCleanedSegmentsCoverTheirGroup(t *testing.T) {
	cfg := compactCfg()
	cfg.SegmentBytes = 1024
	e := newEnv(t, cfg)
	m := newModel()
	fillKeys(e, m, record.CodecNone, 10, 40, true)
	c := cfg
	c.SegmentBytes = 8192
	c.DeleteRetentionMs = 0
	e.log.SetConfig(c)
	e.log.Roll()
	for range 3 {
		e.clean(true)
		e.clock.Add(time.Second)
		segs := e.log.segments()
		for i, s := range segs[:len(segs)-1] {
			last, err := lastOffsetInFile(s.logPath())
			if err != nil {
				t.Fatal(err)
			}
			if last != segs[i+1].base-1 {
				t.Fatalf("segment %d ends at %d, next segment starts at %d", s.base, last, segs[i+1].base)
			}
		}
	}
	checkLatest(t, e.log, m, e.log.active().base, true)
}
