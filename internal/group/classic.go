package group

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func ms(v int32) time.Duration { return time.Duration(v) * time.Millisecond }

func newMemberID(clientID string) string {
	var u [16]byte
	rand.Read(u[:])
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", clientID, u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

func codeOf(err error) int16 {
	if errors.Is(err, ErrNotCoordinator) {
		return kerr.NotCoordinator.Code
	}
	return kerr.CoordinatorNotAvailable.Code
}

// JoinGroup serves JoinGroup v0-9 (see internal/broker/11_join_group.go). It
// blocks until the member's join completes or ctx is done.
func (c *Coordinator) JoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest, clientID, clientHost string) *kmsg.JoinGroupResponse {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.Generation, resp.MemberID = -1, req.MemberID
	fail := func(code int16) *kmsg.JoinGroupResponse { resp.ErrorCode = code; return resp }
	if req.Group == "" {
		return fail(kerr.InvalidGroupID.Code)
	}
	session := ms(req.SessionTimeoutMillis)
	if session < c.cfg.MinSessionTimeout || session > c.cfg.MaxSessionTimeout {
		return fail(kerr.InvalidSessionTimeout.Code)
	}
	j := joinArgs{req: req, clientID: clientID, clientHost: clientHost, session: session, rebalance: ms(req.RebalanceTimeoutMillis)}
	if req.Version == 0 {
		j.rebalance = session // v0 has no rebalance timeout
	}
	for _, p := range req.Protocols {
		j.protocols = append(j.protocols, protocol{name: p.Name, metadata: append([]byte{}, p.Metadata...)})
	}
	g, err := c.lookup(req.Group, req.MemberID == "")
	if err != nil {
		return fail(codeOf(err))
	}
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	if g.cg != nil {
		if len(g.cg.members) > 0 {
			// No migration between the protocols (Kafka 3.9 with
			// group.consumer.migration.policy=disabled).
			g.mu.Unlock()
			return fail(kerr.InconsistentGroupProtocol.Code)
		}
		// An empty consumer group becomes a classic one; offsets stay.
		g.cg, g.protocolType = nil, nil
	}
	ch, r := g.join(&j)
	if r != nil {
		resp = r
	}
	g.maybeForget()
	g.mu.Unlock()
	if ch == nil {
		return resp
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return fail(kerr.RebalanceInProgress.Code)
	}
}

type joinArgs struct {
	req                  *kmsg.JoinGroupRequest
	clientID, clientHost string
	session, rebalance   time.Duration
	protocols            []protocol
}

func (j *joinArgs) errResp(code int16, memberID string) *kmsg.JoinGroupResponse {
	r := j.req.ResponseKind().(*kmsg.JoinGroupResponse)
	r.ErrorCode, r.Generation, r.MemberID = code, -1, memberID
	return r
}

// join runs a JoinGroup against the locked group: it returns either a
// response now or a channel that will carry it. g.mu held.
func (g *group) join(j *joinArgs) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	req := j.req
	if req.MemberID == "" {
		if !g.supportsProtocols(req.ProtocolType, j.protocols) {
			return nil, j.errResp(kerr.InconsistentGroupProtocol.Code, "")
		}
		id := newMemberID(j.clientID)
		if req.InstanceID != nil {
			if old, ok := g.static[*req.InstanceID]; ok {
				return g.replaceStatic(old, id, j)
			}
			return g.addMemberAndRebalance(id, j)
		}
		if req.Version >= 4 {
			// KIP-394: hand out the member id first, so a client that
			// times out and retries does not leave a ghost member behind.
			if !g.acceptJoining("") {
				return nil, j.errResp(kerr.GroupMaxSizeReached.Code, "")
			}
			pm := &pendingMember{}
			g.pending[id] = pm
			g.arm(&pm.t, j.session, func() {
				delete(g.pending, id)
				g.tryCompleteJoin()
				g.maybeForget()
			})
			return nil, j.errResp(kerr.MemberIDRequired.Code, id)
		}
		return g.addMemberAndRebalance(id, j)
	}
	id := req.MemberID
	if pm, ok := g.pending[id]; ok {
		g.disarm(&pm.t)
		delete(g.pending, id)
		if !g.supportsProtocols(req.ProtocolType, j.protocols) {
			return nil, j.errResp(kerr.InconsistentGroupProtocol.Code, id)
		}
		return g.addMemberAndRebalance(id, j)
	}
	if g.isStaticFenced(req.InstanceID, id) {
		return nil, j.errResp(kerr.FencedInstanceID.Code, id)
	}
	m := g.members[id]
	if m == nil || (req.InstanceID != nil && g.static[*req.InstanceID] == "") {
		return nil, j.errResp(kerr.UnknownMemberID.Code, id)
	}
	if !g.supportsProtocols(req.ProtocolType, j.protocols) {
		return nil, j.errResp(kerr.InconsistentGroupProtocol.Code, id)
	}
	switch g.state {
	case PreparingRebalance:
		return g.updateMemberAndRebalance(m, j), nil
	case CompletingRebalance:
		if m.sameProtocols(j.protocols) {
			// A retried join: answer with the current generation.
			return nil, g.joinResponse(m, req.Version, m.id == g.leader)
		}
		return g.updateMemberAndRebalance(m, j), nil
	case Stable:
		if m.id == g.leader || !m.sameProtocols(j.protocols) {
			// The leader rejoining means it wants a new assignment (its
			// metadata may have changed); so does a member with new
			// subscriptions.
			return g.updateMemberAndRebalance(m, j), nil
		}
		g.scheduleHeartbeat(m, m.sessionTimeout)
		return nil, g.joinResponse(m, req.Version, false)
	}
	return nil, j.errResp(kerr.UnknownMemberID.Code, id)
}

// acceptJoining is Kafka's group.max.size check for memberID ("" for a new
// member). g.mu held.
func (g *group) acceptJoining(memberID string) bool {
	max := g.c.cfg.MaxSize
	switch g.state {
	case Empty, Dead:
		return true
	case PreparingRebalance:
		if m := g.members[memberID]; m != nil && m.joinCh != nil {
			return true
		}
		n := 0
		for _, m := range g.members {
			if m.joinCh != nil {
				n++
			}
		}
		return n < max
	}
	return g.members[memberID] != nil || len(g.members) < max
}

func (g *group) addMemberAndRebalance(id string, j *joinArgs) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	if !g.acceptJoining(id) || len(g.members) >= g.c.cfg.MaxSize {
		return nil, j.errResp(kerr.GroupMaxSizeReached.Code, id)
	}
	m := &member{id: id, instanceID: j.req.InstanceID, clientID: j.clientID, clientHost: j.clientHost,
		sessionTimeout: j.session, rebalanceTimeout: j.rebalance, protocolType: j.req.ProtocolType,
		protocols: j.protocols, isNew: true}
	if len(g.members) == 0 {
		pt := j.req.ProtocolType
		g.protocolType = &pt
	}
	g.members[id] = m
	if m.instanceID != nil {
		g.static[*m.instanceID] = id
	}
	if g.leader == "" {
		g.leader = id
	}
	m.joinCh, m.joinVersion = make(chan *kmsg.JoinGroupResponse, 1), j.req.Version
	ch := m.joinCh // completing the join below clears m.joinCh
	// A new member cannot heartbeat before its first join completes; bound
	// how long it may sit in a stuck rebalance instead (Kafka's
	// NewMemberJoinTimeoutMs).
	g.scheduleHeartbeat(m, g.c.cfg.NewMemberJoinTimout)
	if g.state == PreparingRebalance && g.generation == 0 {
		g.newMemberAdded = true
	}
	g.maybePrepareRebalance()
	g.tryCompleteJoin()
	return ch, nil
}

func (g *group) updateMemberAndRebalance(m *member, j *joinArgs) chan *kmsg.JoinGroupResponse {
	g.c.log.Debug("member rejoins", "group", g.id, "member_id", m.id, "state", g.state.String(), "leader", m.id == g.leader, "same_protocols", m.sameProtocols(j.protocols))
	g.failJoin(m, kerr.RebalanceInProgress.Code) // a join it gave up on
	m.protocols, m.rebalanceTimeout, m.sessionTimeout = j.protocols, j.rebalance, j.session
	m.joinCh, m.joinVersion = make(chan *kmsg.JoinGroupResponse, 1), j.req.Version
	ch := m.joinCh // completing the join below clears m.joinCh
	g.maybePrepareRebalance()
	g.tryCompleteJoin()
	return ch
}

// replaceStatic lets a restarted static member (same group.instance.id, new
// member id) take the old member's place (KIP-345). In a Stable group whose
// selected protocol would not change, there is no rebalance: the member gets
// the current generation and its old assignment. g.mu held.
func (g *group) replaceStatic(oldID, newID string, j *joinArgs) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	old := g.members[oldID]
	g.disarm(&old.hb)
	// The old instance's waiting requests are fenced.
	g.failJoin(old, kerr.FencedInstanceID.Code)
	g.failSync(old, kerr.FencedInstanceID.Code)
	delete(g.members, oldID)
	m := old
	prevLeader := g.leader
	prevProtocols, prevRebalance, prevSession := m.protocols, m.rebalanceTimeout, m.sessionTimeout
	m.id = newID
	g.members[newID] = m
	g.static[*j.req.InstanceID] = newID
	if g.leader == oldID {
		g.leader = newID
	}
	if g.pendingSync[oldID] {
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = true
	}
	m.clientID, m.clientHost = j.clientID, j.clientHost
	m.protocols, m.rebalanceTimeout, m.sessionTimeout = j.protocols, j.rebalance, j.session
	m.joinCh, m.joinVersion = make(chan *kmsg.JoinGroupResponse, 1), j.req.Version
	ch := m.joinCh // completing the join below clears m.joinCh
	g.scheduleHeartbeat(m, m.sessionTimeout)
	switch g.state {
	case Stable:
		if g.protocol != nil && g.selectProtocol() == *g.protocol {
			if err := g.storeGroup(); err != nil {
				// Undo: the old member keeps its place.
				delete(g.members, newID)
				m.id, m.protocols, m.rebalanceTimeout, m.sessionTimeout = oldID, prevProtocols, prevRebalance, prevSession
				m.joinCh = nil
				g.members[oldID] = m
				g.static[*j.req.InstanceID] = oldID
				g.leader = prevLeader
				return nil, j.errResp(kerr.CoordinatorNotAvailable.Code, "")
			}
			m.joinCh = nil
			isLeader := g.leader == newID
			r := g.joinResponse(m, j.req.Version, isLeader && j.req.Version >= 9)
			if isLeader && j.req.Version >= 9 {
				// KIP-814: the leader learns it leads but need not
				// compute an assignment.
				r.SkipAssignment = true
			} else {
				r.LeaderID = prevLeader
			}
			return nil, r
		}
		g.maybePrepareRebalance()
	case CompletingRebalance:
		// The leader may have been sent the old member id: rebalance so
		// the assignment names the new one.
		g.prepareRebalance()
	}
	g.tryCompleteJoin()
	return ch, nil
}

// joinResponse is member m's successful JoinGroup answer for the current
// generation; withMembers includes every member's metadata (for the leader).
func (g *group) joinResponse(m *member, version int16, withMembers bool) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.Version = version
	r.Generation, r.LeaderID, r.MemberID = g.generation, g.leader, m.id
	if g.protocolType != nil {
		pt := *g.protocolType
		r.ProtocolType = &pt
	}
	if g.protocol != nil {
		p := *g.protocol
		r.Protocol = &p
	}
	if withMembers {
		for _, o := range g.sortedMembers() {
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID, rm.InstanceID = o.id, o.instanceID
			if g.protocol != nil {
				rm.ProtocolMetadata = o.metadataFor(*g.protocol)
			}
			r.Members = append(r.Members, rm)
		}
	}
	return r
}

func (g *group) sortedMembers() []*member {
	ms := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].id < ms[j].id })
	return ms
}

func (g *group) failJoin(m *member, code int16) {
	if m.joinCh == nil {
		return
	}
	r := kmsg.NewPtrJoinGroupResponse()
	r.Version, r.ErrorCode, r.Generation, r.MemberID = m.joinVersion, code, -1, m.id
	m.joinCh <- r
	m.joinCh = nil
}

func (g *group) failSync(m *member, code int16) {
	if m.syncCh == nil {
		return
	}
	r := kmsg.NewPtrSyncGroupResponse()
	r.Version, r.ErrorCode = m.syncVersion, code
	m.syncCh <- r
	m.syncCh = nil
}

// failSyncRearm fails m's waiting SyncGroup, if any, and restarts its
// session timer, which may have fired and been ignored while it waited
// (Kafka's propagateAssignment); without it a member that then goes away
// would never expire. g.mu held.
func (g *group) failSyncRearm(m *member, code int16) {
	if m.syncCh == nil {
		return
	}
	g.failSync(m, code)
	g.scheduleHeartbeat(m, m.sessionTimeout)
}

func (g *group) maybePrepareRebalance() {
	switch g.state {
	case Stable, CompletingRebalance, Empty:
		g.prepareRebalance()
	}
}

// prepareRebalance starts a join round. An Empty group waits
// group.initial.rebalance.delay.ms (extended while members keep arriving,
// within the rebalance timeout) so the first generation gets most members;
// otherwise the round ends when every member rejoined or the rebalance
// timeout passed. g.mu held.
func (g *group) prepareRebalance() {
	if g.state == CompletingRebalance {
		for _, m := range g.members {
			m.assignment = nil
			g.failSyncRearm(m, kerr.RebalanceInProgress.Code)
		}
	}
	g.disarm(&g.syncT)
	g.pendingSync = nil
	if g.state == Empty {
		delay := g.c.cfg.InitialRebalance
		g.initialDelay = true
		g.initialRemaining = max(g.rebalanceTimeout()-delay, 0)
		g.arm(&g.joinT, delay, g.onInitialDelay)
	} else {
		g.initialDelay = false
		g.arm(&g.joinT, g.rebalanceTimeout(), g.completeJoin)
	}
	g.transition(PreparingRebalance)
	g.c.log.Debug("preparing to rebalance", "group", g.id, "generation", g.generation, "members", len(g.members))
}

func (g *group) onInitialDelay() {
	if g.newMemberAdded && g.initialRemaining > 0 {
		g.newMemberAdded = false
		d := min(g.c.cfg.InitialRebalance, g.initialRemaining)
		g.initialRemaining = max(g.initialRemaining-d, 0)
		g.arm(&g.joinT, d, g.onInitialDelay)
		return
	}
	g.initialDelay = false
	g.completeJoin()
}

// tryCompleteJoin ends the join round early once every member rejoined and
// no member id handed out is still unused. g.mu held.
func (g *group) tryCompleteJoin() {
	if g.state != PreparingRebalance || g.initialDelay || len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return
		}
	}
	g.completeJoin()
}

// completeJoin ends a join round: dynamic members that did not rejoin are
// dropped, the generation advances, the protocol is chosen and every
// joined member is answered (the leader with everyone's metadata). g.mu held.
func (g *group) completeJoin() {
	if g.state != PreparingRebalance {
		return
	}
	g.disarm(&g.joinT)
	g.initialDelay = false
	for _, m := range g.members {
		if m.joinCh == nil && m.instanceID == nil {
			g.c.log.Info("removing a member that did not rejoin in time", "group", g.id, "member_id", m.id)
			g.removeMember(m)
		}
	}
	if !g.electJoinedLeader() && len(g.members) > 0 {
		// Only static members that have not rejoined remain: wait for them.
		g.arm(&g.joinT, g.rebalanceTimeout(), g.completeJoin)
		return
	}
	g.generation++
	if len(g.members) > 0 {
		p := g.selectProtocol()
		g.protocol = &p
		g.transition(CompletingRebalance)
	} else {
		g.protocol = nil
		g.transition(Empty)
	}
	g.updateSubscriptions()
	g.c.log.Info("group rebalanced", "group", g.id, "generation", g.generation, "members", len(g.members), "state", g.state.String())
	if g.state == Empty {
		if err := g.storeGroup(); err != nil {
			g.c.log.Warn("storing an empty group failed", "group", g.id, "err", err)
		}
		return
	}
	g.pendingSync = map[string]bool{}
	for _, m := range g.members {
		g.pendingSync[m.id] = true
		if m.joinCh != nil {
			m.joinCh <- g.joinResponse(m, m.joinVersion, m.id == g.leader)
			m.joinCh = nil
		}
		m.isNew = false
		g.scheduleHeartbeat(m, m.sessionTimeout)
	}
	gen := g.generation
	g.arm(&g.syncT, g.rebalanceTimeout(), func() { g.onPendingSyncExpired(gen) })
}

// electJoinedLeader keeps the leader if it rejoined, else picks a member
// that did; false if no member rejoined.
func (g *group) electJoinedLeader() bool {
	if l := g.members[g.leader]; l != nil && l.joinCh != nil {
		return true
	}
	for _, m := range g.sortedMembers() {
		if m.joinCh != nil {
			g.leader = m.id
			return true
		}
	}
	return false
}

// onPendingSyncExpired removes members that did not send SyncGroup within
// the rebalance timeout after the join round (Kafka 3.2+), then rebalances.
func (g *group) onPendingSyncExpired(gen int32) {
	if gen != g.generation || (g.state != CompletingRebalance && g.state != Stable) || len(g.pendingSync) == 0 {
		return
	}
	for id := range g.pendingSync {
		if m := g.members[id]; m != nil {
			g.c.log.Info("removing a member that did not sync in time", "group", g.id, "member_id", id)
			g.removeMember(m)
		}
	}
	g.pendingSync = nil
	g.prepareRebalance()
	g.tryCompleteJoin()
}

// removeMember drops m from the group. g.mu held.
func (g *group) removeMember(m *member) {
	g.disarm(&m.hb)
	g.failJoin(m, kerr.UnknownMemberID.Code)
	g.failSync(m, kerr.UnknownMemberID.Code)
	delete(g.members, m.id)
	if m.instanceID != nil && g.static[*m.instanceID] == m.id {
		delete(g.static, *m.instanceID)
	}
	delete(g.pendingSync, m.id)
	if g.leader == m.id {
		g.leader = ""
		if ms := g.sortedMembers(); len(ms) > 0 {
			g.leader = ms[0].id
		}
	}
}

// removeMemberAndUpdate removes m and rebalances what remains. g.mu held.
func (g *group) removeMemberAndUpdate(m *member) {
	g.removeMember(m)
	switch g.state {
	case Stable, CompletingRebalance:
		// As Kafka's tryCompleteElseWatch: when every remaining member
		// (or none) has already joined, the round completes at once, so
		// the last member leaving leaves the group Empty on return.
		g.maybePrepareRebalance()
		g.tryCompleteJoin()
	case PreparingRebalance:
		g.tryCompleteJoin()
	}
}

// scheduleHeartbeat (re)starts m's session timer. g.mu held.
func (g *group) scheduleHeartbeat(m *member, d time.Duration) {
	g.arm(&m.hb, d, func() {
		if g.members[m.id] != m {
			return
		}
		if !m.isNew && (m.joinCh != nil || m.syncCh != nil) {
			// Waiting in JoinGroup or SyncGroup counts as alive; the
			// rebalance timeout bounds the wait.
			return
		}
		g.c.log.Info("member session expired", "group", g.id, "member_id", m.id, "session_timeout", m.sessionTimeout)
		g.removeMemberAndUpdate(m)
	})
}

// maybeForget drops a group that holds nothing: no members, pending members,
// offsets or offsets of open transactions, never rebalanced (a join that
// failed on a new group). g.mu held.
func (g *group) maybeForget() {
	if g.state == Empty && len(g.members) == 0 && len(g.pending) == 0 && len(g.offsets) == 0 && len(g.txnOffsets) == 0 &&
		g.generation == 0 && g.protocolType == nil && !g.removed {
		g.c.forget(g)
	}
}

// SyncGroup serves SyncGroup v0-5. It blocks until the leader's assignment
// arrives or ctx is done.
func (c *Coordinator) SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	fail := func(code int16) *kmsg.SyncGroupResponse { resp.ErrorCode = code; return resp }
	if req.Group == "" {
		return fail(kerr.InvalidGroupID.Code)
	}
	g, err := c.lookup(req.Group, false)
	if err != nil {
		return fail(codeOf(err))
	}
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	ch, code := g.sync(req)
	if ch == nil {
		if code == 0 {
			m := g.members[req.MemberID]
			resp.MemberAssignment = m.assignment
			resp.ProtocolType, resp.Protocol = g.protocolType, g.protocol
		}
		g.mu.Unlock()
		return fail(code)
	}
	g.mu.Unlock()
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return fail(kerr.RebalanceInProgress.Code)
	}
}

// sync runs a SyncGroup against the locked group: a channel to wait on, or
// an error code (0: answer with the member's current assignment).
func (g *group) sync(req *kmsg.SyncGroupRequest) (chan *kmsg.SyncGroupResponse, int16) {
	if g.isStaticFenced(req.InstanceID, req.MemberID) {
		return nil, kerr.FencedInstanceID.Code
	}
	m := g.members[req.MemberID]
	if m == nil {
		return nil, kerr.UnknownMemberID.Code
	}
	if req.Generation != g.generation {
		return nil, kerr.IllegalGeneration.Code
	}
	if (req.ProtocolType != nil && (g.protocolType == nil || *req.ProtocolType != *g.protocolType)) ||
		(req.Protocol != nil && (g.protocol == nil || *req.Protocol != *g.protocol)) {
		return nil, kerr.InconsistentGroupProtocol.Code // v5+
	}
	switch g.state {
	case Empty:
		return nil, kerr.UnknownMemberID.Code
	case PreparingRebalance:
		return nil, kerr.RebalanceInProgress.Code
	case Stable:
		delete(g.pendingSync, m.id)
		g.scheduleHeartbeat(m, m.sessionTimeout)
		return nil, 0
	}
	// CompletingRebalance
	delete(g.pendingSync, m.id)
	g.failSync(m, kerr.RebalanceInProgress.Code)
	m.syncCh, m.syncVersion = make(chan *kmsg.SyncGroupResponse, 1), req.Version
	ch := m.syncCh
	g.scheduleHeartbeat(m, m.sessionTimeout)
	if m.id != g.leader {
		return ch, 0
	}
	assigned := map[string][]byte{}
	for _, a := range req.GroupAssignment {
		assigned[a.MemberID] = a.MemberAssignment
	}
	for _, o := range g.members {
		o.assignment = assigned[o.id]
		if o.assignment == nil {
			o.assignment = []byte{}
		}
	}
	if err := g.storeGroup(); err != nil {
		g.c.log.Warn("storing the group assignment failed", "group", g.id, "err", err)
		for _, o := range g.members {
			o.assignment = nil
			g.failSyncRearm(o, kerr.CoordinatorNotAvailable.Code)
		}
		g.prepareRebalance()
		return ch, 0
	}
	for _, o := range g.members {
		if o.syncCh != nil {
			r := kmsg.NewPtrSyncGroupResponse()
			r.Version, r.MemberAssignment = o.syncVersion, o.assignment
			r.ProtocolType, r.Protocol = g.protocolType, g.protocol
			o.syncCh <- r
			o.syncCh = nil
			// Its session timer may have fired, and been ignored, while
			// it waited: start a new one (Kafka's propagateAssignment).
			g.scheduleHeartbeat(o, o.sessionTimeout)
		}
	}
	g.transition(Stable)
	return ch, 0
}

// Heartbeat serves Heartbeat v0-4.
func (c *Coordinator) Heartbeat(req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g, err := c.lookup(req.Group, false)
	if err != nil {
		resp.ErrorCode = codeOf(err)
		return resp
	}
	if g == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp
	}
	defer g.mu.Unlock()
	m := g.members[req.MemberID]
	switch {
	case g.isStaticFenced(req.InstanceID, req.MemberID):
		resp.ErrorCode = kerr.FencedInstanceID.Code
	case m == nil:
		resp.ErrorCode = kerr.UnknownMemberID.Code
	case req.Generation != g.generation:
		resp.ErrorCode = kerr.IllegalGeneration.Code
	case g.state == Empty:
		resp.ErrorCode = kerr.UnknownMemberID.Code
	case g.state == PreparingRebalance:
		g.scheduleHeartbeat(m, m.sessionTimeout)
		resp.ErrorCode = kerr.RebalanceInProgress.Code
	default: // Stable, CompletingRebalance
		g.scheduleHeartbeat(m, m.sessionTimeout)
	}
	return resp
}

// LeaveGroup serves LeaveGroup v0-5 (v3+ batches members, KIP-345).
func (c *Coordinator) LeaveGroup(req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g, err := c.lookup(req.Group, false)
	if err != nil {
		resp.ErrorCode = codeOf(err)
		return resp
	}
	for _, l := range leaving {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = l.MemberID, l.InstanceID
		if g == nil {
			rm.ErrorCode = kerr.UnknownMemberID.Code
		} else {
			rm.ErrorCode = g.leave(l.MemberID, l.InstanceID)
		}
		resp.Members = append(resp.Members, rm)
	}
	if g != nil {
		g.maybeForget()
		g.mu.Unlock()
	}
	if req.Version < 3 {
		resp.ErrorCode, resp.Members = resp.Members[0].ErrorCode, nil
	}
	return resp
}

func (g *group) leave(memberID string, instanceID *string) int16 {
	if instanceID != nil {
		id, ok := g.static[*instanceID]
		if !ok {
			return kerr.UnknownMemberID.Code
		}
		if memberID != "" && id != memberID {
			return kerr.FencedInstanceID.Code
		}
		memberID = id
	}
	if pm, ok := g.pending[memberID]; ok {
		g.disarm(&pm.t)
		delete(g.pending, memberID)
		g.tryCompleteJoin()
		return 0
	}
	m := g.members[memberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	g.c.log.Info("member left the group", "group", g.id, "member_id", memberID)
	g.removeMemberAndUpdate(m)
	return 0
}
