package controller

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

func TestReassignSteps(t *testing.T) {
	brokers := liveBrokers(1, 2, 3, 4, 5)
	st := func(replicas, isr []int32, leader, epoch int32, adding, removing []int32) metadata.PartitionState {
		return metadata.PartitionState{Replicas: replicas, ISR: isr, Leader: leader, LeaderEpoch: epoch, AddingReplicas: adding, RemovingReplicas: removing}
	}
	for _, tc := range []struct {
		name    string
		brokers []brokerSpec
		in      metadata.PartitionState
		target  []int32
		want    metadata.PartitionState
		err     error
	}{
		{name: "move every replica: targets first, then the removed ones", brokers: brokers,
			in: st([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, nil, nil), target: []int32{4, 5, 3},
			want: st([]int32{4, 5, 3, 1, 2}, []int32{1, 2, 3}, 1, 4, []int32{4, 5}, []int32{1, 2})},
		{name: "a reordering completes at once", brokers: brokers,
			in: st([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, nil, nil), target: []int32{3, 1, 2},
			want: st([]int32{3, 1, 2}, []int32{1, 2, 3}, 1, 4, nil, nil)},
		{name: "a smaller replication factor completes at once; the removed leader hands over", brokers: brokers,
			in: st([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, nil, nil), target: []int32{3, 2},
			want: st([]int32{3, 2}, []int32{2, 3}, 3, 5, nil, nil)},
		{name: "an out-of-sync target replica keeps it in progress", brokers: brokers,
			in: st([]int32{1, 2, 3}, []int32{1, 3}, 1, 4, nil, nil), target: []int32{2, 3},
			want: st([]int32{2, 3, 1}, []int32{1, 3}, 1, 4, nil, []int32{1})},
		{name: "unknown broker", brokers: brokers,
			in: st([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, nil, nil), target: []int32{1, 2, 9}, err: ErrInvalidAssignment},
		{name: "a broker twice", brokers: brokers,
			in: st([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, nil, nil), target: []int32{1, 2, 2}, err: ErrInvalidAssignment},
		{name: "empty list", brokers: brokers,
			in: st([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, nil, nil), target: []int32{}, err: ErrInvalidAssignment},
		{name: "a fenced broker may be a target (it is registered)", brokers: append(liveBrokers(1, 2, 3), brokerSpec{id: 4, fenced: true}),
			in: st([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, nil, nil), target: []int32{1, 2, 4},
			want: st([]int32{1, 2, 4, 3}, []int32{1, 2, 3}, 1, 4, []int32{4}, []int32{3})},
		{name: "a new target mid-reassignment starts from the current replicas", brokers: brokers,
			in: st([]int32{4, 5, 3, 1, 2}, []int32{1, 2, 3}, 1, 4, []int32{4, 5}, []int32{1, 2}), target: []int32{1, 2, 3},
			want: st([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, nil, nil)},
		{name: "the same target sent again changes nothing", brokers: brokers,
			in: st([]int32{1, 4, 2}, []int32{1, 2}, 1, 4, []int32{4}, []int32{2}), target: []int32{1, 4},
			want: st([]int32{1, 4, 2}, []int32{1, 2}, 1, 4, []int32{4}, []int32{2})},
		{name: "an adding replica the new target drops leaves, from the ISR too", brokers: brokers,
			in: st([]int32{1, 4, 5, 2, 3}, []int32{1, 2, 3, 4}, 1, 4, []int32{4, 5}, []int32{2, 3}), target: []int32{1, 5},
			want: st([]int32{1, 5, 2, 3}, []int32{1, 2, 3}, 1, 4, []int32{5}, []int32{2, 3})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := &metadata.Topic{Name: "t", ID: metadata.UUID{1}, Assignments: []metadata.PartitionState{tc.in.Clone()}}
			im := testImage(t, tc.brokers, tp)
			got, err := testController(nil).startReassignment(im, im.Topic("t"), im.Topic("t").PartitionState(0), tc.target)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

func TestReassignCompletesWhenTargetsJoinTheISR(t *testing.T) {
	tp := &metadata.Topic{Name: "t", ID: metadata.UUID{1}, Assignments: []metadata.PartitionState{{
		Replicas: []int32{4, 5, 3, 1, 2}, ISR: []int32{1, 2, 3}, Leader: 1, LeaderEpoch: 4, AddingReplicas: []int32{4, 5}, RemovingReplicas: []int32{1, 2}}}}
	im := testImage(t, liveBrokers(1, 2, 3, 4, 5), tp)
	c := testController(nil)
	n := im.Topic("t").PartitionState(0).Clone()
	n.ISR = []int32{1, 2, 3, 4} // 5 not yet
	if c.finishReassignment(im, im.Topic("t"), &n) {
		t.Fatalf("completed with 5 out of the ISR: %+v", n)
	}
	n.ISR = []int32{1, 2, 3, 4, 5}
	if !c.finishReassignment(im, im.Topic("t"), &n) {
		t.Fatal("did not complete with every target in the ISR")
	}
	want := metadata.PartitionState{Replicas: []int32{4, 5, 3}, ISR: []int32{3, 4, 5}, Leader: 4, LeaderEpoch: 5}
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("got %+v, want %+v", n, want)
	}
}

func TestCancelReassignment(t *testing.T) {
	in := metadata.PartitionState{Replicas: []int32{4, 5, 3, 1, 2}, ISR: []int32{1, 2, 3, 4}, Leader: 4, LeaderEpoch: 6,
		AddingReplicas: []int32{4, 5}, RemovingReplicas: []int32{1, 2}}
	tp := &metadata.Topic{Name: "t", ID: metadata.UUID{1}, Assignments: []metadata.PartitionState{in.Clone(), {Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}}
	im := testImage(t, liveBrokers(1, 2, 3, 4, 5), tp)
	c := testController(nil)
	got, err := c.cancelReassignment(im, im.Topic("t"), 0, im.Topic("t").PartitionState(0))
	want := metadata.PartitionState{Replicas: []int32{3, 1, 2}, ISR: []int32{1, 2, 3}, Leader: 3, LeaderEpoch: 7}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v\nwant %+v", got, err, want)
	}
	if _, err := c.cancelReassignment(im, im.Topic("t"), 1, im.Topic("t").PartitionState(1)); !errors.Is(err, ErrNoReassignment) {
		t.Fatalf("cancel with none in progress: %v", err)
	}

	// Only adding replicas in the ISR: reverting needs an unclean election.
	in.ISR = []int32{4}
	tp = &metadata.Topic{Name: "t", ID: metadata.UUID{1}, Assignments: []metadata.PartitionState{in}}
	im = testImage(t, liveBrokers(1, 2, 3, 4, 5), tp)
	if _, err := c.cancelReassignment(im, im.Topic("t"), 0, im.Topic("t").PartitionState(0)); !errors.Is(err, ErrInvalidAssignment) {
		t.Fatalf("revert needing an unclean election without it: %v", err)
	}
	got, err = testController(func(*metadata.Topic) bool { return true }).cancelReassignment(im, im.Topic("t"), 0, im.Topic("t").PartitionState(0))
	want = metadata.PartitionState{Replicas: []int32{3, 1, 2}, ISR: []int32{3}, Leader: 3, LeaderEpoch: 7, LeaderRecovering: true}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("unclean revert: got %+v, %v\nwant %+v", got, err, want)
	}
}

func TestElectOne(t *testing.T) {
	for _, tc := range []struct {
		name    string
		brokers []brokerSpec
		typ     int8
		in      metadata.PartitionState
		want    metadata.PartitionState
		err     error
	}{
		{name: "preferred leads again", brokers: liveBrokers(1, 2, 3), typ: ElectPreferred,
			in:   ps([]int32{1, 2, 3}, []int32{1, 2, 3}, 2, 3, 5),
			want: ps([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 4, 6)},
		{name: "preferred already leads", brokers: liveBrokers(1, 2, 3), typ: ElectPreferred,
			in: ps([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 3, 5), err: ErrElectionNotNeeded},
		{name: "preferred out of sync", brokers: liveBrokers(1, 2, 3), typ: ElectPreferred,
			in: ps([]int32{1, 2, 3}, []int32{2, 3}, 2, 3, 5), err: ErrPreferredNotAvailable},
		{name: "preferred fenced", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}}, typ: ElectPreferred,
			in: ps([]int32{1, 2, 3}, []int32{1, 2, 3}, 2, 3, 5), err: ErrPreferredNotAvailable},
		{name: "unclean with a leader is not needed", brokers: liveBrokers(1, 2, 3), typ: ElectUnclean,
			in: ps([]int32{1, 2, 3}, []int32{2}, 2, 3, 5), err: ErrElectionNotNeeded},
		{name: "unclean elects an out-of-sync live replica", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}}, typ: ElectUnclean,
			in:   ps([]int32{1, 2, 3}, []int32{1}, -1, 3, 5),
			want: metadata.PartitionState{Replicas: []int32{1, 2, 3}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 4, PartitionEpoch: 6, LeaderRecovering: true}},
		{name: "unclean with no live replica", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2, fenced: true}}, typ: ElectUnclean,
			in: ps([]int32{1, 2}, []int32{1}, -1, 3, 5), err: ErrEligibleLeaders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := &metadata.Topic{Name: "t", ID: metadata.UUID{1}, Assignments: []metadata.PartitionState{tc.in.Clone()}}
			im := testImage(t, tc.brokers, tp)
			got, err := testController(nil).electOne(im, im.Topic("t"), im.Topic("t").PartitionState(0), tc.typ)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// TestReassignThroughAlterPartition drives a reassignment on a real
// (single-voter) quorum: the new replica joins the ISR through
// AlterPartition, which completes the reassignment and moves the
// leadership off the removed leader; an ISR addition naming an old broker
// epoch is refused (KIP-903).
func TestReassignThroughAlterPartition(t *testing.T) {
	n := waitLeader(t, startQuorum(t, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waitAll(t, []*node{n}, "cluster id", func(im *metadata.Image) bool { return im.ClusterID != "" })
	epochs := map[int32]int64{}
	for id := int32(1); id <= 4; id++ {
		reg := metadata.BrokerReg{ID: id, Incarn: metadata.NewUUID().String()}
		e, err := n.ctl.RegisterBroker(ctx, reg, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.ctl.Heartbeat(ctx, id, e, e, false, false); err != nil {
			t.Fatal(err)
		}
		epochs[id] = e
	}
	waitAll(t, []*node{n}, "unfenced", func(im *metadata.Image) bool { return len(im.LiveBrokers()) == 4 })
	tp, err := n.ctl.CreateTopic(ctx, TopicSpec{Name: "t", Assignments: [][]int32{{1, 2, 3}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := n.ctl.Reassign(ctx, []Reassignment{{Topic: "t", Partition: 0, Replicas: []int32{4, 2, 3}}})
	if err != nil || errs[0] != nil {
		t.Fatalf("reassign: %v %v", err, errs)
	}
	ps := *n.q.Image().Topic("t").PartitionState(0)
	if !slices.Equal(ps.Replicas, []int32{4, 2, 3, 1}) || !slices.Equal(ps.AddingReplicas, []int32{4}) || !slices.Equal(ps.RemovingReplicas, []int32{1}) || ps.Leader != 1 {
		t.Fatalf("in progress: %+v", ps)
	}
	list := ListReassignments(n.q.Image(), nil)
	if len(list) != 1 || len(list["t"]) != 1 {
		t.Fatalf("list: %+v", list)
	}

	// The leader adds 4 naming a broker epoch 4 no longer has.
	_, err = n.ctl.AlterPartition(ctx, 1, epochs[1], tp.ID, 0, ps.LeaderEpoch, ps.PartitionEpoch, []int32{1, 2, 3, 4},
		map[int32]int64{1: epochs[1], 2: epochs[2], 3: epochs[3], 4: epochs[4] - 1})
	if !errors.Is(err, ErrIneligibleReplica) {
		t.Fatalf("ISR with a stale broker epoch: %v", err)
	}
	got, err := n.ctl.AlterPartition(ctx, 1, epochs[1], tp.ID, 0, ps.LeaderEpoch, ps.PartitionEpoch, []int32{1, 2, 3, 4},
		map[int32]int64{1: epochs[1], 2: epochs[2], 3: epochs[3], 4: epochs[4]})
	if err != nil {
		t.Fatal(err)
	}
	want := metadata.PartitionState{Replicas: []int32{4, 2, 3}, ISR: []int32{2, 3, 4}, Leader: 4, LeaderEpoch: ps.LeaderEpoch + 1, PartitionEpoch: ps.PartitionEpoch + 1}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(*n.q.Image().Topic("t").PartitionState(0), want) {
		t.Fatalf("after the ISR change: %+v (image %+v), want %+v", got, *n.q.Image().Topic("t").PartitionState(0), want)
	}
	if list := ListReassignments(n.q.Image(), nil); len(list) != 0 {
		t.Fatalf("still listed: %+v", list)
	}
	// Preferred election: 4 is preferred and leads already.
	res, err := n.ctl.ElectLeaders(ctx, ElectPreferred, map[string][]int32{"t": {0}})
	if err != nil || len(res) != 1 || !errors.Is(res[0].Err, ErrElectionNotNeeded) {
		t.Fatalf("elect: %v %+v", err, res)
	}
	if res, err := n.ctl.ElectLeaders(ctx, ElectPreferred, nil); err != nil || len(res) != 0 {
		t.Fatalf("elect all: %v %+v (partitions that need no election are left out)", err, res)
	}
}
