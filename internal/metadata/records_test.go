package metadata

import (
	"reflect"
	"strings"
	"testing"
)

// image builds an expected image with its id index.
func image(clusterID string, next int64, brokers map[int32]*BrokerReg, topics ...*Topic) *Image {
	im := &Image{ClusterID: clusterID, Topics: map[string]*Topic{}, NextProducerID: next, Brokers: brokers}
	for _, t := range topics {
		im.Topics[t.Name] = t
	}
	im.index()
	return im
}

func mustApply(t *testing.T, im *Image, b Batch, index int64) *Image {
	t.Helper()
	n, err := im.Apply(b, index)
	if err != nil {
		t.Fatalf("apply at %d: %v", index, err)
	}
	return n
}

func sameImage(t *testing.T, what string, got, want *Image) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := EncodeImage(got)
		w, _ := EncodeImage(want)
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

var (
	ep1 = []Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, Protocol: "PLAINTEXT"}}
	ep2 = []Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.2", Port: 9092, Protocol: "PLAINTEXT"}}
)

func TestApplyEveryRecordType(t *testing.T) {
	id := UUID{1, 2, 3}
	im0 := NewImage("")
	snap0, _ := EncodeImage(im0)

	// Cluster id, then two registrations in one entry: both take the
	// entry's index as broker epoch, whatever the record says.
	im1 := mustApply(t, im0, Batch{
		{Type: RecNoop},
		{Type: RecClusterID, ClusterID: "c1"},
		{Type: RecRegisterBroker, Broker: &BrokerReg{ID: 1, Epoch: 99, Incarn: "i1", Endpoints: ep1, Rack: "a", Fenced: true}},
		{Type: RecRegisterBroker, Broker: &BrokerReg{ID: 2, Incarn: "i2", Endpoints: ep2, Fenced: true}},
		{Type: RecFeature},
	}, 7)
	want1 := image("c1", 0, map[int32]*BrokerReg{
		1: {ID: 1, Epoch: 7, Incarn: "i1", Endpoints: ep1, Rack: "a", Fenced: true},
		2: {ID: 2, Epoch: 7, Incarn: "i2", Endpoints: ep2, Fenced: true},
	})
	sameImage(t, "after registrations", im1, want1)
	if got, _ := EncodeImage(im0); string(got) != string(snap0) {
		t.Fatalf("Apply changed its receiver: %s, was %s", got, snap0)
	}

	// Unfence 1, mark 2 shutting down; a re-registration of 2 takes the
	// new index and starts fenced again.
	im2 := mustApply(t, im1, Batch{
		{Type: RecBrokerState, BrokerID: 1},
		{Type: RecBrokerState, BrokerID: 2, Fenced: false, Shutdown: true},
	}, 8)
	sameImage(t, "after broker states", im2, image("c1", 0, map[int32]*BrokerReg{
		1: {ID: 1, Epoch: 7, Incarn: "i1", Endpoints: ep1, Rack: "a"},
		2: {ID: 2, Epoch: 7, Incarn: "i2", Endpoints: ep2, ShuttingDown: true},
	}))
	sameImage(t, "im1 after the broker states", im1, want1)

	im3 := mustApply(t, im2, Batch{{Type: RecRegisterBroker, Broker: &BrokerReg{ID: 2, Incarn: "i3", Endpoints: ep2, Fenced: true}}}, 9)
	b2 := &BrokerReg{ID: 2, Epoch: 9, Incarn: "i3", Endpoints: ep2, Fenced: true}
	sameImage(t, "after re-registration", im3, image("c1", 0, map[int32]*BrokerReg{
		1: {ID: 1, Epoch: 7, Incarn: "i1", Endpoints: ep1, Rack: "a"}, 2: b2,
	}))

	// A topic with assignments; the record's partition count is
	// recomputed from the assignments.
	p0 := PartitionState{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1}
	p1 := PartitionState{Replicas: []int32{2, 1}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 4}
	rec := &Topic{Name: "orders", ID: id, Partitions: 5, Configs: map[string]string{"retention.ms": "1000"}, Assignments: []PartitionState{p0.Clone(), p1.Clone()}}
	im4 := mustApply(t, im3, Batch{{Type: RecTopic, Topic: rec}}, 10)
	brokers4 := map[int32]*BrokerReg{1: {ID: 1, Epoch: 7, Incarn: "i1", Endpoints: ep1, Rack: "a"}, 2: b2}
	want4 := image("c1", 0, brokers4, &Topic{Name: "orders", ID: id, Partitions: 2, Configs: map[string]string{"retention.ms": "1000"},
		Assignments: []PartitionState{p0, p1}})
	sameImage(t, "after topic", im4, want4)
	if im4.TopicByID(id) != im4.Topic("orders") {
		t.Fatal("TopicByID does not find the new topic")
	}
	// The image holds copies: changing the record does not change it.
	rec.Assignments[0].ISR[0] = 42
	rec.Configs["retention.ms"] = "1"
	sameImage(t, "after changing the record", im4, want4)

	// Change partition 1, add partition 2, replace the configs.
	p1b := PartitionState{Replicas: []int32{2, 1}, ISR: []int32{1, 2}, Leader: 2, LeaderEpoch: 4, PartitionEpoch: 5}
	p2 := PartitionState{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1}
	im5 := mustApply(t, im4, Batch{
		{Type: RecPartition, TopicID: id, Partition: 1, State: &p1b},
		{Type: RecPartition, TopicID: id, Partition: 2, State: &p2},
		{Type: RecTopicConfigs, TopicID: id, Configs: map[string]string{"cleanup.policy": "compact"}},
	}, 11)
	want5 := image("c1", 0, brokers4, &Topic{Name: "orders", ID: id, Partitions: 3, Configs: map[string]string{"cleanup.policy": "compact"},
		Assignments: []PartitionState{p0, p1b, p2}})
	sameImage(t, "after partition changes", im5, want5)
	sameImage(t, "im4 after the partition changes", im4, want4)
	if im5.TopicByID(id) != im5.Topic("orders") {
		t.Fatal("TopicByID is stale after a partition change")
	}

	// Producer ids, unregistration, topic removal.
	im6 := mustApply(t, im5, Batch{
		{Type: RecProducerIDs, NextProducerID: 1000},
		{Type: RecProducerIDs, NextProducerID: 1000},
		{Type: RecUnregisterBroker, BrokerID: 2},
		{Type: RecRemoveTopic, TopicID: id},
	}, 12)
	sameImage(t, "after removal", im6, image("c1", 1000, map[int32]*BrokerReg{1: brokers4[1]}))
	if im6.TopicByID(id) != nil {
		t.Fatal("the removed topic is still found by id")
	}
	sameImage(t, "im5 after the removal", im5, want5)

	// A topic created and removed in one entry.
	im7 := mustApply(t, im6, Batch{
		{Type: RecTopic, Topic: &Topic{Name: "tmp", ID: UUID{9}, Assignments: []PartitionState{p0}}},
		{Type: RecRemoveTopic, TopicID: UUID{9}},
	}, 13)
	sameImage(t, "after create and remove", im7, image("c1", 1000, map[int32]*BrokerReg{1: brokers4[1]}))
}

func TestApplyErrors(t *testing.T) {
	id := UUID{1}
	base := mustApply(t, NewImage(""), Batch{
		{Type: RecClusterID, ClusterID: "c1"},
		{Type: RecRegisterBroker, Broker: &BrokerReg{ID: 1, Incarn: "i1", Endpoints: ep1}},
		{Type: RecTopic, Topic: &Topic{Name: "orders", ID: id, Assignments: []PartitionState{{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}}},
		{Type: RecProducerIDs, NextProducerID: 500},
	}, 3)
	snap, _ := EncodeImage(base)
	ps := &PartitionState{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}
	for _, tc := range []struct {
		name string
		rec  Record
		want string
	}{
		{"other cluster id", Record{Type: RecClusterID, ClusterID: "c2"}, "cluster id is already c1"},
		{"register without broker", Record{Type: RecRegisterBroker}, "no broker"},
		{"state of unknown broker", Record{Type: RecBrokerState, BrokerID: 5}, "unknown broker 5"},
		{"topic without topic", Record{Type: RecTopic}, "no topic"},
		{"existing topic", Record{Type: RecTopic, Topic: &Topic{Name: "orders", ID: UUID{2}}}, "topic orders exists"},
		{"remove unknown topic", Record{Type: RecRemoveTopic, TopicID: UUID{7}}, "unknown topic id " + UUID{7}.String()},
		{"configs of unknown topic", Record{Type: RecTopicConfigs, TopicID: UUID{7}}, "unknown topic id"},
		{"partition of unknown topic", Record{Type: RecPartition, TopicID: UUID{7}, State: ps}, "unknown topic id"},
		{"partition without state", Record{Type: RecPartition, TopicID: id}, "bad partition 0 of orders"},
		{"negative partition", Record{Type: RecPartition, TopicID: id, Partition: -1, State: ps}, "bad partition -1 of orders"},
		{"partition past the end", Record{Type: RecPartition, TopicID: id, Partition: 2, State: ps}, "bad partition 2 of orders"},
		{"producer ids back", Record{Type: RecProducerIDs, NextProducerID: 499}, "producer ids move back from 500 to 499"},
		{"unknown type", Record{Type: "frobnicate"}, `unknown record type "frobnicate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The failing record comes second, after a valid one that
			// must not leak into the receiver either.
			got, err := base.Apply(Batch{{Type: RecBrokerState, BrokerID: 1, Fenced: true}, tc.rec}, 4)
			if err == nil {
				t.Fatalf("no error; image %+v", got)
			}
			if got != nil {
				t.Fatalf("an image with the error: %+v", got)
			}
			prefix := "metadata record 1 (" + tc.rec.Type + "): "
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want %q with prefix %q", err, tc.want, prefix)
			}
			if after, _ := EncodeImage(base); string(after) != string(snap) {
				t.Fatalf("a failed Apply changed its receiver:\n%s\nwas\n%s", after, snap)
			}
		})
	}
}

func TestImageEncodeDecode(t *testing.T) {
	id := UUID{4, 5}
	im := mustApply(t, NewImage(""), Batch{
		{Type: RecClusterID, ClusterID: "c1"},
		{Type: RecRegisterBroker, Broker: &BrokerReg{ID: 1, Incarn: "i1", Endpoints: ep1, Rack: "r1"}},
		{Type: RecRegisterBroker, Broker: &BrokerReg{ID: 2, Incarn: "i2", Endpoints: ep2, Fenced: true, ShuttingDown: true}},
		{Type: RecTopic, Topic: &Topic{Name: "orders", ID: id, Configs: map[string]string{"a": "b"}, Assignments: []PartitionState{
			{Replicas: []int32{1, 2, 3}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 2, PartitionEpoch: 5,
				AddingReplicas: []int32{3}, RemovingReplicas: []int32{2}, LeaderRecovering: true},
			{Replicas: []int32{2}, ISR: []int32{2}, Leader: -1},
		}}},
		{Type: RecProducerIDs, NextProducerID: 2000},
	}, 17)
	b, err := EncodeImage(im)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeImage(b)
	if err != nil {
		t.Fatal(err)
	}
	sameImage(t, "decoded image", back, im)
	if back.TopicByID(id) == nil || back.TopicByID(id) != back.Topic("orders") {
		t.Fatal("the decoded image does not index topics by id")
	}
	if back.Brokers[1].Epoch != 17 {
		t.Fatalf("broker epoch %d after decoding, want 17", back.Brokers[1].Epoch)
	}

	// An empty image decodes with a usable topic map.
	e, err := DecodeImage([]byte(`{"cluster_id":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	sameImage(t, "decoded minimal image", e, NewImage("x"))
	if _, err := DecodeImage([]byte(`{"topics":`)); err == nil || !strings.Contains(err.Error(), "undecodable metadata snapshot") {
		t.Fatalf("error %v for a truncated snapshot", err)
	}
}

func TestBatchEncodeDecode(t *testing.T) {
	ps := PartitionState{Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 3}
	b := Batch{
		{Type: RecClusterID, ClusterID: "c1"},
		{Type: RecRegisterBroker, Broker: &BrokerReg{ID: 3, Incarn: "i", Endpoints: ep1, Rack: "r", Fenced: true}},
		{Type: RecBrokerState, BrokerID: 3, Fenced: true, Shutdown: true},
		{Type: RecUnregisterBroker, BrokerID: 3},
		{Type: RecTopic, Topic: &Topic{Name: "t", ID: UUID{1}, Partitions: 1, Assignments: []PartitionState{ps}}},
		{Type: RecTopicConfigs, TopicID: UUID{1}, Configs: map[string]string{"k": "v"}},
		{Type: RecPartition, TopicID: UUID{1}, Partition: 4, State: &ps},
		{Type: RecRemoveTopic, TopicID: UUID{1}},
		{Type: RecProducerIDs, NextProducerID: 1 << 40},
		{Type: RecNoop},
	}
	data, err := EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, b) {
		t.Fatalf("decoded batch\n%+v\nwant\n%+v", back, b)
	}
	// The zero topic id is left out of the encoding.
	if one, _ := EncodeBatch(Batch{{Type: RecNoop}}); string(one) != `[{"type":"noop"}]` {
		t.Fatalf("noop encodes as %s", one)
	}
	if _, err := DecodeBatch([]byte(`[{"type":`)); err == nil || !strings.Contains(err.Error(), "undecodable metadata log entry") {
		t.Fatalf("error %v for a truncated entry", err)
	}
}
