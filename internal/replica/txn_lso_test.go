package replica

import (
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// TestLastStableOffsetNotBelowLogStart: DeleteRecords past the first offset
// of an open transaction moves the last stable offset up to the new log
// start, never below it, and it never goes back afterwards (Kafka bounds
// the first unstable offset by the log start offset).
func TestLastStableOffsetNotBelowLogStart(t *testing.T) {
	p := openTestPartition(t, false)
	plain := func(n int) {
		t.Helper()
		var bl record.Builder
		bl.Reset(record.NonIdempotent)
		for range n {
			bl.Append(time.Now().UnixMilli(), nil, []byte("v"), nil)
		}
		h, err := bl.Finish(record.CodecNone, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.AppendRecords(append([]byte(nil), h...), 9); err != nil {
			t.Fatal(err)
		}
	}
	plain(2) // 0-1
	// 2-3: a transaction that stays open
	if _, err := p.AppendRecords(txnBatch(t, 5, 0, 0, 2), 9); err != nil {
		t.Fatal(err)
	}
	plain(3) // 4-6
	if p.LastStableOffset() != 2 {
		t.Fatalf("lso %d, want 2", p.LastStableOffset())
	}
	if _, err := p.Log().DeleteRecordsBefore(5); err != nil {
		t.Fatal(err)
	}
	if p.LogStartOffset() != 5 || p.LastStableOffset() != 5 {
		t.Fatalf("after DeleteRecords(5): start %d lso %d, want 5 and 5", p.LogStartOffset(), p.LastStableOffset())
	}
	// 7: the same transaction
	if _, err := p.AppendRecords(txnBatch(t, 5, 0, 2, 1), 9); err != nil {
		t.Fatal(err)
	}
	plain(1) // 8
	if p.LastStableOffset() != 5 {
		t.Fatalf("lso %d with the transaction still open, want 5", p.LastStableOffset())
	}
	if _, err := p.WriteTxnMarker(5, 0, true, 0); err != nil {
		t.Fatal(err)
	}
	if p.LastStableOffset() != p.HighWatermark() || p.HighWatermark() != 10 {
		t.Fatalf("lso %d hw %d after the commit, want 10", p.LastStableOffset(), p.HighWatermark())
	}
}
