package group

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The consumer group protocol of KIP-848 as Kafka 3.9 serves it
// (ConsumerGroupHeartbeat v0): members send their subscription and the
// partitions they own; the coordinator computes a target assignment with a
// server-side assignor whenever the group epoch moves, and reconciles each
// member towards its target incrementally: a partition is given to a member
// only once its previous owner no longer reports it.

// Topics is the coordinator's view of the cluster's topics.
type Topics interface {
	TopicByName(name string) (id [16]byte, partitions int32, ok bool)
	TopicByID(id [16]byte) (name string, ok bool)
}

// ConsumerState is a consumer group's state, named as Kafka names it.
type ConsumerState int8

const (
	CEmpty ConsumerState = iota
	CAssigning
	CReconciling
	CStable
)

func (s ConsumerState) String() string {
	return [...]string{"Empty", "Assigning", "Reconciling", "Stable"}[s]
}

type memberState int8

const (
	mStable     memberState = iota
	mUnrevoked              // waits for the member to revoke partitions
	mUnreleased             // waits for other members to release partitions
)

// Member epochs with a meaning (ConsumerGroupHeartbeat).
const (
	leaveEpoch       = -1
	staticLeaveEpoch = -2
)

type cMember struct {
	id               string
	instanceID       *string
	rackID           *string
	clientID         string
	clientHost       string
	epoch, prevEpoch int32
	state            memberState
	rebalanceTimeout time.Duration
	topics           []string // subscribed, sorted
	assignor         *string
	assigned         assignment // owned (from the coordinator's view)
	revoking         assignment // to be revoked by the member
	hb, revokeT      timer
}

type topicMeta struct {
	id         [16]byte
	partitions int32
}

// consumerGroup is the state of a group of the consumer protocol; a group
// with cg == nil is a classic group.
type consumerGroup struct {
	epoch, assignmentEpoch int32
	members                map[string]*cMember
	static                 map[string]string // instance id -> member id
	target                 map[string]assignment
	meta                   map[string]topicMeta // of the subscribed topics
	assignor               string               // of the last target
}

func newConsumerGroup() *consumerGroup {
	return &consumerGroup{members: map[string]*cMember{}, static: map[string]string{}, target: map[string]assignment{}}
}

func (cg *consumerGroup) state() ConsumerState {
	if len(cg.members) == 0 {
		return CEmpty
	}
	if cg.epoch > cg.assignmentEpoch {
		return CAssigning
	}
	for _, m := range cg.members {
		if m.epoch != cg.assignmentEpoch || m.state != mStable {
			return CReconciling
		}
	}
	return CStable
}

func (cg *consumerGroup) sortedMembers() []*cMember {
	ms := make([]*cMember, 0, len(cg.members))
	for _, m := range cg.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].id < ms[j].id })
	return ms
}

// preferredAssignor is the assignor most members ask for (ties: the
// smaller name), or the default.
func (cg *consumerGroup) preferredAssignor() string {
	votes := map[string]int{}
	for _, m := range cg.members {
		if m.assignor != nil {
			votes[*m.assignor]++
		}
	}
	best := ""
	for name, n := range votes {
		if best == "" || n > votes[best] || (n == votes[best] && name < best) {
			best = name
		}
	}
	if best == "" {
		return defaultAssignor
	}
	return best
}

// isConsumer reports whether g is a group of the consumer protocol.
func (g *group) isConsumer() bool { return g.cg != nil }

// hasMembers reports whether g has members of either protocol.
func (g *group) hasMembers() bool {
	return len(g.members) > 0 || len(g.pending) > 0 || (g.cg != nil && len(g.cg.members) > 0)
}

func newUUIDString() string {
	var u [16]byte
	rand.Read(u[:])
	return base64.RawURLEncoding.EncodeToString(u[:])
}

type hbError struct {
	code int16
	msg  string
}

func hbErr(code int16, format string, args ...any) *hbError {
	return &hbError{code, fmt.Sprintf(format, args...)}
}

// ConsumerGroupHeartbeat serves ConsumerGroupHeartbeat v0 (see
// internal/broker/68_consumer_group_heartbeat.go).
func (c *Coordinator) ConsumerGroupHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, clientID, clientHost string, topics Topics) *kmsg.ConsumerGroupHeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
	fail := func(e *hbError) *kmsg.ConsumerGroupHeartbeatResponse {
		resp.ErrorCode = e.code
		if e.msg != "" {
			resp.ErrorMessage = &e.msg
		}
		return resp
	}
	if e := c.validateHeartbeat(req); e != nil {
		return fail(e)
	}
	g, err := c.lookup(req.Group, req.MemberEpoch == 0)
	if err != nil {
		return fail(&hbError{code: codeOf(err)})
	}
	if g == nil {
		return fail(hbErr(kerr.GroupIDNotFound.Code, "Consumer group %s not found.", req.Group))
	}
	defer g.mu.Unlock()
	defer g.maybeForget()
	if g.cg == nil {
		if g.hasMembers() || g.state != Empty {
			return fail(hbErr(kerr.GroupIDNotFound.Code, "Group %s is not a consumer group.", req.Group))
		}
		if req.MemberEpoch != 0 {
			// A group known only by its committed offsets, such as a
			// consumer group after a restart (membership is not
			// persisted): the member is unknown and rejoins.
			return fail(hbErr(kerr.UnknownMemberID.Code, "Member %s is not a member of group %s.", req.MemberID, req.Group))
		}
		// An empty classic group (or one that only holds offsets) becomes
		// a consumer group; its offsets stay.
		g.cg = newConsumerGroup()
		g.generation, g.protocol, g.leader, g.subscribed = 0, nil, "", nil
		pt := "consumer"
		g.protocolType = &pt
	}
	if e := g.consumerHeartbeat(req, clientID, clientHost, topics, resp); e != nil {
		return fail(e)
	}
	return resp
}

func (c *Coordinator) validateHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest) *hbError {
	invalid := func(msg string) *hbError { return &hbError{kerr.InvalidRequest.Code, msg} }
	switch {
	case req.Group == "":
		return invalid("GroupId can't be empty.")
	case req.InstanceID != nil && *req.InstanceID == "":
		return invalid("InstanceId can't be empty.")
	case req.RackID != nil && *req.RackID == "":
		return invalid("RackId can't be empty.")
	}
	switch e := req.MemberEpoch; {
	case e > 0 || e == leaveEpoch:
		if req.MemberID == "" {
			return invalid("MemberId can't be empty.")
		}
	case e == 0:
		if req.RebalanceTimeoutMillis == -1 {
			return invalid("RebalanceTimeoutMs must be provided in first request.")
		}
		if req.Topics == nil || len(req.Topics) > 0 {
			return invalid("TopicPartitions must be empty when (re-)joining.")
		}
		if len(req.SubscribedTopicNames) == 0 {
			return invalid("SubscribedTopicNames must be set in first request.")
		}
	case e == staticLeaveEpoch:
		if req.MemberID == "" {
			return invalid("MemberId can't be empty.")
		}
		if req.InstanceID == nil {
			return invalid("InstanceId can't be null.")
		}
	default:
		return invalid("MemberEpoch is invalid.")
	}
	if req.ServerAssignor != nil && assignors[*req.ServerAssignor] == nil {
		return hbErr(kerr.UnsupportedAssignor.Code, "ServerAssignor %s is not supported. Supported assignors: uniform, range.", *req.ServerAssignor)
	}
	return nil
}

// consumerHeartbeat runs one heartbeat on a consumer group. g.mu held.
func (g *group) consumerHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, clientID, clientHost string, topics Topics, resp *kmsg.ConsumerGroupHeartbeatResponse) *hbError {
	cg := g.cg
	if req.MemberEpoch == leaveEpoch || req.MemberEpoch == staticLeaveEpoch {
		return g.consumerLeave(req, topics, resp)
	}
	if len(cg.members) >= g.c.cfg.ConsumerMaxSize && (req.MemberID == "" || cg.members[req.MemberID] == nil) {
		return hbErr(kerr.GroupMaxSizeReached.Code, "The consumer group has reached its maximum capacity of %d members.", g.c.cfg.ConsumerMaxSize)
	}
	owned := ownedOf(req.Topics, topics)
	memberID := req.MemberID
	if memberID == "" {
		memberID = newUUIDString()
	}
	var m *cMember
	isNew := false
	if req.MemberEpoch == 0 {
		if req.InstanceID != nil && cg.static[*req.InstanceID] != "" {
			old := cg.members[cg.static[*req.InstanceID]]
			if old.epoch != staticLeaveEpoch {
				return hbErr(kerr.UnreleasedInstanceID.Code, "Static member %s with instance id %s cannot join the group because the instance id is owned by %s member.", memberID, *req.InstanceID, old.id)
			}
			// The static member comes back under a new member id and
			// takes the place, and the partitions, of its old self.
			target, hasTarget := cg.target[old.id]
			g.removeConsumerMember(old)
			m = &cMember{id: memberID, instanceID: old.instanceID, rackID: old.rackID, topics: old.topics, assignor: old.assignor,
				rebalanceTimeout: old.rebalanceTimeout, assigned: old.assigned, revoking: assignment{}}
			if hasTarget {
				cg.target[memberID] = target
			}
			cg.members[memberID] = m
			cg.static[*m.instanceID] = memberID
			g.c.log.Info("static member rejoined the consumer group", "group", g.id, "member_id", memberID, "replaces", old.id)
		} else if m = cg.members[memberID]; m == nil {
			m = &cMember{id: memberID, assigned: assignment{}, revoking: assignment{}}
			cg.members[memberID] = m
			isNew = true
			if req.InstanceID != nil {
				cg.static[*req.InstanceID] = memberID
			}
			g.c.log.Info("member joins the consumer group", "group", g.id, "member_id", memberID)
		} else if e := checkEpoch(m, 0, owned); e != nil {
			return e
		}
	} else {
		if req.InstanceID != nil {
			id := cg.static[*req.InstanceID]
			if id == "" {
				return hbErr(kerr.UnknownMemberID.Code, "Instance id %s is unknown.", *req.InstanceID)
			}
			if id != memberID {
				return hbErr(kerr.FencedInstanceID.Code, "Static member %s with instance id %s was fenced by member %s.", memberID, *req.InstanceID, id)
			}
		}
		if m = cg.members[memberID]; m == nil {
			return hbErr(kerr.UnknownMemberID.Code, "Member %s is not a member of group %s.", memberID, g.id)
		}
		if e := checkEpoch(m, req.MemberEpoch, owned); e != nil {
			return e
		}
	}
	// Update the member; a changed subscription or assignor moves the
	// group epoch.
	bump := isNew
	if req.InstanceID != nil {
		// A member that joins with an instance id (a dynamic member
		// rejoining with epoch 0 among them) is a static member from now
		// on: Kafka's replay of its ConsumerGroupMemberMetadata updates
		// the group's static members. Only epoch 0 gets here with an
		// instance id not yet in cg.static (later epochs were checked
		// against it above), so no other member's entry is replaced.
		if m.instanceID != nil && *m.instanceID != *req.InstanceID && cg.static[*m.instanceID] == m.id {
			delete(cg.static, *m.instanceID)
		}
		id := *req.InstanceID
		m.instanceID = &id
		cg.static[id] = m.id
	}
	if req.RackID != nil {
		m.rackID = req.RackID
	}
	if req.RebalanceTimeoutMillis != -1 {
		m.rebalanceTimeout = ms(req.RebalanceTimeoutMillis)
	}
	if req.ServerAssignor != nil && (m.assignor == nil || *m.assignor != *req.ServerAssignor) {
		a := *req.ServerAssignor
		m.assignor, bump = &a, true
	}
	if req.SubscribedTopicNames != nil {
		ts := slices.Clone(req.SubscribedTopicNames)
		slices.Sort(ts)
		ts = slices.Compact(ts)
		if !slices.Equal(ts, m.topics) {
			m.topics, bump = ts, true
		}
	}
	m.clientID, m.clientHost = clientID, clientHost
	prevAssigned := m.assigned.clone()
	if g.refreshMeta(topics) {
		bump = true
	}
	if bump {
		cg.epoch++
	}
	if cg.epoch > cg.assignmentEpoch {
		g.computeTarget()
	}
	g.reconcile(m, owned)
	g.scheduleConsumerSession(m)

	resp.MemberID = &m.id
	resp.MemberEpoch = m.epoch
	resp.HeartbeatIntervalMillis = int32(g.c.cfg.ConsumerHeartbeatInterval.Milliseconds())
	full := req.MemberEpoch == 0 || (req.RebalanceTimeoutMillis != -1 && req.SubscribedTopicNames != nil && req.Topics != nil)
	if full || !prevAssigned.equal(m.assigned) {
		resp.Assignment = &kmsg.ConsumerGroupHeartbeatResponseAssignment{}
		for _, t := range sortedTopics(m.assigned) {
			at := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
			id, _, ok := topics.TopicByName(t)
			if !ok {
				continue
			}
			at.TopicID, at.Partitions = id, slices.Clone(m.assigned[t])
			resp.Assignment.Topics = append(resp.Assignment.Topics, at)
		}
	}
	return nil
}

// checkEpoch is Kafka's fencing of a member's epoch: a greater epoch, or a
// smaller one that is not the previous epoch with a subset of the
// assignment (the response bumping the epoch was lost), is fenced.
func checkEpoch(m *cMember, epoch int32, owned assignment) *hbError {
	if epoch > m.epoch {
		return hbErr(kerr.FencedMemberEpoch.Code, "The consumer group member has a greater member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", epoch, m.epoch)
	}
	if epoch < m.epoch {
		subset := owned != nil
		for t, ps := range owned {
			for _, p := range ps {
				if !m.assigned.has(t, p) {
					subset = false
				}
			}
		}
		if epoch != m.prevEpoch || !subset {
			return hbErr(kerr.FencedMemberEpoch.Code, "The consumer group member has a smaller member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", epoch, m.epoch)
		}
	}
	return nil
}

// ownedOf converts the owned partitions of a request to names (nil: not
// sent). Topics unknown by id are dropped.
func ownedOf(ts []kmsg.ConsumerGroupHeartbeatRequestTopic, topics Topics) assignment {
	if ts == nil {
		return nil
	}
	a := assignment{}
	for _, t := range ts {
		if name, ok := topics.TopicByID(t.TopicID); ok {
			a[name] = append(a[name], t.Partitions...)
		}
	}
	return a.normalize()
}

func sortedTopics(a assignment) []string {
	ts := make([]string, 0, len(a))
	for t := range a {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

func (g *group) consumerLeave(req *kmsg.ConsumerGroupHeartbeatRequest, _ Topics, resp *kmsg.ConsumerGroupHeartbeatResponse) *hbError {
	cg := g.cg
	var m *cMember
	if req.InstanceID != nil {
		id := cg.static[*req.InstanceID]
		if id == "" {
			return hbErr(kerr.UnknownMemberID.Code, "Instance id %s is unknown.", *req.InstanceID)
		}
		if id != req.MemberID {
			return hbErr(kerr.FencedInstanceID.Code, "Static member %s with instance id %s was fenced by member %s.", req.MemberID, *req.InstanceID, id)
		}
		m = cg.members[id]
	} else if m = cg.members[req.MemberID]; m == nil {
		return hbErr(kerr.UnknownMemberID.Code, "Member %s is not a member of group %s.", req.MemberID, g.id)
	}
	resp.MemberID = &m.id
	resp.MemberEpoch = req.MemberEpoch
	if req.MemberEpoch == staticLeaveEpoch {
		// A static member leaves for a while: it keeps its place and
		// partitions until its session times out or it comes back.
		g.c.log.Info("static member left the consumer group temporarily", "group", g.id, "member_id", m.id)
		m.epoch = staticLeaveEpoch
		g.disarm(&m.revokeT)
		return nil
	}
	g.c.log.Info("member left the consumer group", "group", g.id, "member_id", m.id)
	g.fenceConsumerMember(m)
	return nil
}

// removeConsumerMember drops m from the group without touching the epoch.
func (g *group) removeConsumerMember(m *cMember) {
	g.disarm(&m.hb)
	g.disarm(&m.revokeT)
	delete(g.cg.members, m.id)
	delete(g.cg.target, m.id)
	if m.instanceID != nil && g.cg.static[*m.instanceID] == m.id {
		delete(g.cg.static, *m.instanceID)
	}
}

// fenceConsumerMember removes m, moves the group epoch and recomputes the
// target assignment so the others get its partitions. g.mu held.
func (g *group) fenceConsumerMember(m *cMember) {
	g.removeConsumerMember(m)
	g.cg.epoch++
	if len(g.cg.members) == 0 {
		g.cg.assignmentEpoch = g.cg.epoch
		g.cg.target = map[string]assignment{}
		g.stateTs = g.c.now() // offsets expire from when the group became empty
		return
	}
	g.computeTarget()
}

// refreshMeta recomputes the metadata of the subscribed topics and reports
// whether it changed (a topic appeared, disappeared, was recreated or got
// more partitions). g.mu held.
func (g *group) refreshMeta(topics Topics) bool {
	meta := map[string]topicMeta{}
	for _, m := range g.cg.members {
		for _, t := range m.topics {
			if _, done := meta[t]; done {
				continue
			}
			if id, n, ok := topics.TopicByName(t); ok {
				meta[t] = topicMeta{id, n}
			}
		}
	}
	changed := len(meta) != len(g.cg.meta)
	for t, tm := range meta {
		if g.cg.meta[t] != tm {
			changed = true
		}
	}
	g.cg.meta = meta
	return changed
}

// computeTarget runs the group's assignor for the current epoch. g.mu held.
func (g *group) computeTarget() {
	cg := g.cg
	name := cg.preferredAssignor()
	partitions := map[string]int32{}
	for t, tm := range cg.meta {
		partitions[t] = tm.partitions
	}
	var ms []assignMember
	for _, m := range cg.sortedMembers() {
		ms = append(ms, assignMember{id: m.id, topics: m.topics, previous: cg.target[m.id]})
	}
	cg.target = assignors[name](ms, partitions)
	cg.assignor = name
	cg.assignmentEpoch = cg.epoch
	g.c.log.Debug("computed the target assignment", "group", g.id, "epoch", cg.epoch, "assignor", name, "members", len(ms))
}

// partitionOwned reports whether a member other than self holds or is
// still revoking topic-p.
func (g *group) partitionOwned(self *cMember, topic string, p int32) bool {
	for _, o := range g.cg.members {
		if o != self && (o.assigned.has(topic, p) || o.revoking.has(topic, p)) {
			return true
		}
	}
	return false
}

// reconcile moves m towards its target assignment, as Kafka's
// CurrentAssignmentBuilder: partitions to revoke first (the member keeps
// its epoch until it no longer reports them), then partitions to assign,
// less those other members have not released yet. g.mu held.
func (g *group) reconcile(m *cMember, owned assignment) {
	cg := g.cg
	switch m.state {
	case mStable:
		if m.epoch == cg.assignmentEpoch {
			return
		}
		g.nextAssignment(m, m.epoch, owned)
	case mUnrevoked:
		if ownsAny(owned, m.revoking) {
			return
		}
		g.nextAssignment(m, m.epoch+1, owned)
	case mUnreleased:
		g.nextAssignment(m, m.epoch, owned)
	}
}

// ownsAny reports whether owned (nil: unknown, so yes) holds any of a.
func ownsAny(owned, a assignment) bool {
	if owned == nil {
		return true
	}
	for t, ps := range owned {
		for _, p := range ps {
			if a.has(t, p) {
				return true
			}
		}
	}
	return false
}

func (g *group) nextAssignment(m *cMember, epoch int32, owned assignment) {
	cg := g.cg
	target := cg.target[m.id]
	keep, revoke, add := assignment{}, assignment{}, assignment{}
	unreleased := false
	topics := map[string]bool{}
	for t := range target {
		topics[t] = true
	}
	for t := range m.assigned {
		topics[t] = true
	}
	for t := range topics {
		for _, p := range m.assigned[t] {
			if target.has(t, p) {
				keep[t] = append(keep[t], p)
			} else {
				revoke[t] = append(revoke[t], p)
			}
		}
		for _, p := range target[t] {
			if m.assigned.has(t, p) {
				continue
			}
			if g.partitionOwned(m, t, p) {
				unreleased = true
				continue
			}
			add[t] = append(add[t], p)
		}
	}
	keep, revoke, add = keep.normalize(), revoke.normalize(), add.normalize()
	setEpoch := func(e int32) {
		if e != m.epoch {
			m.prevEpoch, m.epoch = m.epoch, e
		}
	}
	switch {
	case len(revoke) > 0 && ownsAny(owned, revoke):
		m.state, m.assigned, m.revoking = mUnrevoked, keep, revoke
		setEpoch(epoch)
		if m.revokeT.t == nil && m.rebalanceTimeout > 0 {
			id := m.id
			g.arm(&m.revokeT, m.rebalanceTimeout, func() {
				if cur := g.cg; cur != nil && cur.members[id] == m && m.state == mUnrevoked {
					g.c.log.Info("member did not revoke its partitions within the rebalance timeout; fenced", "group", g.id, "member_id", id)
					g.fenceConsumerMember(m)
				}
			})
		}
		return
	default:
		for t, ps := range add {
			keep[t] = append(keep[t], ps...)
		}
		m.assigned, m.revoking = keep.normalize(), assignment{}
		m.state = mStable
		if unreleased {
			m.state = mUnreleased
		}
		setEpoch(cg.assignmentEpoch)
		g.disarm(&m.revokeT)
	}
}

// scheduleConsumerSession (re)starts m's session timer. g.mu held.
func (g *group) scheduleConsumerSession(m *cMember) {
	id := m.id
	g.arm(&m.hb, g.c.cfg.ConsumerSessionTimeout, func() {
		if cur := g.cg; cur != nil && cur.members[id] == m {
			g.c.log.Info("consumer group member's session expired; fenced", "group", g.id, "member_id", id)
			g.fenceConsumerMember(m)
		}
	})
}

// DescribeConsumerGroup serves one group of ConsumerGroupDescribe v0.
func (c *Coordinator) DescribeConsumerGroup(groupID string, topics Topics) kmsg.ConsumerGroupDescribeResponseGroup {
	d := kmsg.NewConsumerGroupDescribeResponseGroup()
	d.Group, d.AuthorizedOperations = groupID, -2147483648
	g, err := c.lookup(groupID, false)
	if err != nil {
		d.ErrorCode = codeOf(err)
		return d
	}
	if g == nil || g.cg == nil {
		if g != nil {
			g.mu.Unlock()
		}
		msg := fmt.Sprintf("Group %s not found.", groupID)
		if g != nil {
			msg = fmt.Sprintf("Group %s is not a consumer group.", groupID)
		}
		d.ErrorCode, d.ErrorMessage = kerr.GroupIDNotFound.Code, &msg
		return d
	}
	defer g.mu.Unlock()
	cg := g.cg
	d.State, d.Epoch, d.AssignmentEpoch, d.AssignorName = cg.state().String(), cg.epoch, cg.assignmentEpoch, cg.preferredAssignor()
	toKmsg := func(a assignment) kmsg.Assignment {
		out := kmsg.NewAssignment()
		for _, t := range sortedTopics(a) {
			at := kmsg.NewAssignmentTopicPartition()
			at.Topic, at.Partitions = t, slices.Clone(a[t])
			if id, _, ok := topics.TopicByName(t); ok {
				at.TopicID = id
			}
			out.TopicPartitions = append(out.TopicPartitions, at)
		}
		return out
	}
	for _, m := range cg.sortedMembers() {
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.RackID, dm.MemberEpoch = m.id, m.instanceID, m.rackID, m.epoch
		dm.ClientID, dm.ClientHost, dm.SubscribedTopics = m.clientID, m.clientHost, slices.Clone(m.topics)
		if dm.SubscribedTopics == nil {
			dm.SubscribedTopics = []string{}
		}
		dm.Assignment, dm.TargetAssignment = toKmsg(m.assigned), toKmsg(cg.target[m.id])
		d.Members = append(d.Members, dm)
	}
	return d
}

// checkConsumerCommit validates an offset commit for a consumer group, as
// Kafka's ConsumerGroup.validateOffsetCommit: without members anyone may
// commit with epoch -1; else the committer must be a member (UNKNOWN_MEMBER_ID)
// using OffsetCommit v9+ (UNSUPPORTED_VERSION) with its current member
// epoch (STALE_MEMBER_EPOCH). g.mu held.
func (g *group) checkConsumerCommit(memberID string, epoch int32, version int16) int16 {
	if epoch < 0 && len(g.cg.members) == 0 {
		return 0
	}
	m := g.cg.members[memberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case version < 9:
		return kerr.UnsupportedVersion.Code
	case epoch != m.epoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}

// consumerSubscribed reports whether a consumer group member subscribes
// to topic. g.mu held.
func (g *group) consumerSubscribed(topic string) bool {
	if g.cg == nil {
		return false
	}
	for _, m := range g.cg.members {
		if slices.Contains(m.topics, topic) {
			return true
		}
	}
	return false
}

// shutdownConsumer stops the consumer members' timers. g.mu held.
func (g *group) shutdownConsumer() {
	if g.cg == nil {
		return
	}
	for _, m := range g.cg.members {
		g.disarm(&m.hb)
		g.disarm(&m.revokeT)
	}
}
