package broker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The clients in reach (franz-go 1.22 pins KIP-848 to ConsumerGroupHeartbeat
// v1, Kafka 4.0) do not speak the v0 that Kafka 3.9 serves, so these tests
// drive the protocol with raw requests, as a consumer would.

// cgMember is a KIP-848 consumer: it adopts what the broker assigns (and
// drops what it no longer assigns) at once and reports it on the next
// heartbeat.
type cgMember struct {
	t        *testing.T
	r        *rawConn
	group    string
	id       string
	instance *string
	assignor string
	epoch    int32
	owned    map[int32]bool
	topicID  [16]byte
}

func (m *cgMember) heartbeat() *kmsg.ConsumerGroupHeartbeatResponse {
	m.t.Helper()
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch, req.InstanceID = m.group, m.id, m.epoch, m.instance
	req.RebalanceTimeoutMillis, req.SubscribedTopicNames = 5000, []string{"kt"}
	if m.assignor != "" {
		req.ServerAssignor = &m.assignor
	}
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if len(m.owned) > 0 {
		rt := kmsg.NewConsumerGroupHeartbeatRequestTopic()
		rt.TopicID = m.topicID
		for p := range m.owned {
			rt.Partitions = append(rt.Partitions, p)
		}
		slices.Sort(rt.Partitions)
		req.Topics = append(req.Topics, rt)
	}
	resp := do[*kmsg.ConsumerGroupHeartbeatResponse](m.t, m.r, req)
	if resp.ErrorCode != 0 {
		return resp
	}
	if resp.MemberID != nil {
		m.id = *resp.MemberID
	}
	m.epoch = resp.MemberEpoch
	if resp.Assignment != nil {
		m.owned = map[int32]bool{}
		for _, at := range resp.Assignment.Topics {
			if at.TopicID != m.topicID {
				m.t.Fatalf("assigned topic id %x, want %x", at.TopicID, m.topicID)
			}
			for _, p := range at.Partitions {
				m.owned[p] = true
			}
		}
	}
	return resp
}

func (m *cgMember) must() {
	m.t.Helper()
	if resp := m.heartbeat(); resp.ErrorCode != 0 {
		m.t.Fatalf("heartbeat of %s: %v %v", m.id, kerr.ErrorForCode(resp.ErrorCode), resp.ErrorMessage)
	}
}

func (m *cgMember) partitions() []int32 {
	var ps []int32
	for p := range m.owned {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// settle heartbeats every member round after round, checking that no
// partition is ever owned by two members at once, until the assignments
// stop changing and cover all n partitions.
func settle(t *testing.T, n int32, ms ...*cgMember) {
	t.Helper()
	stable := 0
	for round := 0; round < 50; round++ {
		before := fmt.Sprint(ownedAll(ms))
		for _, m := range ms {
			m.must()
			seen := map[int32]string{}
			for _, o := range ms {
				for p := range o.owned {
					if other, dup := seen[p]; dup {
						t.Fatalf("partition %d owned by %s and %s at once", p, other, o.id)
					}
					seen[p] = o.id
				}
			}
		}
		total := 0
		for _, m := range ms {
			total += len(m.owned)
		}
		if fmt.Sprint(ownedAll(ms)) == before && total == int(n) {
			if stable++; stable == 2 {
				return
			}
		} else {
			stable = 0
		}
	}
	t.Fatalf("no stable assignment: %v", ownedAll(ms))
}

func ownedAll(ms []*cgMember) [][]int32 {
	var out [][]int32
	for _, m := range ms {
		out = append(out, m.partitions())
	}
	return out
}

func hbCode(resp *kmsg.ConsumerGroupHeartbeatResponse) error {
	return kerr.ErrorForCode(resp.ErrorCode)
}

func TestConsumerGroupProtocol(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t, "group.consumer.heartbeat.interval.ms=100", "group.consumer.session.timeout.ms=1000",
		"group.consumer.max.size=4")
	createTopic(t, b, "kt", 12, nil)
	ctx := context.Background()
	td, err := b.Admin(t).ListTopics(ctx, "kt")
	if err != nil {
		t.Fatal(err)
	}
	topicID := td["kt"].ID
	r := dialRaw(t, b.Addr)
	newMember := func(group string) *cgMember {
		return &cgMember{t: t, r: r, group: group, topicID: topicID, assignor: "uniform"}
	}

	// Three members split 12 partitions, 4 each, with no overlap.
	a, bb, c := newMember("g848"), newMember("g848"), newMember("g848")
	for _, m := range []*cgMember{a, bb, c} {
		m.must()
		if m.id == "" || m.epoch <= 0 {
			t.Fatalf("join: id %q epoch %d", m.id, m.epoch)
		}
	}
	settle(t, 12, a, bb, c)
	for _, m := range []*cgMember{a, bb, c} {
		if len(m.owned) != 4 {
			t.Fatalf("three members: %v", ownedAll([]*cgMember{a, bb, c}))
		}
	}
	before := map[*cgMember][]int32{a: a.partitions(), bb: bb.partitions(), c: c.partitions()}

	// A fourth joins: it gets 3, the others keep 3 of their 4 and gain none.
	d := newMember("g848")
	d.must()
	settle(t, 12, a, bb, c, d)
	for _, m := range []*cgMember{a, bb, c} {
		if len(m.owned) != 3 {
			t.Fatalf("four members: %v", ownedAll([]*cgMember{a, bb, c, d}))
		}
		for p := range m.owned {
			if !slices.Contains(before[m], p) {
				t.Errorf("%s gained partition %d when a member joined", m.id, p)
			}
		}
	}
	if len(d.owned) != 3 {
		t.Fatalf("the new member got %v", d.partitions())
	}

	// The group is full.
	if resp := newMember("g848").heartbeat(); resp.ErrorCode != kerr.GroupMaxSizeReached.Code {
		t.Errorf("fifth member: %v", hbCode(resp))
	}

	// Describe.
	dreq := kmsg.NewPtrConsumerGroupDescribeRequest()
	dreq.Groups = []string{"g848", "nope"}
	desc := do[*kmsg.ConsumerGroupDescribeResponse](t, r, dreq)
	g0 := desc.Groups[0]
	if g0.ErrorCode != 0 || g0.State != "Stable" || len(g0.Members) != 4 || g0.AssignorName != "uniform" || g0.Epoch != g0.AssignmentEpoch {
		t.Errorf("describe: %+v", g0)
	}
	for _, dm := range g0.Members {
		if dm.MemberEpoch != g0.Epoch || len(dm.Assignment.TopicPartitions) != 1 || dm.Assignment.TopicPartitions[0].Topic != "kt" ||
			len(dm.Assignment.TopicPartitions[0].Partitions) != 3 || fmt.Sprint(dm.Assignment) != fmt.Sprint(dm.TargetAssignment) {
			t.Errorf("described member: %+v", dm)
		}
	}
	if desc.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Errorf("describe unknown group: %v", kerr.ErrorForCode(desc.Groups[1].ErrorCode))
	}
	lreq := kmsg.NewPtrListGroupsRequest()
	lreq.SetVersion(5)
	lreq.TypesFilter = []string{"consumer"}
	if l := do[*kmsg.ListGroupsResponse](t, r, lreq); len(l.Groups) != 1 || l.Groups[0].Group != "g848" ||
		l.Groups[0].GroupState != "Stable" || l.Groups[0].GroupType != "consumer" || l.Groups[0].ProtocolType != "consumer" {
		t.Errorf("list groups: %+v", l.Groups)
	}
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.SetVersion(5)
	dg.Groups = []string{"g848"}
	if resp := do[*kmsg.DescribeGroupsResponse](t, r, dg); resp.Groups[0].State != "Dead" || len(resp.Groups[0].Members) != 0 {
		t.Errorf("DescribeGroups of a consumer group: %+v", resp.Groups[0])
	}
	if resp := do[*kmsg.JoinGroupResponse](t, r, joinReq(9, "g848", "", 6000, nil)); resp.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Errorf("classic join of a consumer group: %v", kerr.ErrorForCode(resp.ErrorCode))
	}

	// Offsets: the member epoch is the generation.
	p0 := a.partitions()[0]
	commit := func(version int16, member string, epoch int32, off int64) error {
		req := commitReq(version, "g848", member, epoch, "kt", p0, "")
		req.Topics[0].Partitions[0].Offset = off
		return kerr.ErrorForCode(do[*kmsg.OffsetCommitResponse](t, r, req).Topics[0].Partitions[0].ErrorCode)
	}
	if err := commit(9, a.id, a.epoch, 42); err != nil {
		t.Fatalf("commit: %v", err)
	}
	for _, c := range []struct {
		version int16
		member  string
		epoch   int32
		want    error
	}{
		{9, a.id, a.epoch - 1, kerr.StaleMemberEpoch},
		{9, "ghost", a.epoch, kerr.UnknownMemberID},
		{8, a.id, a.epoch, kerr.UnsupportedVersion},
		{9, "", -1, kerr.UnknownMemberID},
	} {
		if err := commit(c.version, c.member, c.epoch, 1); err != c.want {
			t.Errorf("commit v%d by %q at %d: %v, want %v", c.version, c.member, c.epoch, err, c.want)
		}
	}
	fetch := func(member *string, epoch int32) (int16, int64) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.SetVersion(9)
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group, rg.MemberID, rg.MemberEpoch = "g848", member, epoch
		rt := kmsg.NewOffsetFetchRequestGroupTopic()
		rt.Topic, rt.Partitions = "kt", []int32{p0}
		rg.Topics = append(rg.Topics, rt)
		req.Groups = append(req.Groups, rg)
		g := do[*kmsg.OffsetFetchResponse](t, r, req).Groups[0]
		if g.ErrorCode != 0 {
			return g.ErrorCode, -1
		}
		return 0, g.Topics[0].Partitions[0].Offset
	}
	if code, off := fetch(&a.id, a.epoch); code != 0 || off != 42 {
		t.Errorf("fetch by the member: %v %d", kerr.ErrorForCode(code), off)
	}
	if code, _ := fetch(&a.id, a.epoch+1); code != kerr.StaleMemberEpoch.Code {
		t.Errorf("fetch at a wrong epoch: %v", kerr.ErrorForCode(code))
	}
	if code, off := fetch(nil, -1); code != 0 || off != 42 {
		t.Errorf("fetch by an admin: %v %d", kerr.ErrorForCode(code), off)
	}

	// Fencing and bad requests.
	fenced := *a
	fenced.epoch++
	if resp := fenced.heartbeat(); resp.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Errorf("future epoch: %v", hbCode(resp))
	}
	noGroup := newMember("no-such-group")
	noGroup.id, noGroup.epoch = "x", 1
	if resp := noGroup.heartbeat(); resp.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Errorf("unknown group: %v", hbCode(resp))
	}
	bad := newMember("g-bad")
	bad.assignor = "sticky"
	if resp := bad.heartbeat(); resp.ErrorCode != kerr.UnsupportedAssignor.Code {
		t.Errorf("unknown assignor: %v", hbCode(resp))
	}
	noSub := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	noSub.Group, noSub.RebalanceTimeoutMillis, noSub.Topics = "g-bad", 5000, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if resp := do[*kmsg.ConsumerGroupHeartbeatResponse](t, r, noSub); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("join without subscription: %v", hbCode(resp))
	}

	// d leaves: the others get its partitions back.
	leave := *d
	leave.epoch = -1
	if resp := leave.heartbeat(); resp.ErrorCode != 0 || resp.MemberEpoch != -1 {
		t.Fatalf("leave: %v %d", hbCode(resp), resp.MemberEpoch)
	}
	settle(t, 12, a, bb, c)
	ghost := newMember("g848")
	ghost.id, ghost.epoch = "ghost", 3
	if resp := ghost.heartbeat(); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Errorf("unknown member: %v", hbCode(resp))
	}

	// c dies: after its session timeout a and bb share everything.
	deadline := time.Now().Add(5 * time.Second)
	for len(a.owned)+len(bb.owned) != 12 || len(a.owned) != 6 {
		if time.Now().After(deadline) {
			t.Fatalf("c's partitions did not move: %v", ownedAll([]*cgMember{a, bb}))
		}
		a.must()
		bb.must()
		time.Sleep(100 * time.Millisecond)
	}

	// Static membership: a temporary leave keeps the partitions for the
	// same instance, which comes back under a new member id.
	s1, s2 := newMember("g-static"), newMember("g-static")
	s1.instance, s2.instance = sp("i1"), sp("i2")
	s1.must()
	s2.must()
	settle(t, 12, s1, s2)
	kept := s1.partitions()
	dup := newMember("g-static")
	dup.instance = sp("i1")
	if resp := dup.heartbeat(); resp.ErrorCode != kerr.UnreleasedInstanceID.Code {
		t.Errorf("instance in use: %v", hbCode(resp))
	}
	tmp := *s1
	tmp.epoch = -2
	if resp := tmp.heartbeat(); resp.ErrorCode != 0 || resp.MemberEpoch != -2 {
		t.Fatalf("static leave: %v %d", hbCode(resp), resp.MemberEpoch)
	}
	back := newMember("g-static")
	back.instance = sp("i1")
	back.must()
	if back.id == s1.id || fmt.Sprint(back.partitions()) != fmt.Sprint(kept) || back.epoch != s1.epoch {
		t.Errorf("static member came back as %s epoch %d with %v; was %s epoch %d with %v", back.id, back.epoch, back.partitions(), s1.id, s1.epoch, kept)
	}

	// Commits survive a restart; the membership does not, and members
	// rejoin.
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if code, off := fetch(nil, -1); code != 0 || off != 42 {
		t.Errorf("fetch after restart: %v %d", kerr.ErrorForCode(code), off)
	}
	a.r, bb.r = r, r
	if resp := a.heartbeat(); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Errorf("heartbeat after restart: %v", hbCode(resp))
	}
	a.epoch, a.owned, bb.epoch, bb.owned = 0, nil, 0, nil
	a.must()
	bb.must()
	settle(t, 12, a, bb)
	if len(a.owned) != 6 {
		t.Errorf("after rejoin: %v", ownedAll([]*cgMember{a, bb}))
	}
}

// TestConsumerGroupRange: the range assignor gives contiguous ranges.
func TestConsumerGroupRange(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	createTopic(t, b, "kt", 5, nil)
	td, err := b.Admin(t).ListTopics(context.Background(), "kt")
	if err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, b.Addr)
	m1 := &cgMember{t: t, r: r, group: "g-range", topicID: td["kt"].ID, assignor: "range", id: "m1"}
	m2 := &cgMember{t: t, r: r, group: "g-range", topicID: td["kt"].ID, assignor: "range", id: "m2"}
	m1.must()
	m2.must()
	settle(t, 5, m1, m2)
	if fmt.Sprint(ownedAll([]*cgMember{m1, m2})) != "[[0 1 2] [3 4]]" {
		t.Errorf("range: %v", ownedAll([]*cgMember{m1, m2}))
	}
}
