package storage

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// The log cleaner (Kafka's LogCleaner and LogCleanerManager for one log).
//
// A pass over a log with cleanup.policy=compact:
//
//  1. Plans the cleanable range: from the first segment holding the log
//     start offset up to the first uncleanable offset, which is the active
//     segment's base or, with min.compaction.lag.ms, the base of the first
//     dirty segment whose largest timestamp is within the lag, or the base
//     of the segment holding the oldest open transaction's first offset
//     (so every transaction the pass reads has ended). The dirty
//     section starts at the cleaner checkpoint (cleaner-offset-checkpoint).
//     Unless forced, the pass runs only when dirty bytes / cleanable bytes
//     reach min.cleanable.dirty.ratio, the oldest dirty record is older than
//     max.compaction.lag.ms, or a kept tombstone's delete horizon passed.
//  2. Builds the offset map: the latest offset of every key in the dirty
//     section. Records of aborted transactions never enter it (they must
//     not supersede anything); committed transactional records do, as
//     any others; control batches are skipped (cleaner_txn.go).
//  3. Groups adjacent segments whose sizes add up to segment.bytes (and
//     whose indexes and offset range fit), oldest first (Kafka's
//     groupSegmentsBySize), and rewrites each group into one segment,
//     keeping a record unless a later offset of its key is in the map, it
//     is a tombstone whose batch's delete horizon has passed (KIP-534), or
//     its batch belongs to an aborted transaction. Transaction markers stay
//     while their transaction's data may be in the log, then until their
//     own delete horizon; a producer's last batch stays, emptied if need
//     be (cleaner_txn.go). Kept records keep their offsets: a rewritten
//     batch keeps its base offset, each record its offset delta, and the
//     batch its last offset delta, producer id, epoch, base sequence and
//     attributes. The cleaned segment's .txnindex holds the aborted
//     transactions whose markers stayed because their data might.
//  4. Swaps each group in, oldest first, with Kafka's protocol: the new
//     files are written as <base>.log.cleaned (+ .index.cleaned,
//     .timeindex.cleaned and, with entries, .txnindex.cleaned), fsynced,
//     renamed to .swap (the .log last: the commit point) and the folder
//     fsynced; then under the append lock the old segments are renamed
//     *.deleted (kept open for readers for file.delete.delay.ms) and the
//     .swap files renamed into place (the .log last).
//     Opening a log deletes *.cleaned and completes a swap whose .log.swap
//     exists (see completeSwaps). Swapping the oldest group first keeps a
//     crash from ever exposing an older value of a key whose tombstone was
//     removed.
//
// Everything but the swap runs without the append lock: appends, rolls and
// reads go on. A swap is abandoned if retention, truncation or Close
// changed the group's segments meanwhile.

// CleanResult describes one cleaning pass.
type CleanResult struct {
	Cleaned        bool  // at least one group was swapped in
	FirstDirty     int64 // the dirty section covered by the offset map: [FirstDirty, End)
	End            int64
	Groups         int // groups swapped in
	SegmentsBefore int // segments in the swapped groups, and after
	SegmentsAfter  int
	BytesBefore    int64
	BytesAfter     int64
	RecordsRemoved int64
}

// MaxCleanerKeys bounds the offset map of one pass (Kafka sizes it with
// log.cleaner.dedupe.buffer.size); the dirty section is cut at the segment
// where the map fills and the rest waits for the next pass.
var MaxCleanerKeys = 4 << 20

// errCleanAborted: the log changed under a pass; nothing was lost.
var errCleanAborted = errors.New("log changed during cleaning")

// crashHook, when set by a test, is called at each step of writing and
// swapping a group; an error from it stops the pass right there and leaves
// the files as a crash would.
var crashHook func(step string) error

type crashError struct{ error }

func crashPoint(step string) error {
	if crashHook == nil {
		return nil
	}
	if err := crashHook(step); err != nil {
		return crashError{err}
	}
	return nil
}

// Clean runs one cleaning pass at time now (the delete horizon, the lags).
// force skips the dirty ratio and lag checks (not min.compaction.lag.ms).
// It does nothing on a log whose policy does not include compact.
//
// Called by the replica manager's cleaner goroutine, and by tests. Passes on
// one log are serialized; appends and reads run concurrently, and only the
// swap of each group takes the append lock. Cancelling ctx stops the pass
// between batches, leaving the log as it was (groups already swapped stay).
func (l *Log) Clean(ctx context.Context, now time.Time, force bool) (CleanResult, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	if err := l.writable(); err != nil {
		return CleanResult{}, err
	}
	cfg := l.cfg.Load()
	if !cfg.Compact {
		return CleanResult{}, nil
	}
	nowMs := now.UnixMilli()
	l.mu.Lock()
	truncs := l.truncations // before the plan: a truncation from here on voids res.End
	l.mu.Unlock()
	pl, ok := l.planClean(cfg, nowMs, force)
	if !ok {
		return CleanResult{}, nil
	}
	res := CleanResult{FirstDirty: pl.firstDirty}
	p := &cleanPass{l: l, ctx: ctx, cfg: cfg, nowMs: nowMs, m: map[string]int64{}, minHorizon: math.MaxInt64}
	end, err := p.buildOffsetMap(pl)
	if err != nil {
		return res, l.closedOr(err)
	}
	res.End = pl.segs[end].base
	l.mu.Lock()
	p.lastOf = map[int64]lastRecord{}
	for _, s := range l.producers.states() {
		p.lastOf[s.ProducerID] = lastRecord{dataOffset: s.LastOffset, epoch: s.ProducerEpoch}
	}
	l.mu.Unlock()
	// One tracker for the whole pass: a transaction may span groups.
	p.txns = newTxnTracker(l.AbortedTransactions(pl.segs[0].base, res.End))
	for _, g := range groupSegments(pl.segs[:end+1], cfg) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		st, err := p.cleanGroup(g)
		if err != nil {
			if errors.Is(err, errCleanAborted) {
				l.logger.Info("cleaning abandoned: the log changed", "base_offset", g[0].base)
				return res, nil
			}
			return res, l.closedOr(fmt.Errorf("clean %s segments from %d: %w", l.tp, g[0].base, err))
		}
		if st.swapped {
			res.Cleaned = true
			res.Groups++
			res.SegmentsBefore += len(g)
			res.SegmentsAfter++
			res.BytesBefore += st.bytesBefore
			res.BytesAfter += st.bytesAfter
			res.RecordsRemoved += st.removed
		}
	}
	l.mu.Lock()
	if l.truncations != truncs {
		// The log was truncated during the pass, and the truncation lowered
		// the checkpoint: offsets up to res.End may have been written again.
		l.mu.Unlock()
		l.logger.Info("cleaning pass not recorded: the log was truncated meanwhile", "end_offset", res.End)
		return res, nil
	}
	l.cleanerOffset.Store(res.End)
	l.mu.Unlock()
	l.pendingHorizon.Store(p.minHorizon)
	if res.Cleaned {
		l.logger.Info("cleaned log", "first_dirty_offset", res.FirstDirty, "end_offset", res.End,
			"segments_before", res.SegmentsBefore, "segments_after", res.SegmentsAfter,
			"bytes_before", res.BytesBefore, "bytes_after", res.BytesAfter, "records_removed", res.RecordsRemoved)
	}
	if l.onStartAdvanced != nil { // writes the Dir's checkpoints, the cleaner's among them
		if err := l.onStartAdvanced(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// closedOr is ErrLogClosed when the log was closed under a pass (its files
// then fail with os.ErrClosed), else err.
func (l *Log) closedOr(err error) error {
	if l.closed.Load() && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %w", ErrLogClosed, err)
	}
	return err
}

// CleanerOffset is the first dirty offset: everything below it has been
// cleaned at least once (the cleaner checkpoint).
func (l *Log) CleanerOffset() int64 { return l.cleanerOffset.Load() }

// cleanPlan is the cleanable range of a pass: segs[dirty:] are dirty, and
// segs[len-1] is the first uncleanable segment (not cleaned).
type cleanPlan struct {
	segs       []*segment
	dirty      int
	firstDirty int64
}

// planClean is LogCleanerManager.cleanableOffsets plus the checks of
// grabFilthiestCompactedLog for one log.
func (l *Log) planClean(cfg *Config, nowMs int64, force bool) (cleanPlan, bool) {
	all := l.segments()
	active := len(all) - 1
	start := l.LogStartOffset()
	i0 := 0
	for i0 < active && all[i0+1].base <= start {
		i0++
	}
	if i0 >= active {
		return cleanPlan{}, false
	}
	firstDirty := l.cleanerOffset.Load()
	if firstDirty < start || firstDirty > l.LogEndOffset() {
		firstDirty = start
	}
	dirty := i0
	for dirty < active && all[dirty+1].base <= firstDirty {
		dirty++
	}
	end := active
	if fuo := l.FirstUnstableOffset(); fuo >= 0 {
		// Kafka's firstUncleanableOffset: nothing from the segment holding
		// the oldest open transaction on is cleaned.
		for j := i0; j < end; j++ {
			if all[j+1].base > fuo {
				end = j
				break
			}
		}
	}
	if cfg.MinCompactionLagMs > 0 {
		for j := dirty; j < end; j++ {
			if all[j].largestTimestamp() > nowMs-cfg.MinCompactionLagMs {
				end = j
				break
			}
		}
	}
	if end <= i0 {
		return cleanPlan{}, false
	}
	dirty = min(dirty, end)
	var cleanBytes, dirtyBytes int64
	for j := i0; j < end; j++ {
		if j < dirty {
			cleanBytes += all[j].size.Load()
		} else {
			dirtyBytes += all[j].size.Load()
		}
	}
	pl := cleanPlan{segs: all[i0 : end+1], dirty: dirty - i0, firstDirty: firstDirty}
	if force {
		return pl, true
	}
	if h := l.pendingHorizon.Load(); h <= nowMs {
		return pl, true // a kept tombstone may be removable (0: unknown since open)
	}
	if dirtyBytes == 0 {
		return cleanPlan{}, false
	}
	if cleanBytes+dirtyBytes > 0 && float64(dirtyBytes)/float64(cleanBytes+dirtyBytes) >= cfg.MinCleanableDirtyRatio {
		return pl, true
	}
	if cfg.MaxCompactionLagMs > 0 {
		if ts := firstBatchTimestamp(all[dirty]); ts >= 0 && nowMs-ts > cfg.MaxCompactionLagMs {
			return pl, true
		}
	}
	return cleanPlan{}, false
}

// firstBatchTimestamp is the max timestamp of a segment's first batch, or
// -1 (Kafka's LogSegment.getFirstBatchTimestamp).
func firstBatchTimestamp(s *segment) int64 {
	if s.size.Load() < record.HeaderSize {
		return -1
	}
	var hdr [record.HeaderSize]byte
	if _, err := s.log.ReadAt(hdr[:], 0); err != nil {
		return -1
	}
	return record.Header(hdr[:]).MaxTimestamp()
}

// groupSegments is Kafka's groupSegmentsBySize over segs[:len-1]; the last
// segment only bounds the offsets of the one before it.
func groupSegments(segs []*segment, cfg *Config) [][]*segment {
	maxIdx := int64(cfg.SegmentIndexBytes)
	var groups [][]*segment
	n := len(segs) - 1
	for i := 0; i < n; {
		size := segs[i].size.Load()
		idx := int64(segs[i].index.entries()) * offsetEntrySize
		tidx := int64(segs[i].timeIndex.entries()) * timeEntrySize
		j := i + 1
		for ; j < n; j++ {
			s := segs[j]
			size += s.size.Load()
			idx += int64(s.index.entries()) * offsetEntrySize
			tidx += int64(s.timeIndex.entries()) * timeEntrySize
			if size > cfg.SegmentBytes || size > math.MaxInt32 || idx > maxIdx || tidx > maxIdx-timeEntrySize ||
				segs[j+1].base-1-segs[i].base > math.MaxInt32 {
				break
			}
		}
		groups = append(groups, segs[i:j])
		i = j
	}
	return groups
}

// cleanPass is the state of one pass.
type cleanPass struct {
	l          *Log
	ctx        context.Context
	cfg        *Config
	nowMs      int64
	m          map[string]int64     // key -> latest offset in the dirty section
	lastOf     map[int64]lastRecord // producer id -> its last batch
	txns       *txnTracker          // transactions through the groups of the pass
	minHorizon int64                // earliest delete horizon of a kept tombstone or marker

	keep      []bool
	recs, out []byte
}

// buildOffsetMap fills p.m from the dirty segments and returns the index in
// pl.segs of the first segment not covered (the end of the cleaned range).
func (p *cleanPass) buildOffsetMap(pl cleanPlan) (int, error) {
	end := len(pl.segs) - 1
	if pl.dirty >= end {
		return end, nil
	}
	txns := newTxnTracker(p.l.AbortedTransactions(pl.segs[pl.dirty].base, pl.segs[end].base))
	for j := pl.dirty; j < end; j++ {
		s := pl.segs[j]
		err := s.scan(0, s.size.Load(), false, func(h record.Header, _ int64) (bool, error) {
			if err := p.ctx.Err(); err != nil {
				return true, err
			}
			if h.Control() {
				txns.onControl(h)
				return false, nil
			}
			if txns.onData(h) || h.LastOffset() < pl.firstDirty {
				return false, nil
			}
			base := h.BaseOffset()
			return false, record.ForEachRecord(h, func(r *record.Record) error {
				if off := base + int64(r.OffsetDelta); off >= pl.firstDirty && r.Key != nil {
					p.m[string(r.Key)] = off
				}
				return nil
			})
		})
		if err != nil {
			return 0, fmt.Errorf("build offset map from %s: %w", s.logPath(), err)
		}
		if len(p.m) >= MaxCleanerKeys && j+1 < end {
			return j + 1, nil
		}
	}
	return end, nil
}

// groupStats is what cleaning one group did.
type groupStats struct {
	swapped                 bool
	removed                 int64
	bytesBefore, bytesAfter int64
}

// cleanGroup writes the cleaned copy of group and swaps it in. A group of
// one segment that loses nothing and gains no delete horizon is left alone.
func (p *cleanPass) cleanGroup(group []*segment) (st groupStats, err error) {
	l := p.l
	base := group[0].base
	truncs := make([]uint64, len(group))
	for i, s := range group {
		truncs[i] = s.truncations.Load()
		st.bytesBefore += s.size.Load()
	}
	removeFiles := func(suffix string) {
		for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			os.Remove(fileName(l.dir, base, suf) + suffix)
		}
	}
	removeFiles(cleanedSuffix)
	removeFiles(swapSuffix)
	w, err := newSegmentWriter(l.dir, base, p.cfg)
	if err != nil {
		return st, err
	}
	committed := false
	defer func() {
		var ce crashError
		if !committed && !errors.As(err, &ce) {
			w.abandon()
			removeFiles(cleanedSuffix)
			removeFiles(swapSuffix)
		}
	}()
	changed := len(group) > 1
	lastSeg := group[len(group)-1]
	var oldAborts []AbortedTxn
	for _, s := range group {
		oldAborts = append(oldAborts, s.txn.all()...)
	}
	p.txns.index = nil
	for _, s := range group {
		size := s.size.Load()
		err := s.scan(0, size, false, func(h record.Header, pos int64) (bool, error) {
			if err := p.ctx.Err(); err != nil {
				return true, err
			}
			out, removed, err := p.filter(h)
			if err != nil {
				return true, &CorruptionError{File: s.logPath(), Offset: h.BaseOffset(), Err: err}
			}
			if out == nil && s == lastSeg && pos+int64(len(h)) == size {
				// The group's last batch stays, empty if need be, so the
				// cleaned segment ends at the group's last offset: opening
				// after a crash replaces exactly the segments up to it.
				out = p.placeholder(h)
			}
			st.removed += removed
			if out == nil || len(out) != len(h) || &out[0] != &h[0] {
				changed = true
			}
			if out != nil {
				return false, w.write(out)
			}
			return false, nil
		})
		if err != nil {
			return st, err
		}
	}
	if !slices.Equal(oldAborts, p.txns.index) {
		changed = true
	}
	if !changed {
		return st, nil
	}
	st.bytesAfter = w.pos
	w.aborts = p.txns.index
	if err := w.finish(); err != nil {
		return st, err
	}
	if err := crashPoint("cleaned"); err != nil {
		return st, err
	}
	// The .log.swap rename is the commit point: from here a crash
	// completes the swap when the log is opened.
	for _, suf := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix, logSuffix} {
		pth := fileName(l.dir, base, suf)
		if suf == txnIndexSuffix && len(w.aborts) == 0 {
			continue
		}
		if err := os.Rename(pth+cleanedSuffix, pth+swapSuffix); err != nil {
			return st, err
		}
		if err := crashPoint("renamed-to-swap" + suf); err != nil {
			return st, err
		}
	}
	if err := syncDir(l.dir); err != nil {
		return st, err
	}
	seg, _, err := openSegmentFiles(l.dir, base, swapSuffix, p.cfg, false, false, time.UnixMilli(p.nowMs))
	if err != nil {
		return st, err
	}
	if err := l.swapIn(group, truncs, seg); err != nil {
		var ce crashError
		if errors.Is(err, errCleanAborted) || errors.Is(err, ErrLogClosed) || errors.As(err, &ce) {
			seg.close()
			if errors.As(err, &ce) {
				return st, err
			}
			return st, errCleanAborted
		}
		var done errSwappedOffline
		if errors.As(err, &done) {
			committed = true // seg is in the segment list
			return st, err
		}
		seg.close()
		if errors.Is(err, ErrLogOffline) {
			// The undo failed too: leave the files for opening to finish.
			committed = true
		}
		return st, err
	}
	committed = true
	st.swapped = true
	return st, nil
}

// swapIn replaces group by seg in the segment list and on disk, unless the
// group's segments are no longer all there untruncated and inactive.
func (l *Log) swapIn(group []*segment, truncs []uint64, seg *segment) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrLogClosed
	}
	cur := l.segments()
	i := slices.Index(cur, group[0])
	ok := i >= 0 && i+len(group) < len(cur)
	for j := 0; ok && j < len(group); j++ {
		ok = cur[i+j] == group[j] && group[j].truncations.Load() == truncs[j]
	}
	if !ok {
		return errCleanAborted
	}
	if err := crashPoint("swap-locked"); err != nil {
		return err
	}
	// As renameDeleted, but remembering what was renamed, for the undo.
	var moved, swapped []string // old files now *.deleted; suffixes whose .swap took the final name
	for _, s := range group {
		for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			pth := fileName(l.dir, s.base, suf)
			if err := os.Rename(pth, pth+deletedSuffix); err != nil {
				if os.IsNotExist(err) {
					continue
				}
				return l.undoSwapLocked(seg.base, moved, swapped, err)
			}
			moved = append(moved, pth)
		}
	}
	if err := crashPoint("old-deleted"); err != nil {
		return err
	}
	for _, suf := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix, logSuffix} {
		pth := fileName(l.dir, seg.base, suf)
		if suf == txnIndexSuffix && len(seg.txn.all()) == 0 {
			continue // none written
		}
		if err := os.Rename(pth+swapSuffix, pth); err != nil {
			return l.undoSwapLocked(seg.base, moved, swapped, err)
		}
		swapped = append(swapped, suf)
		if err := crashPoint("swapped" + suf); err != nil {
			return err
		}
	}
	segs := make([]*segment, 0, len(cur)-len(group)+1)
	segs = append(append(append(segs, cur[:i]...), seg), cur[i+len(group):]...)
	l.setSegments(segs)
	l.enqueueDeletesLocked(group)
	if err := syncDir(l.dir); err != nil {
		// The swap is done but may not survive a crash: a disk failure.
		l.takeOffline(fmt.Errorf("sync %s after swapping in cleaned segment %d: %w", l.dir, seg.base, err))
		return errSwappedOffline{*l.offline.Load()}
	}
	return nil
}

// errSwappedOffline: the swap was done, then the log went offline.
type errSwappedOffline struct{ error }

func (e errSwappedOffline) Unwrap() error { return e.error }

// undoSwapLocked puts the files of a swap that failed with cause (not a
// crash) back as they were: the cleaned files that took the final names
// (swapped, by suffix) go back to .swap, the group's files renamed
// *.deleted (moved, by old name) get their names back, and only then are
// the .swap files removed, so the old segments, still in the segment list,
// match the folder again. If that fails too the log goes offline
// (ErrLogOffline) rather than running on with files that say something
// else than the segment list; the .swap files stay, and opening the log
// again completes the swap from them as after a crash. It returns the
// error for the pass. Caller holds mu.
func (l *Log) undoSwapLocked(base int64, moved, swapped []string, cause error) error {
	var errs []error
	for _, suf := range swapped {
		pth := fileName(l.dir, base, suf)
		if err := os.Rename(pth, pth+swapSuffix); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		for _, p := range moved {
			if err := os.Rename(p+deletedSuffix, p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 {
		for _, suf := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix, logSuffix} {
			if err := os.Remove(fileName(l.dir, base, suf) + swapSuffix); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, syncDir(l.dir))
	}
	if err := errors.Join(errs...); err != nil {
		l.takeOffline(fmt.Errorf("swapping in cleaned segment %d failed (%w) and undoing it failed: %w",
			base, cause, err))
		return *l.offline.Load()
	}
	l.logger.Warn("swapping in a cleaned segment failed; the old segments stay", "base_offset", base, "err", cause)
	return fmt.Errorf("swap in cleaned segment %d: %w", base, cause)
}

// filter decides which records of h stay (Kafka's
// MemoryRecords.filterTo with LogCleaner's checkBatchRetention and
// shouldRetainRecord). It returns h itself when the batch stays as it is, a
// rewritten batch (valid until the next call), or nil when nothing of it
// stays; and how many records it removed.
func (p *cleanPass) filter(h record.Header) (record.Header, int64, error) {
	if h.Control() {
		return p.filterControl(h)
	}
	aborted := p.txns.onData(h)
	last := p.lastOfProducer(h)
	if aborted || h.RecordCount() == 0 {
		// An aborted transaction's records all go; an empty batch (kept by
		// an earlier pass) has none. Either stays, empty, only as its
		// producer's last batch (Kafka's BatchRetention.RETAIN_EMPTY).
		n := int64(h.RecordCount())
		switch {
		case !last:
			return nil, n, nil
		case n == 0:
			return h, 0, nil
		}
		return p.emptyBatch(h), n, nil
	}
	hasHorizon := h.Attributes()&record.DeleteHorizonBit != 0
	retainDeletes := !hasHorizon || p.nowMs < h.BaseTimestamp()
	base := h.BaseOffset()
	p.keep = p.keep[:0]
	var kept, tombstones int
	err := record.ForEachRecord(h, func(r *record.Record) error {
		keep := true
		if r.Key != nil { // null keys can't be produced to compacted topics; kept if there
			if latest, ok := p.m[string(r.Key)]; ok && latest > base+int64(r.OffsetDelta) {
				keep = false // superseded
			} else if r.Value == nil && !retainDeletes {
				keep = false // a tombstone past its delete horizon
			}
		}
		p.keep = append(p.keep, keep)
		if keep {
			kept++
			if r.Value == nil {
				tombstones++
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	removed := int64(len(p.keep) - kept)
	stamp := !hasHorizon && tombstones > 0
	horizon := int64(-1)
	switch {
	case hasHorizon:
		horizon = h.BaseTimestamp()
	case stamp:
		horizon = p.horizon()
	}
	if tombstones > 0 && horizon >= 0 {
		p.minHorizon = min(p.minHorizon, horizon)
	}
	if removed == 0 && !stamp {
		return h, 0, nil
	}
	if kept == 0 {
		// Keep the header of a producer's last batch so its sequence
		// survives (Kafka's BatchRetention.RETAIN_EMPTY).
		if last {
			return p.emptyBatch(h), removed, nil
		}
		return nil, removed, nil
	}
	out, err := p.rewrite(h, horizon)
	return out, removed, err
}

// Byte offsets of v2 batch header fields (see internal/record/doc.go).
const (
	hdrLength        = 8
	hdrLeaderEpoch   = 12
	hdrMagic         = 16
	hdrAttributes    = 21
	hdrLastDelta     = 23
	hdrBaseTimestamp = 27
	hdrMaxTimestamp  = 35
	hdrProducerID    = 43
	hdrProducerEpoch = 51
	hdrBaseSequence  = 53
	hdrRecordCount   = 57
)

// header writes a batch header into the first record.HeaderSize bytes of b
// from h's fields and recomputes the CRC over b.
func writeHeader(b []byte, h record.Header, attrs int16, baseTs, maxTs int64, count int32) record.Header {
	be := binary.BigEndian
	be.PutUint64(b, uint64(h.BaseOffset()))
	be.PutUint32(b[hdrLength:], uint32(len(b)-record.LogOverhead))
	be.PutUint32(b[hdrLeaderEpoch:], uint32(h.PartitionLeaderEpoch()))
	b[hdrMagic] = 2
	be.PutUint16(b[hdrAttributes:], uint16(attrs))
	be.PutUint32(b[hdrLastDelta:], uint32(h.LastOffsetDelta()))
	be.PutUint64(b[hdrBaseTimestamp:], uint64(baseTs))
	be.PutUint64(b[hdrMaxTimestamp:], uint64(maxTs))
	be.PutUint64(b[hdrProducerID:], uint64(h.ProducerID()))
	be.PutUint16(b[hdrProducerEpoch:], uint16(h.ProducerEpoch()))
	be.PutUint32(b[hdrBaseSequence:], uint32(h.BaseSequence()))
	be.PutUint32(b[hdrRecordCount:], uint32(count))
	out := record.Header(b)
	out.UpdateCRC()
	return out
}

// emptyBatch is h without records, uncompressed, with its offsets, producer
// fields and flags (Kafka's MemoryRecords.writeEmptyHeader).
func (p *cleanPass) emptyBatch(h record.Header) record.Header {
	p.out = append(p.out[:0], make([]byte, record.HeaderSize)...)
	attrs := h.Attributes() &^ (record.CodecMask | record.DeleteHorizonBit)
	return writeHeader(p.out, h, attrs, h.MaxTimestamp(), h.MaxTimestamp(), 0)
}

// rewrite re-encodes the kept records of h (p.keep) into a batch with h's
// base offset, last offset delta, producer fields, codec and flags. With
// horizon >= 0 the batch carries the delete horizon (KIP-534): attribute
// bit 6 set and the base timestamp equal to it; record timestamps stay the
// same, as deltas from whatever the base timestamp is.
func (p *cleanPass) rewrite(h record.Header, horizon int64) (record.Header, error) {
	recs := p.recs[:0]
	i := 0
	baseTs, maxTs := horizon, int64(-1)
	first := true
	err := record.ForEachRecord(h, func(r *record.Record) error {
		keep := p.keep[i]
		i++
		if !keep {
			return nil
		}
		ts := h.BaseTimestamp() + r.TimestampDelta
		if first && horizon < 0 {
			baseTs = ts
		}
		first = false
		maxTs = max(maxTs, ts)
		recs = appendRecord(recs, r, ts-baseTs)
		return nil
	})
	p.recs = recs
	if err != nil {
		return nil, err
	}
	if h.LogAppendTime() {
		maxTs = h.MaxTimestamp()
	}
	out, err := record.Compress(h.Codec(), 0, append(p.out[:0], make([]byte, record.HeaderSize)...), recs)
	if err != nil {
		return nil, err
	}
	p.out = out
	attrs := h.Attributes() &^ record.DeleteHorizonBit
	if horizon >= 0 {
		attrs |= record.DeleteHorizonBit
	}
	return writeHeader(out, h, attrs, baseTs, maxTs, int32(len(p.keep)-countFalse(p.keep))), nil
}

func countFalse(b []bool) int {
	n := 0
	for _, v := range b {
		if !v {
			n++
		}
	}
	return n
}

// appendRecord encodes r with its own offset delta and the given timestamp
// delta (the record layout in internal/record/records.go).
func appendRecord(dst []byte, r *record.Record, tsDelta int64) []byte {
	start := len(dst)
	// Encode the body after a 5-byte gap, then move it behind its length.
	dst = append(dst, 0, 0, 0, 0, 0)
	bodyStart := len(dst)
	dst = append(dst, byte(r.Attributes))
	dst = binary.AppendVarint(dst, tsDelta)
	dst = binary.AppendVarint(dst, int64(r.OffsetDelta))
	dst = appendVarbytes(dst, r.Key)
	dst = appendVarbytes(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for _, hd := range r.Headers {
		dst = appendVarbytes(dst, []byte(hd.Key))
		dst = appendVarbytes(dst, hd.Value)
	}
	body := dst[bodyStart:]
	var lenBuf [binary.MaxVarintLen64]byte
	n := binary.PutVarint(lenBuf[:], int64(len(body)))
	copy(dst[start+n:], body)
	copy(dst[start:], lenBuf[:n])
	return dst[:start+n+len(body)]
}

func appendVarbytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// segmentWriter writes a cleaned segment as <base>.log.cleaned with its
// indexes, indexing as segment.append does.
type segmentWriter struct {
	dir        string
	base       int64
	f          *os.File
	w          *bufio.Writer
	pos        int64
	interval   int64
	maxEntries int
	sinceIndex int64
	maxTs      int64
	maxTsOff   int64
	index      []byte
	timeIndex  []byte
	aborts     []AbortedTxn // the .txnindex entries, none: no file
}

func newSegmentWriter(dir string, base int64, cfg *Config) (*segmentWriter, error) {
	f, err := os.OpenFile(fileName(dir, base, logSuffix)+cleanedSuffix, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &segmentWriter{
		dir: dir, base: base, f: f, w: bufio.NewWriterSize(f, 1<<20),
		interval: int64(cfg.IndexIntervalBytes), maxEntries: max(int(cfg.SegmentIndexBytes)/offsetEntrySize, 1),
		maxTs: -1,
	}, nil
}

func (w *segmentWriter) write(h record.Header) error {
	last := h.LastOffset()
	if ts := h.MaxTimestamp(); ts > w.maxTs {
		w.maxTs, w.maxTsOff = ts, last
	}
	if w.sinceIndex > w.interval {
		if len(w.index)/offsetEntrySize < w.maxEntries {
			w.index = binary.BigEndian.AppendUint32(w.index, uint32(last-w.base))
			w.index = binary.BigEndian.AppendUint32(w.index, uint32(w.pos))
		}
		w.addTime(false)
		w.sinceIndex = 0
	}
	if _, err := w.w.Write(h); err != nil {
		return err
	}
	w.pos += int64(len(h))
	w.sinceIndex += int64(len(h))
	return nil
}

// addTime appends (maxTs, its offset) when larger than the last entry, as
// timeIndex.maybeAdd; force may use the last slot.
func (w *segmentWriter) addTime(force bool) {
	n := len(w.timeIndex) / timeEntrySize
	if w.maxTs < 0 || n >= w.maxEntries || (!force && n >= w.maxEntries-1) {
		return
	}
	if n > 0 {
		e := w.timeIndex[(n-1)*timeEntrySize:]
		if w.maxTs <= int64(binary.BigEndian.Uint64(e)) {
			return
		}
	}
	w.timeIndex = binary.BigEndian.AppendUint64(w.timeIndex, uint64(w.maxTs))
	w.timeIndex = binary.BigEndian.AppendUint32(w.timeIndex, uint32(w.maxTsOff-w.base))
}

// finish flushes and fsyncs the .log.cleaned and writes and fsyncs the
// index files next to it (the .txnindex only with entries).
func (w *segmentWriter) finish() error {
	w.addTime(true)
	if err := w.w.Flush(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	files := []struct {
		suf  string
		data []byte
	}{{indexSuffix, w.index}, {timeIndexSuffix, w.timeIndex}}
	if len(w.aborts) > 0 {
		files = append(files, struct {
			suf  string
			data []byte
		}{txnIndexSuffix, encodeTxnEntries(w.aborts)})
	}
	for _, x := range files {
		f, err := os.OpenFile(fileName(w.dir, w.base, x.suf)+cleanedSuffix, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(x.data)
		err = errors.Join(err, f.Sync(), f.Close())
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *segmentWriter) abandon() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
