package broker

import (
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/replica"
)

// The rack-aware selector prefers the follower furthest ahead, then the
// one caught up most recently, then the highest id (Kafka's
// ReplicaView.comparator).
func TestBetterReadReplica(t *testing.T) {
	r := func(id int32, leo int64, since time.Duration) replica.ReadReplica {
		return replica.ReadReplica{ID: id, LogEndOffset: leo, SinceCaughtUp: since}
	}
	for _, tc := range []struct {
		name string
		a, b replica.ReadReplica
		want bool
	}{
		{"further ahead", r(2, 10, time.Second), r(3, 9, 0), true},
		{"behind", r(2, 9, 0), r(3, 10, time.Second), false},
		{"caught up more recently", r(2, 10, time.Millisecond), r(3, 10, time.Second), true},
		{"caught up longer ago", r(3, 10, time.Second), r(2, 10, time.Millisecond), false},
		{"higher id on a tie", r(3, 10, 0), r(2, 10, 0), true},
		{"lower id on a tie", r(2, 10, 0), r(3, 10, 0), false},
		{"itself", r(2, 10, 0), r(2, 10, 0), false},
	} {
		if got := betterReadReplica(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
