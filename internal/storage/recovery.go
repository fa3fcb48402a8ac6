package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/samsa-io/samsa/internal/record"
)

// openParams carries what the Dir knows about a log being opened.
type openParams struct {
	clean          bool  // the dir had a clean-shutdown marker
	recoveryPoint  int64 // from recovery-point-offset-checkpoint, 0 if absent
	logStartOffset int64 // from log-start-offset-checkpoint, 0 if absent
	cleanerOffset  int64 // from cleaner-offset-checkpoint, 0 if absent
	onStart        func() error
}

// openLog opens or creates the partition folder dir and recovers it (Kafka's
// LogLoader). Without a clean shutdown every segment holding offsets at or
// after the recovery point is scanned batch by batch; the first torn, short,
// CRC-failing or non-monotonic batch and everything after it is cut, and
// later segments are deleted.
func openLog(dir string, tp TopicPartition, cfg Config, opts Options, p openParams) (*Log, error) {
	opts.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Log{
		dir: dir, tp: tp, opts: opts,
		logger:          opts.Logger.With("component", "storage", "topic", tp.Topic, "partition", tp.Partition),
		producers:       newProducerStates(dir),
		lastFlush:       opts.Now(),
		onStartAdvanced: p.onStart,
	}
	l.cfg.Store(&cfg)
	l.cleanerOffset.Store(p.cleanerOffset)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := writePartitionMetadata(dir, opts.TopicID); err != nil {
		return nil, err
	}
	var err error
	if l.epochs, err = loadEpochCache(dir); err != nil {
		return nil, err
	}
	bases, err := cleanFolder(dir)
	if err != nil {
		return nil, err
	}
	if err := l.loadSegments(bases, &cfg, p); err != nil {
		l.closeSegments()
		return nil, err
	}
	if err := l.loadProducerState(p); err != nil {
		l.closeSegments()
		return nil, err
	}
	l.updateLatestEpochLocked()
	if co := l.cleanerOffset.Load(); co > l.LogEndOffset() {
		// The checkpoint is past a log end that recovery cut back.
		l.cleanerOffset.Store(l.LogEndOffset())
	}
	l.logger.Debug("opened log", "log_start_offset", l.LogStartOffset(), "log_end_offset", l.LogEndOffset(),
		"segments", l.NumSegments(), "clean", p.clean)
	return l, nil
}

func (l *Log) closeSegments() {
	if p := l.segs.Load(); p != nil {
		for _, s := range *p {
			s.close()
		}
	}
}

// cleanFolder removes leftovers of interrupted operations (*.deleted,
// *.cleaned, *.tmp, index files without a .log), completes interrupted
// cleaner swaps (completeSwaps) and returns the segment base offsets,
// ascending.
func cleanFolder(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var swaps []int64
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, deletedSuffix), strings.HasSuffix(n, cleanedSuffix), strings.HasSuffix(n, ".tmp"):
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return nil, err
			}
		case strings.HasSuffix(n, swapSuffix):
			if o, ok := parseOffsetName(strings.TrimSuffix(n, swapSuffix), logSuffix); ok {
				swaps = append(swaps, o)
			}
		}
	}
	if err := completeSwaps(dir, swaps); err != nil {
		return nil, err
	}
	if ents, err = os.ReadDir(dir); err != nil {
		return nil, err
	}
	var bases []int64
	logs := map[int64]bool{}
	for _, e := range ents {
		if o, ok := parseOffsetName(e.Name(), logSuffix); ok {
			bases = append(bases, o)
			logs[o] = true
		}
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, swapSuffix) { // an index .swap without its .log.swap: not committed
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return nil, err
			}
			continue
		}
		for _, suf := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			if o, ok := parseOffsetName(n, suf); ok && !logs[o] {
				if err := os.Remove(filepath.Join(dir, n)); err != nil {
					return nil, err
				}
			}
		}
	}
	slices.Sort(bases)
	return bases, nil
}

// completeSwaps finishes cleaner swaps cut short by a crash (Kafka's
// LogLoader swap handling). A <base>.log.swap exists only once the cleaned
// segment and its indexes were fsynced and renamed, so it replaces every
// segment whose base offset lies in [base, its last offset] (the cleaner
// keeps the group's last batch, empty if need be, so that range is exactly
// the group): those are
// removed, and the .swap files are renamed into place. Once the swap has
// renamed <base>.index.swap into place (its first rename, made only after
// every old file was renamed *.deleted), the index files named <base> are
// the cleaned segment's and stay: a .txnindex, unlike the other two, is not
// rebuilt when missing. A missing offset or time index is rebuilt by the
// open that follows.
func completeSwaps(dir string, swaps []int64) error {
	if len(swaps) == 0 {
		return nil
	}
	slices.Sort(swaps)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var bases []int64
	for _, e := range ents {
		if o, ok := parseOffsetName(e.Name(), logSuffix); ok {
			bases = append(bases, o)
		}
	}
	for _, b := range swaps {
		last, err := lastOffsetInFile(fileName(dir, b, logSuffix) + swapSuffix)
		if err != nil {
			return err
		}
		remove := func(o int64) error {
			for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
				if err := os.Remove(fileName(dir, o, suf)); err != nil && !os.IsNotExist(err) {
					return err
				}
			}
			return nil
		}
		if _, err := os.Stat(fileName(dir, b, indexSuffix) + swapSuffix); err == nil {
			// Not started: whatever is named <b> is the old segment's.
			if err := remove(b); err != nil {
				return err
			}
		} else if !os.IsNotExist(err) {
			return err
		}
		for _, o := range bases {
			if o > b && o <= last {
				if err := remove(o); err != nil {
					return err
				}
			}
		}
		for _, suf := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix, logSuffix} {
			p := fileName(dir, b, suf)
			if err := os.Rename(p+swapSuffix, p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return syncDir(dir)
}

// lastOffsetInFile walks the batch headers of a .log file and returns the
// last offset of its last whole batch, -1 if none.
func lastOffsetInFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	last := int64(-1)
	var hdr [walkHeader]byte
	for pos := int64(0); pos+walkHeader <= st.Size(); {
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			return 0, err
		}
		size := int64(int32(binary.BigEndian.Uint32(hdr[8:]))) + record.LogOverhead
		if size < record.HeaderSize || pos+size > st.Size() {
			break
		}
		last = int64(binary.BigEndian.Uint64(hdr[:])) + int64(int32(binary.BigEndian.Uint32(hdr[23:])))
		pos += size
	}
	return last, nil
}

// loadSegments opens the segments, recovers what needs it and sets the log
// start and end offsets and the recovery point.
func (l *Log) loadSegments(bases []int64, cfg *Config, p openParams) error {
	now := l.opts.Now()
	var segs []*segment
	l.setSegments(nil)
	needRecover := map[*segment]bool{}
	for i, b := range bases {
		active := i == len(bases)-1
		s, missing, err := openSegment(l.dir, b, cfg, active, false, now)
		if err != nil {
			return fmt.Errorf("open segment %d of %s: %w", b, l.tp, err)
		}
		segs = append(segs, s)
		l.setSegments(segs)
		if missing {
			l.logger.Info("index files missing or torn; rebuilding", "base_offset", b)
			needRecover[s] = true
		}
	}
	if len(segs) == 0 {
		s, _, err := openSegment(l.dir, p.logStartOffset, cfg, true, true, now)
		if err != nil {
			return err
		}
		l.setSegments([]*segment{s})
		l.logStartOffset.Store(p.logStartOffset)
		l.logEndOffset.Store(p.logStartOffset)
		l.recoveryPoint.Store(p.logStartOffset)
		return nil
	}
	// Sanity-check the indexes of segments we would otherwise trust. After
	// an unclean shutdown the unflushed ones (at least the active segment,
	// whose index file is still preallocated and zero-filled) are rebuilt
	// below anyway, so a failed check there is expected, not news.
	unflushed := func(i int) bool { return !p.clean && (i == len(segs)-1 || segs[i+1].base > p.recoveryPoint) }
	for i, s := range segs {
		if unflushed(i) {
			continue
		}
		next := int64(math.MaxInt64)
		if i+1 < len(segs) {
			next = segs[i+1].base
		}
		if err := errors.Join(s.index.sane(s.size.Load()), s.timeIndex.sane(next)); err != nil {
			l.logger.Warn("index failed sanity check; rebuilding", "base_offset", s.base, "err", err)
			needRecover[s] = true
		}
	}
	for i := 0; i < len(segs); i++ {
		s := segs[i]
		active := i == len(segs)-1
		var next int64
		var err error
		if unflushed(i) || needRecover[s] {
			var cut bool
			next, cut, err = l.recoverSegment(s, cfg, active)
			if err != nil {
				return err
			}
			if cut && !active {
				// Everything after a damaged batch is suspect: Kafka deletes
				// the later segments.
				for _, t := range segs[i+1:] {
					l.logger.Warn("deleting segment after damaged tail", "file", t.logPath())
					if err := errors.Join(t.close(), removeSegmentFilesAt(l.dir, t.base, "")); err != nil {
						return err
					}
				}
				segs = segs[:i+1]
				l.setSegments(segs)
				if err := s.index.makeWritable(int64(cfg.SegmentIndexBytes)); err != nil {
					return err
				}
				if err := s.timeIndex.makeWritable(int64(cfg.SegmentIndexBytes)); err != nil {
					return err
				}
				active = true
			}
		} else if active {
			next, err = l.checkTail(s, cfg)
			if err != nil {
				return err
			}
		}
		if active {
			l.logEndOffset.Store(next)
			if next == s.base {
				s.firstBatchTs = -1
			}
		}
	}
	l.setSegments(segs)
	leo := l.LogEndOffset()
	start := max(p.logStartOffset, segs[0].base)
	if start > leo {
		// The checkpoint says records below start were deleted, but the log
		// ends before it (a lost tail): start over at the log start offset.
		l.logger.Warn("log start offset is past the log end; starting empty", "log_start_offset", start, "log_end_offset", leo)
		if err := l.truncateFullyLocked(start); err != nil {
			return err
		}
		leo = start
	}
	l.logStartOffset.Store(start)
	if l.epochs.truncateFromEnd(leo) || l.epochs.truncateFromStart(start) {
		if err := l.epochs.flush(); err != nil {
			return err
		}
	}
	if !p.clean {
		// Make what we recovered durable so the recovery point can move.
		for _, s := range segs {
			if s.base >= p.recoveryPoint || s == segs[len(segs)-1] {
				if err := s.flush(); err != nil {
					return err
				}
			}
		}
	}
	l.recoveryPoint.Store(leo)
	return nil
}

// checkTail validates the active segment from its last index entry to the
// end after a clean shutdown, returning the next offset. Any damage falls
// back to a full recovery of the segment.
func (l *Log) checkTail(s *segment, cfg *Config) (int64, error) {
	_, pos, ok := s.index.last()
	if !ok {
		pos = 0
	}
	next := s.base
	bad := false
	size := s.size.Load()
	err := s.scan(pos, size, false, func(h record.Header, p int64) (bool, error) {
		if !h.ValidCRC() || h.BaseOffset() < next {
			bad = true
			return true, nil
		}
		next = h.NextOffset()
		if p == 0 {
			s.firstBatchTs = h.MaxTimestamp()
		}
		return false, nil
	})
	if err != nil || bad {
		l.logger.Warn("active segment tail damaged despite clean shutdown; recovering", "file", s.logPath(), "err", err)
		n, _, err := l.recoverSegment(s, cfg, true)
		return n, err
	}
	if s.firstBatchTs < 0 && size > 0 {
		var hdr [record.HeaderSize]byte
		if _, err := s.log.ReadAt(hdr[:], 0); err == nil {
			s.firstBatchTs = record.Header(hdr[:]).MaxTimestamp()
		}
	}
	return next, nil
}

// recoverSegment is Kafka's LogSegment.recover: it rebuilds both indexes
// from the .log file, validating each batch, and truncates the file at the
// first invalid one. It returns the next offset and whether bytes were cut.
func (l *Log) recoverSegment(s *segment, cfg *Config, active bool) (next int64, cut bool, err error) {
	maxIdx := int64(cfg.SegmentIndexBytes)
	if err := s.index.makeWritable(maxIdx); err != nil {
		return 0, false, err
	}
	if err := s.timeIndex.makeWritable(maxIdx); err != nil {
		return 0, false, err
	}
	s.index.setEntries(0)
	s.timeIndex.setEntries(0)
	s.maxTs.Store(-1)
	s.maxTsOffset.Store(0)
	s.bytesSinceIndex = 0
	s.firstBatchTs = -1
	st, err := s.log.Stat()
	if err != nil {
		return 0, false, err
	}
	size := st.Size()
	next = s.base
	var validEnd, lastGood int64 = 0, -1
	var reason error
	interval := int64(cfg.IndexIntervalBytes)
	serr := s.scan(0, size, false, func(h record.Header, pos int64) (bool, error) {
		switch {
		case !h.ValidCRC():
			reason = fmt.Errorf("CRC mismatch in batch at offset %d", h.BaseOffset())
		case h.BaseOffset() < next:
			reason = fmt.Errorf("batch offset %d goes back from %d", h.BaseOffset(), next)
		case h.LastOffsetDelta() < 0 || h.LastOffset()-s.base > math.MaxInt32:
			reason = fmt.Errorf("batch [%d, %d] does not fit segment %d", h.BaseOffset(), h.LastOffset(), s.base)
		}
		if reason != nil {
			return true, nil
		}
		if pos == 0 {
			s.firstBatchTs = h.MaxTimestamp()
		}
		if h.MaxTimestamp() > s.maxTs.Load() {
			s.maxTsOffset.Store(h.LastOffset())
			s.maxTs.Store(h.MaxTimestamp())
		}
		if s.bytesSinceIndex > interval && !s.indexFull() {
			s.index.add(h.LastOffset(), pos, &s.scratch)
			s.timeIndex.maybeAdd(s.maxTs.Load(), s.maxTsOffset.Load(), false, &s.scratch)
			s.bytesSinceIndex = 0
		}
		s.bytesSinceIndex += int64(len(h))
		if l.epochs.assign(h.PartitionLeaderEpoch(), h.BaseOffset()) {
			if err := l.epochs.flush(); err != nil {
				return true, err
			}
		}
		next = h.NextOffset()
		validEnd = pos + int64(len(h))
		lastGood = h.LastOffset()
		return false, nil
	})
	if serr != nil {
		var ce *CorruptionError
		if !errors.As(serr, &ce) {
			return 0, false, serr
		}
		reason = ce.Err
	}
	if validEnd < size {
		if reason == nil {
			reason = errors.New("trailing bytes")
		}
		l.logger.Warn("truncating damaged log tail", "file", s.logPath(), "position", validEnd,
			"offset", next, "last_valid_offset", lastGood, "bytes_truncated", size-validEnd, "reason", reason.Error())
		if err := s.log.Truncate(validEnd); err != nil {
			return 0, false, err
		}
		cut = true
	}
	s.size.Store(validEnd)
	if !active {
		if err := s.onBecomeInactive(); err != nil {
			return 0, false, err
		}
	}
	return next, cut, nil
}

// loadProducerState is Kafka's UnifiedLog.loadProducerState: the newest
// snapshot at or below the log end offset (and, after an unclean shutdown,
// at or below the recovery point, since later ones may describe data that
// never reached the disk), then replay of batch headers after it.
func (l *Log) loadProducerState(p openParams) error {
	leo := l.LogEndOffset()
	hi := leo
	if !p.clean {
		hi = min(hi, p.recoveryPoint)
	}
	if err := l.replayProducerState(hi); err != nil {
		return err
	}
	return deleteSnapshots(l.dir, l.segments()[0].base, leo)
}

// replayProducerState rebuilds the producer state from the newest snapshot
// at or below hi and the batch headers after it, up to the log end. Open
// and Truncate use it: after a truncation that removed a transaction's
// marker, the transaction is open again, as only a replay can tell.
// Caller holds Log.mu.
func (l *Log) replayProducerState(hi int64) error {
	segs := l.segments()
	if err := deleteSnapshots(l.dir, 0, hi); err != nil {
		return err
	}
	from, err := l.producers.loadLatestSnapshot(hi, func(path string, err error) {
		l.logger.Warn("discarding unreadable producer snapshot", "file", path, "err", err)
	})
	if err != nil {
		return err
	}
	from = max(from, segs[0].base)
	// Aborted transactions ended after the snapshot are rebuilt from the
	// markers replayed below (Kafka rebuilds the index in LogSegment.recover),
	// so a torn or missing .txnindex tail is restored.
	for _, s := range segs {
		if err := s.txn.truncateTo(from); err != nil {
			return err
		}
	}
	for i, s := range segs {
		if i+1 < len(segs) && segs[i+1].base <= from {
			continue
		}
		_, pos := s.index.lookup(from)
		err := s.scan(pos, s.size.Load(), true, func(h record.Header, _ int64) (bool, error) {
			if h.BaseOffset() >= from && h.ProducerID() >= 0 {
				return false, l.trackProducerLocked(h, s)
			}
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	l.producers.expire(l.nowMs(), l.opts.ProducerIDExpiration.Milliseconds())
	l.producers.rebuildOngoing()
	l.firstUnstable.Store(l.producers.firstUnstable)
	return nil
}
