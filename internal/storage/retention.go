package storage

import (
	"errors"
	"fmt"
	"os"

	"github.com/samsa-io/samsa/internal/record"
)

// EnforceRetention deletes whole segments, oldest first, that are wholly
// below the log start offset, whose largest timestamp is older than
// retention.ms, or that push the log past retention.bytes (Kafka's
// deleteOldSegments). When every segment is deletable the active one is
// rolled first, so the log keeps an empty active segment at its end offset.
// It also expires idle producers and removes deleted files whose
// file.delete.delay.ms has passed. It returns the number of segments deleted.
//
// Kafka also never deletes past the high watermark; storage does not know it,
// so the caller must not set retention so low that unreplicated data matters.
func (l *Log) EnforceRetention() (int, error) {
	l.mu.Lock()
	n, err := l.enforceRetentionLocked()
	l.mu.Unlock()
	if n > 0 && err == nil && l.onStartAdvanced != nil {
		err = l.onStartAdvanced()
	}
	return n, err
}

func (l *Log) enforceRetentionLocked() (int, error) {
	if err := l.writable(); err != nil {
		return 0, err
	}
	nowMs := l.nowMs()
	l.removeExpiredDeletesLocked(nowMs, false)
	l.producers.expire(nowMs, l.opts.ProducerIDExpiration.Milliseconds())
	cfg := l.cfg.Load()
	segs := l.segments()
	start := l.LogStartOffset()
	deletable := func(i int) bool { // Kafka: never the last segment when empty
		return !(i == len(segs)-1 && segs[i].size.Load() == 0)
	}
	n := 0
	for i := 0; i+1 < len(segs) && segs[i+1].base <= start; i++ {
		n = i + 1
	}
	if cfg.RetentionMs >= 0 && cfg.retains() {
		for i := range segs {
			if !deletable(i) || nowMs-segs[i].largestTimestamp() <= cfg.RetentionMs {
				break
			}
			n = max(n, i+1)
		}
	}
	if cfg.RetentionBytes >= 0 && cfg.retains() {
		diff := l.Size() - cfg.RetentionBytes
		for i := range segs {
			sz := segs[i].size.Load()
			if !deletable(i) || diff-sz < 0 {
				break
			}
			diff -= sz
			n = max(n, i+1)
		}
	}
	if n == 0 {
		return 0, nil
	}
	if n == len(segs) {
		if err := l.rollLocked(l.LogEndOffset()); err != nil {
			return 0, err
		}
	}
	return n, l.deleteOldestLocked(n, "retention")
}

// deleteOldestLocked removes the n oldest segments and moves the log start
// offset to the first remaining one. Caller holds mu; n < len(segments).
func (l *Log) deleteOldestLocked(n int, why string) error {
	segs := l.segments()
	gone := segs[:n:n]
	rest := append([]*segment(nil), segs[n:]...)
	l.setSegments(rest)
	if rest[0].base > l.LogStartOffset() {
		l.logStartOffset.Store(rest[0].base)
	}
	if l.epochs.truncateFromStart(l.LogStartOffset()) {
		if err := l.epochs.flush(); err != nil {
			return err
		}
	}
	for _, s := range gone {
		l.logger.Info("deleting segment", "base_offset", s.base, "reason", why,
			"size", s.size.Load(), "largest_timestamp", s.maxTs.Load())
	}
	if err := l.scheduleDeleteLocked(gone); err != nil {
		return err
	}
	return deleteSnapshots(l.dir, rest[0].base, l.LogEndOffset())
}

// scheduleDeleteLocked renames a segment's files to *.deleted and leaves
// them open for readers until file.delete.delay.ms has passed (Kafka's
// asynchronous segment deletion). Caller holds mu.
func (l *Log) scheduleDeleteLocked(segs []*segment) error {
	err := renameDeleted(l.dir, segs)
	l.enqueueDeletesLocked(segs)
	return err
}

// renameDeleted renames the segments' files to *.deleted; they stay open.
func renameDeleted(dir string, segs []*segment) error {
	var errs []error
	for _, s := range segs {
		for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			p := fileName(dir, s.base, suf)
			if err := os.Rename(p, p+deletedSuffix); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// enqueueDeletesLocked closes and removes renamed segments once
// file.delete.delay.ms has passed. Caller holds mu.
func (l *Log) enqueueDeletesLocked(segs []*segment) {
	at := l.nowMs() + l.cfg.Load().FileDeleteDelayMs
	for _, s := range segs {
		s.deleteAt = at
		l.pendingDeletes = append(l.pendingDeletes, s)
	}
	l.removeExpiredDeletesLocked(l.nowMs(), false)
}

// removeExpiredDeletesLocked closes and removes deleted segments whose delay
// has passed (all of them with force). Caller holds mu.
func (l *Log) removeExpiredDeletesLocked(nowMs int64, force bool) {
	keep := l.pendingDeletes[:0]
	for _, s := range l.pendingDeletes {
		if force || nowMs >= s.deleteAt {
			if err := removeSegmentFiles(s); err != nil {
				l.logger.Warn("removing deleted segment", "base_offset", s.base, "err", err)
			}
			continue
		}
		keep = append(keep, s)
	}
	l.pendingDeletes = keep
}

// removeSegmentFiles closes s and removes its renamed (*.deleted) files.
func removeSegmentFiles(s *segment) error {
	return errors.Join(s.close(), removeSegmentFilesAt(s.dir, s.base, deletedSuffix))
}

func removeSegmentFilesAt(dir string, base int64, extra string) error {
	var errs []error
	for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
		if err := os.Remove(fileName(dir, base, suf) + extra); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeleteRecordsBefore advances the log start offset to offset (the
// DeleteRecords API), deletes the segments wholly below it and persists the
// new start before returning. An offset at or below the current start is a
// no-op; one past the log end offset is ErrOffsetOutOfRange.
func (l *Log) DeleteRecordsBefore(offset int64) (int64, error) {
	l.mu.Lock()
	if err := l.writable(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	if offset > l.LogEndOffset() || offset < 0 {
		l.mu.Unlock()
		return 0, fmt.Errorf("%w: delete records before %d, log end offset %d", ErrOffsetOutOfRange, offset, l.LogEndOffset())
	}
	if offset <= l.LogStartOffset() {
		s := l.LogStartOffset()
		l.mu.Unlock()
		return s, nil
	}
	l.logStartOffset.Store(offset)
	var err error
	if l.epochs.truncateFromStart(offset) {
		err = l.epochs.flush()
	}
	segs := l.segments()
	n := 0
	for n+1 < len(segs) && segs[n+1].base <= offset {
		n++
	}
	if err == nil && n > 0 {
		err = l.deleteOldestLocked(n, "log start offset")
	}
	l.mu.Unlock()
	if err == nil && l.onStartAdvanced != nil {
		err = l.onStartAdvanced()
	}
	return offset, err
}

// Truncate drops every batch at and after offset (follower truncation).
// Like Kafka it cuts at batch boundaries: the batch containing offset goes
// too, so the new log end offset may be below offset... never above it.
// An offset below the log start offset empties the log and restarts it there.
func (l *Log) Truncate(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if offset >= l.LogEndOffset() {
		// No records go, but an epoch that starts at the log end has
		// none either (a leader that took over and appended nothing
		// before it lost the leadership): it goes, or the follower would
		// keep announcing an epoch its new leader never had.
		if l.epochs.truncateFromEnd(l.LogEndOffset()) {
			l.updateLatestEpochLocked()
			return l.epochs.flush()
		}
		return nil
	}
	if offset < l.LogStartOffset() {
		return l.truncateFullyLocked(offset)
	}
	cfg := l.cfg.Load()
	segs := l.segments()
	i := len(segs) - 1
	for i > 0 && segs[i].base > offset {
		i--
	}
	s := segs[i]
	if i < len(segs)-1 {
		if err := l.scheduleDeleteLocked(segs[i+1:]); err != nil {
			return err
		}
		if err := s.index.makeWritable(int64(cfg.SegmentIndexBytes)); err != nil {
			return err
		}
		if err := s.timeIndex.makeWritable(int64(cfg.SegmentIndexBytes)); err != nil {
			return err
		}
	}
	pos, _, err := s.locate(offset, s.size.Load())
	if err != nil {
		return err
	}
	newEnd := s.base
	if pos > 0 {
		// The log end is the next offset of the batch before pos.
		err := s.scan(0, pos, true, func(h record.Header, _ int64) (bool, error) {
			newEnd = h.NextOffset()
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	if err := s.truncateTo(newEnd, pos); err != nil {
		return err
	}
	l.setSegments(append([]*segment(nil), segs[:i+1]...))
	l.logEndOffset.Store(newEnd)
	l.truncateCleanerOffsetLocked(newEnd)
	if l.recoveryPoint.Load() > newEnd {
		l.recoveryPoint.Store(newEnd)
	}
	if l.epochs.truncateFromEnd(newEnd) {
		l.updateLatestEpochLocked()
		if err := l.epochs.flush(); err != nil {
			return err
		}
	}
	// Kafka reloads the producer state from a snapshot at or below the new
	// end and replays the rest: a transaction whose marker was cut is open
	// again, its records unstable (and no longer aborted).
	if err := l.replayProducerState(newEnd); err != nil {
		return err
	}
	l.logger.Info("truncated log", "offset", offset, "log_end_offset", newEnd)
	return nil
}

// AssignEpochStart records that leader epoch starts at the log end (a new
// leader, before its first append: Kafka's maybeAssignEpochStartOffset), so
// that followers asking for the end of an older epoch get the right answer
// at once. An epoch not newer than the latest is ignored.
func (l *Log) AssignEpochStart(epoch int32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if l.epochs.assign(epoch, l.LogEndOffset()) {
		l.updateLatestEpochLocked()
		return l.epochs.flush()
	}
	return nil
}

// TruncateFullyAndStartAt empties the log and restarts it at offset, which
// may be past the log end (a follower whose leader's log start moved past
// everything the follower has, Kafka's truncateFullyAndStartAt).
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	return l.truncateFullyLocked(offset)
}

// truncateFullyLocked deletes every segment and restarts the log empty at
// offset (Kafka's truncateFullyAndStartAt). Caller holds mu.
func (l *Log) truncateFullyLocked(offset int64) error {
	old := l.segments()
	cfg := l.cfg.Load()
	if err := l.scheduleDeleteLocked(old); err != nil {
		return err
	}
	for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
		os.Remove(fileName(l.dir, offset, suf))
	}
	s, _, err := openSegment(l.dir, offset, cfg, true, true, l.opts.Now())
	if err != nil {
		return err
	}
	l.setSegments([]*segment{s})
	l.logEndOffset.Store(offset)
	l.logStartOffset.Store(offset)
	l.truncateCleanerOffsetLocked(offset)
	l.recoveryPoint.Store(offset)
	l.epochs.entries = nil
	l.updateLatestEpochLocked()
	l.producers.producers = make(map[int64]*producerEntry)
	l.producers.rebuildOngoing()
	l.firstUnstable.Store(-1)
	if err := deleteSnapshots(l.dir, offset+1, offset); err != nil {
		return err
	}
	return l.epochs.flush()
}

// truncateCleanerOffsetLocked lowers the cleaner checkpoint to end after a
// truncation, as Kafka's LogCleanerManager.maybeTruncateCheckpoint from
// UnifiedLog.truncateTo: offsets at and after end are written again and are
// dirty. It also counts the truncation, so a cleaning pass running
// meanwhile does not store its end (Clean). Caller holds mu.
func (l *Log) truncateCleanerOffsetLocked(end int64) {
	l.truncations++
	if l.cleanerOffset.Load() > end {
		l.cleanerOffset.Store(end)
	}
}
