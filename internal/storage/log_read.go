package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/samsa-io/samsa/internal/record"
)

// Read returns whole batches starting with the one containing offset,
// stopping before the first batch whose base offset is >= maxOffset (the high
// watermark) and before maxBytes, but returning at least one batch when
// minOneBatch (KIP-74). Like Kafka it reads from one segment per call.
// offset == LogEndOffset (or >= maxOffset) returns nil, nil; offset below the
// log start offset or above the log end offset returns ErrOffsetOutOfRange.
//
// The slice is freshly read and owned by the caller. Read never takes the
// append lock.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64, minOneBatch bool) ([]byte, error) {
	b, err := l.ReadAppend(nil, offset, maxBytes, maxOffset, minOneBatch)
	if len(b) == 0 {
		return nil, err
	}
	return b[:len(b):len(b)], err
}

// ReadAppend is Read that appends the batches to dst, growing it only if its
// capacity is short, and returns the extended slice; on error or when there
// is nothing to read it returns dst unchanged. It lets a caller reuse one
// buffer across reads (Fetch pools them) instead of allocating, and zeroing,
// a new one per read.
func (l *Log) ReadAppend(dst []byte, offset int64, maxBytes int, maxOffset int64, minOneBatch bool) ([]byte, error) {
	return retryReplaced(l, dst, func() ([]byte, error) {
		return l.read(dst, offset, maxBytes, maxOffset, minOneBatch)
	})
}

// retryReplaced runs a read again when the segment it used was closed under
// it (deleted by retention or replaced by the cleaner), up to three times;
// the next attempt sees the new segment list. Reads never take the append
// lock, so this is how they stay correct against segment changes.
func retryReplaced[T any](l *Log, zero T, read func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := read()
		if err != nil && errors.Is(err, os.ErrClosed) && attempt < 3 {
			if l.closed.Load() {
				return zero, ErrLogClosed
			}
			continue
		}
		return v, err
	}
}

// startSegment checks a read at offset against the log's bounds and returns
// the segments and the index of the one holding offset. ok is false when
// there is nothing to read: offset is the log end or at or past maxOffset.
func (l *Log) startSegment(offset, maxOffset int64) (segs []*segment, i int, ok bool, err error) {
	if l.closed.Load() {
		return nil, 0, false, ErrLogClosed
	}
	leo := l.LogEndOffset()
	segs = l.segments()
	start := l.LogStartOffset()
	if offset == leo {
		return nil, 0, false, nil
	}
	if offset < start || offset > leo {
		return nil, 0, false, fmt.Errorf("%w: offset %d not in [%d, %d] of %s", ErrOffsetOutOfRange, offset, start, leo, l.tp)
	}
	if offset >= maxOffset {
		return nil, 0, false, nil
	}
	i = sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
	return segs, max(i, 0), true, nil
}

func (l *Log) read(dst []byte, offset int64, maxBytes int, maxOffset int64, minOneBatch bool) ([]byte, error) {
	segs, i, ok, err := l.startSegment(offset, maxOffset)
	if !ok {
		return dst, err
	}
	for ; i < len(segs); i++ {
		b, found, err := segs[i].read(dst, offset, maxBytes, maxOffset, minOneBatch)
		if err != nil || found {
			return b, err
		}
	}
	return dst, nil
}

// Header fields needed to walk batches: baseOffset, length, and
// lastOffsetDelta at byte 23.
const walkHeader = 27

// locate returns the position of the first batch whose last offset is >=
// offset, scanning from the index hint, and that batch's size. pos == size
// means there is none.
func (s *segment) locate(offset, size int64) (pos int64, batchSize int64, err error) {
	_, pos = s.index.lookup(offset)
	var window [8192]byte
	for pos < size {
		n := min(int64(len(window)), size-pos)
		if _, err := s.log.ReadAt(window[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		w := window[:n]
		var off int64
		for off+walkHeader <= n {
			bs := int64(int32(binary.BigEndian.Uint32(w[off+8:]))) + record.LogOverhead
			if bs < record.HeaderSize {
				return 0, 0, &CorruptionError{File: s.logPath(), Offset: pos + off, Err: fmt.Errorf("batch length %d", bs)}
			}
			last := int64(binary.BigEndian.Uint64(w[off:])) + int64(int32(binary.BigEndian.Uint32(w[off+23:])))
			if last >= offset {
				return pos + off, bs, nil
			}
			off += bs // may pass the window: the next read starts at the next batch
		}
		if off == 0 {
			return size, 0, nil // a partial header at the end: nothing whole here
		}
		pos += off
	}
	return size, 0, nil
}

// read is LogSegment.read for whole batches, appended to dst. found is
// false when no batch was appended (the caller tries the next segment); dst
// then comes back with its length unchanged.
func (s *segment) read(dst []byte, offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (_ []byte, found bool, _ error) {
	size := s.size.Load()
	pos, first, err := s.locate(offset, size)
	if err != nil || pos >= size {
		return dst, false, err
	}
	n := min(int64(maxBytes), size-pos)
	if minOneBatch && n < first {
		n = min(first, size-pos)
	}
	if n < record.HeaderSize {
		return dst, false, nil
	}
	start := len(dst)
	dst = slices.Grow(dst, int(n))
	// A reused buffer holds stale bytes: only what ReadAt filled counts.
	buf := dst[start : start+int(n)]
	nr, err := s.log.ReadAt(buf, pos)
	if err != nil && !errors.Is(err, io.EOF) {
		return dst[:start], true, err
	}
	end := 0
	for rest := buf[:nr]; len(rest) > 0; {
		h, r, err := record.Next(rest)
		if err != nil || h.BaseOffset() >= maxOffset {
			break
		}
		end += len(h)
		rest = r
	}
	return dst[:start+end], end > 0, nil
}

// OffsetForTimestamp finds the first record with timestamp >= ts at or
// after the log start offset (ListOffsets by time). ok=false if none.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, leaderEpoch int32, ok bool, err error) {
	start := l.LogStartOffset()
	for _, s := range l.segments() {
		if s.maxTs.Load() < ts {
			continue
		}
		o := max(s.timeIndex.lookup(ts), start)
		_, pos := s.index.lookup(o)
		err = s.scan(pos, s.size.Load(), false, func(h record.Header, _ int64) (bool, error) {
			if h.LastOffset() < start || h.MaxTimestamp() < ts {
				return false, nil
			}
			f, t, found, err := firstRecordAtOrAfter(h, ts, start)
			if err != nil || !found {
				return false, err
			}
			offset, timestamp, leaderEpoch, ok = f, t, h.PartitionLeaderEpoch(), true
			return true, nil
		})
		if err != nil || ok {
			return offset, timestamp, leaderEpoch, ok, err
		}
	}
	return 0, 0, -1, false, nil
}

// firstRecordAtOrAfter is record.FirstAtOrAfterTimestamp that also skips
// records below minOffset (a batch straddling the log start offset).
func firstRecordAtOrAfter(h record.Header, ts, minOffset int64) (int64, int64, bool, error) {
	if h.BaseOffset() >= minOffset {
		return record.FirstAtOrAfterTimestamp(h, ts)
	}
	if h.LogAppendTime() {
		return minOffset, h.MaxTimestamp(), true, nil
	}
	var off, t int64
	found := false
	stop := errors.New("stop")
	err := record.ForEachRecord(h, func(r *record.Record) error {
		o, rt := h.BaseOffset()+int64(r.OffsetDelta), h.BaseTimestamp()+r.TimestampDelta
		if o >= minOffset && rt >= ts {
			off, t, found = o, rt, true
			return stop
		}
		return nil
	})
	if err == stop {
		err = nil
	}
	return off, t, found, err
}

// MaxTimestamp returns the record with the largest timestamp and its offset
// (ListOffsets MAX_TIMESTAMP, KIP-734); the earliest one on ties.
// ok=false if the log holds no records.
func (l *Log) MaxTimestamp() (timestamp, offset int64, leaderEpoch int32, ok bool, err error) {
	var best *segment
	for _, s := range l.segments() {
		if s.size.Load() > 0 && (best == nil || s.maxTs.Load() > best.maxTs.Load()) {
			best = s
		}
	}
	if best == nil {
		return 0, 0, -1, false, nil
	}
	want := best.maxTs.Load()
	_, pos := best.index.lookup(best.maxTsOffset.Load())
	if pos >= best.size.Load() {
		pos = 0
	}
	scan := func(from int64) error {
		return best.scan(from, best.size.Load(), false, func(h record.Header, _ int64) (bool, error) {
			if h.MaxTimestamp() != want {
				return false, nil
			}
			o, t, found, err := record.FirstAtOrAfterTimestamp(h, want)
			if err != nil || !found {
				return false, err
			}
			timestamp, offset, leaderEpoch, ok = t, o, h.PartitionLeaderEpoch(), true
			return true, nil
		})
	}
	if err = scan(pos); err == nil && !ok && pos > 0 {
		err = scan(0)
	}
	return timestamp, offset, leaderEpoch, ok, err
}
