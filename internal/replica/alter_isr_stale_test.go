package replica

import (
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// A follower being added to the ISR counts for the high watermark while the
// change is with the controller (Kafka's maximal ISR): should the change go
// through, every record below the high watermark must be on it. The failure
// of an older proposal, refused because a newer metadata state arrived in
// between (INVALID_UPDATE_VERSION), must not end the newer proposal's
// count: Kafka ignores the failure of a proposal that is no longer the
// pending one. Otherwise the high watermark passes the joining follower's
// log end, acks=all producers are answered, and the controller then takes
// the newer proposal: an ISR member lacks acknowledged records (and a
// reassignment completed by that change may make it the leader).
func TestStaleAlterISRFailureKeepsPendingFollowerCounted(t *testing.T) {
	p := openTestPartition(t, false)
	type proposal struct {
		isr            []int32
		partitionEpoch int32
	}
	props := make(chan proposal, 4)
	alter := func(_ *Partition, isr []int32, _, pe int32) { props <- proposal{isr, pe} }
	next := func() proposal {
		t.Helper()
		select {
		case pr := <-props:
			return pr
		case <-time.After(5 * time.Second):
			t.Fatal("no ISR proposal")
		}
		return proposal{}
	}
	st := metadata.PartitionState{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 5}
	p.Become(1, st, alter)
	if _, err := p.AppendRecords(plainBatch(t, 10), 3); err != nil {
		t.Fatal(err)
	}
	if err := p.UpdateFollower(2, 10, 0); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 10 {
		t.Fatalf("high watermark %d, want 10", hw)
	}
	// Follower 3 caught up: proposal P1 at partition epoch 5.
	if err := p.UpdateFollower(3, 10, 0); err != nil {
		t.Fatal(err)
	}
	if pr := next(); pr.partitionEpoch != 5 || len(pr.isr) != 3 {
		t.Fatalf("first proposal %+v", pr)
	}
	// An unrelated change (a reassignment starting, say) reaches this
	// broker before P1's answer: same leader and ISR, partition epoch 6.
	st.PartitionEpoch = 6
	p.Become(1, st, alter)
	// Follower 3 fetches again: proposal P2 at partition epoch 6.
	if err := p.UpdateFollower(3, 10, 0); err != nil {
		t.Fatal(err)
	}
	if pr := next(); pr.partitionEpoch != 6 || len(pr.isr) != 3 {
		t.Fatalf("second proposal %+v", pr)
	}
	// Now P1's refusal arrives (its partition epoch is stale).
	p.AlterISRFailed(5)
	// New records reach follower 2 only.
	if _, err := p.AppendRecords(plainBatch(t, 5), 3); err != nil {
		t.Fatal(err)
	}
	if err := p.UpdateFollower(2, 15, 0); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 10 {
		t.Fatalf("high watermark %d while the proposal adding follower 3 (log end 10) is pending; want 10", hw)
	}
	// P2's own refusal does end it.
	p.AlterISRFailed(6)
	if err := p.UpdateFollower(2, 15, 0); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 15 {
		t.Fatalf("high watermark %d after the pending proposal failed; want 15", hw)
	}
}
