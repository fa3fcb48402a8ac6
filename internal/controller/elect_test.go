package controller

import (
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/metadata"
)

// brokerSpec is a registered broker of a test image.
type brokerSpec struct {
	id           int32
	rack         string
	fenced, down bool
}

// testImage returns an image with the brokers registered and in the given
// states, and the topics added.
func testImage(t *testing.T, brokers []brokerSpec, topics ...*metadata.Topic) *metadata.Image {
	t.Helper()
	var b metadata.Batch
	for _, s := range brokers {
		b = append(b, metadata.Record{Type: metadata.RecRegisterBroker, Broker: &metadata.BrokerReg{ID: s.id, Rack: s.rack, Incarn: "x"}},
			metadata.Record{Type: metadata.RecBrokerState, BrokerID: s.id, Fenced: s.fenced, Shutdown: s.down})
	}
	for _, tp := range topics {
		b = append(b, metadata.Record{Type: metadata.RecTopic, Topic: tp})
	}
	im, err := metadata.NewImage("c").Apply(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func liveBrokers(ids ...int32) []brokerSpec {
	var out []brokerSpec
	for _, id := range ids {
		out = append(out, brokerSpec{id: id})
	}
	return out
}

func testController(unclean func(*metadata.Topic) bool) *Controller {
	return &Controller{set: Settings{UncleanElection: unclean}, log: slog.New(slog.DiscardHandler)}
}

func TestPlaceSpreadsLeadersEvenly(t *testing.T) {
	im := testImage(t, append(liveBrokers(1, 2, 3), brokerSpec{id: 4, fenced: true}))
	// The start is random: try many times.
	for range 50 {
		assign, err := place(im, 6, 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(assign) != 6 {
			t.Fatalf("%d partitions placed, want 6", len(assign))
		}
		leads := map[int32]int{}
		for p, replicas := range assign {
			sorted := slices.Sorted(slices.Values(replicas))
			if !slices.Equal(sorted, []int32{1, 2, 3}) {
				t.Fatalf("partition %d has replicas %v; want 1, 2 and 3 once each (4 is fenced)", p, replicas)
			}
			leads[replicas[0]]++
		}
		if !reflect.DeepEqual(leads, map[int32]int{1: 2, 2: 2, 3: 2}) {
			t.Fatalf("leaders %v of %v; want each broker to lead 2", leads, assign)
		}
	}
	// RF 1 with more partitions than brokers: still even.
	assign, err := place(im, 9, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	leads := map[int32]int{}
	for _, r := range assign {
		if len(r) != 1 {
			t.Fatalf("replicas %v for RF 1", r)
		}
		leads[r[0]]++
	}
	if !reflect.DeepEqual(leads, map[int32]int{1: 3, 2: 3, 3: 3}) {
		t.Fatalf("leaders %v of %v", leads, assign)
	}
}

func TestPlaceRefusesImpossibleReplication(t *testing.T) {
	// 4 is fenced: it may not take new replicas.
	im := testImage(t, append(liveBrokers(1, 2, 3), brokerSpec{id: 4, fenced: true}))
	for _, rf := range []int{4, 0, -2} {
		_, err := place(im, 3, rf, 0)
		if !errors.Is(err, ErrInvalidReplication) {
			t.Fatalf("RF %d over 3 live brokers: error %v, want ErrInvalidReplication", rf, err)
		}
	}
	if _, err := place(testImage(t, nil), 1, 1, 0); !errors.Is(err, ErrInvalidReplication) {
		t.Fatalf("no brokers: error %v, want ErrInvalidReplication", err)
	}
}

func TestPlaceIsRackAware(t *testing.T) {
	racks := map[int32]string{1: "a", 2: "a", 3: "b", 4: "b", 5: "c", 6: "c"}
	var brokers []brokerSpec
	for id := int32(1); id <= 6; id++ {
		brokers = append(brokers, brokerSpec{id: id, rack: racks[id]})
	}
	im := testImage(t, brokers)
	for range 30 {
		assign, err := place(im, 6, 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		leads := map[int32]int{}
		for p, replicas := range assign {
			seen := map[string]bool{}
			for _, r := range replicas {
				seen[racks[r]] = true
			}
			if len(seen) != 3 || len(replicas) != 3 {
				t.Fatalf("partition %d: replicas %v span racks %v; want 3 replicas on a, b and c", p, replicas, seen)
			}
			leads[replicas[0]]++
		}
		if len(leads) != 6 {
			t.Fatalf("leaders %v: want each of the 6 brokers to lead one partition", leads)
		}
	}
}

func TestCheckAssignment(t *testing.T) {
	im := testImage(t, append(liveBrokers(1, 2), brokerSpec{id: 3, fenced: true}))
	if err := checkAssignment(im, [][]int32{{1, 2}, {3, 1}}); err != nil {
		t.Fatalf("valid assignment (a fenced but registered broker is allowed): %v", err)
	}
	for _, tc := range []struct {
		assign [][]int32
		want   string
	}{
		{[][]int32{{1}, {}}, "partition 1 has no replicas"},
		{[][]int32{{1}, nil}, "partition 1 has no replicas"},
		{[][]int32{{1, 7}}, "includes broker 7, but no such broker is registered"},
		{[][]int32{{1, 2}, {2, 2}}, "partition 1 includes broker 2 more than once"},
		{[][]int32{{1, 2}, {2}}, "all partitions must have the same number of replicas"},
		{[][]int32{{1}, {2, 1}}, "all partitions must have the same number of replicas"},
	} {
		err := checkAssignment(im, tc.assign)
		if !errors.Is(err, ErrInvalidAssignment) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want ErrInvalidAssignment saying %q", tc.assign, err, tc.want)
		}
	}
}

func ps(replicas, isr []int32, leader, leaderEpoch, partitionEpoch int32) metadata.PartitionState {
	return metadata.PartitionState{Replicas: replicas, ISR: isr, Leader: leader, LeaderEpoch: leaderEpoch, PartitionEpoch: partitionEpoch}
}

func TestElect(t *testing.T) {
	r := []int32{1, 3, 2} // replica order differs from id order on purpose
	isTopic := func(name string) func(*metadata.Topic) bool {
		return func(t *metadata.Topic) bool { return t.Name == name }
	}
	for _, tc := range []struct {
		name    string
		brokers []brokerSpec
		unclean func(*metadata.Topic) bool
		gone    func(int32) bool
		in      metadata.PartitionState
		want    metadata.PartitionState
		changed bool
	}{
		{name: "leader live: nothing changes", brokers: liveBrokers(1, 2, 3),
			in: ps(r, []int32{2, 3, 1}, 2, 4, 7), want: ps(r, []int32{2, 3, 1}, 2, 4, 7)},
		{name: "leader fenced: first live ISR replica in replica order leads", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}},
			in: ps(r, []int32{1, 2, 3}, 1, 4, 7), want: ps(r, []int32{2, 3}, 3, 5, 8), changed: true},
		{name: "leader gone by the gone func", brokers: liveBrokers(1, 2, 3), gone: func(x int32) bool { return x == 1 },
			in: ps(r, []int32{1, 2}, 1, 0, 0), want: ps(r, []int32{2}, 2, 1, 1), changed: true},
		{name: "leader unregistered", brokers: liveBrokers(2, 3),
			in: ps(r, []int32{1, 2, 3}, 1, 0, 0), want: ps(r, []int32{2, 3}, 3, 1, 1), changed: true},
		{name: "shutting-down follower leaves the ISR, leader stays", brokers: []brokerSpec{{id: 1}, {id: 2, down: true}, {id: 3}},
			in: ps(r, []int32{1, 2, 3}, 1, 4, 7), want: ps(r, []int32{1, 3}, 1, 4, 8), changed: true},
		{name: "fenced follower leaves the ISR, leader stays", brokers: []brokerSpec{{id: 1}, {id: 2}, {id: 3, fenced: true}},
			in: ps(r, []int32{1, 2, 3}, 2, 4, 7), want: ps(r, []int32{1, 2}, 2, 4, 8), changed: true},
		{name: "live leader outside the ISR is replaced", brokers: liveBrokers(1, 2, 3),
			in: ps(r, []int32{2, 3}, 1, 4, 7), want: ps(r, []int32{2, 3}, 3, 5, 8), changed: true},
		{name: "all ISR gone: the leader is kept as last member, leaderless", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2, fenced: true}, {id: 3}},
			in: ps(r, []int32{1, 2}, 2, 4, 7), want: ps(r, []int32{2}, -1, 5, 8), changed: true},
		{name: "all ISR gone, leaderless already: the first member is kept", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2, down: true}, {id: 3}},
			in: ps(r, []int32{2, 1}, -1, 4, 7), want: ps(r, []int32{2}, -1, 4, 8), changed: true},
		{name: "last ISR member gone: it stays, leaderless", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}},
			in: ps(r, []int32{1}, 1, 4, 7), want: ps(r, []int32{1}, -1, 5, 8), changed: true},
		{name: "leaderless and still nobody: no change", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}},
			in: ps(r, []int32{1}, -1, 5, 8), want: ps(r, []int32{1}, -1, 5, 8)},
		{name: "last ISR member back: it leads", brokers: liveBrokers(1, 2, 3),
			in: ps(r, []int32{1}, -1, 5, 8), want: ps(r, []int32{1}, 1, 6, 9), changed: true},
		{name: "unclean election off for this topic", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}}, unclean: isTopic("other"),
			in: ps(r, []int32{1}, 1, 4, 7), want: ps(r, []int32{1}, -1, 5, 8), changed: true},
		{name: "unclean election: first live replica leads alone", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}}, unclean: isTopic("t"),
			in: ps(r, []int32{1}, 1, 4, 7), changed: true,
			want: metadata.PartitionState{Replicas: r, ISR: []int32{3}, Leader: 3, LeaderEpoch: 5, PartitionEpoch: 8, LeaderRecovering: true}},
		{name: "unclean election with no live replica", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2, down: true}}, unclean: isTopic("t"),
			in: ps([]int32{1, 2}, []int32{1}, 1, 4, 7), want: ps([]int32{1, 2}, []int32{1}, -1, 5, 8), changed: true},
		{name: "a live leader being removed leads until the reassignment completes", brokers: liveBrokers(1, 2, 3),
			in:   metadata.PartitionState{Replicas: r, ISR: []int32{1, 3}, Leader: 1, AddingReplicas: []int32{2}, RemovingReplicas: []int32{1}},
			want: metadata.PartitionState{Replicas: r, ISR: []int32{1, 3}, Leader: 1, AddingReplicas: []int32{2}, RemovingReplicas: []int32{1}}},
		{name: "a fence that leaves only the target in the ISR completes the reassignment", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}},
			in:   metadata.PartitionState{Replicas: r, ISR: []int32{1, 2, 3}, Leader: 1, RemovingReplicas: []int32{1}},
			want: metadata.PartitionState{Replicas: []int32{3, 2}, ISR: []int32{2, 3}, Leader: 3, LeaderEpoch: 1, PartitionEpoch: 1}, changed: true},
		{name: "a new leader is one that stays", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}},
			in:   metadata.PartitionState{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1, RemovingReplicas: []int32{2}},
			want: metadata.PartitionState{Replicas: []int32{1, 2, 3}, ISR: []int32{2, 3}, Leader: 3, LeaderEpoch: 1, PartitionEpoch: 1, RemovingReplicas: []int32{2}}, changed: true},
		{name: "a replica being removed leads when no other can", brokers: []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}},
			in:   metadata.PartitionState{Replicas: []int32{1, 3, 2}, ISR: []int32{1, 2}, Leader: 1, AddingReplicas: []int32{3}, RemovingReplicas: []int32{2}},
			want: metadata.PartitionState{Replicas: []int32{1, 3, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1, AddingReplicas: []int32{3}, RemovingReplicas: []int32{2}}, changed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := &metadata.Topic{Name: "t", ID: metadata.UUID{1}, Assignments: []metadata.PartitionState{tc.in.Clone()}}
			im := testImage(t, tc.brokers, tp)
			cur := im.Topic("t").PartitionState(0)
			before := cur.Clone()
			got, changed := testController(tc.unclean).elect(im, im.Topic("t"), cur, tc.gone)
			if changed != tc.changed || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("elect(%+v) = %+v, changed %v\nwant %+v, changed %v", tc.in, got, changed, tc.want, tc.changed)
			}
			if !reflect.DeepEqual(*cur, before) {
				t.Fatalf("elect changed the image's state to %+v", *cur)
			}
		})
	}
}

// threeWay is a topic of 3 partitions over brokers 1-3 led by 1, 2 and 3,
// all in sync, and a fourth partition on 2 and 3 only.
func threeWay() *metadata.Topic {
	return &metadata.Topic{Name: "t", ID: metadata.UUID{7}, Assignments: []metadata.PartitionState{
		ps([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, 0, 0),
		ps([]int32{2, 3, 1}, []int32{2, 3, 1}, 2, 0, 0),
		ps([]int32{3, 1, 2}, []int32{3, 1, 2}, 3, 0, 0),
		ps([]int32{2, 3}, []int32{2, 3}, 2, 0, 0),
	}}
}

func apply(t *testing.T, im *metadata.Image, b metadata.Batch) *metadata.Image {
	t.Helper()
	n, err := im.Apply(b, 100)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFenceRecordsMovesLeadershipsAndISR(t *testing.T) {
	c := testController(nil)
	im := testImage(t, liveBrokers(1, 2, 3), threeWay())
	b := c.fenceRecords(im, 1, false)
	if len(b) != 4 {
		t.Fatalf("%d records, want the broker state and 3 partitions: %+v", len(b), b)
	}
	if want := (metadata.Record{Type: metadata.RecBrokerState, BrokerID: 1, Fenced: true}); !reflect.DeepEqual(b[0], want) {
		t.Fatalf("first record %+v, want %+v", b[0], want)
	}
	n := apply(t, im, b)
	if got := n.Brokers[1]; !got.Fenced || got.ShuttingDown {
		t.Fatalf("broker 1 after fencing: %+v", got)
	}
	want := []metadata.PartitionState{
		ps([]int32{1, 2, 3}, []int32{2, 3}, 2, 1, 1),
		ps([]int32{2, 3, 1}, []int32{2, 3}, 2, 0, 1),
		ps([]int32{3, 1, 2}, []int32{3, 2}, 3, 0, 1),
		ps([]int32{2, 3}, []int32{2, 3}, 2, 0, 0),
	}
	if got := n.Topic("t").Assignments; !reflect.DeepEqual(got, want) {
		t.Fatalf("after fencing 1:\n got  %+v\n want %+v", got, want)
	}

	// Fencing 2 as well: 3 leads everything it replicates.
	n = apply(t, n, c.fenceRecords(n, 2, false))
	want = []metadata.PartitionState{
		ps([]int32{1, 2, 3}, []int32{3}, 3, 2, 2),
		ps([]int32{2, 3, 1}, []int32{3}, 3, 1, 2),
		ps([]int32{3, 1, 2}, []int32{3}, 3, 0, 2),
		ps([]int32{2, 3}, []int32{3}, 3, 1, 1),
	}
	if got := n.Topic("t").Assignments; !reflect.DeepEqual(got, want) {
		t.Fatalf("after fencing 1 and 2:\n got  %+v\n want %+v", got, want)
	}
	// And 3: every partition keeps 3 as its last ISR member, leaderless.
	n = apply(t, n, c.fenceRecords(n, 3, false))
	for p, s := range n.Topic("t").Assignments {
		if s.Leader != -1 || !slices.Equal(s.ISR, []int32{3}) || s.LeaderEpoch != want[p].LeaderEpoch+1 || s.PartitionEpoch != want[p].PartitionEpoch+1 {
			t.Fatalf("partition %d after fencing everyone: %+v", p, s)
		}
	}
	if c.fenceRecords(n, 9, false) != nil {
		t.Fatal("records for fencing an unregistered broker")
	}
}

func TestControlledShutdownMovesLeaderships(t *testing.T) {
	c := testController(nil)
	im := testImage(t, liveBrokers(1, 2, 3), threeWay())
	b := c.fenceRecords(im, 2, true)
	if want := (metadata.Record{Type: metadata.RecBrokerState, BrokerID: 2, Shutdown: true}); !reflect.DeepEqual(b[0], want) {
		t.Fatalf("first record %+v, want %+v (still unfenced, shutting down)", b[0], want)
	}
	n := apply(t, im, b)
	if got := n.Brokers[2]; got.Fenced || !got.ShuttingDown {
		t.Fatalf("broker 2 after a controlled shutdown: %+v", got)
	}
	if leadsAny(n, 2) {
		t.Fatalf("broker 2 still leads: %+v", n.Topic("t").Assignments)
	}
	want := []metadata.PartitionState{
		ps([]int32{1, 2, 3}, []int32{1, 3}, 1, 0, 1),
		ps([]int32{2, 3, 1}, []int32{3, 1}, 3, 1, 1),
		ps([]int32{3, 1, 2}, []int32{3, 1}, 3, 0, 1),
		ps([]int32{2, 3}, []int32{3}, 3, 1, 1),
	}
	if got := n.Topic("t").Assignments; !reflect.DeepEqual(got, want) {
		t.Fatalf("after shutting down 2:\n got  %+v\n want %+v", got, want)
	}
	// A fenced broker shutting down stays fenced.
	n = apply(t, n, c.fenceRecords(n, 1, false))
	if b := c.fenceRecords(n, 1, true); !reflect.DeepEqual(b[0], metadata.Record{Type: metadata.RecBrokerState, BrokerID: 1, Fenced: true, Shutdown: true}) {
		t.Fatalf("shutdown of a fenced broker: %+v", b[0])
	}
}

func TestInitialState(t *testing.T) {
	im := testImage(t, []brokerSpec{{id: 1, fenced: true}, {id: 2}, {id: 3}})
	if got, want := initialState(im, []int32{1, 3, 2}), ps([]int32{1, 3, 2}, []int32{3, 2}, 3, 0, 0); !reflect.DeepEqual(got, want) {
		t.Fatalf("initial state %+v, want %+v", got, want)
	}
	if got, want := initialState(im, []int32{1}), ps([]int32{1}, []int32{1}, -1, 0, 0); !reflect.DeepEqual(got, want) {
		t.Fatalf("initial state with no live replica %+v, want %+v", got, want)
	}
}
