package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// Log is one partition's log (Kafka's UnifiedLog over LocalLog). See the
// package doc for what runs concurrently with what.
type Log struct {
	dir    string
	tp     TopicPartition
	opts   Options
	logger *slog.Logger

	// Read without mu.
	segs           atomic.Pointer[[]*segment] // immutable; replaced on roll/delete/truncate
	logEndOffset   atomic.Int64
	logStartOffset atomic.Int64
	recoveryPoint  atomic.Int64
	closed         atomic.Bool
	offline        atomic.Pointer[error] // why the log refuses changes (ErrLogOffline), nil if it does not
	cfg            atomic.Pointer[Config]

	mu              sync.Mutex // the append lock
	epochs          *epochCache
	producers       *producerStates
	unflushedMsgs   int64
	lastFlush       time.Time
	pendingDeletes  []*segment // renamed *.deleted, closed after FileDeleteDelayMs
	bg              sync.WaitGroup
	onStartAdvanced func() error // persists the log start offset (Dir's checkpoint)
	latestEpoch     atomic.Int32
	firstUnstable   atomic.Int64 // first offset of the oldest open transaction, -1 none; written under mu

	// Log cleaner (cleaner.go). cleanMu serializes cleaning passes; it is
	// taken before mu and never while holding it.
	cleanMu        sync.Mutex
	cleanerOffset  atomic.Int64 // first dirty offset (cleaner-offset-checkpoint)
	truncations    uint64       // bumped under mu by every truncation; a pass stores its end only if unchanged
	pendingHorizon atomic.Int64 // earliest delete horizon of a kept tombstone, ms; 0 unknown
}

// segments returns the current segment list; do not modify it.
func (l *Log) segments() []*segment { return *l.segs.Load() }

func (l *Log) active() *segment {
	s := l.segments()
	return s[len(s)-1]
}

func (l *Log) setSegments(s []*segment) { l.segs.Store(&s) }

// LogStartOffset is the first offset a consumer may read.
func (l *Log) LogStartOffset() int64 { return l.logStartOffset.Load() }

// LogEndOffset is the offset the next appended record gets.
func (l *Log) LogEndOffset() int64 { return l.logEndOffset.Load() }

// RecoveryPoint is the offset below which everything is fsynced.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// Size is the bytes in all segments.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range l.segments() {
		n += s.size.Load()
	}
	return n
}

// NumSegments counts the segments, active one included.
func (l *Log) NumSegments() int { return len(l.segments()) }

// Dir is the partition folder.
func (l *Log) Dir() string { return l.dir }

// TopicPartition names the partition.
func (l *Log) TopicPartition() TopicPartition { return l.tp }

// Config returns the settings in force.
func (l *Log) Config() Config { return *l.cfg.Load() }

// SetConfig swaps the settings (dynamic topic config change). It applies to
// the next append, roll and retention run; existing index files keep their
// size until the next roll.
func (l *Log) SetConfig(cfg Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg.Store(&cfg)
}

// LatestEpoch is the newest leader epoch in the log, -1 if none.
func (l *Log) LatestEpoch() int32 { return l.latestEpoch.Load() }

// EndOffsetForEpoch answers OffsetForLeaderEpoch with Kafka's
// LeaderEpochFileCache.endOffsetFor semantics; (-1, -1) when unknown.
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epochs.endOffsetFor(epoch, l.LogEndOffset())
}

// EpochEntries returns a copy of the leader epoch cache.
func (l *Log) EpochEntries() []EpochEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]EpochEntry(nil), l.epochs.entries...)
}

// ProducerStates lists the idempotent producers the log knows.
func (l *Log) ProducerStates() []ProducerState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.producers.states()
}

// OngoingTransaction reports whether producerID has a transaction open in
// this log, and at which producer epoch.
func (l *Log) OngoingTransaction(producerID int64) (epoch int16, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.producers.producers[producerID]
	if e == nil || e.currentTxnFirstOffset < 0 {
		return 0, false
	}
	return e.epoch, true
}

func (l *Log) nowMs() int64 { return l.opts.Now().UnixMilli() }

// updateLatestEpochLocked mirrors the cache's latest epoch into the atomic.
// Caller holds mu.
func (l *Log) updateLatestEpochLocked() {
	e, _ := l.epochs.latest()
	l.latestEpoch.Store(e.Epoch)
}

// Flush fsyncs everything up to the log end offset and advances the
// recovery point.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

// flushLocked fsyncs the segments holding offsets at or after the recovery
// point. Caller holds mu.
func (l *Log) flushLocked() error {
	if l.closed.Load() {
		return ErrLogClosed
	}
	rp, leo := l.recoveryPoint.Load(), l.LogEndOffset()
	segs := l.segments()
	for i, s := range segs {
		if i+1 < len(segs) && segs[i+1].base <= rp {
			continue
		}
		if err := s.flush(); err != nil {
			return err
		}
	}
	l.recoveryPoint.Store(leo)
	l.unflushedMsgs = 0
	l.lastFlush = l.opts.Now()
	return nil
}

// MaybeFlush fsyncs when flush.ms has passed since the last flush and there
// is something to flush. The owner calls it periodically.
func (l *Log) MaybeFlush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cfg := l.cfg.Load()
	if l.closed.Load() || l.recoveryPoint.Load() >= l.LogEndOffset() {
		return nil
	}
	if l.opts.Now().Sub(l.lastFlush).Milliseconds() < cfg.FlushIntervalMs {
		return nil
	}
	return l.flushLocked()
}

// Close flushes, writes a producer snapshot at the log end offset, trims
// indexes and closes the files. Pending deleted files are removed now.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return nil
	}
	var errs []error
	errs = append(errs, l.flushLocked())
	l.producers.expire(l.nowMs(), l.opts.ProducerIDExpiration.Milliseconds())
	errs = append(errs, l.producers.writeSnapshot(l.LogEndOffset()))
	l.closed.Store(true)
	for _, s := range l.segments() {
		errs = append(errs, s.close())
	}
	pending := l.pendingDeletes
	l.pendingDeletes = nil
	l.mu.Unlock()
	l.bg.Wait()
	for _, s := range pending {
		errs = append(errs, removeSegmentFiles(s))
	}
	return errors.Join(errs...)
}

// writePartitionMetadata writes partition.metadata as Kafka's
// PartitionMetadataFile: "version: 0" and "topic_id: <base64url>".
func writePartitionMetadata(dir string, id [16]byte) error {
	if id == ([16]byte{}) {
		return nil
	}
	data := fmt.Sprintf("version: 0\ntopic_id: %s\n", base64.RawURLEncoding.EncodeToString(id[:]))
	path := filepath.Join(dir, "partition.metadata")
	if old, err := os.ReadFile(path); err == nil && string(old) == data {
		return nil
	}
	return writeFileAtomic(path, []byte(data))
}

// ReadPartitionMetadata returns the topic ID in a partition folder's
// partition.metadata; ok=false when the file is missing.
func ReadPartitionMetadata(dir string) (id [16]byte, ok bool, err error) {
	path := filepath.Join(dir, "partition.metadata")
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	var version int
	var enc string
	if _, err := fmt.Sscanf(string(b), "version: %d\ntopic_id: %s\n", &version, &enc); err != nil || version != 0 {
		return id, false, &CorruptionError{File: path, Err: fmt.Errorf("unreadable partition.metadata: %q", b)}
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) != 16 {
		return id, false, &CorruptionError{File: path, Err: fmt.Errorf("bad topic_id %q", enc)}
	}
	copy(id[:], raw)
	return id, true, nil
}

// writable is nil, ErrLogClosed, or the ErrLogOffline error that took the
// log offline. Checked by every operation that changes the files.
func (l *Log) writable() error {
	if l.closed.Load() {
		return ErrLogClosed
	}
	if e := l.offline.Load(); e != nil {
		return *e
	}
	return nil
}

// takeOffline makes every later change fail with ErrLogOffline, as Kafka
// takes a log dir offline after an I/O error, and logs why once.
func (l *Log) takeOffline(cause error) {
	err := fmt.Errorf("%w: %s: %w", ErrLogOffline, l.tp, cause)
	if l.offline.CompareAndSwap(nil, &err) {
		l.logger.Error("the log is offline: a file operation failed half done and could not be undone; "+
			"check the disk and the files named, then restart samsa, which completes or undoes the operation", "err", cause)
	}
}
