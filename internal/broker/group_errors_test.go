package broker_test

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func joinReq(version int16, group, member string, sessionMs int32, instance *string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.SetVersion(version)
	req.Group, req.MemberID, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = group, member, sessionMs, 5000
	req.ProtocolType, req.InstanceID = "consumer", instance
	p := kmsg.NewJoinGroupRequestProtocol()
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics = []string{"bad"}
	p.Name, p.Metadata = "range", md.AppendTo(nil)
	req.Protocols = append(req.Protocols, p)
	return req
}

func commitReq(version int16, group, member string, gen int32, topic string, partition int32, metadata string) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(version)
	req.Group, req.MemberID, req.Generation, req.RetentionTimeMillis = group, member, gen, -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.Metadata, rp.LeaderEpoch, rp.Timestamp = partition, 42, &metadata, 7, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func commitCode(r *kmsg.OffsetCommitResponse) kerr.Error {
	if e := kerr.ErrorForCode(r.Topics[0].Partitions[0].ErrorCode); e != nil {
		return *e.(*kerr.Error)
	}
	return kerr.Error{}
}

// TestGroupBadInput drives the classic protocol with raw requests, old and
// new versions, and checks Kafka's error codes.
func TestGroupBadInput(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t, "offset.metadata.max.bytes=10", "group.initial.rebalance.delay.ms=0")
	createTopic(t, b, "bad", 2, nil)
	r := dialRaw(t, b.Addr)

	// FindCoordinator: groups and transactions are served here.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.SetVersion(4)
	fc.CoordinatorKeys = []string{"g-bad"}
	if resp := do[*kmsg.FindCoordinatorResponse](t, r, fc); resp.Coordinators[0].ErrorCode != 0 || resp.Coordinators[0].NodeID != 1 {
		t.Fatalf("find coordinator: %+v", resp.Coordinators)
	}
	fc.CoordinatorType = 1
	if resp := do[*kmsg.FindCoordinatorResponse](t, r, fc); resp.Coordinators[0].ErrorCode != 0 || resp.Coordinators[0].NodeID != 1 {
		t.Fatalf("transaction coordinator: %+v", resp.Coordinators)
	}
	fc.CoordinatorType = 2
	if resp := do[*kmsg.FindCoordinatorResponse](t, r, fc); resp.Coordinators[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("unknown key type: %+v", resp.Coordinators)
	}
	fc0 := kmsg.NewPtrFindCoordinatorRequest()
	fc0.CoordinatorKey = "g-bad"
	if resp := do[*kmsg.FindCoordinatorResponse](t, r, fc0); resp.ErrorCode != 0 || resp.Port == 0 {
		t.Fatalf("find coordinator v0: %+v", resp)
	}

	// Session timeout bounds (min 500 in this broker, max default 30 min).
	for _, ms := range []int32{100, 1800001} {
		if resp := do[*kmsg.JoinGroupResponse](t, r, joinReq(9, "g-bad", "", ms, nil)); resp.ErrorCode != kerr.InvalidSessionTimeout.Code {
			t.Fatalf("session %d: %v", ms, kerr.ErrorForCode(resp.ErrorCode))
		}
	}
	// v4+: a member id is handed out first.
	resp := do[*kmsg.JoinGroupResponse](t, r, joinReq(9, "g-bad", "", 6000, nil))
	if resp.ErrorCode != kerr.MemberIDRequired.Code || resp.MemberID == "" {
		t.Fatalf("first join: %v %q", kerr.ErrorForCode(resp.ErrorCode), resp.MemberID)
	}
	member := resp.MemberID
	resp = do[*kmsg.JoinGroupResponse](t, r, joinReq(9, "g-bad", member, 6000, nil))
	if resp.ErrorCode != 0 || resp.Generation != 1 || resp.LeaderID != member || len(resp.Members) != 1 || *resp.Protocol != "range" {
		t.Fatalf("second join: %+v", resp)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.SetVersion(5)
	sync.Group, sync.MemberID, sync.Generation = "g-bad", member, 1
	sync.ProtocolType, sync.Protocol = sp("consumer"), sp("range")
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: member, MemberAssignment: []byte("mine")}}
	if sr := do[*kmsg.SyncGroupResponse](t, r, sync); sr.ErrorCode != 0 || string(sr.MemberAssignment) != "mine" {
		t.Fatalf("sync: %+v", sr)
	}
	sync.Protocol = sp("roundrobin")
	if sr := do[*kmsg.SyncGroupResponse](t, r, sync); sr.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("sync with another protocol: %v", kerr.ErrorForCode(sr.ErrorCode))
	}

	hb := func(version int16, member string, gen int32) int16 {
		req := kmsg.NewPtrHeartbeatRequest()
		req.SetVersion(version)
		req.Group, req.MemberID, req.Generation = "g-bad", member, gen
		return do[*kmsg.HeartbeatResponse](t, r, req).ErrorCode
	}
	for _, v := range []int16{0, 4} {
		if c := hb(v, member, 1); c != 0 {
			t.Fatalf("heartbeat v%d: %v", v, kerr.ErrorForCode(c))
		}
		if c := hb(v, member, 2); c != kerr.IllegalGeneration.Code {
			t.Fatalf("heartbeat v%d wrong generation: %v", v, kerr.ErrorForCode(c))
		}
		if c := hb(v, "nobody", 1); c != kerr.UnknownMemberID.Code {
			t.Fatalf("heartbeat v%d unknown member: %v", v, kerr.ErrorForCode(c))
		}
	}

	// Offset commits: good, wrong generation, unknown member, missing
	// partition, oversized metadata; v2 (kafka-python) and v9.
	for _, v := range []int16{2, 9} {
		cases := []struct {
			member string
			gen    int32
			topic  string
			part   int32
			md     string
			want   int16
		}{
			{member, 1, "bad", 1, "ok", 0},
			{member, 5, "bad", 1, "ok", kerr.IllegalGeneration.Code},
			{"nobody", 1, "bad", 1, "ok", kerr.UnknownMemberID.Code},
			{member, 1, "bad", 2, "ok", kerr.UnknownTopicOrPartition.Code},
			{member, 1, "nosuch", 0, "ok", kerr.UnknownTopicOrPartition.Code},
			{member, 1, "bad", 0, strings.Repeat("x", 11), kerr.OffsetMetadataTooLarge.Code},
			{"", -1, "bad", 0, "ok", kerr.UnknownMemberID.Code}, // a group with members takes commits only from them
		}
		for _, c := range cases {
			got := do[*kmsg.OffsetCommitResponse](t, r, commitReq(v, "g-bad", c.member, c.gen, c.topic, c.part, c.md))
			if code := got.Topics[0].Partitions[0].ErrorCode; code != c.want {
				t.Errorf("commit v%d %+v: %v, want %v", v, c, kerr.ErrorForCode(code), kerr.ErrorForCode(c.want))
			}
		}
	}

	// OffsetFetch v1 (kafka-python) and v8 (many groups, all topics).
	of := kmsg.NewPtrOffsetFetchRequest()
	of.SetVersion(1)
	of.Group = "g-bad"
	of.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "bad", Partitions: []int32{0, 1}}}
	ofr := do[*kmsg.OffsetFetchResponse](t, r, of)
	if p := ofr.Topics[0].Partitions; p[0].Offset != -1 || p[1].Offset != 42 || *p[1].Metadata != "ok" {
		t.Fatalf("offset fetch v1: %+v", p)
	}
	of8 := kmsg.NewPtrOffsetFetchRequest()
	of8.SetVersion(8)
	of8.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g-bad"}, {Group: "g-none"}}
	of8r := do[*kmsg.OffsetFetchResponse](t, r, of8)
	if g := of8r.Groups[0]; len(g.Topics) != 1 || g.Topics[0].Partitions[0].Offset != 42 || g.Topics[0].Partitions[0].LeaderEpoch != 7 {
		t.Fatalf("offset fetch v8: %+v", of8r.Groups)
	}
	if len(of8r.Groups[1].Topics) != 0 || of8r.Groups[1].ErrorCode != 0 {
		t.Fatalf("offset fetch v8 of an unknown group: %+v", of8r.Groups[1])
	}

	// OffsetDelete of a topic the group consumes is refused.
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "g-bad"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "bad", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}
	if odr := do[*kmsg.OffsetDeleteResponse](t, r, od); odr.ErrorCode != 0 || odr.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code {
		t.Fatalf("offset delete while subscribed: %+v", odr)
	}

	// LeaveGroup v0, then the group is Empty and may be deleted.
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"g-bad", "g-none"}
	if dr := do[*kmsg.DeleteGroupsResponse](t, r, del); dr.Groups[0].ErrorCode != kerr.NonEmptyGroup.Code || dr.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("delete groups: %+v", dr.Groups)
	}
	lv := kmsg.NewPtrLeaveGroupRequest()
	lv.Group, lv.MemberID = "g-bad", member
	if lr := do[*kmsg.LeaveGroupResponse](t, r, lv); lr.ErrorCode != 0 {
		t.Fatalf("leave v0: %v", kerr.ErrorForCode(lr.ErrorCode))
	}
	if c := hb(0, member, 1); c != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat after leaving: %v", kerr.ErrorForCode(c))
	}
	lg := kmsg.NewPtrListGroupsRequest()
	lg.SetVersion(4)
	lg.StatesFilter = []string{"empty"}
	if lr := do[*kmsg.ListGroupsResponse](t, r, lg); len(lr.Groups) != 1 || lr.Groups[0].GroupState != "Empty" {
		t.Fatalf("list empty groups: %+v", lr.Groups)
	}
	if dr := do[*kmsg.DeleteGroupsResponse](t, r, del); dr.Groups[0].ErrorCode != 0 {
		t.Fatalf("delete empty group: %v", kerr.ErrorForCode(dr.Groups[0].ErrorCode))
	}
	ofr = do[*kmsg.OffsetFetchResponse](t, r, of)
	if p := ofr.Topics[0].Partitions; p[1].Offset != -1 {
		t.Fatalf("offsets survived deleting the group: %+v", p)
	}

	// A group outside group management (empty protocol type) commits with
	// generation -1 and no member id; old v0 commits do so implicitly.
	for _, v := range []int16{0, 9} {
		if got := do[*kmsg.OffsetCommitResponse](t, r, commitReq(v, "g-manual", "", -1, "bad", 0, "m")); got.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("manual commit v%d: %v", v, kerr.ErrorForCode(got.Topics[0].Partitions[0].ErrorCode))
		}
	}

	// JoinGroup v0 (no member id flow, no rebalance timeout) and static
	// membership fencing.
	resp = do[*kmsg.JoinGroupResponse](t, r, joinReq(0, "g-old", "", 6000, nil))
	if resp.ErrorCode != 0 || resp.Generation != 1 || resp.MemberID == "" {
		t.Fatalf("join v0: %+v", resp)
	}
	resp = do[*kmsg.JoinGroupResponse](t, r, joinReq(9, "g-static-raw", "", 6000, sp("inst")))
	if resp.ErrorCode != 0 {
		t.Fatalf("static join: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	first := resp.MemberID
	resp = do[*kmsg.JoinGroupResponse](t, r, joinReq(9, "g-static-raw", "", 6000, sp("inst")))
	if resp.ErrorCode != 0 || resp.MemberID == first {
		t.Fatalf("static rejoin: %+v", resp)
	}
	hbs := kmsg.NewPtrHeartbeatRequest()
	hbs.SetVersion(4)
	hbs.Group, hbs.MemberID, hbs.Generation, hbs.InstanceID = "g-static-raw", first, resp.Generation, sp("inst")
	if c := do[*kmsg.HeartbeatResponse](t, r, hbs).ErrorCode; c != kerr.FencedInstanceID.Code {
		t.Fatalf("old static member heartbeat: %v", kerr.ErrorForCode(c))
	}
}
