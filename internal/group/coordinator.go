package group

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/samsa-io/samsa/internal/record"
)

// Topic is the internal topic holding group metadata and committed offsets.
const Topic = "__consumer_offsets"

// Config holds the broker settings the coordinator uses (Kafka's names in
// the comments).
type Config struct {
	MinSessionTimeout   time.Duration // group.min.session.timeout.ms
	MaxSessionTimeout   time.Duration // group.max.session.timeout.ms
	InitialRebalance    time.Duration // group.initial.rebalance.delay.ms
	MaxSize             int           // group.max.size
	MetadataMaxBytes    int           // offset.metadata.max.bytes
	OffsetsRetention    time.Duration // offsets.retention.minutes
	RetentionCheck      time.Duration // offsets.retention.check.interval.ms
	Codec               int8          // offsets.topic.compression.codec
	LoadBufferSize      int           // offsets.load.buffer.size
	NewMemberJoinTimout time.Duration // Kafka's fixed 5 minutes for a new member's first join

	ConsumerSessionTimeout    time.Duration // group.consumer.session.timeout.ms
	ConsumerHeartbeatInterval time.Duration // group.consumer.heartbeat.interval.ms
	ConsumerMaxSize           int           // group.consumer.max.size
	// Now is the clock for timestamps kept in records (commit and state
	// timestamps); nil means time.Now.
	Now func() time.Time
}

// SetDefaults fills zero fields with Kafka's defaults.
func (c *Config) SetDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MinSessionTimeout, 6*time.Second)
	def(&c.MaxSessionTimeout, 30*time.Minute)
	def(&c.OffsetsRetention, 7*24*time.Hour)
	def(&c.RetentionCheck, 10*time.Minute)
	def(&c.NewMemberJoinTimout, 5*time.Minute)
	def(&c.ConsumerSessionTimeout, 45*time.Second)
	def(&c.ConsumerHeartbeatInterval, 5*time.Second)
	if c.ConsumerMaxSize == 0 {
		c.ConsumerMaxSize = 1<<31 - 1
	}
	if c.MaxSize == 0 {
		c.MaxSize = 1<<31 - 1
	}
	if c.MetadataMaxBytes == 0 {
		c.MetadataMaxBytes = 4096
	}
	if c.LoadBufferSize == 0 {
		c.LoadBufferSize = 5 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Store is the coordinator's access to __consumer_offsets. The broker
// implements it over the partitions it leads.
type Store interface {
	// Append appends batch to partition p and returns the offset of its
	// first record once it is in the log. It may be called concurrently
	// for different groups. A transactional batch (a TxnOffsetCommit)
	// carries a producer id and epoch but no sequence: the store checks
	// the epoch (an older one than the producer's last fails with
	// storage.ErrInvalidProducerEpoch), not the sequence, as Kafka does for
	// appends of origin COORDINATOR.
	Append(p int32, batch record.Header) (int64, error)
	// Read returns whole batches of partition p from offset, at least one
	// if there is any, up to about maxBytes; an empty result means the end.
	Read(p int32, offset int64, maxBytes int) ([]byte, error)
	// WriteMarker appends a COMMIT or ABORT transaction marker for
	// producerID to partition p and returns its offset once it is in the
	// log (storage.Log.AppendMarker's checks: an older producer epoch or
	// coordinator epoch fails).
	WriteMarker(p int32, producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32) (int64, error)
}

// ErrNotCoordinator: the group's partition is not loaded here.
var ErrNotCoordinator = errors.New("this broker is not the coordinator of the group")

// Coordinator is the classic group coordinator of one broker.
type Coordinator struct {
	cfg        Config
	log        *slog.Logger
	store      Store
	partitions int32

	mu     sync.Mutex
	groups map[string]*group
	loaded map[int32]bool
	closed bool
	// openTxns maps a producer id to the ids of the groups that may hold
	// offsets of its open transaction (group.txnOffsets), so CompleteTxn
	// finds them without visiting every group. A group is added before its
	// transactional batch is appended and removed once it holds none of
	// the producer's offsets, so it may name a group with none, never miss
	// one that has some.
	openTxns map[int64]map[string]bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a coordinator for a __consumer_offsets topic of the given
// partition count. No partition is loaded yet.
func New(cfg Config, partitions int32, store Store, log *slog.Logger) *Coordinator {
	cfg.SetDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Coordinator{cfg: cfg, log: log.With("component", "group-coordinator"), store: store, partitions: partitions,
		groups: map[string]*group{}, loaded: map[int32]bool{}, openTxns: map[int64]map[string]bool{}, stop: make(chan struct{})}
	c.wg.Add(1)
	go c.expireLoop()
	return c
}

// Partitions is the partition count of __consumer_offsets.
func (c *Coordinator) Partitions() int32 { return c.partitions }

// PartitionFor returns the __consumer_offsets partition of groupID, as Kafka's
// Utils.abs(groupId.hashCode()) % partitions.
func PartitionFor(groupID string, partitions int32) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(groupID)) {
		h = 31*h + int32(u)
	}
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}

// Owns reports whether groupID's partition is loaded here.
func (c *Coordinator) Owns(groupID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && c.loaded[PartitionFor(groupID, c.partitions)]
}

// Loaded reports whether partition p is loaded here.
func (c *Coordinator) Loaded(p int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loaded[p]
}

// Close stops the expiry loop and every group's timers, and answers every
// waiting JoinGroup and SyncGroup with NOT_COORDINATOR. Afterwards every
// request gets NOT_COORDINATOR and nothing is appended to the log.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	gs := c.groupList()
	c.groups = map[string]*group{}
	c.loaded = map[int32]bool{}
	c.openTxns = map[int64]map[string]bool{}
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
	for _, g := range gs {
		g.mu.Lock()
		g.shutdown()
		g.mu.Unlock()
	}
}

// groupList returns the groups sorted by id. c.mu must be held.
func (c *Coordinator) groupList() []*group {
	gs := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].id < gs[j].id })
	return gs
}

// lookup returns the group with groupID, locked, or nil. With create, a
// missing group is created Empty. It fails with ErrNotCoordinator when the
// group's partition is not loaded.
func (c *Coordinator) lookup(groupID string, create bool) (*group, error) {
	for {
		c.mu.Lock()
		p := PartitionFor(groupID, c.partitions)
		if c.closed || !c.loaded[p] {
			c.mu.Unlock()
			return nil, ErrNotCoordinator
		}
		g := c.groups[groupID]
		if g == nil {
			if !create {
				c.mu.Unlock()
				return nil, nil
			}
			g = newGroup(c, groupID, p)
			c.groups[groupID] = g
		}
		c.mu.Unlock()
		g.mu.Lock()
		if g.removed {
			// Deleted (or unloaded) between the lookup and the lock.
			g.mu.Unlock()
			continue
		}
		return g, nil
	}
}

// forget removes g from the map once it is dead. g.mu must be held.
func (c *Coordinator) forget(g *group) {
	g.removed = true
	c.mu.Lock()
	if c.groups[g.id] == g {
		delete(c.groups, g.id)
	}
	c.mu.Unlock()
}

// LoadPartition replays partition p of __consumer_offsets and makes this
// coordinator serve the groups it holds. It must not run concurrently with
// requests for those groups (the broker loads before it serves them).
func (c *Coordinator) LoadPartition(p int32) error {
	start := time.Now()
	gs, offsets, err := c.replay(p)
	if err != nil {
		return fmt.Errorf("load %s-%d: %w", Topic, p, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	for _, g := range gs {
		g.mu.Lock()
		g.afterLoad()
		for pid := range g.txnOffsets {
			c.addOpenTxnLocked(pid, g.id)
		}
		g.mu.Unlock()
		c.groups[g.id] = g
	}
	c.loaded[p] = true
	if len(gs) > 0 || offsets > 0 {
		c.log.Info(fmt.Sprintf("loaded %d groups, %d offsets from %s-%d in %d ms", len(gs), offsets, Topic, p, time.Since(start).Milliseconds()),
			"partition", p, "groups", len(gs), "offsets", offsets)
	}
	return nil
}

// UnloadPartition stops serving the groups of partition p: their timers
// stop and their waiting requests get NOT_COORDINATOR.
func (c *Coordinator) UnloadPartition(p int32) {
	c.mu.Lock()
	delete(c.loaded, p)
	var gs []*group
	for id, g := range c.groups {
		if g.partition == p {
			gs = append(gs, g)
			delete(c.groups, id)
		}
	}
	for pid, ids := range c.openTxns {
		for id := range ids {
			if PartitionFor(id, c.partitions) == p {
				delete(ids, id)
			}
		}
		if len(ids) == 0 {
			delete(c.openTxns, pid)
		}
	}
	c.mu.Unlock()
	for _, g := range gs {
		g.mu.Lock()
		g.shutdown()
		g.mu.Unlock()
	}
}

func (c *Coordinator) now() int64 { return c.cfg.Now().UnixMilli() }
