package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// File name suffixes, as Kafka's LogFileUtils.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	txnIndexSuffix  = ".txnindex"
	snapshotSuffix  = ".snapshot"
	deletedSuffix   = ".deleted"
	cleanedSuffix   = ".cleaned"
	swapSuffix      = ".swap"
)

// fileName is the 20-digit zero-padded offset Kafka names segment files by.
func fileName(dir string, offset int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", offset, suffix))
}

// parseOffsetName returns the offset in "00000000000000000042.log".
func parseOffsetName(name, suffix string) (int64, bool) {
	if len(name) != 20+len(suffix) || name[20:] != suffix {
		return 0, false
	}
	o, err := strconv.ParseInt(name[:20], 10, 64)
	return o, err == nil && o >= 0
}

// segment is one .log file and its two indexes (Kafka's LogSegment).
//
// Fields marked "writer" are touched only under Log.mu. size and the
// max-timestamp pair are atomics read without it.
type segment struct {
	base      int64
	dir       string
	log       *os.File
	index     offsetIndex
	timeIndex timeIndex
	txn       *txnIndex // aborted transactions (.txnindex, created lazily)

	size        atomic.Int64  // bytes of whole batches in the .log file
	maxTs       atomic.Int64  // largest batch max timestamp, -1 none
	maxTsOffset atomic.Int64  // last offset of the batch that holds maxTs
	truncations atomic.Uint64 // bumped before every truncation (FileRange.Unchanged)

	// writer
	bytesSinceIndex int64
	firstBatchTs    int64 // max timestamp of the first batch (Kafka's rollingBasedTimestamp), -1 none
	created         time.Time
	deleteAt        int64 // ms; set once the segment is scheduled for deletion
	scratch         [timeEntrySize]byte
}

func (s *segment) logPath() string { return fileName(s.dir, s.base, logSuffix) }

// openSegment opens (create=true: creates) the three files of a segment.
// active sizes the indexes for appends. missingIndex reports index files that
// did not exist or had a torn size, so the caller rebuilds them.
func openSegment(dir string, base int64, cfg *Config, active, create bool, now time.Time) (s *segment, missingIndex bool, err error) {
	return openSegmentFiles(dir, base, "", cfg, active, create, now)
}

// openSegmentFiles is openSegment on files whose names carry the extra
// suffix (".swap": a cleaned segment opened before it is renamed into
// place; the open files follow the rename).
func openSegmentFiles(dir string, base int64, extra string, cfg *Config, active, create bool, now time.Time) (s *segment, missingIndex bool, err error) {
	s = &segment{base: base, dir: dir, firstBatchTs: -1, created: now}
	s.maxTs.Store(-1)
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	}
	if s.log, err = os.OpenFile(s.logPath()+extra, flags, 0o644); err != nil {
		return nil, false, err
	}
	st, err := s.log.Stat()
	if err != nil {
		s.log.Close()
		return nil, false, err
	}
	s.size.Store(st.Size())
	// NOTE: Config.Preallocate is accepted but not acted on yet: Kafka
	// preallocates segment.bytes and trims on roll, which needs fallocate and
	// a recovery that ignores the zero tail (recovery already cuts it).
	if !create {
		s.created = st.ModTime()
	}
	for _, p := range []string{fileName(dir, base, indexSuffix) + extra, fileName(dir, base, timeIndexSuffix) + extra} {
		if _, err := os.Stat(p); err != nil {
			missingIndex = true
		}
	}
	ix, ok1, err := openMmapIndex(fileName(dir, base, indexSuffix)+extra, base, offsetEntrySize, int64(cfg.SegmentIndexBytes), active)
	if err != nil {
		s.log.Close()
		return nil, false, err
	}
	tx, ok2, err := openMmapIndex(fileName(dir, base, timeIndexSuffix)+extra, base, timeEntrySize, int64(cfg.SegmentIndexBytes), active)
	if err != nil {
		ix.close()
		s.log.Close()
		return nil, false, err
	}
	tn, err := loadTxnIndex(fileName(dir, base, txnIndexSuffix) + extra)
	if err != nil {
		ix.close()
		tx.close()
		s.log.Close()
		return nil, false, err
	}
	// The file, once created, lives under the segment's final name.
	tn.path = fileName(dir, base, txnIndexSuffix)
	s.index, s.timeIndex, s.txn = offsetIndex{ix}, timeIndex{tx}, tn
	if ts, o, ok := s.timeIndex.last(); ok {
		s.maxTs.Store(ts)
		s.maxTsOffset.Store(o)
	}
	return s, missingIndex || !ok1 || !ok2, nil
}

// append writes one batch h at the end of the file and indexes it, as
// Kafka's LogSegment.append. Caller holds Log.mu and has assigned offsets.
func (s *segment) append(h record.Header, indexInterval int64) error {
	pos := s.size.Load()
	last := h.LastOffset()
	maxTs := h.MaxTimestamp()
	if pos == 0 {
		s.firstBatchTs = maxTs
	}
	if maxTs > s.maxTs.Load() {
		s.maxTsOffset.Store(last)
		s.maxTs.Store(maxTs)
	}
	if s.bytesSinceIndex > indexInterval {
		s.index.add(last, pos, &s.scratch)
		s.timeIndex.maybeAdd(s.maxTs.Load(), s.maxTsOffset.Load(), false, &s.scratch)
		s.bytesSinceIndex = 0
	}
	if _, err := s.log.WriteAt(h, pos); err != nil {
		return fmt.Errorf("write %s at %d: %w", s.logPath(), pos, err)
	}
	s.bytesSinceIndex += int64(len(h))
	s.size.Store(pos + int64(len(h)))
	return nil
}

// indexFull reports whether the next index entry would not fit.
func (s *segment) indexFull() bool { return s.index.full() || s.timeIndex.fullForAppend() }

// largestTimestamp is Kafka's LogSegment.largestTimestamp: the largest batch
// timestamp, or the file's modification time when no batch has one.
func (s *segment) largestTimestamp() int64 {
	if ts := s.maxTs.Load(); ts >= 0 {
		return ts
	}
	if st, err := s.log.Stat(); err == nil {
		return st.ModTime().UnixMilli()
	}
	return 0
}

// onBecomeInactive appends the final time index entry and trims both
// indexes to their entries (Kafka's onBecomeInactiveSegment).
func (s *segment) onBecomeInactive() error {
	if ts := s.maxTs.Load(); ts >= 0 {
		s.timeIndex.maybeAdd(ts, s.maxTsOffset.Load(), true, &s.scratch)
	}
	return errors.Join(s.index.trim(), s.timeIndex.trim())
}

func (s *segment) flush() error {
	if err := s.log.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", s.logPath(), err)
	}
	return errors.Join(s.index.flush(), s.timeIndex.flush(), s.txn.flush())
}

// close appends the final time index entry, trims the indexes and closes
// all files.
func (s *segment) close() error {
	var errs []error
	if s.timeIndex.writable {
		if ts := s.maxTs.Load(); ts >= 0 {
			s.timeIndex.maybeAdd(ts, s.maxTsOffset.Load(), true, &s.scratch)
		}
	}
	errs = append(errs, s.index.close(), s.timeIndex.close(), s.txn.close(), s.log.Close())
	return errors.Join(errs...)
}

// truncateTo cuts the segment at byte position pos, which must be the start
// of the first batch with an offset >= offset. Caller holds Log.mu.
func (s *segment) truncateTo(offset, pos int64) error {
	// Before the cut: a FileRange that checks afterwards and sees no change
	// read bytes that were still there.
	s.truncations.Add(1)
	if err := s.log.Truncate(pos); err != nil {
		return err
	}
	s.size.Store(pos)
	s.index.truncateTo(offset)
	s.timeIndex.truncateTo(offset)
	if err := s.txn.truncateTo(offset); err != nil {
		return err
	}
	if pos == 0 {
		s.firstBatchTs = -1
	}
	// The max timestamp may have been cut away; recompute from what is left.
	s.maxTs.Store(-1)
	s.maxTsOffset.Store(0)
	s.bytesSinceIndex = 0
	return s.scan(0, pos, false, func(h record.Header, _ int64) (bool, error) {
		if h.MaxTimestamp() > s.maxTs.Load() {
			s.maxTsOffset.Store(h.LastOffset())
			s.maxTs.Store(h.MaxTimestamp())
		}
		return false, nil
	})
}

// scan calls fn for each batch between byte positions from and to, reading
// the file in large chunks. With headerOnly a batch larger than the chunk is
// passed with only its 61-byte header read. Framing errors stop the scan with
// a *CorruptionError at the batch's position. fn returning stop ends it early.
func (s *segment) scan(from, to int64, headerOnly bool, fn func(h record.Header, pos int64) (stop bool, err error)) error {
	const chunk = 1 << 20
	var buf []byte
	pos := from
	for pos < to {
		n := min(to-pos, chunk)
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := s.log.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		rest := buf
		progressed := false
		for len(rest) > 0 {
			h, r, err := record.Next(rest)
			if err == nil {
				if stop, ferr := fn(h, pos); ferr != nil || stop {
					return ferr
				}
				pos += int64(len(h))
				rest, progressed = r, true
				continue
			}
			if !errors.Is(err, record.ErrTruncated) || pos+int64(len(rest)) >= to || len(rest) < record.HeaderSize {
				return &CorruptionError{File: s.logPath(), Offset: pos, Err: err}
			}
			if progressed {
				break // the batch crosses the chunk end: read again from its start
			}
			// One batch larger than the chunk.
			size := int64(record.Header(rest).Size())
			if pos+size > to {
				return &CorruptionError{File: s.logPath(), Offset: pos, Err: err}
			}
			b := record.Header(rest[:record.HeaderSize])
			if !headerOnly {
				b = make([]byte, size)
				if _, err := s.log.ReadAt(b, pos); err != nil {
					return err
				}
			}
			if stop, ferr := fn(b, pos); ferr != nil || stop {
				return ferr
			}
			pos += size
			break
		}
	}
	return nil
}
