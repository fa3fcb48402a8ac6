package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// group.max.size caps a classic group: a member past the cap gets
// GROUP_MAX_SIZE_REACHED and the group keeps its members and assignment.
func TestGroupMaxSize(t *testing.T) {
	b := startGroupBroker(t, "group.max.size=2")
	createTopic(t, b, "capped", 4, nil)
	m1 := groupMember(t, b, "g-capped", "capped")
	m2 := groupMember(t, b, "g-capped", "capped")
	waitSplit(t, 4, []int{2, 2}, m1, m2)

	third := b.Client(t, kgo.ConsumerGroup("g-capped"), kgo.ConsumeTopics("capped"),
		kgo.SessionTimeout(3*time.Second), kgo.HeartbeatInterval(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got error
	for got == nil && ctx.Err() == nil {
		fs := third.PollFetches(ctx)
		for _, e := range fs.Errors() {
			if errors.Is(e.Err, kerr.GroupMaxSizeReached) {
				got = e.Err
			}
		}
	}
	if got == nil {
		t.Fatal("the third member never got GROUP_MAX_SIZE_REACHED")
	}
	groups, err := b.Admin(t).DescribeGroups(context.Background(), "g-capped")
	if err != nil {
		t.Fatal(err)
	}
	g := groups["g-capped"]
	if g.Err != nil || len(g.Members) != 2 || g.State != "Stable" {
		t.Fatalf("group after the refused join: state %s, %d members, err %v", g.State, len(g.Members), g.Err)
	}
	if a1, a2 := m1.assigned(), m2.assigned(); len(a1) != 2 || len(a2) != 2 {
		t.Fatalf("members lost partitions: %v %v", a1, a2)
	}
}
