package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// txnLog writes plain and transactional batches to a compacted log and
// keeps the model of what a read_committed reader must see: a committed
// transaction's records enter the model at its marker, an aborted one's
// never do (their values are remembered, to check they are gone).
type txnLog struct {
	e       *env
	m       *model
	codec   int8
	seq     map[int64]int32
	open    map[int64][]rec
	aborted map[string]bool // values written by aborted transactions
}

func newTxnLog(e *env) *txnLog {
	return &txnLog{e: e, m: newModel(), seq: map[int64]int32{}, open: map[int64][]rec{}, aborted: map[string]bool{}}
}

func (w *txnLog) plain(kvs ...kv) AppendInfo {
	w.e.t.Helper()
	return w.e.appendKVs(w.m, w.codec, kvs...)
}

// send appends one transactional batch of producer pid (epoch 0).
func (w *txnLog) send(pid int64, kvs ...kv) AppendInfo {
	w.e.t.Helper()
	var b record.Builder
	b.Reset(record.BatchFields{PartitionLeaderEpoch: record.NoPartitionLeader, ProducerID: pid, BaseSequence: w.seq[pid], Transactional: true})
	ts := w.e.clock.Now().UnixMilli()
	for _, r := range kvs {
		b.Append(ts, []byte(r.key), r.value, nil)
	}
	h, err := b.Finish(w.codec, 0)
	if err != nil {
		w.e.t.Fatal(err)
	}
	info, err := w.e.log.AppendAsLeader(append([]byte(nil), h...), 0, -1)
	if err != nil {
		w.e.t.Fatal(err)
	}
	w.seq[pid] += int32(len(kvs))
	for i, r := range kvs {
		w.open[pid] = append(w.open[pid], rec{offset: info.FirstOffset + int64(i), ts: ts, key: r.key, value: r.value})
	}
	return info
}

// end writes producer pid's marker and returns its offset.
func (w *txnLog) end(pid int64, commit bool) int64 {
	w.e.t.Helper()
	o := w.e.marker(pid, commit)
	for _, r := range w.open[pid] {
		if commit {
			if old, ok := w.m.latest[r.key]; !ok || old.offset < r.offset {
				w.m.latest[r.key] = r
			}
		} else {
			w.aborted[string(r.value)] = true
		}
	}
	delete(w.open, pid)
	return o
}

// batches returns copies of every batch from the log start to the end.
func batches(t testing.TB, l *Log) []record.Header {
	t.Helper()
	var out []record.Header
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		b, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil || len(b) == 0 {
			t.Fatalf("read %d: %d bytes, %v", off, len(b), err)
		}
		for len(b) > 0 {
			h, rest, err := record.Next(b)
			if err != nil || !h.ValidCRC() {
				t.Fatalf("batch at %d: %v (CRC ok: %v)", off, err, err == nil && h.ValidCRC())
			}
			out = append(out, append(record.Header(nil), h...))
			off = h.NextOffset()
			b = rest
		}
	}
	return out
}

// desc describes a batch for test messages.
func desc(h record.Header) string {
	if h == nil {
		return "none"
	}
	return fmt.Sprintf("batch [%d, %d] count %d pid %d epoch %d seq %d txn %v control %v horizon %v base ts %d",
		h.BaseOffset(), h.LastOffset(), h.RecordCount(), h.ProducerID(), h.ProducerEpoch(), h.BaseSequence(),
		h.Transactional(), h.Control(), h.Attributes()&record.DeleteHorizonBit != 0, h.BaseTimestamp())
}

// batchAt is the batch holding offset o, nil if none does.
func batchAt(t testing.TB, l *Log, o int64) record.Header {
	t.Helper()
	for _, h := range batches(t, l) {
		if h.BaseOffset() <= o && o <= h.LastOffset() {
			return h
		}
	}
	return nil
}

// readCommitted reads the log from offset from to its end as a
// read_committed consumer does (Kafka's Fetcher): the fetch answers the
// aborted transactions overlapping the range; a transactional batch of a
// producer whose aborted transaction has begun is skipped until that
// producer's ABORT marker; control batches are never returned.
func readCommitted(t testing.TB, l *Log, from int64) []rec {
	t.Helper()
	aborts := slices.Clone(l.AbortedTransactions(from, l.LogEndOffset()))
	slices.SortStableFunc(aborts, func(a, b AbortedTxn) int { return int(a.FirstOffset - b.FirstOffset) })
	abortedPids := map[int64]bool{}
	var out []rec
	for _, h := range batches(t, l) {
		if h.LastOffset() < from {
			continue
		}
		for len(aborts) > 0 && aborts[0].FirstOffset <= h.LastOffset() {
			abortedPids[aborts[0].ProducerID] = true
			aborts = aborts[1:]
		}
		if h.Control() {
			if commit, _, ok := parseMarker(h); ok && !commit {
				delete(abortedPids, h.ProducerID())
			}
			continue
		}
		if h.Transactional() && abortedPids[h.ProducerID()] {
			continue
		}
		err := record.ForEachRecord(h, func(r *record.Record) error {
			if o := h.BaseOffset() + int64(r.OffsetDelta); o >= from {
				out = append(out, rec{offset: o, ts: h.BaseTimestamp() + r.TimestampDelta, key: string(r.Key), value: bytes.Clone(r.Value)})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// check asserts what a read_committed reader sees: each key's latest
// committed record at its offset with its value and timestamp, no aborted
// record, and below upTo no key twice. Reading from any batch's base
// offset sees the same records from there on.
func (w *txnLog) check(upTo int64) {
	t := w.e.t
	t.Helper()
	l := w.e.log
	recs := readCommitted(t, l, l.LogStartOffset())
	final := map[string]rec{}
	seen := map[string]bool{}
	for _, r := range recs {
		if w.aborted[string(r.value)] {
			t.Fatalf("read_committed returned aborted record %q=%q at offset %d", r.key, r.value, r.offset)
		}
		if r.offset < upTo {
			if seen[r.key] {
				t.Fatalf("key %q appears twice below %d (offset %d)", r.key, upTo, r.offset)
			}
			seen[r.key] = true
		}
		final[r.key] = r
	}
	found := 0
	for k, want := range w.m.latest {
		got, ok := final[k]
		if !ok {
			if want.value == nil {
				continue // a tombstone past its delete horizon
			}
			t.Fatalf("key %q lost (latest at offset %d)", k, want.offset)
		}
		found++
		if got.offset != want.offset || !bytes.Equal(got.value, want.value) || (got.value == nil) != (want.value == nil) || got.ts != want.ts {
			t.Fatalf("key %q: got offset %d value %q ts %d, want offset %d value %q ts %d", k, got.offset, got.value, got.ts, want.offset, want.value, want.ts)
		}
	}
	if len(final) != found {
		t.Fatalf("%d keys read, %d committed", len(final), found)
	}
	bs := batches(t, l)
	step := max(1, len(bs)/20)
	for i := 0; i < len(bs); i += step {
		from := bs[i].BaseOffset()
		var want []rec
		for _, r := range recs {
			if r.offset >= from {
				want = append(want, r)
			}
		}
		if got := readCommitted(t, l, from); !reflect.DeepEqual(got, want) {
			t.Fatalf("read_committed from %d: %d records, want %d", from, len(got), len(want))
		}
	}
}

// dropSnapshots removes the producer snapshots, so the next open replays
// producer state (and .txnindex entries) from the whole log.
func (e *env) dropSnapshots() {
	dir := e.log.Dir()
	offs, _ := snapshotOffsets(dir)
	for _, o := range offs {
		os.Remove(fileName(dir, o, snapshotSuffix))
	}
}

// rawAborted lists the records of aborted transactions still in the log
// below offset upTo, whatever a reader would filter.
func (w *txnLog) rawAborted(upTo int64) []string {
	var out []string
	for _, h := range batches(w.e.t, w.e.log) {
		if h.Control() || h.BaseOffset() >= upTo {
			continue
		}
		record.ForEachRecord(h, func(r *record.Record) error {
			if w.aborted[string(r.Value)] {
				out = append(out, fmt.Sprintf("%s=%s@%d", r.Key, r.Value, h.BaseOffset()+int64(r.OffsetDelta)))
			}
			return nil
		})
	}
	return out
}

func keys(prefix string, from, to int, value func(i int) string) []kv {
	var out []kv
	for i := from; i < to; i++ {
		out = append(out, kv{key: fmt.Sprintf("%s%02d", prefix, i), value: []byte(value(i))})
	}
	return out
}

// TestCleanTxnDiscardsAbortedKeepsCommitted: the records of aborted
// transactions go and do not hide older values; committed ones are
// deduplicated like plain records; the ABORT marker and its .txnindex entry
// stay for the pass that removes the data, then the marker gets a delete
// horizon and loses its entry, and goes once the horizon passed.
func TestCleanTxnDiscardsAbortedKeepsCommitted(t *testing.T) {
	e := newEnv(t, compactCfg())
	w := newTxnLog(e)
	w.plain(keys("k", 0, 5, func(i int) string { return fmt.Sprint("v0-", i) })...)
	w.plain(keys("k", 5, 10, func(i int) string { return fmt.Sprint("v0-", i) })...)
	first1 := w.send(1, keys("k", 0, 5, func(i int) string { return fmt.Sprint("ab1-", i) })...).FirstOffset
	w.send(2, keys("k", 5, 10, func(i int) string { return fmt.Sprint("c2-", i) })...)
	w.send(1, kv{key: "k00", value: []byte("ab1-again")})
	abort1 := w.end(1, false)
	commit2 := w.end(2, true)
	w.send(1, kv{key: "p1", value: []byte("c1")}) // producer 1's last batch is committed data
	w.end(1, true)
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	w.plain(kv{key: "k09", value: []byte("final")})
	only3 := w.send(3, kv{key: "k01", value: []byte("ab3")}).FirstOffset // producer 3's only, so last, batch
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	active := e.log.active().base
	abort3 := w.end(3, false) // in the active segment: not cleaned
	w.plain(kv{key: "tail", value: []byte("t")})
	w.check(0)
	before := e.log.AbortedTransactions(0, e.log.LogEndOffset())
	if len(before) != 2 || before[0].FirstOffset != first1 || before[0].LastOffset != abort1 || before[1].LastOffset != abort3 {
		t.Fatalf("aborted before cleaning %+v", before)
	}

	if res := e.clean(true); !res.Cleaned || res.End != active {
		t.Fatalf("pass 1: %+v", res)
	}
	if left := w.rawAborted(e.log.LogEndOffset()); len(left) > 0 {
		t.Fatalf("aborted records left after cleaning: %v", left)
	}
	w.check(active)
	// Producer 3's aborted batch was its last: it stays, empty, with its
	// producer fields and offsets.
	if h := batchAt(t, e.log, only3); h == nil || h.RecordCount() != 0 || h.ProducerID() != 3 || !h.Transactional() ||
		h.BaseOffset() != only3 || h.LastOffset() != only3 || h.BaseSequence() != 0 {
		t.Fatalf("producer 3's last batch: %v", desc(h))
	}
	for _, o := range []int64{abort1, commit2} {
		if h := batchAt(t, e.log, o); h == nil || !h.Control() || h.RecordCount() != 1 || h.Attributes()&record.DeleteHorizonBit != 0 {
			t.Fatalf("marker at %d after pass 1: %v", o, desc(h))
		}
	}
	if got := e.log.AbortedTransactions(0, e.log.LogEndOffset()); !reflect.DeepEqual(got, before) {
		t.Fatalf("aborted after pass 1 %+v, want %+v", got, before)
	}
	if b, err := os.ReadFile(fileName(e.log.Dir(), 0, txnIndexSuffix)); err != nil || !bytes.Equal(b, encodeTxnEntries(before[:1])) {
		t.Fatalf("cleaned .txnindex %x, %v", b, err)
	}

	// Pass 2: producer 1's aborted data is gone, so its marker may go:
	// it gets a delete horizon and its index entry is dropped. Producer
	// 2's data (k05..k08) is still there, so its marker stays as it is.
	e.clock.Add(time.Minute)
	now := e.clock.Now().UnixMilli()
	if res := e.clean(true); !res.Cleaned {
		t.Fatalf("pass 2: %+v", res)
	}
	h := batchAt(t, e.log, abort1)
	if h == nil || !h.Control() || h.Attributes()&record.DeleteHorizonBit == 0 || h.BaseTimestamp() != now+time.Hour.Milliseconds() {
		t.Fatalf("marker at %d after pass 2: %v", abort1, desc(h))
	}
	if commit, _, ok := parseMarker(h); !ok || commit {
		t.Fatal("the ABORT marker's record changed")
	}
	if h := batchAt(t, e.log, commit2); h.Attributes()&record.DeleteHorizonBit != 0 {
		t.Fatal("the COMMIT marker of data still in the log got a delete horizon")
	}
	if got := e.log.AbortedTransactions(0, e.log.LogEndOffset()); !reflect.DeepEqual(got, before[1:]) {
		t.Fatalf("aborted after pass 2 %+v, want %+v", got, before[1:])
	}
	if _, err := os.Stat(fileName(e.log.Dir(), 0, txnIndexSuffix)); !os.IsNotExist(err) {
		t.Fatalf("cleaned segment without entries has a .txnindex: %v", err)
	}
	w.check(active)

	// Before the horizon nothing is due; after it the marker goes.
	e.clock.Add(time.Hour - time.Second)
	if res := e.clean(false); res.Cleaned {
		t.Fatalf("cleaned before the marker's horizon: %+v", res)
	}
	e.clock.Add(2 * time.Second)
	if res := e.clean(false); !res.Cleaned {
		t.Fatalf("the marker's horizon passed, nothing cleaned: %+v", res)
	}
	if h := batchAt(t, e.log, abort1); h != nil && (h.Control() || h.ProducerID() >= 0) {
		t.Fatalf("marker at %d after its horizon: %v", abort1, desc(h))
	}
	w.check(active)
	e.reopen()
	w.check(active)
	if got := e.log.AbortedTransactions(0, e.log.LogEndOffset()); !reflect.DeepEqual(got, before[1:]) {
		t.Fatalf("aborted after reopen %+v, want %+v", got, before[1:])
	}
	e.crash(e.dropSnapshots) // replays producer state and rebuilds .txnindex entries from the cleaned log
	w.check(active)
	states := map[int64]ProducerState{}
	for _, s := range e.log.ProducerStates() {
		states[s.ProducerID] = s
	}
	if states[1].LastSequence != 6 || states[3].LastSequence != 0 || states[3].CurrentTxnStartOffset != -1 || e.log.FirstUnstableOffset() != -1 {
		t.Fatalf("producer state after crash: %+v, first unstable %d", states, e.log.FirstUnstableOffset())
	}
}

// TestCleanTxnCommitMarkerGoesAfterItsData: a COMMIT marker stays while
// its transaction's records may be in the log and until its own delete
// horizon after that.
func TestCleanTxnCommitMarkerGoesAfterItsData(t *testing.T) {
	e := newEnv(t, compactCfg())
	w := newTxnLog(e)
	w.send(4, kv{key: "a", value: []byte("t1")})
	commit := w.end(4, true)
	w.send(4, kv{key: "b", value: []byte("t2")}) // producer 4's last batch
	w.end(4, true)
	w.plain(kv{key: "a", value: []byte("plain")}) // supersedes t1
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	w.plain(kv{key: "tail", value: []byte("t")})
	active := e.log.active().base

	e.clean(true)
	if h := batchAt(t, e.log, 0); h != nil && h.BaseOffset() == 0 {
		t.Fatalf("the superseded transactional batch stayed: %v", desc(h))
	}
	if h := batchAt(t, e.log, commit); h == nil || !h.Control() || h.Attributes()&record.DeleteHorizonBit != 0 {
		t.Fatalf("marker after pass 1: %v", desc(h))
	}
	w.check(active)
	now := e.clock.Now().UnixMilli()
	e.clean(true)
	if h := batchAt(t, e.log, commit); h == nil || !h.Control() || h.BaseTimestamp() != now+time.Hour.Milliseconds() {
		t.Fatalf("marker after pass 2: %v", desc(h))
	}
	e.clock.Add(30 * time.Minute)
	if res := e.clean(false); res.Cleaned {
		t.Fatalf("cleaned before the horizon: %+v", res)
	}
	e.clock.Add(30 * time.Minute)
	if res := e.clean(false); !res.Cleaned {
		t.Fatalf("not cleaned at the horizon: %+v", res)
	}
	if h := batchAt(t, e.log, commit); h != nil && h.Control() {
		t.Fatalf("marker after its horizon: %v", desc(h))
	}
	w.check(active)
	e.crash(nil)
	w.check(active)
}

// TestCleanTxnKeepsProducerState: a producer's last batch stays, emptied,
// whether committed or aborted, with the marker of its transaction; a
// producer whose last write was a marker keeps that marker (emptied past
// its horizon), so its epoch survives. After a crash the producer state
// replayed from the cleaned log has every sequence and epoch and no open
// transaction.
func TestCleanTxnKeepsProducerState(t *testing.T) {
	cfg := compactCfg()
	cfg.DeleteRetentionMs = 0
	e := newEnv(t, cfg)
	w := newTxnLog(e)
	w.send(5, kv{key: "k", value: []byte("t5")}, kv{key: "j", value: []byte("t5")})
	w.end(5, true)
	w.send(7, kv{key: "k", value: []byte("t7")})
	abort7 := w.end(7, false)
	bump, err := e.log.AppendMarker(6, 1, false, 0, 0) // an epoch bump: no data
	if err != nil {
		t.Fatal(err)
	}
	w.plain(kv{key: "k", value: []byte("p")}, kv{key: "j", value: []byte("p")})
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	w.plain(kv{key: "tail", value: []byte("t")})
	active := e.log.active().base
	want := map[int64]ProducerState{}
	for _, s := range e.log.ProducerStates() {
		want[s.ProducerID] = s
	}
	for range 4 {
		e.clean(true)
		e.clock.Add(time.Second)
		w.check(active)
	}
	bs := batches(t, e.log)
	if h := bs[0]; h.BaseOffset() != 0 || h.LastOffset() != 1 || h.RecordCount() != 0 || h.ProducerID() != 5 || !h.Transactional() || h.BaseSequence() != 0 {
		t.Fatalf("producer 5's last batch: base %d last %d count %d pid %d", h.BaseOffset(), h.LastOffset(), h.RecordCount(), h.ProducerID())
	}
	if h := bs[1]; h.BaseOffset() != 2 || !h.Control() || h.ProducerID() != 5 || h.RecordCount() != 1 {
		t.Fatalf("producer 5's marker: %v", desc(h))
	}
	if h := bs[2]; h.BaseOffset() != 3 || h.RecordCount() != 0 || h.ProducerID() != 7 || !h.Transactional() || h.Control() {
		t.Fatalf("producer 7's last batch: %v", desc(h))
	}
	if h := bs[3]; h.BaseOffset() != abort7 || !h.Control() || h.RecordCount() != 1 {
		t.Fatalf("producer 7's marker: %v", desc(h))
	}
	if h := bs[4]; h.BaseOffset() != bump || !h.Control() || h.RecordCount() != 0 || h.ProducerID() != 6 || h.ProducerEpoch() != 1 {
		t.Fatalf("producer 6's marker: base %d control %v count %d pid %d epoch %d", h.BaseOffset(), h.Control(), h.RecordCount(), h.ProducerID(), h.ProducerEpoch())
	}
	if got := e.log.AbortedTransactions(0, e.log.LogEndOffset()); len(got) != 1 || got[0].ProducerID != 7 || got[0].FirstOffset != 3 {
		t.Fatalf("aborted %+v", got)
	}
	e.crash(e.dropSnapshots)
	w.check(active)
	for _, s := range e.log.ProducerStates() {
		wa := want[s.ProducerID]
		if s.ProducerEpoch != wa.ProducerEpoch || s.LastSequence != wa.LastSequence || s.CurrentTxnStartOffset != -1 {
			t.Fatalf("producer %d after crash %+v, before %+v", s.ProducerID, s, wa)
		}
		delete(want, s.ProducerID)
	}
	if len(want) > 0 || e.log.FirstUnstableOffset() != -1 {
		t.Fatalf("producers lost %+v; first unstable %d", want, e.log.FirstUnstableOffset())
	}
}

// TestCleanTxnCrashAtEveryStep: as TestCleanCrashAtEveryStep for a group
// whose cleaned segment has a .txnindex.
func TestCleanTxnCrashAtEveryStep(t *testing.T) {
	steps := []string{"cleaned", "renamed-to-swap.index", "renamed-to-swap.timeindex", "renamed-to-swap.txnindex",
		"renamed-to-swap.log", "swap-locked", "old-deleted", "swapped.index", "swapped.timeindex", "swapped.txnindex", "swapped.log"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, compactCfg())
			w := newTxnLog(e)
			w.codec = record.CodecLZ4
			for r := range 3 {
				w.plain(keys("k", 0, 10, func(i int) string { return fmt.Sprint("v", r, "-", i) })...)
			}
			w.send(1, keys("k", 0, 5, func(i int) string { return fmt.Sprint("ab-", i) })...)
			w.send(2, keys("k", 5, 10, func(i int) string { return fmt.Sprint("c-", i) })...)
			w.end(1, false)
			w.end(2, true)
			w.send(1, kv{key: "z", value: []byte("last")})
			w.end(1, true)
			if err := e.log.Roll(); err != nil {
				t.Fatal(err)
			}
			w.plain(kv{key: "tail", value: []byte("t")})
			leo := e.log.LogEndOffset()
			crashHook = func(s string) error {
				if s == step {
					return errors.New("crash")
				}
				return nil
			}
			defer func() { crashHook = nil }()
			if _, err := e.log.Clean(context.Background(), e.clock.Now(), true); err == nil {
				t.Fatalf("pass did not stop at %s", step)
			}
			crashHook = nil
			e.crash(nil)
			if e.log.LogEndOffset() != leo {
				t.Fatalf("log end %d, want %d", e.log.LogEndOffset(), leo)
			}
			w.check(0)
			ents, _ := os.ReadDir(e.log.Dir())
			for _, en := range ents {
				if n := en.Name(); strings.HasSuffix(n, swapSuffix) || strings.HasSuffix(n, cleanedSuffix) || strings.HasSuffix(n, deletedSuffix) {
					t.Fatalf("left over: %s", n)
				}
			}
			e.clean(true)
			active := e.log.active().base
			w.check(active)
			if left := w.rawAborted(active); len(left) > 0 {
				t.Fatalf("aborted records left: %v", left)
			}
			e.crash(nil)
			w.check(active)
		})
	}
}

// TestCleanTxnRandomized interleaves plain writes and transactions of a
// few producers, committed and aborted, over small segments (so
// transactions span segments and groups), then cleans pass after pass,
// reopening and crashing, checking what read_committed readers see.
func TestCleanTxnRandomized(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			cfg := compactCfg()
			cfg.SegmentBytes = 1024
			cfg.DeleteRetentionMs = time.Minute.Milliseconds()
			e := newEnv(t, cfg)
			w := newTxnLog(e)
			rng := rand.New(rand.NewPCG(seed, 7))
			key := func() string { return fmt.Sprintf("k%02d", rng.IntN(15)) }
			for i := range 400 {
				pid := int64(1 + rng.IntN(4))
				switch n := rng.IntN(10); {
				case n < 4:
					var kvs []kv
					for j := range 1 + rng.IntN(3) {
						var v []byte
						if rng.IntN(8) > 0 {
							v = []byte(fmt.Sprint("p", i, "-", j))
						}
						kvs = append(kvs, kv{key: key(), value: v})
					}
					w.plain(kvs...)
				case n < 8:
					var kvs []kv
					for j := range 1 + rng.IntN(3) {
						kvs = append(kvs, kv{key: key(), value: []byte(fmt.Sprint("t", pid, "-", i, "-", j))})
					}
					w.send(pid, kvs...)
				default:
					if _, ok := w.open[pid]; ok {
						w.end(pid, rng.IntN(2) == 0)
					}
				}
				e.clock.Add(time.Second)
			}
			for pid := range w.open {
				w.end(pid, rng.IntN(2) == 0)
			}
			if err := e.log.Roll(); err != nil {
				t.Fatal(err)
			}
			w.plain(kv{key: "tail", value: []byte("t")})
			active := e.log.active().base
			w.check(0)
			for pass := range 6 {
				e.clean(true)
				w.check(active)
				if left := w.rawAborted(active); len(left) > 0 {
					t.Fatalf("pass %d: aborted records left: %v", pass, left)
				}
				switch pass {
				case 2:
					e.reopen()
				case 4:
					e.crash(nil)
				}
				w.check(active)
				e.clock.Add(40 * time.Second)
			}
			// By now every marker whose transaction left no batch behind
			// has passed its horizon and is gone, except a producer's
			// last write.
			last := map[int64]int64{}
			for _, s := range e.log.ProducerStates() {
				last[s.ProducerID] = s.LastOffset
			}
			withData := map[int64]bool{}
			for _, h := range batches(t, e.log) {
				switch {
				case h.BaseOffset() >= active:
				case !h.Control():
					if h.Transactional() {
						withData[h.ProducerID()] = true
					}
				case !withData[h.ProducerID()]:
					t.Fatalf("marker at %d of producer %d outlived its transaction's data", h.BaseOffset(), h.ProducerID())
				default:
					delete(withData, h.ProducerID())
				}
			}
		})
	}
}
