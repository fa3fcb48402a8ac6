package broker_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A dynamic member that rejoins with epoch 0 and an instance id becomes a
// static member, as in Kafka 3.9 (its member metadata record carries the
// instance id, and replaying it registers the static member): its next
// heartbeats with the instance id are accepted, and after a temporary
// leave another member id can take its place with that instance id.
// Before, the member kept the instance id but the group did not know it,
// so its next heartbeat failed with UNKNOWN_MEMBER_ID.
func TestConsumerGroupDynamicMemberBecomesStatic(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t, "group.consumer.heartbeat.interval.ms=100", "group.consumer.session.timeout.ms=5000")
	createTopic(t, b, "kt", 4, nil)
	td, err := b.Admin(t).ListTopics(context.Background(), "kt")
	if err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, b.Addr)
	m := &cgMember{t: t, r: r, group: "g-dyn-static", topicID: td["kt"].ID, assignor: "uniform"}
	m.must()
	id := m.id

	// The first join's response was lost: the member sends epoch 0 again,
	// now with an instance id.
	m.epoch, m.owned, m.instance = 0, nil, sp("inst-1")
	m.must()
	if m.id != id {
		t.Fatalf("member id %s, want %s", m.id, id)
	}
	for i := 0; i < 3; i++ {
		m.must()
	}
	if len(m.owned) != 4 {
		t.Fatalf("owned %v, want all 4 partitions", m.partitions())
	}

	// A temporary leave keeps the place for the instance id, and a new
	// member id with it takes over its partitions.
	m.epoch = -2
	if resp := m.heartbeat(); resp.ErrorCode != 0 {
		t.Fatalf("static leave: %v", hbCode(resp))
	}
	n := &cgMember{t: t, r: r, group: "g-dyn-static", topicID: m.topicID, assignor: "uniform", instance: sp("inst-1")}
	n.must()
	if n.id == id {
		t.Fatalf("rejoined under the old member id %s", id)
	}
	for i := 0; i < 3 && len(n.owned) < 4; i++ {
		n.must()
	}
	if len(n.owned) != 4 {
		t.Fatalf("replacement owns %v, want the 4 partitions of its old self", n.partitions())
	}
	// The old member id is gone.
	m.epoch, m.instance = 1, nil
	if resp := m.heartbeat(); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("old member after replacement: %v", hbCode(resp))
	}
}
