package replica

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// A reassignment that removes the leader deletes its replica (the new
// leader is elected in the same metadata change). An acks=all produce
// waiting on the deleted replica can never be acknowledged there: it must
// end at once with NOT_LEADER_OR_FOLLOWER, as Kafka completes the delayed
// produces of a stopped replica, so the producer moves to the new leader,
// rather than wait out its whole timeout.
func TestDeletedLeaderEndsWaitingProduce(t *testing.T) {
	m, cfg := testManager(t, true)
	p, err := m.OpenPartition("t", 0, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Become(1, metadata.PartitionState{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 4, PartitionEpoch: 7},
		func(*Partition, []int32, int32, int32) {})
	if _, err := p.AppendRecords(plainBatch(t, 3), 9); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { done <- p.WaitReplicated(ctx, p.LogEndOffset(), 4, 1) }()
	time.Sleep(100 * time.Millisecond) // let it wait
	if err := m.DeletePartitions([]TopicPartition{{Topic: "t", Partition: 0}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotLeader) {
			t.Fatalf("WaitReplicated on a deleted leader replica: %v, want ErrNotLeader", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("WaitReplicated still waiting %v after the replica was deleted (it would answer only at the produce timeout)", time.Since(start).Round(time.Second))
	}
}
