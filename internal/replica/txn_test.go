package replica

import (
	"errors"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
)

func txnBatch(t *testing.T, pid int64, epoch int16, seq int32, n int) []byte {
	t.Helper()
	var b record.Builder
	b.Reset(record.BatchFields{PartitionLeaderEpoch: record.NoPartitionLeader, ProducerID: pid, ProducerEpoch: epoch,
		BaseSequence: seq, Transactional: true})
	for i := 0; i < n; i++ {
		b.Append(time.Now().UnixMilli(), nil, []byte("v"), nil)
	}
	h, err := b.Finish(record.CodecNone, 0)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), h...)
}

// The last stable offset stops at the first open transaction, a marker
// moves it (waking fetch waiters), and a fenced producer epoch is refused.
func TestPartitionLastStableOffset(t *testing.T) {
	p := openTestPartition(t, false)
	if _, err := p.AppendRecords(txnBatch(t, 5, 1, 0, 3), 9); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendRecords(txnBatch(t, 6, 0, 0, 2), 9); err != nil {
		t.Fatal(err)
	}
	if p.HighWatermark() != 5 || p.LastStableOffset() != 0 {
		t.Fatalf("hw %d lso %d, want 5 and 0", p.HighWatermark(), p.LastStableOffset())
	}
	w := NewWaiter([]*Partition{p})
	defer w.Close()
	if off, err := p.WriteTxnMarker(5, 1, true, 0); err != nil || off != 5 {
		t.Fatalf("marker at %d: %v", off, err)
	}
	select {
	case <-w.C():
	default:
		t.Fatal("marker did not wake the waiter")
	}
	if p.LastStableOffset() != 3 {
		t.Fatalf("lso %d after committing pid 5, want 3", p.LastStableOffset())
	}
	if _, err := p.WriteTxnMarker(6, 0, false, 0); err != nil {
		t.Fatal(err)
	}
	if p.LastStableOffset() != 7 || p.HighWatermark() != 7 {
		t.Fatalf("lso %d hw %d, want 7", p.LastStableOffset(), p.HighWatermark())
	}
	if got := p.Log().AbortedTransactions(0, 7); len(got) != 1 || got[0].ProducerID != 6 || got[0].FirstOffset != 3 {
		t.Fatalf("aborted %+v", got)
	}
	if _, err := p.AppendRecords(txnBatch(t, 5, 0, 0, 1), 9); !errors.Is(err, storage.ErrInvalidProducerEpoch) {
		t.Fatalf("fenced epoch: %v", err)
	}
	if _, err := p.WriteTxnMarker(5, 0, false, 0); !errors.Is(err, storage.ErrInvalidProducerEpoch) {
		t.Fatalf("fenced marker: %v", err)
	}
	if p.Offline() != nil {
		t.Fatal("a refused marker took the partition offline")
	}
}

// A verification guard (a transactional batch checked with a coordinator
// on another broker) lets the batch in unless a marker for its producer
// was written in between: appended after the marker, the batch would open
// a transaction nobody ends and hold the last stable offset forever. A
// marker for another producer, or a newer guard, decide as they should.
func TestPartitionVerificationGuard(t *testing.T) {
	p := openTestPartition(t, false)

	// Verified, nothing in between: appended.
	g := p.StartVerification(5)
	if res, err := p.AppendVerified(5, g, txnBatch(t, 5, 0, 0, 2), 9); err != nil || res.BaseOffset != 0 {
		t.Fatalf("append with a standing guard: %+v %v", res, err)
	}
	// A guard is good for one append.
	if _, err := p.AppendVerified(5, g, txnBatch(t, 5, 0, 2, 1), 9); !errors.Is(err, ErrVerificationVoid) {
		t.Fatalf("second append on one guard: %v, want ErrVerificationVoid", err)
	}
	// The producer's marker comes while the next batch is being verified.
	g = p.StartVerification(5)
	if _, err := p.WriteTxnMarker(5, 0, true, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendVerified(5, g, txnBatch(t, 5, 0, 2, 1), 9); !errors.Is(err, ErrVerificationVoid) {
		t.Fatalf("append after the producer's marker: %v, want ErrVerificationVoid", err)
	}
	if lso, hw := p.LastStableOffset(), p.HighWatermark(); lso != 3 || hw != 3 {
		t.Fatalf("lso %d hw %d, want 3 and 3 (no open transaction)", lso, hw)
	}
	// Another producer's marker leaves the guard standing; a newer guard
	// of the same producer replaces the older one.
	g = p.StartVerification(5)
	if _, err := p.AppendRecords(txnBatch(t, 6, 0, 0, 1), 9); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteTxnMarker(6, 0, false, 0); err != nil {
		t.Fatal(err)
	}
	newer := p.StartVerification(5)
	if _, err := p.AppendVerified(5, g, txnBatch(t, 5, 0, 2, 1), 9); !errors.Is(err, ErrVerificationVoid) {
		t.Fatalf("append on a replaced guard: %v, want ErrVerificationVoid", err)
	}
	if res, err := p.AppendVerified(5, newer, txnBatch(t, 5, 0, 2, 1), 9); err != nil || res.BaseOffset != 5 {
		t.Fatalf("append on the newer guard: %+v %v", res, err)
	}
	if lso := p.LastStableOffset(); lso != 5 {
		t.Fatalf("lso %d, want 5 (producer 5's new transaction open)", lso)
	}
}

// A batch of a transaction already open on the partition at the same
// producer epoch is appended without a new verification; before the
// transaction's first batch, after its marker, or at another epoch it is
// not, and nothing is appended.
func TestAppendInTransaction(t *testing.T) {
	p := openTestPartition(t, false)
	if _, ok, _ := p.AppendInTransaction(5, 1, txnBatch(t, 5, 1, 0, 2), 9); ok {
		t.Fatal("appended before the transaction's first batch")
	}
	if _, err := p.AppendRecords(txnBatch(t, 5, 1, 0, 2), 9); err != nil { // 0-1: verified first batch
		t.Fatal(err)
	}
	res, ok, err := p.AppendInTransaction(5, 1, txnBatch(t, 5, 1, 2, 3), 9)
	if !ok || err != nil || res.BaseOffset != 2 {
		t.Fatalf("second batch of an open transaction: ok %v err %v base %d", ok, err, res.BaseOffset)
	}
	if _, ok, _ := p.AppendInTransaction(5, 2, txnBatch(t, 5, 2, 0, 1), 9); ok {
		t.Fatal("appended at another producer epoch")
	}
	if _, err := p.WriteTxnMarker(5, 1, true, 0); err != nil { // 5
		t.Fatal(err)
	}
	if _, ok, _ := p.AppendInTransaction(5, 1, txnBatch(t, 5, 1, 5, 1), 9); ok {
		t.Fatal("appended after the transaction's marker")
	}
	if end := p.LogEndOffset(); end != 6 {
		t.Fatalf("log end %d, want 6", end)
	}
}
