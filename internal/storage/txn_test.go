package storage

import (
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

func (e *env) txnAppend(pid int64, seq int32, n int) AppendInfo {
	e.t.Helper()
	return e.append(spec{n: n, idem: true, txn: true, pid: pid, seq: seq})
}

func (e *env) marker(pid int64, commit bool) int64 {
	e.t.Helper()
	o, err := e.log.AppendMarker(pid, 0, commit, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func TestTxnFirstUnstableOffsetInterleaved(t *testing.T) {
	e := newEnv(t, testCfg())
	e.append(spec{n: 2}) // 0-1 plain
	if got := e.log.FirstUnstableOffset(); got != -1 {
		t.Fatalf("first unstable %d, want -1", got)
	}
	e.txnAppend(1, 0, 2) // 2-3 pid 1
	e.txnAppend(2, 0, 1) // 4 pid 2
	e.txnAppend(1, 2, 1) // 5 pid 1
	if got := e.log.FirstUnstableOffset(); got != 2 {
		t.Fatalf("first unstable %d, want 2", got)
	}
	if o := e.marker(1, true); o != 6 {
		t.Fatalf("commit marker at %d", o)
	}
	if got := e.log.FirstUnstableOffset(); got != 4 {
		t.Fatalf("after commit of pid 1: first unstable %d, want 4", got)
	}
	if o := e.marker(2, false); o != 7 {
		t.Fatalf("abort marker at %d", o)
	}
	if got := e.log.FirstUnstableOffset(); got != -1 {
		t.Fatalf("after abort of pid 2: first unstable %d, want -1", got)
	}
	want := []AbortedTxn{{ProducerID: 2, FirstOffset: 4, LastOffset: 7, LastStableOffset: 8}}
	if got := e.log.AbortedTransactions(0, 8); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted %+v, want %+v", got, want)
	}
	// The marker is a control batch with Kafka's EndTransactionMarker.
	b, err := e.log.Read(7, 1<<20, 8, true)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := record.Next(b)
	if err != nil || !h.Control() || !h.Transactional() || h.ProducerID() != 2 || !h.ValidCRC() {
		t.Fatalf("marker batch: %v control=%v", err, h.Control())
	}
	commit, ce, ok := parseMarker(h)
	if !ok || commit || ce != 0 {
		t.Fatalf("marker parse commit=%v ce=%d ok=%v", commit, ce, ok)
	}
}

func TestTxnAbortedTransactionsRanges(t *testing.T) {
	e := newEnv(t, testCfg())
	e.txnAppend(1, 0, 1) // 0
	e.txnAppend(2, 0, 1) // 1
	e.marker(1, false)   // 2: aborted [0,2], LSO 1 (pid 2 still open)
	e.txnAppend(1, 1, 1) // 3
	e.marker(2, false)   // 4: aborted [1,4], LSO 3
	e.marker(1, true)    // 5: commit
	e.txnAppend(3, 0, 1) // 6
	e.marker(3, false)   // 7: aborted [6,7], LSO 8
	all := []AbortedTxn{
		{1, 0, 2, 1},
		{2, 1, 4, 3},
		{3, 6, 7, 8},
	}
	for _, tc := range []struct {
		from, to int64
		want     []AbortedTxn
	}{
		{0, 1, all[:1]}, // stops at the first entry whose LSO reaches 1
		{0, 9, all},     // everything
		{3, 9, all[1:]}, // pid 1's abort ended at 2
		{5, 6, nil},     // [5,6) holds only the commit
		{5, 7, all[2:]}, // pid 3's txn starts at 6
		{8, 9, nil},     // past every marker
	} {
		if got := e.log.AbortedTransactions(tc.from, tc.to); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("AbortedTransactions(%d, %d) = %+v, want %+v", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestTxnMarkerEpochChecks(t *testing.T) {
	e := newEnv(t, testCfg())
	e.append(spec{idem: true, txn: true, pid: 1, epoch: 3})
	if _, err := e.log.AppendMarker(1, 2, true, 5, 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old producer epoch: %v", err)
	}
	if _, err := e.log.AppendMarker(1, 3, true, 5, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.AppendMarker(1, 3, false, 4, 0); !errors.Is(err, ErrTransactionCoordinatorFenced) {
		t.Fatalf("old coordinator epoch: %v", err)
	}
	// No open transaction: the marker is written anyway; an abort is indexed
	// as a transaction of the marker alone, as Kafka does.
	o, err := e.log.AppendMarker(9, 0, false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []AbortedTxn{{9, o, o, o + 1}}
	if got := e.log.AbortedTransactions(o, o+1); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted %+v, want %+v", got, want)
	}
	// A transactional batch with an old producer epoch is refused.
	if _, err := e.log.AppendAsLeader(makeBatch(spec{idem: true, txn: true, pid: 1, epoch: 2}), 0, -1); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("fenced produce: %v", err)
	}
	states := e.log.ProducerStates()
	if states[0].ProducerID != 1 || states[0].CoordinatorEpoch != 5 {
		t.Fatalf("producer state %+v", states[0])
	}
}

func TestTxnIndexFileAndReopen(t *testing.T) {
	e := newEnv(t, testCfg())
	e.txnAppend(1, 0, 1) // 0
	e.marker(1, false)   // 1
	e.txnAppend(2, 0, 1) // 2: stays open
	path := fileName(e.log.Dir(), 0, txnIndexSuffix)
	b, err := os.ReadFile(path)
	if err != nil || len(b) != txnEntrySize {
		t.Fatalf("txnindex %d bytes, %v", len(b), err)
	}
	// version 0, pid 1, first 0, last 1, LSO 2
	want := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}
	if string(b) != string(want) {
		t.Fatalf("txnindex bytes %v", b)
	}
	e.reopen()
	if got := e.log.FirstUnstableOffset(); got != 2 {
		t.Fatalf("after clean reopen first unstable %d, want 2", got)
	}
	if got := e.log.AbortedTransactions(0, 3); len(got) != 1 || got[0] != (AbortedTxn{1, 0, 1, 2}) {
		t.Fatalf("after reopen aborted %+v", got)
	}
	// A segment without aborts has no file (created lazily).
	e.marker(2, true)
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	e.txnAppend(3, 0, 1)
	if _, err := os.Stat(fileName(e.log.Dir(), e.log.active().base, txnIndexSuffix)); !os.IsNotExist(err) {
		t.Fatalf("txnindex of a segment without aborts: %v", err)
	}
}

func TestTxnRecoveryAfterCrash(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(e *env)
	}{
		{"as written", func(*env) {}},
		{"txnindex lost", func(e *env) { os.Remove(fileName(e.path+"/orders-3", 0, txnIndexSuffix)) }},
		{"snapshots lost", func(e *env) {
			offs, _ := snapshotOffsets(e.path + "/orders-3")
			for _, o := range offs {
				os.Remove(fileName(e.path+"/orders-3", o, snapshotSuffix))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testCfg())
			e.txnAppend(1, 0, 2) // 0-1
			e.txnAppend(2, 0, 1) // 2
			e.marker(1, false)   // 3: aborted [0,3], LSO 2
			e.txnAppend(2, 1, 1) // 4: pid 2 still open
			if err := e.log.Flush(); err != nil {
				t.Fatal(err)
			}
			e.crash(func() { tc.mutate(e) })
			if got := e.log.FirstUnstableOffset(); got != 2 {
				t.Fatalf("after crash first unstable %d, want 2 (pid 2's open transaction)", got)
			}
			want := []AbortedTxn{{1, 0, 3, 2}}
			if got := e.log.AbortedTransactions(0, 5); !reflect.DeepEqual(got, want) {
				t.Fatalf("after crash aborted %+v, want %+v", got, want)
			}
			o := e.marker(2, false)
			if got := e.log.FirstUnstableOffset(); got != -1 {
				t.Fatalf("after abort first unstable %d", got)
			}
			want = append(want, AbortedTxn{2, 2, o, o + 1})
			if got := e.log.AbortedTransactions(0, o+1); !reflect.DeepEqual(got, want) {
				t.Fatalf("aborted %+v, want %+v", got, want)
			}
		})
	}
}

func TestTxnTruncateDropsIndexEntries(t *testing.T) {
	e := newEnv(t, testCfg())
	e.txnAppend(1, 0, 1) // 0
	e.marker(1, false)   // 1
	e.txnAppend(2, 0, 1) // 2
	e.marker(2, false)   // 3
	if err := e.log.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if got := e.log.AbortedTransactions(0, 10); len(got) != 1 || got[0].ProducerID != 1 {
		t.Fatalf("after truncate aborted %+v", got)
	}
	if st, err := os.Stat(fileName(e.log.Dir(), 0, txnIndexSuffix)); err != nil || st.Size() != txnEntrySize {
		t.Fatalf("txnindex after truncate: %v", err)
	}
	e.txnAppend(2, 0, 1) // 2 again
	if got := e.log.FirstUnstableOffset(); got != 2 {
		t.Fatalf("first unstable %d", got)
	}
	if err := e.log.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if got := e.log.FirstUnstableOffset(); got != -1 {
		t.Fatalf("after truncating the open transaction: first unstable %d", got)
	}
}

func TestTxnIndexDeletedWithSegment(t *testing.T) {
	cfg := testCfg()
	e := newEnv(t, cfg)
	e.txnAppend(1, 0, 1) // 0
	e.marker(1, false)   // 1
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	e.append(spec{n: 1}) // 2
	path := fileName(e.log.Dir(), 0, txnIndexSuffix)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.DeleteRecordsBefore(2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("txnindex after its segment was deleted: %v", err)
	}
	if _, err := os.Stat(path + deletedSuffix); !os.IsNotExist(err) {
		t.Fatalf("txnindex.deleted after the delete delay: %v", err)
	}
	if got := e.log.AbortedTransactions(0, 3); got != nil {
		t.Fatalf("aborted %+v", got)
	}
}

func slicesContains(segs []*segment, s *segment) bool {
	for _, x := range segs {
		if x == s {
			return true
		}
	}
	return false
}

func TestTxnCleanerStopsAtOpenTransaction(t *testing.T) {
	e := newEnv(t, compactCfg())
	m := newModel()
	fillKeys(e, m, record.CodecNone, 30, 10, false)
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	e.txnAppend(7, 0, 1) // stays open
	open := e.log.active()
	fillKeys(e, m, record.CodecNone, 30, 10, false)
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	var after []*segment
	for _, s := range e.log.segments() {
		if s.base >= open.base {
			after = append(after, s)
		}
	}
	if res := e.clean(true); !res.Cleaned {
		t.Fatalf("nothing cleaned below the open transaction: %+v", res)
	}
	for _, s := range after {
		if !slicesContains(e.log.segments(), s) {
			t.Fatalf("segment %d at or after the open transaction was cleaned", s.base)
		}
	}
	if got := e.log.FirstUnstableOffset(); got != open.base {
		t.Fatalf("first unstable %d, want %d", got, open.base)
	}
}

// FuzzTxnIndex: loading any .txnindex bytes never fails or panics, keeps
// exactly the leading whole version-0 entries, and trims the file to them.
func FuzzTxnIndex(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, txnEntrySize+3))
	f.Add(append(make([]byte, txnEntrySize), 0, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := t.TempDir() + "/00000000000000000000.txnindex"
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		x, err := loadTxnIndex(path)
		if err != nil {
			t.Fatal(err)
		}
		defer x.close()
		n := 0
		for len(b) >= (n+1)*txnEntrySize && b[n*txnEntrySize] == 0 && b[n*txnEntrySize+1] == 0 {
			n++
		}
		if len(x.all()) != n {
			t.Fatalf("%d entries, want %d", len(x.all()), n)
		}
		if st, err := os.Stat(path); err != nil || st.Size() != int64(n*txnEntrySize) {
			t.Fatalf("file not trimmed to %d entries: %v", n, err)
		}
	})
}
