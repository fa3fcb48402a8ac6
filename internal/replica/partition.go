package replica

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
)

// Partition is one partition hosted by this broker.
type Partition struct {
	Topic   string
	Index   int32
	TopicID [16]byte

	log         *storage.Log
	cfg         atomic.Pointer[config.Topic]
	leaderEpoch atomic.Int32
	hw          atomic.Int64
	offline     atomic.Pointer[error] // set once by appendFailed
	logger      *slog.Logger

	mu      sync.Mutex
	waiters map[*Waiter]struct{}

	repl replication // clusters only (replication.go)
	// roleMu fences appends against role changes: appends as leader and as
	// follower hold it shared and check the role inside; Become holds it
	// exclusively.
	roleMu sync.RWMutex

	// verifyMu orders transaction markers against appends verified with a
	// transaction coordinator on another broker; guards holds the open
	// verification of each producer (see StartVerification). Taken before
	// roleMu.
	verifyMu  sync.Mutex
	guards    map[int64]VerificationGuard
	lastGuard uint64
}

// VerificationGuard stands for one check, with a transaction coordinator on
// another broker, that a producer's transactional batch belongs to an open
// transaction that includes this partition (KIP-890's verification guard).
type VerificationGuard struct {
	id          uint64
	leaderEpoch int32
}

// StartVerification records a new guard for producerID, to be taken before
// asking the coordinator. A transaction marker for the producer written
// here afterwards, or a change of leader epoch, voids it, so that
// AppendVerified refuses a batch whose transaction ended while the answer
// was on its way: appended after the marker, it would open a transaction
// that nobody ends, holding the last stable offset forever.
func (p *Partition) StartVerification(producerID int64) VerificationGuard {
	p.verifyMu.Lock()
	defer p.verifyMu.Unlock()
	if p.guards == nil {
		p.guards = map[int64]VerificationGuard{}
	}
	p.lastGuard++
	g := VerificationGuard{id: p.lastGuard, leaderEpoch: p.leaderEpoch.Load()}
	p.guards[producerID] = g
	return g
}

// ErrVerificationVoid: a transaction marker for the producer (or a new
// leader epoch) came between the verification of a transactional batch
// and its append.
var ErrVerificationVoid = errors.New("the transaction ended while the batch was being verified")

// WithVerified runs fn, which appends a transactional batch (or, on
// __consumer_offsets, a transaction's offsets) of producerID that the
// coordinator confirmed after guard was taken, if no marker for the
// producer and no leader change came in between, with markers held off
// until fn returns; otherwise it returns ErrVerificationVoid. fn must not
// write a transaction marker to p.
func (p *Partition) WithVerified(producerID int64, guard VerificationGuard, fn func() error) error {
	p.verifyMu.Lock()
	defer p.verifyMu.Unlock()
	g, ok := p.guards[producerID]
	if !ok || g != guard || guard.leaderEpoch != p.leaderEpoch.Load() {
		return ErrVerificationVoid
	}
	delete(p.guards, producerID)
	return fn()
}

// AppendInTransaction appends a transactional batch of producerID at
// epoch when that producer's transaction is already open in this log at
// that epoch: the coordinator confirmed the partition when the transaction
// began here, so later batches need no new confirmation (Kafka verifies a
// transaction's first batch on a partition only). Markers are held off
// across the check and the append. ok is false, and nothing is appended,
// when the batch needs verifying.
func (p *Partition) AppendInTransaction(producerID int64, epoch int16, records []byte, produceVersion int16) (res AppendResult, ok bool, err error) {
	p.verifyMu.Lock()
	defer p.verifyMu.Unlock()
	if e, open := p.log.OngoingTransaction(producerID); !open || e != epoch {
		return res, false, nil
	}
	res, err = p.AppendRecords(records, produceVersion)
	return res, true, err
}

// AppendVerified is AppendRecords under WithVerified.
func (p *Partition) AppendVerified(producerID int64, guard VerificationGuard, records []byte, produceVersion int16) (AppendResult, error) {
	var res AppendResult
	err := p.WithVerified(producerID, guard, func() error {
		var err error
		res, err = p.AppendRecords(records, produceVersion)
		return err
	})
	return res, err
}

func newPartition(topic string, index int32, id [16]byte, log *storage.Log, cfg *config.Topic, logger *slog.Logger) *Partition {
	p := &Partition{Topic: topic, Index: index, TopicID: id, log: log, waiters: map[*Waiter]struct{}{}, logger: logger}
	p.cfg.Store(cfg)
	p.hw.Store(log.LogEndOffset())
	return p
}

// Log returns the partition's log.
func (p *Partition) Log() *storage.Log { return p.log }

// Config returns the partition's current topic config.
func (p *Partition) Config() *config.Topic { return p.cfg.Load() }

// LeaderEpoch is the current leader epoch.
func (p *Partition) LeaderEpoch() int32 { return p.leaderEpoch.Load() }

// HighWatermark is the offset below which records are committed.
func (p *Partition) HighWatermark() int64 { return p.hw.Load() }

// LogStartOffset is the first offset still in the log.
func (p *Partition) LogStartOffset() int64 { return p.log.LogStartOffset() }

// LogEndOffset is the offset the next record will get.
func (p *Partition) LogEndOffset() int64 { return p.log.LogEndOffset() }

// LastStableOffset is the offset below which every transaction is decided:
// the high watermark, or the first offset of the oldest open transaction if
// that is lower (Kafka's UnifiedLog.lastStableOffset). It never moves back:
// a transaction starts at or after the log end offset, which the high
// watermark only follows, and storage publishes the first unstable offset
// before the log end offset covers the batch. Lock-free.
func (p *Partition) LastStableOffset() int64 {
	hw := p.hw.Load()
	if f := p.log.FirstUnstableOffset(); f >= 0 && f < hw {
		return f
	}
	return hw
}

// WriteTxnMarker appends a COMMIT or ABORT transaction marker for
// producerID as leader (storage.Log.AppendMarker: epoch checks, the
// aborted-transaction index) and advances the high watermark, which wakes
// fetches waiting on the partition; read_committed ones then see the last
// stable offset moved. The transaction coordinator (and the WriteTxnMarkers
// API) call it; safe for concurrent use with appends and reads.
func (p *Partition) WriteTxnMarker(producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32) (int64, error) {
	if err := p.offline.Load(); err != nil {
		return 0, *err
	}
	p.verifyMu.Lock()
	defer p.verifyMu.Unlock()
	delete(p.guards, producerID)
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	if !p.IsLeader() {
		return 0, ErrNotLeader
	}
	off, err := p.log.AppendMarker(producerID, producerEpoch, commit, coordinatorEpoch, p.leaderEpoch.Load())
	if err != nil {
		return 0, p.appendFailed(err)
	}
	p.afterLeaderAppend()
	return off, nil
}

func (p *Partition) setConfig(cfg *config.Topic) {
	p.cfg.Store(cfg)
	p.log.SetConfig(StorageConfig(cfg))
}

// AppendResult describes a successful produce to one partition.
type AppendResult struct {
	BaseOffset     int64
	LastOffset     int64
	LogAppendTime  int64 // -1 for CreateTime topics
	LogStartOffset int64
}

// AppendRecords validates the records of one partition of a Produce request
// and appends them as leader. records is modified in place (offsets, leader
// epoch) unless the batch is recompressed.
func (p *Partition) AppendRecords(records []byte, produceVersion int16) (AppendResult, error) {
	cfg := p.cfg.Load()
	now := time.Now().UnixMilli()
	opts := record.ValidateOptions{
		Now:                  now,
		TimestampType:        record.TimestampCreateTime,
		TimestampBeforeMaxMs: cfg.MessageTimestampBeforeMaxMs,
		TimestampAfterMaxMs:  cfg.MessageTimestampAfterMaxMs,
		MaxMessageBytes:      int(cfg.MaxMessageBytes),
		TargetCodec:          targetCodec(cfg.CompressionType),
		TargetLevel:          targetLevel(cfg),
		ProduceVersion:       produceVersion,
		Compacted:            cfg.Compacted(),
	}
	if cfg.MessageTimestampType == "LogAppendTime" {
		opts.TimestampType = record.TimestampLogAppend
	}
	res, err := record.Validate(records, opts)
	if err != nil {
		return AppendResult{}, err
	}
	if err := p.offline.Load(); err != nil {
		return AppendResult{}, *err
	}
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	if !p.IsLeader() {
		return AppendResult{}, ErrNotLeader
	}
	info, err := p.log.AppendAsLeader(res.Batch, p.leaderEpoch.Load(), res.LogAppendTime)
	if err != nil {
		return AppendResult{}, p.appendFailed(err)
	}
	if !info.Duplicate {
		p.afterLeaderAppend()
	}
	return AppendResult{BaseOffset: info.FirstOffset, LastOffset: info.LastOffset, LogAppendTime: res.LogAppendTime, LogStartOffset: info.LogStartOffset}, nil
}

// appendFailed classifies an append error. Errors about the batch or the
// producer go back to the client as they are. Anything else is the disk
// failing (full, read-only, I/O error): the log may hold part of the batch,
// so the partition stops taking appends until a restart has recovered the
// log, as Kafka takes a log dir offline; clients get KAFKA_STORAGE_ERROR.
func (p *Partition) appendFailed(err error) error {
	for _, clientErr := range []error{storage.ErrOutOfOrderSequence, storage.ErrInvalidProducerEpoch,
		storage.ErrInvalidBatch, storage.ErrBatchTooLarge, storage.ErrLogClosed,
		storage.ErrTransactionCoordinatorFenced} {
		if errors.Is(err, clientErr) {
			return err
		}
	}
	off := fmt.Errorf("%w: %s-%d: %v", ErrStorage, p.Topic, p.Index, err)
	if p.offline.CompareAndSwap(nil, &off) {
		p.logger.Error("a write to the partition log failed; the partition refuses writes until samsa restarts and recovers it. Free disk space or fix the disk, then restart",
			"topic", p.Topic, "partition", p.Index, "err", err)
	}
	return off
}

// ErrStorage: the partition's log failed a write and is offline until
// restart (KAFKA_STORAGE_ERROR).
var ErrStorage = errors.New("partition log is offline after a storage failure")

// Offline reports the storage failure that took the partition offline.
func (p *Partition) Offline() error {
	if e := p.offline.Load(); e != nil {
		return *e
	}
	return nil
}

// advanceHighWatermark moves the HW forward (never back) and wakes waiters.
func (p *Partition) advanceHighWatermark(hw int64) {
	for {
		cur := p.hw.Load()
		if hw <= cur {
			return
		}
		if p.hw.CompareAndSwap(cur, hw) {
			break
		}
	}
	p.notify()
}

func (p *Partition) notify() {
	p.mu.Lock()
	for w := range p.waiters {
		w.wake()
	}
	p.mu.Unlock()
}

// targetCodec maps compression.type to a codec, or -1 for "producer".
func targetCodec(t string) int8 {
	switch t {
	case "uncompressed":
		return record.CodecNone
	case "gzip":
		return record.CodecGzip
	case "snappy":
		return record.CodecSnappy
	case "lz4":
		return record.CodecLZ4
	case "zstd":
		return record.CodecZstd
	}
	return -1
}

func targetLevel(cfg *config.Topic) int {
	switch cfg.CompressionType {
	case "gzip":
		return cfg.CompressionGzipLevel
	case "lz4":
		return cfg.CompressionLz4Level
	case "zstd":
		return cfg.CompressionZstdLevel
	}
	return 0
}

// Read returns whole batches from offset up to maxBytes, never past the high
// watermark (or, for a follower or a debug reader, the log end).
func (p *Partition) Read(offset int64, maxBytes int, minOneBatch bool) ([]byte, error) {
	return p.log.Read(offset, maxBytes, p.hw.Load(), minOneBatch)
}

// ReadAppend reads like Read, appending to dst, but stops before upTo
// instead of the current high watermark, so a fetch never returns records
// past the high watermark (or last stable offset) it reports with them.
func (p *Partition) ReadAppend(dst []byte, offset int64, maxBytes int, upTo int64, minOneBatch bool) ([]byte, error) {
	return p.log.ReadAppend(dst, offset, maxBytes, upTo, minOneBatch)
}

// Waiter lets a fetch sleep until any of several partitions gets data.
type Waiter struct {
	c     chan struct{}
	parts []*Partition
}

// NewWaiter returns a waiter registered with parts. Call Close when done.
func NewWaiter(parts []*Partition) *Waiter {
	w := &Waiter{c: make(chan struct{}, 1), parts: parts}
	for _, p := range parts {
		p.mu.Lock()
		p.waiters[w] = struct{}{}
		p.mu.Unlock()
	}
	return w
}

// C is signalled after an append to any registered partition.
func (w *Waiter) C() <-chan struct{} { return w.c }

func (w *Waiter) wake() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// Close unregisters the waiter.
func (w *Waiter) Close() {
	for _, p := range w.parts {
		p.mu.Lock()
		delete(p.waiters, w)
		p.mu.Unlock()
	}
}

// StorageConfig converts topic configs to the log's settings.
func StorageConfig(t *config.Topic) storage.Config {
	return storage.Config{
		SegmentBytes:          int64(t.SegmentBytes),
		SegmentMs:             t.SegmentMs,
		SegmentJitterMs:       t.SegmentJitterMs,
		SegmentIndexBytes:     t.SegmentIndexBytes,
		IndexIntervalBytes:    t.IndexIntervalBytes,
		RetentionMs:           t.RetentionMs,
		RetentionBytes:        t.RetentionBytes,
		FlushIntervalMessages: t.FlushMessages,
		FlushIntervalMs:       t.FlushMs,
		FileDeleteDelayMs:     t.FileDeleteDelayMs,
		Preallocate:           t.Preallocate,

		Compact:                t.Compacted(),
		Delete:                 t.Deletes(),
		DeleteRetentionMs:      t.DeleteRetentionMs,
		MinCleanableDirtyRatio: t.MinCleanableDirtyRatio,
		MinCompactionLagMs:     t.MinCompactionLagMs,
		MaxCompactionLagMs:     t.MaxCompactionLagMs,
	}
}

// ReadRange is ReadAppend returning the batches as a range of a segment file
// (for sendfile) instead of bytes; nil when ReadAppend would read nothing.
// The caller must Close the range.
func (p *Partition) ReadRange(offset int64, maxBytes int, upTo int64, minOneBatch bool) (*storage.FileRange, error) {
	return p.log.ReadRange(offset, maxBytes, upTo, minOneBatch)
}
