package replica

import (
	"fmt"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/record"
)

func plainBatch(t *testing.T, n int) []byte {
	t.Helper()
	var b record.Builder
	b.Reset(record.BatchFields{PartitionLeaderEpoch: record.NoPartitionLeader, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	for i := 0; i < n; i++ {
		b.Append(time.Now().UnixMilli(), nil, []byte("v"), nil)
	}
	h, err := b.Finish(record.CodecNone, 0)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), h...)
}

// ReadReplicas offers a consumer reading at some offset the in-sync
// followers whose last reported logs hold that offset (Kafka's
// findPreferredReadReplica candidates), and nothing on a follower.
func TestReadReplicas(t *testing.T) {
	p := openTestPartition(t, false)
	noAlter := func(*Partition, []int32, int32, int32) {}
	st := metadata.PartitionState{Replicas: []int32{1, 2, 3, 4}, ISR: []int32{1, 2, 3}, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 5}
	p.Become(1, st, noAlter)
	if _, err := p.AppendRecords(plainBatch(t, 10), 9); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if got := p.ReadReplicas(0, now); len(got) != 0 {
		t.Fatalf("before any follower fetch: %+v", got)
	}
	// Follower 2 has offsets [4, 10), follower 3 [0, 6); 4 is not in the
	// ISR however far it is.
	for _, f := range []struct {
		id            int32
		leo, logStart int64
	}{{2, 10, 4}, {3, 6, 0}, {4, 10, 0}} {
		if err := p.UpdateFollower(f.id, f.leo, f.logStart); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(offset int64) string {
		var out []string
		for _, r := range p.ReadReplicas(offset, time.Now()) {
			out = append(out, fmt.Sprintf("%d@%d", r.ID, r.LogEndOffset))
			if r.SinceCaughtUp < 0 || r.SinceCaughtUp > time.Minute {
				t.Errorf("replica %d: since caught up %v", r.ID, r.SinceCaughtUp)
			}
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		offset int64
		want   string
	}{
		{0, "[3@6]"},      // below 2's log start
		{4, "[2@10 3@6]"}, // both hold it
		{6, "[2@10 3@6]"}, // 3's log end: nothing to read there yet, but it is in range
		{7, "[2@10]"},     // past 3's log end
		{10, "[2@10]"},    // the leader's log end
		{11, "[]"},        // past every log
	} {
		if got := ids(tc.offset); got != tc.want {
			t.Errorf("offset %d: %s, want %s", tc.offset, got, tc.want)
		}
	}
	// Out of the ISR: no longer offered.
	st.ISR, st.PartitionEpoch = []int32{1, 3}, 6
	p.Become(1, st, noAlter)
	if got := ids(4); got != "[3@6]" {
		t.Errorf("after 2 left the ISR: %s", got)
	}
	// A follower offers nothing.
	st.Leader, st.LeaderEpoch = 3, 4
	p.Become(1, st, noAlter)
	if !p.IsFollower() || p.IsLeader() {
		t.Fatalf("follower %v leader %v", p.IsFollower(), p.IsLeader())
	}
	if got := ids(0); got != "[]" {
		t.Errorf("as follower: %s", got)
	}
}
