package storage

import "testing"

// A follower that truncates away a transaction's marker (the marker was
// past the committed high watermark and the new leader never had it) holds
// the transaction's records again without any decision: the transaction is
// open, and the last stable offset must stay below its first record.
// Otherwise a read_committed consumer (a follower read, KIP-392, or this
// replica once it leads) gets records of a transaction the coordinator may
// still abort, with no aborted-transaction entry to filter them.
func TestTxnTruncateMarkerReopensTransaction(t *testing.T) {
	for _, commit := range []bool{false, true} {
		e := newEnv(t, testCfg())
		e.append(spec{n: 1}) // 0 plain
		e.txnAppend(1, 0, 2) // 1-2 pid 1
		if o := e.marker(1, commit); o != 3 {
			t.Fatalf("marker at %d", o)
		}
		if got := e.log.FirstUnstableOffset(); got != -1 {
			t.Fatalf("first unstable %d after the marker, want -1", got)
		}
		if err := e.log.Truncate(3); err != nil {
			t.Fatal(err)
		}
		if got := e.log.FirstUnstableOffset(); got != 1 {
			t.Errorf("commit=%v: after truncating the marker away the first unstable offset is %d, want 1 (the transaction is open again)", commit, got)
		}
		if got := e.log.AbortedTransactions(0, 10); len(got) != 0 {
			t.Errorf("commit=%v: aborted %+v after truncating the marker, want none", commit, got)
		}
	}
}
