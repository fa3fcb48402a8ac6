package group

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// State is a classic group's state, named as Kafka names it in
// DescribeGroups and ListGroups.
type State int8

const (
	Empty State = iota
	PreparingRebalance
	CompletingRebalance
	Stable
	Dead
)

func (s State) String() string {
	return [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}[s]
}

type protocol struct {
	name     string
	metadata []byte
}

type member struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocolType     string
	protocols        []protocol
	assignment       []byte

	// joinCh is set while the member waits in JoinGroup, syncCh while it
	// waits in SyncGroup; each is buffered so the state machine never
	// blocks on a requester that went away.
	joinCh      chan *kmsg.JoinGroupResponse
	joinVersion int16
	syncCh      chan *kmsg.SyncGroupResponse
	syncVersion int16

	isNew bool // joined but has not completed a join round yet
	hb    timer
}

func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

func (m *member) sameProtocols(ps []protocol) bool {
	if len(ps) != len(m.protocols) {
		return false
	}
	for i := range ps {
		if ps[i].name != m.protocols[i].name || string(ps[i].metadata) != string(m.protocols[i].metadata) {
			return false
		}
	}
	return true
}

type pendingMember struct{ t timer }

// timer is a time.AfterFunc whose callback runs with the group locked and
// only if the timer was not re-armed or stopped since.
type timer struct {
	t   *time.Timer
	seq uint64
}

type offset struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitTs    int64
	expireTs    int64 // -1: none
	// recordOffset is the offset of the commit's record in
	// __consumer_offsets: when a transaction commits, its offset replaces
	// a committed one only if its record is the later (txn.go).
	recordOffset int64
}

type topicPartition struct {
	topic     string
	partition int32
}

type group struct {
	c         *Coordinator
	id        string
	partition int32

	mu      sync.Mutex
	removed bool // dead and gone from the map, or unloaded: callers must look up again
	closed  bool // coordinator closed or partition unloaded: timers do nothing

	state        State
	stateTs      int64 // ms, when state last changed (CurrentStateTimestamp)
	protocolType *string
	protocol     *string
	generation   int32
	leader       string
	members      map[string]*member
	static       map[string]string // instance id -> member id
	pending      map[string]*pendingMember
	pendingSync  map[string]bool
	subscribed   map[string]bool // topics of a "consumer" group's subscriptions; nil if unknown

	newMemberAdded   bool
	initialDelay     bool          // the initial delayed join is armed
	initialRemaining time.Duration // of the rebalance timeout, for more initial delays
	joinT, syncT     timer

	offsets map[topicPartition]offset
	// txnOffsets holds the offsets committed by open transactions
	// (TxnOffsetCommit), by producer id: in the log but not visible until
	// the transaction's marker commits them (txn.go).
	txnOffsets map[int64]map[topicPartition]offset
	seq        uint64

	cg *consumerGroup // a group of the consumer protocol (KIP-848); nil: classic
}

func newGroup(c *Coordinator, id string, p int32) *group {
	return &group{c: c, id: id, partition: p, stateTs: c.now(), members: map[string]*member{},
		static: map[string]string{}, pending: map[string]*pendingMember{}, offsets: map[topicPartition]offset{},
		txnOffsets: map[int64]map[topicPartition]offset{}}
}

// arm (re)starts t to run fn after d with the group locked. g.mu held.
func (g *group) arm(t *timer, d time.Duration, fn func()) {
	g.disarm(t)
	seq := t.seq
	t.t = time.AfterFunc(d, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.closed || t.seq != seq {
			return
		}
		t.t = nil
		fn()
	})
}

// disarm stops t; a callback already on its way does nothing. g.mu held.
func (g *group) disarm(t *timer) {
	t.seq++
	if t.t != nil {
		t.t.Stop()
		t.t = nil
	}
}

// shutdown stops every timer and answers waiting requests with
// NOT_COORDINATOR. g.mu held.
func (g *group) shutdown() {
	g.closed, g.removed = true, true
	g.shutdownConsumer()
	g.disarm(&g.joinT)
	g.disarm(&g.syncT)
	for _, pm := range g.pending {
		g.disarm(&pm.t)
	}
	for _, m := range g.members {
		g.disarm(&m.hb)
		g.failJoin(m, kerr.NotCoordinator.Code)
		g.failSync(m, kerr.NotCoordinator.Code)
	}
}

func (g *group) transition(s State) {
	g.state = s
	g.stateTs = g.c.now()
}

// rebalanceTimeout is the largest rebalance timeout of the members.
func (g *group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

func (g *group) isStaticFenced(instanceID *string, memberID string) bool {
	if instanceID == nil {
		return false
	}
	id, ok := g.static[*instanceID]
	return ok && id != memberID
}

// supportsProtocols is Kafka's check that a joining member can be in the
// group: an empty group takes any non-empty protocol type and list; else
// the type must match and some protocol must be one every member supports.
func (g *group) supportsProtocols(protocolType string, ps []protocol) bool {
	if g.state == Empty || len(g.members) == 0 {
		return protocolType != "" && len(ps) > 0
	}
	if g.protocolType == nil || *g.protocolType != protocolType {
		return false
	}
	for _, p := range ps {
		if g.supportCount(p.name) == len(g.members) {
			return true
		}
	}
	return false
}

func (g *group) supportCount(name string) int {
	n := 0
	for _, m := range g.members {
		if m.metadataFor(name) != nil || hasProtocol(m.protocols, name) {
			n++
		}
	}
	return n
}

func hasProtocol(ps []protocol, name string) bool {
	for _, p := range ps {
		if p.name == name {
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol every member supports that most members
// prefer (each votes for its first supported candidate), as Kafka's
// GroupMetadata.selectProtocol; ties go to the leader's earlier preference.
func (g *group) selectProtocol() string {
	first := g.members[g.leader]
	if first == nil {
		for _, m := range g.members {
			first = m
			break
		}
	}
	var candidates []string
	for _, p := range first.protocols {
		if g.supportCount(p.name) == len(g.members) {
			candidates = append(candidates, p.name)
		}
	}
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if contains(candidates, p.name) {
				votes[p.name]++
				break
			}
		}
	}
	best := ""
	for _, c := range candidates {
		if best == "" || votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// updateSubscriptions recomputes the topics a "consumer" group subscribes
// to from its members' ConsumerMemberMetadata (nil if undecodable).
func (g *group) updateSubscriptions() {
	g.subscribed = nil
	if g.protocolType == nil || *g.protocolType != "consumer" || g.protocol == nil {
		return
	}
	topics := map[string]bool{}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.metadataFor(*g.protocol)); err != nil {
			return
		}
		for _, t := range md.Topics {
			topics[t] = true
		}
	}
	g.subscribed = topics
}

// isSubscribed reports whether the group consumes topic (true when the
// subscriptions are unknown, as Kafka).
func (g *group) isSubscribed(topic string) bool {
	if g.subscribed == nil {
		return true
	}
	return g.subscribed[topic]
}

// afterLoad schedules session expiry for the members of a loaded group.
func (g *group) afterLoad() {
	for _, m := range g.members {
		g.scheduleHeartbeat(m, m.sessionTimeout)
	}
	g.updateSubscriptions()
}
