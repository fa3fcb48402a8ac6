package broker_test

import (
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestSingleNodeReassignAndElect: a single node leads every partition and
// is its only possible replica, so elections are never needed, the only
// valid target is itself and nothing is ever being reassigned.
func TestSingleNodeReassignAndElect(t *testing.T) {
	b := kafkatest.Start(t)
	r := dialRaw(t, b.Addr)
	createTopic(t, b, "one", 2, nil)
	const node = 1 // node.id's default

	for _, v := range []int16{0, 1, 2} {
		req := kmsg.NewPtrElectLeadersRequest()
		req.SetVersion(v)
		req.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "one", Partitions: []int32{1, 0, 5}}, {Topic: "none", Partitions: []int32{0}}}
		resp := do[*kmsg.ElectLeadersResponse](t, r, req)
		want := []struct {
			topic string
			part  int32
			code  int16
		}{{"none", 0, kerr.UnknownTopicOrPartition.Code}, {"one", 1, kerr.ElectionNotNeeded.Code}, {"one", 0, kerr.ElectionNotNeeded.Code}, {"one", 5, kerr.UnknownTopicOrPartition.Code}}
		var got []struct {
			topic string
			part  int32
			code  int16
		}
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				got = append(got, struct {
					topic string
					part  int32
					code  int16
				}{tp.Topic, p.Partition, p.ErrorCode})
			}
		}
		if resp.ErrorCode != 0 || len(got) != len(want) {
			t.Fatalf("v%d: %+v", v, resp)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("v%d result %d: %+v, want %+v", v, i, got[i], want[i])
			}
		}
	}
	bad := kmsg.NewPtrElectLeadersRequest()
	bad.SetVersion(2)
	bad.ElectionType = 7
	if resp := do[*kmsg.ElectLeadersResponse](t, r, bad); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("election type 7: %v", kerr.ErrorForCode(resp.ErrorCode))
	}

	alter := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	alter.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: "one", Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{
		{Partition: 0, Replicas: []int32{node}},
		{Partition: 1, Replicas: []int32{node + 1}},
		{Partition: 0, Replicas: nil},
		{Partition: 9, Replicas: []int32{node}},
		{Partition: 1, Replicas: []int32{}},
	}}}
	resp := do[*kmsg.AlterPartitionAssignmentsResponse](t, r, alter)
	codes := []int16{0, kerr.InvalidReplicaAssignment.Code, kerr.NoReassignmentInProgress.Code, kerr.UnknownTopicOrPartition.Code, kerr.InvalidReplicaAssignment.Code}
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != len(codes) {
		t.Fatalf("%+v", resp)
	}
	for i, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != codes[i] || (codes[i] != 0) != (p.ErrorMessage != nil) {
			t.Fatalf("reassignment %d: %v %v, want %v", i, kerr.ErrorForCode(p.ErrorCode), p.ErrorMessage, kerr.ErrorForCode(codes[i]))
		}
	}
	for _, tc := range []struct {
		id   int32
		code int16
	}{{node, kerr.InvalidRequest.Code}, {7, kerr.BrokerIDNotRegistered.Code}} {
		req := kmsg.NewPtrUnregisterBrokerRequest()
		req.BrokerID = tc.id
		if resp := do[*kmsg.UnregisterBrokerResponse](t, r, req); resp.ErrorCode != tc.code || resp.ErrorMessage == nil {
			t.Fatalf("unregister %d: %v %v", tc.id, kerr.ErrorForCode(resp.ErrorCode), resp.ErrorMessage)
		}
	}
	list := do[*kmsg.ListPartitionReassignmentsResponse](t, r, kmsg.NewPtrListPartitionReassignmentsRequest())
	if list.ErrorCode != 0 || len(list.Topics) != 0 {
		t.Fatalf("list: %+v", list)
	}
}
