package storage

import (
	"errors"
	"testing"
)

// coordinatorTxn is a transactional batch as the group coordinator writes
// a transactional offset commit: a producer id and epoch, no sequence.
func coordinatorTxn(pid int64, epoch int16, n int) []byte {
	return makeBatch(spec{n: n, idem: true, txn: true, pid: pid, epoch: epoch, seq: -1})
}

// A coordinator batch is checked for its producer epoch only: repeated
// batches without a sequence are all written (no duplicate detection), an
// older epoch is refused, a newer one is taken at any sequence; the
// transaction it opens holds the first unstable offset until its marker,
// across a restart too.
func TestAppendAsCoordinator(t *testing.T) {
	e := newEnv(t, testCfg())
	e.append(spec{n: 1}) // 0: a plain batch
	for i, want := range []int64{1, 3} {
		info, err := e.log.AppendAsCoordinator(coordinatorTxn(7, 2, 2), 0)
		if err != nil {
			t.Fatalf("coordinator batch %d: %v", i, err)
		}
		if info.Duplicate || info.FirstOffset != want {
			t.Fatalf("coordinator batch %d: %+v, want first offset %d, not a duplicate", i, info, want)
		}
	}
	if got := e.log.FirstUnstableOffset(); got != 1 {
		t.Fatalf("first unstable %d, want 1", got)
	}
	if _, err := e.log.AppendAsCoordinator(coordinatorTxn(7, 1, 1), 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("older epoch: %v, want ErrInvalidProducerEpoch", err)
	}
	if e.log.LogEndOffset() != 5 {
		t.Fatalf("log end %d after a refused batch, want 5", e.log.LogEndOffset())
	}

	// The same batch from a client is still checked as a client's: a
	// transactional batch without a sequence after one is a duplicate of it
	// (nothing written), and a newer epoch must start at sequence 0.
	if info, err := e.log.AppendAsLeader(coordinatorTxn(7, 2, 2), 0, -1); err != nil || !info.Duplicate {
		t.Fatalf("client append of the same batch: %+v %v, want a duplicate", info, err)
	}
	if _, err := e.log.AppendAsLeader(coordinatorTxn(7, 3, 1), 0, -1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("client append with a new epoch at sequence -1: %v, want ErrOutOfOrderSequence", err)
	}

	e.reopen()
	if got := e.log.FirstUnstableOffset(); got != 1 {
		t.Fatalf("after reopen: first unstable %d, want 1", got)
	}
	if _, err := e.log.AppendAsCoordinator(coordinatorTxn(7, 1, 1), 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("after reopen, older epoch: %v, want ErrInvalidProducerEpoch", err)
	}
	if _, err := e.log.AppendMarker(7, 2, true, 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := e.log.FirstUnstableOffset(); got != -1 {
		t.Fatalf("after the marker: first unstable %d, want -1", got)
	}
	// A bumped epoch opens the next transaction at any sequence.
	info, err := e.log.AppendAsCoordinator(coordinatorTxn(7, 3, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.log.FirstUnstableOffset(); got != info.FirstOffset {
		t.Fatalf("first unstable %d, want %d", got, info.FirstOffset)
	}
	// A plain batch from the coordinator is not checked at all.
	if _, err := e.log.AppendAsCoordinator(makeBatch(spec{n: 1}), 0); err != nil {
		t.Fatal(err)
	}
}
