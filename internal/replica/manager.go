package replica

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/storage"
)

// TopicPartition names a partition.
type TopicPartition = storage.TopicPartition

// Intervals of the manager's background work (Kafka's log.*.interval.ms).
type Intervals struct {
	Retention  time.Duration // log.retention.check.interval.ms
	Flush      time.Duration // log.flush.scheduler.interval.ms
	Checkpoint time.Duration // log.flush.offset.checkpoint.interval.ms
	// HighWatermarkCheckpoint is replica.high.watermark.checkpoint.interval.ms
	// (clusters only).
	HighWatermarkCheckpoint time.Duration

	// The log cleaner of compacted topics: log.cleaner.enable and
	// log.cleaner.backoff.ms (the pause after a round that found nothing
	// to clean; <= 0 means Kafka's 15 s).
	CleanerEnable  bool
	CleanerBackoff time.Duration
}

// Manager owns the partitions hosted by this broker.
type Manager struct {
	dirs      []*storage.Dir
	log       *slog.Logger
	intervals Intervals
	opts      storage.Options

	openMu    sync.Mutex // serializes OpenPartition; taken before mu
	clustered atomic.Bool
	mu        sync.RWMutex
	parts     map[TopicPartition]*Partition
	topics    map[string][]*Partition // by topic, index = partition
	located   map[TopicPartition]*storage.Dir
	// uncleanable holds the logs whose cleaning failed; the cleaner skips
	// them until restart. DeletePartitions drops deleted logs from it.
	uncleanable map[*storage.Log]bool

	stop        chan struct{}
	stopCleaner context.CancelFunc // cancels cleanerCtx on Close
	cleanerCtx  context.Context
	wg          sync.WaitGroup
}

// NewManager returns a manager over the given log dirs. It learns where
// existing partitions live; OpenPartition then opens them.
func NewManager(dirs []*storage.Dir, iv Intervals, opts storage.Options, log *slog.Logger) (*Manager, error) {
	m := &Manager{dirs: dirs, log: log.With("component", "replica-manager"), intervals: iv, opts: opts,
		parts: map[TopicPartition]*Partition{}, topics: map[string][]*Partition{},
		located: map[TopicPartition]*storage.Dir{}, uncleanable: map[*storage.Log]bool{}, stop: make(chan struct{})}
	m.cleanerCtx, m.stopCleaner = context.WithCancel(context.Background())
	for _, d := range dirs {
		tps, err := d.Partitions()
		if err != nil {
			return nil, fmt.Errorf("list partitions in %s: %w", d.Path(), err)
		}
		for _, tp := range tps {
			if other := m.located[tp]; other != nil {
				return nil, fmt.Errorf("partition %s-%d exists in two log dirs, %s and %s; remove one", tp.Topic, tp.Partition, other.Path(), d.Path())
			}
			m.located[tp] = d
		}
	}
	return m, nil
}

// SetClustered makes partitions opened from now on start as followers with
// their high watermark at the log start, until Partition.Become (clusters).
func (m *Manager) SetClustered() { m.clustered.Store(true) }

// OnDisk lists partitions found in the log dirs at start.
func (m *Manager) OnDisk() []TopicPartition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]TopicPartition, 0, len(m.located))
	for tp := range m.located {
		out = append(out, tp)
	}
	return out
}

// Folder returns the path of a partition's folder found on disk, or "".
func (m *Manager) Folder(tp TopicPartition) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	d := m.located[tp]
	if d == nil {
		return ""
	}
	return filepath.Join(d.Path(), tp.String())
}

// pickDir places a new partition in the log dir with the fewest partitions,
// as Kafka does.
func (m *Manager) pickDir() *storage.Dir {
	count := map[*storage.Dir]int{}
	for _, d := range m.located {
		count[d]++
	}
	best := m.dirs[0]
	for _, d := range m.dirs[1:] {
		if count[d] < count[best] {
			best = d
		}
	}
	return best
}

// OpenPartition opens (creating if needed) the log of a partition. Opens
// are serialized by openMu, and the log is opened (which may run recovery)
// without holding mu, so produce and fetch on other partitions never wait
// for it.
func (m *Manager) OpenPartition(topic string, index int32, id [16]byte, cfg *config.Topic) (*Partition, error) {
	tp := TopicPartition{Topic: topic, Partition: index}
	m.openMu.Lock()
	defer m.openMu.Unlock()
	m.mu.RLock()
	p, d := m.parts[tp], m.located[tp]
	if p == nil && d == nil {
		d = m.pickDir()
	}
	m.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	if d != nil {
		// A folder is on disk but not open. If it belongs to an earlier
		// topic of the same name (a delete whose rename failed), its
		// records must not become this topic's: remove it first.
		folder := filepath.Join(d.Path(), tp.String())
		if old, ok, err := storage.ReadPartitionMetadata(folder); err == nil && ok && old != id {
			m.log.Warn("removing a stray folder of an earlier topic with the same name", "folder", folder)
			if err := d.DeleteFolder(tp); err != nil {
				return nil, fmt.Errorf("remove stray folder %s: %w", folder, err)
			}
		}
	}
	opts := m.opts
	opts.TopicID = id
	l, err := d.OpenLog(topic, index, StorageConfig(cfg), opts)
	if err != nil {
		return nil, fmt.Errorf("open log %s-%d: %w", topic, index, err)
	}
	p = newPartition(topic, index, id, l, cfg, m.log)
	if m.clustered.Load() {
		// Nothing is served as leader until the metadata says so (Become),
		// and nothing counts as committed before the leader says so.
		p.repl.clustered.Store(true)
		p.repl.follower.Store(true)
		// The checkpointed high watermark was committed; bounded by the
		// log as it is now (a dirty stop may have lost the tail).
		hw := l.LogStartOffset()
		if c, ok := d.CheckpointedHighWatermark(tp); ok {
			hw = min(max(c, hw), l.LogEndOffset())
		}
		p.hw.Store(hw)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.located[tp] = d
	m.parts[tp] = p
	ps := m.topics[topic]
	for int(index) >= len(ps) {
		ps = append(ps, nil)
	}
	ps[index] = p
	m.topics[topic] = ps
	return p, nil
}

// Partition returns a hosted partition, or nil.
func (m *Manager) Partition(topic string, index int32) *Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ps := m.topics[topic]
	if index < 0 || int(index) >= len(ps) {
		return nil
	}
	return ps[index]
}

// TopicPartitions returns the hosted partitions of a topic in order.
func (m *Manager) TopicPartitions(topic string) []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]*Partition(nil), m.topics[topic]...)
}

// SetTopicConfig applies a changed topic config to its partitions.
func (m *Manager) SetTopicConfig(topic string, cfg *config.Topic) {
	for _, p := range m.TopicPartitions(topic) {
		if p != nil {
			p.setConfig(cfg)
		}
	}
}

// DeletePartitions closes and deletes logs of tps that are hosted or on disk.
func (m *Manager) DeletePartitions(tps []TopicPartition) error {
	var errs []error
	for _, tp := range tps {
		m.mu.Lock()
		p := m.parts[tp]
		located := m.located[tp]
		delete(m.parts, tp)
		delete(m.located, tp)
		if p != nil {
			delete(m.uncleanable, p.log)
		}
		if ps := m.topics[tp.Topic]; int(tp.Partition) < len(ps) {
			ps[tp.Partition] = nil
			empty := true
			for _, q := range ps {
				empty = empty && q == nil
			}
			if empty {
				delete(m.topics, tp.Topic)
			}
		}
		m.mu.Unlock()
		if p == nil {
			// Not open: a folder found on disk at start.
			if located != nil {
				if err := located.DeleteFolder(tp); err != nil {
					errs = append(errs, fmt.Errorf("delete %s-%d: %w", tp.Topic, tp.Partition, err))
				}
			}
			continue
		}
		// Leads nothing any more: acks=all produces waiting on it end
		// with NOT_LEADER_OR_FOLLOWER rather than at their timeout, and
		// fetches waiting on it re-check and see it is gone.
		p.roleMu.Lock()
		p.repl.follower.Store(true)
		p.roleMu.Unlock()
		p.notify()
		for _, d := range m.dirs {
			if d.Path() == dirOf(p) {
				if err := d.DeleteLog(p.log); err != nil {
					errs = append(errs, fmt.Errorf("delete %s-%d: %w", tp.Topic, tp.Partition, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func dirOf(p *Partition) string {
	d := p.log.Dir()
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] == '/' {
			return d[:i]
		}
	}
	return "."
}

// All returns every hosted partition.
func (m *Manager) All() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Partition, 0, len(m.parts))
	for _, p := range m.parts {
		out = append(out, p)
	}
	return out
}

// Dirs returns the log dirs.
func (m *Manager) Dirs() []*storage.Dir { return m.dirs }

// Start runs retention, flush and checkpoint work in the background, and
// the log cleaner when enabled.
func (m *Manager) Start() {
	m.wg.Add(1)
	go m.background()
	if m.intervals.CleanerEnable {
		m.wg.Add(1)
		go m.cleaner()
	}
}

// cleaner is Kafka's CleanerThread: it goes round the compacted logs one
// at a time, cleaning those that need it (storage.Log.Clean decides), and
// sleeps log.cleaner.backoff.ms after a round that cleaned nothing. Close
// cancels a pass between batches.
func (m *Manager) cleaner() {
	defer m.wg.Done()
	backoff := sane(m.intervals.CleanerBackoff, 15*time.Second)
	m.log.Info("log cleaner started", "backoff", backoff)
	t := time.NewTimer(backoff)
	defer t.Stop()
	for {
		cleaned := false
		for _, p := range m.All() {
			if m.cleanerCtx.Err() != nil {
				return
			}
			m.mu.RLock()
			skip := m.uncleanable[p.log]
			m.mu.RUnlock()
			if skip || !p.log.Config().Compact {
				continue
			}
			res, err := p.log.Clean(m.cleanerCtx, time.Now(), false)
			switch {
			case err == nil:
				cleaned = cleaned || res.Cleaned
			case m.cleanerCtx.Err() != nil:
				return
			case errors.Is(err, storage.ErrLogClosed):
			default:
				m.cleanFailed(p, err)
			}
		}
		if cleaned {
			continue
		}
		t.Reset(backoff)
		select {
		case <-m.cleanerCtx.Done():
			return
		case <-t.C:
		}
	}
}

// cleanFailed marks p uncleanable until restart, as Kafka's cleaner does
// after an error, and says which partition, file and offset failed and
// what to do.
func (m *Manager) cleanFailed(p *Partition, err error) {
	attrs := []any{"topic", p.Topic, "partition", p.Index}
	var ce *storage.CorruptionError
	var pe *fs.PathError
	var le *os.LinkError
	file := ""
	switch {
	case errors.As(err, &ce):
		file = ce.File
		attrs = append(attrs, "file", ce.File, "byte_position", ce.Offset)
	case errors.As(err, &le):
		file = le.Old
		attrs = append(attrs, "file", le.Old, "rename_to", le.New)
	case errors.As(err, &pe):
		file = pe.Path
		attrs = append(attrs, "file", pe.Path)
	}
	if base, ok := segmentBase(file); ok {
		attrs = append(attrs, "segment_base_offset", base)
	}
	attrs = append(attrs, "err", err)
	m.log.Error("log cleaning failed; the partition is not cleaned again until samsa restarts (reads and writes go on). "+
		"Check the disk or the segment named, then restart samsa to retry cleaning", attrs...)
	m.mu.Lock()
	if m.parts[TopicPartition{Topic: p.Topic, Partition: p.Index}] == p {
		m.uncleanable[p.log] = true // not if deleted meanwhile
	}
	m.mu.Unlock()
}

// segmentBase is the base offset in a segment file's name
// ("00000000000000001234.log", with any suffix after it).
func segmentBase(file string) (int64, bool) {
	name := filepath.Base(file)
	if len(name) < 21 || name[20] != '.' {
		return 0, false
	}
	n, err := strconv.ParseInt(name[:20], 10, 64)
	return n, err == nil
}

// CleanNow runs a cleaning pass over every partition of a compacted topic,
// ignoring min.cleanable.dirty.ratio (tests and tools). It runs in the
// caller's goroutine, serialized per log with the cleaner's passes.
func (m *Manager) CleanNow(ctx context.Context, topic string) error {
	var errs []error
	for _, p := range m.TopicPartitions(topic) {
		if p == nil {
			continue
		}
		if _, err := p.log.Clean(ctx, time.Now(), true); err != nil {
			errs = append(errs, fmt.Errorf("clean %s-%d: %w", p.Topic, p.Index, err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) background() {
	defer m.wg.Done()
	retention := time.NewTicker(sane(m.intervals.Retention, 5*time.Minute))
	// Kafka's log.flush.scheduler.interval.ms defaults to "never", which
	// also silently disables a topic's flush.ms. We check at least every
	// second, so flush.ms works on its own; MaybeFlush is a cheap compare.
	flush := time.NewTicker(min(sane(m.intervals.Flush, time.Second), time.Second))
	checkpoint := time.NewTicker(sane(m.intervals.Checkpoint, time.Minute))
	hwCheckpoint := time.NewTicker(sane(m.intervals.HighWatermarkCheckpoint, 5*time.Second))
	defer hwCheckpoint.Stop()
	defer retention.Stop()
	defer flush.Stop()
	defer checkpoint.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-retention.C:
			m.EnforceRetention()
		case <-flush.C:
			for _, p := range m.All() {
				if err := p.log.MaybeFlush(); err != nil {
					m.log.Error("flush failed", "topic", p.Topic, "partition", p.Index, "err", err)
				}
			}
		case <-hwCheckpoint.C:
			m.CheckpointHighWatermarks()
		case <-checkpoint.C:
			for _, d := range m.dirs {
				if err := d.Checkpoint(); err != nil {
					m.log.Error("checkpoint failed", "dir", d.Path(), "err", err)
				}
			}
		}
	}
}

// sane replaces intervals that are zero, negative or overflowed (Kafka's
// Long.MAX_VALUE "never" becomes a negative Duration) with def, and caps
// the rest at a day.
func sane(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return min(d, 24*time.Hour)
}

// EnforceRetention applies retention to every partition now.
func (m *Manager) EnforceRetention() {
	for _, p := range m.All() {
		n, err := p.log.EnforceRetention()
		if err != nil {
			m.log.Error("retention failed", "topic", p.Topic, "partition", p.Index, "err", err)
			continue
		}
		if n > 0 {
			m.log.Info("deleted segments past retention", "topic", p.Topic, "partition", p.Index,
				"segments", n, "log_start_offset", p.log.LogStartOffset())
		}
	}
}

// CheckpointHighWatermarks writes every partition's high watermark to its
// log dir (clusters; a single node's high watermark is its log end).
func (m *Manager) CheckpointHighWatermarks() {
	if !m.clustered.Load() {
		return
	}
	byDir := map[*storage.Dir]map[TopicPartition]int64{}
	for _, d := range m.dirs {
		byDir[d] = map[TopicPartition]int64{}
	}
	m.mu.RLock()
	for tp, p := range m.parts {
		if d := m.located[tp]; d != nil && byDir[d] != nil {
			byDir[d][tp] = p.hw.Load()
		}
	}
	m.mu.RUnlock()
	for d, hws := range byDir {
		if err := d.WriteHighWatermarks(hws); err != nil {
			m.log.Error("writing the high watermark checkpoint failed", "dir", d.Path(), "err", err)
		}
	}
}

// Close stops background work and closes every log dir (flushing logs and
// writing the clean-shutdown marker).
func (m *Manager) Close() error {
	close(m.stop)
	m.stopCleaner()
	m.wg.Wait()
	m.CheckpointHighWatermarks()
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, p := range m.parts {
		p.notify()
	}
	for _, d := range m.dirs {
		if err := d.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
