package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/samsa-io/samsa/internal/metadata"
)

// Errors of controller operations; the handler maps them to Kafka codes.
var (
	ErrNotController         = errors.New("this node is not the active controller")
	ErrStaleBrokerEpoch      = errors.New("stale broker epoch")
	ErrUnknownBroker         = errors.New("broker is not registered")
	ErrDuplicateBroker       = errors.New("another live process has registered this broker id")
	ErrInconsistentCluster   = errors.New("the broker belongs to another cluster")
	ErrFencedLeaderEpoch     = errors.New("the leader epoch is not the current one")
	ErrInvalidUpdateVersion  = errors.New("the partition epoch is not the current one")
	ErrNotLeader             = errors.New("the broker is not the partition's leader")
	ErrIneligibleReplica     = errors.New("a proposed ISR member is not eligible")
	ErrInvalidReplication    = errors.New("invalid replication factor")
	ErrInvalidAssignment     = errors.New("invalid replica assignment")
	ErrUnknownTopicOrPart    = errors.New("unknown topic or partition")
	ErrElectionNotNeeded     = errors.New("leader election not needed")
	ErrEligibleLeaders       = errors.New("no eligible leader")
	ErrNoReassignment        = errors.New("no reassignment in progress")
	ErrReassignmentInProgres = errors.New("a reassignment is in progress")
	ErrPreferredNotAvailable = errors.New("the preferred leader is not available")
)

// Settings are the controller's policies, from the broker config.
type Settings struct {
	SessionTimeout  time.Duration                // broker.session.timeout.ms
	UncleanElection func(t *metadata.Topic) bool // unclean.leader.election.enable of a topic
	DefaultRF       int16                        // default.replication.factor
	NumPartitions   int32                        // num.partitions
	ApplyTimeout    time.Duration
	// auto.leader.rebalance.enable, leader.imbalance.check.interval.seconds
	// and leader.imbalance.per.broker.percentage.
	AutoLeaderBalance bool
	ImbalanceInterval time.Duration
	ImbalancePercent  int
}

// Controller is the active controller's logic. It runs on every voter and
// acts only while its node leads the quorum.
type Controller struct {
	q   *Quorum
	log *slog.Logger
	set Settings

	ops  chan *op
	stop chan struct{}
	done chan struct{}

	// progress is each node's applied metadata offset as its heartbeats
	// report it (DescribeQuorum's voter log end offsets); progressMu.
	progressMu sync.Mutex
	progress   map[int32]nodeProgress

	// localIncarn is the incarnation id of the broker in this process, if
	// it has one (SetLocalIncarnation).
	localIncarn atomic.Pointer[string]

	// Owned by the run goroutine.
	active        bool
	deadlines     map[int32]time.Time // heartbeat deadlines of registered brokers
	nextRebalance time.Time           // the next background preferred election
}

type nodeProgress struct {
	offset int64
	at     time.Time
}

// Progress returns the metadata offset node id last reported and when.
func (c *Controller) Progress(id int32) (int64, time.Time, bool) {
	c.progressMu.Lock()
	defer c.progressMu.Unlock()
	p, ok := c.progress[id]
	return p.offset, p.at, ok
}

type op struct {
	name string
	// fn computes the records of the change from the current image; the
	// result is returned to the caller after the records are applied.
	fn   func(im *metadata.Image) (metadata.Batch, any, error)
	res  any
	idx  uint64
	err  error
	done chan struct{}
}

// NewController starts the controller loop of a voter.
func NewController(q *Quorum, set Settings, log *slog.Logger) *Controller {
	if set.ApplyTimeout <= 0 {
		set.ApplyTimeout = 10 * time.Second
	}
	c := &Controller{q: q, log: log.With("component", "controller"), set: set,
		ops: make(chan *op), stop: make(chan struct{}), done: make(chan struct{}), deadlines: map[int32]time.Time{},
		progress: map[int32]nodeProgress{}}
	go c.run()
	return c
}

// SetLocalIncarnation tells the controller the incarnation id of the broker
// running in its own process (combined nodes).
func (c *Controller) SetLocalIncarnation(id string) { c.localIncarn.Store(&id) }

// LocalIncarnation is the id set by SetLocalIncarnation, or "".
func (c *Controller) LocalIncarnation() string {
	if p := c.localIncarn.Load(); p != nil {
		return *p
	}
	return ""
}

// Close stops the loop.
func (c *Controller) Close() {
	close(c.stop)
	<-c.done
}

// do runs a change on the controller loop.
func (c *Controller) do(ctx context.Context, name string, fn func(im *metadata.Image) (metadata.Batch, any, error)) (any, uint64, error) {
	o := &op{name: name, fn: fn, done: make(chan struct{})}
	select {
	case c.ops <- o:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-c.stop:
		return nil, 0, ErrNotController
	}
	select {
	case <-o.done:
		return o.res, o.idx, o.err
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

func (c *Controller) run() {
	defer close(c.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	leaderCh := c.q.raft.LeaderCh()
	if c.q.IsLeader() {
		c.becomeActive()
	}
	for {
		select {
		case <-c.stop:
			return
		case lead := <-leaderCh:
			if lead {
				c.becomeActive()
			} else if c.active {
				c.active = false
				c.log.Info("no longer the active controller")
			}
		case o := <-c.ops:
			if !c.active && c.q.IsLeader() {
				c.becomeActive()
			}
			if !c.active {
				o.err = ErrNotController
			} else {
				c.execute(o)
			}
			close(o.done)
		case <-tick.C:
			if c.active {
				c.checkSessions()
				if c.rebalanceDue(time.Now()) {
					c.rebalanceLeaders()
				}
			}
		}
	}
}

// becomeActive makes sure every entry of earlier terms is applied before
// computing changes from the image, and gives every broker a new session.
func (c *Controller) becomeActive() {
	if err := c.q.raft.Barrier(c.set.ApplyTimeout).Error(); err != nil {
		c.log.Warn("won the quorum election but could not catch up with the metadata log; will retry", "err", err)
		return
	}
	c.active = true
	im := c.q.Image()
	now := time.Now()
	clear(c.deadlines)
	c.nextRebalance = now.Add(c.set.ImbalanceInterval)
	for id := range im.Brokers {
		c.deadlines[id] = now.Add(c.set.SessionTimeout)
	}
	c.log.Info("became the active controller", "term", c.q.State().Term, "brokers", len(im.Brokers), "topics", len(im.Topics))
	if im.ClusterID == "" {
		// The first controller of a new cluster names it.
		c.execute(&op{name: "cluster id", fn: func(im *metadata.Image) (metadata.Batch, any, error) {
			return metadata.Batch{{Type: metadata.RecClusterID, ClusterID: metadata.NewUUID().String()}}, nil, nil
		}, done: make(chan struct{})})
	}
}

func (c *Controller) execute(o *op) {
	batch, res, err := o.fn(c.q.Image())
	if err != nil || len(batch) == 0 {
		o.res, o.err = res, err
		return
	}
	data, err := metadata.EncodeBatch(batch)
	if err != nil {
		o.err = err
		return
	}
	f := c.q.raft.Apply(data, c.set.ApplyTimeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			c.active = false
			o.err = ErrNotController
			return
		}
		o.err = fmt.Errorf("write metadata log: %w", err)
		return
	}
	if e, ok := f.Response().(error); ok && e != nil {
		o.err = e
		return
	}
	o.res, o.idx = res, f.Index()
}

// checkSessions fences brokers whose heartbeats stopped.
func (c *Controller) checkSessions() {
	im := c.q.Image()
	now := time.Now()
	for _, id := range slices.Sorted(maps.Keys(im.Brokers)) {
		b := im.Brokers[id]
		dl, ok := c.deadlines[id]
		if !ok {
			c.deadlines[id] = now.Add(c.set.SessionTimeout)
			continue
		}
		if b.Fenced || now.Before(dl) {
			continue
		}
		o := &op{name: "fence", done: make(chan struct{}), fn: func(im *metadata.Image) (metadata.Batch, any, error) {
			return c.fenceRecords(im, id, false), nil, nil
		}}
		c.execute(o)
		if o.err == nil {
			c.log.Warn("fenced a broker whose heartbeats stopped; its leaderships move to other replicas",
				"broker", id, "session_timeout", c.set.SessionTimeout)
		}
	}
}

// fenceRecords fences (or, for a controlled shutdown, marks shutting down)
// broker id and moves its leaderships and ISR memberships.
func (c *Controller) fenceRecords(im *metadata.Image, id int32, shutdown bool) metadata.Batch {
	b := im.Brokers[id]
	if b == nil {
		return nil
	}
	batch := metadata.Batch{{Type: metadata.RecBrokerState, BrokerID: id, Fenced: !shutdown || b.Fenced, Shutdown: shutdown}}
	// Elect with the broker already gone.
	gone := func(x int32) bool { return x == id }
	batch = append(batch, c.electAll(im, gone, func(ps *metadata.PartitionState) bool {
		return ps.Leader == id || ps.InISR(id)
	})...)
	return batch
}

// live reports whether a broker may lead or be in an ISR.
func live(im *metadata.Image, id int32, gone func(int32) bool) bool {
	b := im.Brokers[id]
	return b != nil && !b.Fenced && !b.ShuttingDown && (gone == nil || !gone(id))
}

// electAll recomputes the ISR and leader of every partition matching
// affected, treating brokers for which gone is true as unavailable.
func (c *Controller) electAll(im *metadata.Image, gone func(int32) bool, affected func(*metadata.PartitionState) bool) metadata.Batch {
	var batch metadata.Batch
	for _, name := range im.TopicNames() {
		t := im.Topic(name)
		for p := range t.Assignments {
			ps := &t.Assignments[p]
			if !affected(ps) {
				continue
			}
			if n, changed := c.elect(im, t, ps, gone); changed {
				batch = append(batch, metadata.Record{Type: metadata.RecPartition, TopicID: t.ID, Partition: int32(p), State: &n})
			}
		}
	}
	return batch
}

// elect computes a partition's state with unavailable brokers removed from
// the ISR (never emptying it) and a leader chosen (see the package doc).
func (c *Controller) elect(im *metadata.Image, t *metadata.Topic, ps *metadata.PartitionState, gone func(int32) bool) (metadata.PartitionState, bool) {
	n := ps.Clone()
	var isr []int32
	for _, r := range n.ISR {
		if live(im, r, gone) {
			isr = append(isr, r)
		}
	}
	if len(isr) > 0 {
		n.ISR = isr
	} else if len(n.ISR) > 1 {
		// Keep one member, the current leader if it was one, so that the
		// partition can come back when it does (Kafka keeps the last ISR).
		keep := n.ISR[0]
		if n.InISR(n.Leader) {
			keep = n.Leader
		}
		n.ISR = []int32{keep}
	}
	leader := int32(-1)
	if live(im, n.Leader, gone) && n.InISR(n.Leader) {
		leader = n.Leader
	} else if leader = firstLive(im, without(n.Replicas, n.RemovingReplicas), n.ISR, gone); leader < 0 {
		// A replica a reassignment is removing leads only when no
		// staying one can.
		leader = firstLive(im, n.RemovingReplicas, n.ISR, gone)
	}
	if leader == -1 && c.set.UncleanElection != nil && c.set.UncleanElection(t) {
		for _, r := range n.Replicas {
			if live(im, r, gone) {
				leader = r
				n.ISR = []int32{r}
				n.LeaderRecovering = true
				c.log.Warn("unclean leader election: an out-of-sync replica leads; records only the old ISR had are lost",
					"topic", t.Name, "leader", r)
				break
			}
		}
	}
	if leader != n.Leader {
		n.Leader = leader
		n.LeaderEpoch++
	}
	// A smaller ISR may be all a reassignment waited for (its removed
	// replicas were the ones out of sync).
	c.finishReassignment(im, t, &n)
	changed := n.Leader != ps.Leader || !slices.Equal(n.ISR, ps.ISR) || n.LeaderRecovering != ps.LeaderRecovering ||
		!slices.Equal(n.Replicas, ps.Replicas)
	if changed {
		n.PartitionEpoch++
	}
	return n, changed
}
