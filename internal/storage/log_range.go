package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"syscall"

	"github.com/samsa-io/samsa/internal/record"
)

// A FileRange is whole batches of one segment file, left in the file so
// that they can be sent to a socket with sendfile(2) instead of being read
// into memory first. ReadRange returns exactly the batches ReadAppend would
// have read.
//
// The range holds its own duplicate of the segment's file descriptor, so it
// stays readable when the segment is closed or deleted (retention, log
// close) before the range is written: the data of a deleted file lives on
// until its last descriptor is closed. Read it only at explicit offsets
// (pread, sendfile with an offset): duplicates share the file position.
// Truncation is the one thing that changes bytes in place; Unchanged
// reports whether the segment has been truncated since the range was taken.
// Close releases the descriptor; a range must be closed exactly once.
type FileRange struct {
	fd     int
	off, n int64
	gen    *atomic.Uint64
	was    uint64
}

// Fd is the range's own file descriptor. Valid until Close.
func (r *FileRange) Fd() int { return r.fd }

// Offset is the file position of the first batch.
func (r *FileRange) Offset() int64 { return r.off }

// Len is the size of the batches in bytes.
func (r *FileRange) Len() int64 { return r.n }

// Unchanged reports whether the segment was not truncated since the range
// was taken, so the bytes in the file are still the ones the range covers.
// Check it after reading or sending them.
func (r *FileRange) Unchanged() bool { return r.gen.Load() == r.was }

// ReadAt reads len(b) bytes of the range starting off bytes into it, as
// io.ReaderAt: all of them or an error (io.EOF past the range's end). It
// does not check Unchanged; callers do once they are done.
func (r *FileRange) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read range: negative offset %d", off)
	}
	n := len(b)
	if off+int64(n) > r.n {
		n = int(max(r.n-off, 0))
	}
	if err := preadFull(r.fd, b[:n], r.off+off); err != nil {
		return 0, err
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// AppendTo reads the batches and appends them to dst (the copy path, for
// small responses).
func (r *FileRange) AppendTo(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, int(r.n))[:start+int(r.n)]
	if err := preadFull(r.fd, dst[start:], r.off); err != nil {
		return dst[:start], err
	}
	if !r.Unchanged() {
		return dst[:start], fmt.Errorf("read range: %w", ErrRangeTruncated)
	}
	return dst, nil
}

// Close releases the range's descriptor.
func (r *FileRange) Close() error {
	if r.fd < 0 {
		return nil
	}
	fd := r.fd
	r.fd = -1
	return syscall.Close(fd)
}

// ErrRangeTruncated means the segment of a FileRange was truncated while the
// range was being read.
var ErrRangeTruncated = errors.New("segment truncated under a file range")

func preadFull(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := syscall.Pread(fd, b, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// ReadRange is ReadAppend returning the batches as a range of their segment
// file instead of bytes: the same batches, from one segment. It returns nil,
// nil where ReadAppend would append nothing. The caller must Close a
// returned range.
func (l *Log) ReadRange(offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (*FileRange, error) {
	return retryReplaced(l, nil, func() (*FileRange, error) {
		return l.readRange(offset, maxBytes, maxOffset, minOneBatch)
	})
}

func (l *Log) readRange(offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (*FileRange, error) {
	segs, i, ok, err := l.startSegment(offset, maxOffset)
	if !ok {
		return nil, err
	}
	for ; i < len(segs); i++ {
		r, err := segs[i].readRange(offset, maxBytes, maxOffset, minOneBatch)
		if err != nil || r != nil {
			return r, err
		}
	}
	return nil, nil
}

// readRange is segment.read returning a range; nil when read would have
// found nothing.
func (s *segment) readRange(offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (*FileRange, error) {
	// Duplicate the descriptor first: everything below reads through it, so
	// the range covers the file the batches were found in.
	fd, err := s.dup()
	if err != nil {
		return nil, err
	}
	r := &FileRange{fd: fd, gen: &s.truncations, was: s.truncations.Load()}
	size := s.size.Load()
	pos, first, err := s.locate(offset, size)
	if err != nil || pos >= size {
		r.Close()
		return nil, err
	}
	n := min(int64(maxBytes), size-pos)
	if minOneBatch && n < first {
		n = min(first, size-pos)
	}
	// Walk the batch headers as segment.read walks the bytes it read
	// (record.Next): whole batches within n, below maxOffset. Small batches
	// are walked in windows of the file, large ones one header read each.
	const hdr = record.LogOverhead + 5 // through magic
	end, p := pos+n, pos
	var window [4096]byte
	var w []byte // the file from wpos on
	wpos := int64(0)
	for end-p >= hdr {
		if p < wpos || p+hdr > wpos+int64(len(w)) {
			want := int64(hdr)
			if len(w) == 0 || p-wpos < int64(len(window)) {
				want = min(int64(len(window)), end-p) // small batches so far
			}
			wpos, w = p, window[:want]
			if err := preadFull(fd, w, p); err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					break
				}
				r.Close()
				return nil, err
			}
		}
		h := w[p-wpos:]
		// record.Next's checks: magic 2, a length that covers the header.
		length := int64(int32(binary.BigEndian.Uint32(h[8:])))
		if h[16] != 2 || length < record.HeaderSize-record.LogOverhead {
			break
		}
		bs := length + record.LogOverhead
		if bs > end-p || int64(binary.BigEndian.Uint64(h)) >= maxOffset {
			break
		}
		p += bs
	}
	if p == pos {
		r.Close()
		return nil, nil
	}
	r.off, r.n = pos, p-pos
	return r, nil
}

// dup returns a new close-on-exec descriptor for the segment's file, or an
// error wrapping os.ErrClosed if the segment is closed.
func (s *segment) dup() (int, error) {
	rc, err := s.log.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("%w: %v", os.ErrClosed, err)
	}
	fd, derr := -1, error(nil)
	err = rc.Control(func(f uintptr) {
		syscall.ForkLock.RLock()
		fd, derr = syscall.Dup(int(f))
		if derr == nil {
			syscall.CloseOnExec(fd)
		}
		syscall.ForkLock.RUnlock()
	})
	if err != nil {
		return -1, fmt.Errorf("%w: %v", os.ErrClosed, err) // closed: Control refuses
	}
	if derr != nil {
		return -1, fmt.Errorf("dup %s: %w", s.logPath(), derr)
	}
	return fd, nil
}
