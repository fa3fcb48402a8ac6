package storage

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/samsa-io/samsa/internal/record"
)

// AppendInfo describes an appended batch.
type AppendInfo struct {
	FirstOffset, LastOffset int64
	MaxTimestamp            int64
	LogAppendTime           int64 // -1 unless the caller asked for LogAppendTime
	LogStartOffset          int64
	Duplicate               bool // an idempotent retry: offsets are the original batch's, nothing was written
}

// AppendAsLeader appends exactly one already-validated v2 batch b, assigning
// offsets from the log end offset in place (SetBaseOffset) and stamping
// leaderEpoch. If logAppendTime >= 0 the caller has already rewritten the
// batch for LogAppendTime; it is only reported. Batches with a producer ID are
// checked against the producer state under the append lock; a duplicate of
// one of the producer's last five batches succeeds with Duplicate set and the
// original offsets, writing nothing.
//
// Safe for concurrent use; appends to one Log are serialized. b is modified
// in place and must not be touched by the caller until this returns.
func (l *Log) AppendAsLeader(b []byte, leaderEpoch int32, logAppendTime int64) (AppendInfo, error) {
	return l.appendAsLeader(b, leaderEpoch, logAppendTime, false)
}

// AppendAsCoordinator is AppendAsLeader for a batch one of the broker's
// coordinators built itself (Kafka's append origin COORDINATOR), such as a
// transactional offset commit on __consumer_offsets, which carries a
// producer id and epoch but no sequence (record.NoSequence). A batch with a
// producer id is checked only for its epoch: one older than the producer's
// is ErrInvalidProducerEpoch; sequences are not checked and duplicates are
// not detected. The producer state is updated as for any append, so a
// transactional batch opens the producer's transaction and holds the last
// stable offset until its marker.
func (l *Log) AppendAsCoordinator(b []byte, leaderEpoch int32) (AppendInfo, error) {
	return l.appendAsLeader(b, leaderEpoch, -1, true)
}

func (l *Log) appendAsLeader(b []byte, leaderEpoch int32, logAppendTime int64, coordinator bool) (AppendInfo, error) {
	h, rest, err := record.Next(b)
	if err != nil {
		return AppendInfo{}, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	if len(rest) != 0 {
		return AppendInfo{}, fmt.Errorf("%w: %d bytes after the batch", ErrInvalidBatch, len(rest))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return AppendInfo{}, err
	}
	cfg := l.cfg.Load()
	if int64(len(h)) > cfg.SegmentBytes {
		return AppendInfo{}, fmt.Errorf("%w: %d bytes > %d", ErrBatchTooLarge, len(h), cfg.SegmentBytes)
	}
	if h.ProducerID() >= 0 && coordinator {
		if err := l.producers.checkCoordinator(h); err != nil {
			return AppendInfo{}, err
		}
	} else if h.ProducerID() >= 0 {
		dup, isDup, err := l.producers.check(h)
		if err != nil {
			return AppendInfo{}, err
		}
		if isDup {
			return AppendInfo{
				FirstOffset: dup.firstOffset, LastOffset: dup.lastOffset,
				MaxTimestamp: dup.maxTimestamp, LogAppendTime: logAppendTime,
				LogStartOffset: l.LogStartOffset(), Duplicate: true,
			}, nil
		}
	}
	base := l.LogEndOffset()
	h.SetBaseOffset(base)
	h.SetPartitionLeaderEpoch(leaderEpoch)
	if err := l.appendLocked(h, cfg); err != nil {
		return AppendInfo{}, err
	}
	return AppendInfo{
		FirstOffset: base, LastOffset: h.LastOffset(), MaxTimestamp: h.MaxTimestamp(),
		LogAppendTime: logAppendTime, LogStartOffset: l.LogStartOffset(),
	}, nil
}

// AppendAsFollower appends batches that already carry offsets and leader
// epochs (replication). The first must start at or after the log end offset
// and offsets must increase. Producer state is updated without validation,
// as Kafka does for replicated data.
func (l *Log) AppendAsFollower(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	cfg := l.cfg.Load()
	// Frame and check everything first, so a bad batch writes nothing.
	next := l.LogEndOffset()
	for rest := b; len(rest) > 0; {
		h, r, err := record.Next(rest)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidBatch, err)
		}
		if !h.ValidCRC() {
			return fmt.Errorf("%w: CRC mismatch at offset %d", ErrInvalidBatch, h.BaseOffset())
		}
		if h.BaseOffset() < next || h.LastOffset() < h.BaseOffset() {
			return fmt.Errorf("%w: batch [%d, %d] after offset %d", ErrUnexpectedAppendOffset, h.BaseOffset(), h.LastOffset(), next)
		}
		if int64(len(h)) > cfg.SegmentBytes {
			return fmt.Errorf("%w: %d bytes > %d", ErrBatchTooLarge, len(h), cfg.SegmentBytes)
		}
		next = h.NextOffset()
		rest = r
	}
	for rest := b; len(rest) > 0; {
		h, r, _ := record.Next(rest)
		if err := l.appendLocked(h, cfg); err != nil {
			return err
		}
		rest = r
	}
	return nil
}

// appendLocked rolls if needed, writes h (offsets assigned) to the active
// segment, and updates epochs, producer state and the log end offset.
// Caller holds mu.
func (l *Log) appendLocked(h record.Header, cfg *Config) error {
	seg := l.active()
	if l.shouldRoll(seg, h, cfg) {
		if err := l.rollLocked(h.BaseOffset()); err != nil {
			return err
		}
		seg = l.active()
	}
	if err := seg.append(h, int64(cfg.IndexIntervalBytes)); err != nil {
		return err
	}
	if l.epochs.assign(h.PartitionLeaderEpoch(), h.BaseOffset()) {
		l.updateLatestEpochLocked()
		if err := l.epochs.flush(); err != nil {
			return fmt.Errorf("write %s: %w", l.epochs.path, err)
		}
	}
	if err := l.trackProducerLocked(h, seg); err != nil {
		return err
	}
	l.logEndOffset.Store(h.NextOffset())
	l.unflushedMsgs += int64(h.LastOffsetDelta()) + 1
	if l.unflushedMsgs >= cfg.FlushIntervalMessages {
		return l.flushLocked()
	}
	return nil
}

// shouldRoll is Kafka's LogSegment.shouldRoll: the segment is full, too old,
// its index is full, or the batch's offsets don't fit a relative int32.
func (l *Log) shouldRoll(s *segment, h record.Header, cfg *Config) bool {
	size := s.size.Load()
	if size == 0 {
		return false
	}
	if size > cfg.SegmentBytes-int64(len(h)) {
		return true
	}
	if s.indexFull() {
		return true
	}
	if h.LastOffset()-s.base > math.MaxInt32 {
		return true
	}
	rollTs := s.firstBatchTs
	if rollTs < 0 {
		rollTs = s.created.UnixMilli()
	}
	return l.nowMs()-rollTs > cfg.SegmentMs-cfg.SegmentJitterMs
}

// Roll starts a new active segment at the log end offset, unless the
// active segment is empty.
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	return l.rollLocked(l.LogEndOffset())
}

// rollLocked is Kafka's LocalLog.roll: trims the old active segment, creates
// a new one at base, snapshots producer state at base and flushes the old
// segment in the background. Caller holds mu.
func (l *Log) rollLocked(base int64) error {
	old := l.active()
	if old.size.Load() == 0 && old.base == base {
		return nil
	}
	cfg := l.cfg.Load()
	if err := old.onBecomeInactive(); err != nil {
		return err
	}
	// A leftover file at base (an empty segment from a crash) is replaced.
	for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
		os.Remove(fileName(l.dir, base, suf))
	}
	seg, _, err := openSegment(l.dir, base, cfg, true, true, l.opts.Now())
	if err != nil {
		return fmt.Errorf("roll %s at %d: %w", l.tp, base, err)
	}
	segs := append(append([]*segment(nil), l.segments()...), seg)
	if old.size.Load() == 0 {
		// An empty active segment below base (offsets jumped): replace it.
		segs = append(segs[:len(segs)-2], seg)
		l.scheduleDeleteLocked([]*segment{old})
	}
	l.setSegments(segs)
	if err := l.producers.writeSnapshot(base); err != nil {
		return fmt.Errorf("producer snapshot %s at %d: %w", l.tp, base, err)
	}
	l.logger.Debug("rolled segment", "base_offset", base, "previous_base_offset", old.base)
	if old.size.Load() > 0 {
		l.bg.Add(1)
		go func() {
			defer l.bg.Done()
			if err := old.flush(); err != nil {
				if !errors.Is(err, os.ErrClosed) {
					l.logger.Error("flush rolled segment", "base_offset", old.base, "err", err)
				}
				return
			}
			l.mu.Lock()
			if rp := l.recoveryPoint.Load(); rp >= old.base && rp < base && base <= l.LogEndOffset() {
				l.recoveryPoint.Store(base)
			}
			l.mu.Unlock()
		}()
	}
	return nil
}
