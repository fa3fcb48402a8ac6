package txn

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Topic is the internal topic holding transaction state.
const Topic = "__transaction_state"

// TopicPartition names one partition of a transaction.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

func lessTP(a, b TopicPartition) int {
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition) - int(b.Partition)
}

// Config holds the coordinator's settings, Kafka's transaction.* and
// transactional.* broker configs.
type Config struct {
	MaxTimeout     time.Duration // transaction.max.timeout.ms
	IDExpiration   time.Duration // transactional.id.expiration.ms
	AbortInterval  time.Duration // transaction.abort.timed.out.transaction.cleanup.interval.ms
	ExpireInterval time.Duration // transaction.remove.expired.transaction.cleanup.interval.ms
	LoadBufferSize int           // transaction.state.log.load.buffer.size
	Now            func() time.Time
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.MaxTimeout, 15*time.Minute)
	def(&c.IDExpiration, 7*24*time.Hour)
	def(&c.AbortInterval, 10*time.Second)
	def(&c.ExpireInterval, time.Hour)
	if c.LoadBufferSize <= 0 {
		c.LoadBufferSize = 5 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Store is the coordinator's access to __transaction_state; the broker
// implements it over the partitions it leads.
type Store interface {
	// Append appends batch to partition p and returns once it is in the log.
	Append(p int32, batch record.Header) error
	// Read returns whole batches of partition p from offset, at least one if
	// there is any, up to about maxBytes; an empty result means the end.
	Read(p int32, offset int64, maxBytes int) ([]byte, error)
}

// Markers writes transaction markers. The broker implements it: a marker on
// __consumer_offsets also completes the producer's pending offset commits.
type Markers interface {
	// WriteMarker appends a COMMIT or ABORT marker for the producer to tp.
	// It returns ErrPartitionGone for a partition that no longer exists.
	WriteMarker(tp TopicPartition, producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32) error
}

// ErrPartitionGone: a marker's partition was deleted; the marker is dropped.
var ErrPartitionGone = errors.New("partition no longer exists")

// ErrFenced is what a marker write returns when the partition has seen a
// newer producer epoch or coordinator epoch than the marker's; the
// coordinator gives up on that partition, as Kafka's does.
var ErrFenced = errors.New("marker fenced by a newer epoch")

// Coordinator is the transaction coordinator of one broker.
type Coordinator struct {
	cfg        Config
	log        *slog.Logger
	store      Store
	markers    Markers
	nextPID    func() (int64, error)
	partitions int32

	mu     sync.Mutex
	txns   map[string]*txn
	loaded map[int32]int32 // partition → coordinator epoch
	closed bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a coordinator for a __transaction_state topic of the given
// partition count, taking producer ids from nextPID. No partition is loaded.
func New(cfg Config, partitions int32, store Store, markers Markers, nextPID func() (int64, error), log *slog.Logger) *Coordinator {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Coordinator{cfg: cfg, log: log.With("component", "transaction-coordinator"), store: store, markers: markers,
		nextPID: nextPID, partitions: partitions, txns: map[string]*txn{}, loaded: map[int32]int32{}, stop: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// PartitionFor returns the __transaction_state partition of a transactional
// id: Kafka partitions it exactly as group ids.
func PartitionFor(txnID string, partitions int32) int32 { return group.PartitionFor(txnID, partitions) }

// Partitions is the partition count of __transaction_state.
func (c *Coordinator) Partitions() int32 { return c.partitions }

// Loaded reports whether partition p is loaded here.
func (c *Coordinator) Loaded(p int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.loaded[p]
	return ok
}

// Owns reports whether txnID's partition is loaded here.
func (c *Coordinator) Owns(txnID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.loaded[PartitionFor(txnID, c.partitions)]
	return !c.closed && ok
}

// Close stops the loop. Afterwards every request gets NOT_COORDINATOR.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	ts := c.txns
	c.txns = map[string]*txn{}
	c.loaded = map[int32]int32{}
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
	for _, t := range ts {
		t.mu.Lock()
		t.removed = true
		t.mu.Unlock()
	}
}

// txn is the metadata of one transactional id. Everything is guarded by mu.
type txn struct {
	mu        sync.Mutex
	id        string
	partition int32
	meta
	lastEpoch int16 // epoch before the last bump, for KIP-360 retries
	prevPID   int64 // producer id before the last rotation
	removed   bool  // expired or unloaded: look the id up again
}

// meta is the part of a transaction's metadata that is written to the log.
type meta struct {
	pid       int64
	epoch     int16
	timeoutMs int32
	state     kmsg.TransactionState
	parts     []TopicPartition // sorted
	startMs   int64            // -1 when no transaction has started
	updateMs  int64
}

func (m meta) has(tp TopicPartition) bool {
	_, ok := slices.BinarySearchFunc(m.parts, tp, lessTP)
	return ok
}

func (m meta) withParts(add []TopicPartition) []TopicPartition {
	out := slices.Clone(m.parts)
	for _, tp := range add {
		if i, ok := slices.BinarySearchFunc(out, tp, lessTP); !ok {
			out = slices.Insert(out, i, tp)
		}
	}
	return out
}

// errNotCoordinator is how requests for ids of partitions not loaded here
// (or after Close) are answered.
var errNotCoordinator = kerr.NotCoordinator

// lookup returns the txn of txnID, locked, and the coordinator epoch of its
// partition; nil when the id is unknown and create is nil. With create, a
// missing id is added with the metadata create returns.
func (c *Coordinator) lookup(txnID string, create func() (meta, error)) (*txn, int32, error) {
	for {
		c.mu.Lock()
		p := PartitionFor(txnID, c.partitions)
		epoch, ok := c.loaded[p]
		if c.closed || !ok {
			c.mu.Unlock()
			return nil, 0, errNotCoordinator
		}
		t := c.txns[txnID]
		if t == nil {
			if create == nil {
				c.mu.Unlock()
				return nil, epoch, nil
			}
			c.mu.Unlock()
			m, err := create()
			if err != nil {
				return nil, 0, err
			}
			c.mu.Lock()
			if c.txns[txnID] == nil {
				c.txns[txnID] = &txn{id: txnID, partition: p, meta: m, lastEpoch: -1, prevPID: -1}
			}
			c.mu.Unlock()
			continue
		}
		c.mu.Unlock()
		t.mu.Lock()
		if t.removed {
			t.mu.Unlock()
			continue
		}
		return t, epoch, nil
	}
}

// forget removes t from the map. t.mu held.
func (c *Coordinator) forget(t *txn) {
	t.removed = true
	c.mu.Lock()
	if c.txns[t.id] == t {
		delete(c.txns, t.id)
	}
	c.mu.Unlock()
}

// list returns the transactions, sorted by id, optionally only those of
// partition p (p < 0: all).
func (c *Coordinator) list(p int32) []*txn {
	c.mu.Lock()
	ts := make([]*txn, 0, len(c.txns))
	for _, t := range c.txns {
		if p < 0 || t.partition == p {
			ts = append(ts, t)
		}
	}
	c.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].id < ts[j].id })
	return ts
}

func (c *Coordinator) now() int64 { return c.cfg.Now().UnixMilli() }

func (c *Coordinator) coordinatorEpoch(p int32) (int32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.loaded[p]
	return e, ok && !c.closed
}
