package controller

import (
	"reflect"
	"testing"

	"github.com/samsa-io/samsa/internal/metadata"
)

// TestElectLeaderlessAfterConfigChange: once a topic's configs allow an
// unclean election, its leaderless partitions with a live replica get one
// as leader; partitions with a leader, and topics that still say no, are
// left alone.
func TestElectLeaderlessAfterConfigChange(t *testing.T) {
	unclean := func(t *metadata.Topic) bool { return t.Configs["unclean.leader.election.enable"] == "true" }
	c := testController(unclean)
	tp := &metadata.Topic{Name: "t", ID: metadata.UUID{3}, Assignments: []metadata.PartitionState{
		ps([]int32{1, 2}, []int32{1}, -1, 5, 8), // only ISR member 1 is fenced; 2 is live
		ps([]int32{2, 3}, []int32{2, 3}, 2, 0, 0),
		ps([]int32{1, 3}, []int32{1}, -1, 2, 3), // 3 is live too
		ps([]int32{1}, []int32{1}, -1, 1, 1),    // no live replica
	}}
	im := testImage(t, []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}}, tp)
	if b := c.electLeaderless(im, "t"); len(b) != 0 {
		t.Fatalf("unclean election off: records %+v", b)
	}
	if b := c.electLeaderless(im, "missing"); len(b) != 0 {
		t.Fatalf("unknown topic: records %+v", b)
	}
	im = apply(t, im, metadata.Batch{{Type: metadata.RecTopicConfigs, TopicID: tp.ID, Configs: map[string]string{"unclean.leader.election.enable": "true"}}})
	im = apply(t, im, c.electLeaderless(im, "t"))
	want := []metadata.PartitionState{
		{Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 6, PartitionEpoch: 9, LeaderRecovering: true},
		ps([]int32{2, 3}, []int32{2, 3}, 2, 0, 0),
		{Replicas: []int32{1, 3}, ISR: []int32{3}, Leader: 3, LeaderEpoch: 3, PartitionEpoch: 4, LeaderRecovering: true},
		ps([]int32{1}, []int32{1}, -1, 1, 1),
	}
	if got := im.Topic("t").Assignments; !reflect.DeepEqual(got, want) {
		t.Fatalf("after enabling unclean election:\n got  %+v\n want %+v", got, want)
	}
}
