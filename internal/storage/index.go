package storage

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
)

// mmapIndex is a file of fixed-size entries sorted by offset, memory mapped
// like Kafka's AbstractIndex. The active segment's index file is
// preallocated to segment.index.bytes (rounded down to whole entries) and
// trimmed to its entries when the segment becomes inactive or closes.
//
// One writer (under Log.mu) appends; readers run concurrently. The entry
// count is atomic and stored after the entry's bytes, so a reader that loads
// n sees n complete entries. mu guards the mapping itself: lookups hold it
// shared, remap and close hold it exclusively.
type mmapIndex struct {
	mu         sync.RWMutex
	f          *os.File
	path       string
	base       int64
	entrySize  int
	mm         []byte // the mapping; nil when the file is empty or closed
	n          atomic.Int32
	maxEntries int // entries the mapping can hold
	writable   bool
}

// openMmapIndex opens or creates the index at path. A writable index is
// (re)sized to maxBytes; a read-only one is mapped at its file size.
// The entry count is the file size in whole entries; callers sanity-check it.
func openMmapIndex(path string, base int64, entrySize int, maxBytes int64, writable bool) (*mmapIndex, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, err
	}
	idx := &mmapIndex{f: f, path: path, base: base, entrySize: entrySize}
	size := st.Size()
	aligned := size%int64(entrySize) == 0
	n := size / int64(entrySize)
	if writable {
		max := maxBytes / int64(entrySize)
		if max < 1 {
			max = 1
		}
		if n > max {
			n = max
		}
		if err := idx.remap(max * int64(entrySize)); err != nil {
			f.Close()
			return nil, false, err
		}
		idx.writable = true
	} else if err := idx.remap(n * int64(entrySize)); err != nil {
		f.Close()
		return nil, false, err
	}
	idx.n.Store(int32(n))
	return idx, aligned, nil
}

// remap truncates or extends the file to size bytes and maps it again.
// Caller holds mu exclusively or owns idx alone.
func (x *mmapIndex) remap(size int64) error {
	if x.mm != nil {
		if err := syscall.Munmap(x.mm); err != nil {
			return fmt.Errorf("munmap %s: %w", x.path, err)
		}
		x.mm = nil
	}
	if err := x.f.Truncate(size); err != nil {
		return err
	}
	x.maxEntries = int(size / int64(x.entrySize))
	if size == 0 {
		return nil
	}
	mm, err := syscall.Mmap(int(x.f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap %s: %w", x.path, err)
	}
	x.mm = mm
	return nil
}

func (x *mmapIndex) entries() int { return int(x.n.Load()) }

// full reports whether no entry can be appended.
func (x *mmapIndex) full() bool { return x.entries() >= x.maxEntries }

// appendEntry writes one entry. Caller is the single writer (Log.mu).
func (x *mmapIndex) appendEntry(e []byte) {
	n := x.entries()
	copy(x.mm[n*x.entrySize:], e)
	x.n.Store(int32(n + 1))
}

// entry returns entry i's bytes. Caller holds mu shared (or is the writer).
func (x *mmapIndex) entry(i int) []byte {
	o := i * x.entrySize
	return x.mm[o : o+x.entrySize]
}

// setEntries drops entries at and after n (truncation, rebuild).
// Caller is the writer.
func (x *mmapIndex) setEntries(n int) {
	x.n.Store(int32(n))
}

// makeWritable resizes the file to maxBytes so it can take appends again
// (the segment became active, or its index is being rebuilt).
func (x *mmapIndex) makeWritable(maxBytes int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	max := maxBytes / int64(x.entrySize)
	if max < 1 {
		max = 1
	}
	if n := int64(x.entries()); n > max {
		max = n
	}
	x.writable = true
	return x.remap(max * int64(x.entrySize))
}

// trim shrinks the file to its entries, as Kafka's trimToValidSize.
func (x *mmapIndex) trim() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.f == nil {
		return nil
	}
	x.writable = false
	return x.remap(int64(x.entries()) * int64(x.entrySize))
}

func (x *mmapIndex) flush() error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.f == nil {
		return nil
	}
	return x.f.Sync() // on Linux fsync also writes back dirty MAP_SHARED pages
}

// close trims a writable index and releases the mapping and file.
func (x *mmapIndex) close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.f == nil {
		return nil
	}
	var err error
	if x.writable {
		err = x.remap(int64(x.entries()) * int64(x.entrySize))
	} else if x.mm != nil {
		err = syscall.Munmap(x.mm)
	}
	x.mm = nil
	x.n.Store(0)
	if cerr := x.f.Close(); err == nil {
		err = cerr
	}
	x.f = nil
	return err
}

// search returns the largest i with key(i) <= target, or -1.
// Caller holds mu shared.
func (x *mmapIndex) search(n int, key func(e []byte) int64, target int64) int {
	i := sort.Search(n, func(i int) bool { return key(x.entry(i)) > target })
	return i - 1
}

const offsetEntrySize = 8

// offsetIndex maps relative offsets to .log file positions (Kafka's
// OffsetIndex). Entry: relativeOffset int32, position int32, big-endian.
// Each entry names the last offset of a batch and that batch's start.
type offsetIndex struct{ *mmapIndex }

func offsetKey(e []byte) int64 { return int64(int32(binary.BigEndian.Uint32(e))) }

func (x offsetIndex) at(i int) (offset int64, pos int64) {
	e := x.entry(i)
	return x.base + int64(int32(binary.BigEndian.Uint32(e))), int64(int32(binary.BigEndian.Uint32(e[4:])))
}

// lookup returns the position of the last indexed batch whose indexed offset
// is <= offset, or (base, 0) when there is none: the place to start scanning.
func (x offsetIndex) lookup(offset int64) (int64, int64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.mm == nil {
		return x.base, 0
	}
	i := x.search(x.entries(), offsetKey, offset-x.base)
	if i < 0 {
		return x.base, 0
	}
	return x.at(i)
}

// last returns the last entry, ok=false when empty.
func (x offsetIndex) last() (offset, pos int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := x.entries()
	if n == 0 || x.mm == nil {
		return 0, 0, false
	}
	o, p := x.at(n - 1)
	return o, p, true
}

// add appends (offset, pos). Caller is the writer and checked !full().
func (x offsetIndex) add(offset, pos int64, scratch *[timeEntrySize]byte) {
	binary.BigEndian.PutUint32(scratch[0:], uint32(offset-x.base))
	binary.BigEndian.PutUint32(scratch[4:], uint32(pos))
	x.appendEntry(scratch[:offsetEntrySize])
}

// truncateTo drops entries for offsets >= offset.
func (x offsetIndex) truncateTo(offset int64) {
	x.mu.RLock()
	i := x.search(x.entries(), offsetKey, offset-x.base-1)
	x.mu.RUnlock()
	x.setEntries(i + 1)
}

// sane is Kafka's OffsetIndex.sanityCheck plus a bound on positions: the
// last entry lies inside the log file and after the previous entry.
func (x offsetIndex) sane(logSize int64) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := x.entries()
	if n == 0 {
		return nil
	}
	o, p := x.at(n - 1)
	if o <= x.base || p <= 0 || p >= logSize {
		return fmt.Errorf("last entry (offset %d, position %d) is outside the segment (base %d, %d bytes)", o, p, x.base, logSize)
	}
	if n > 1 {
		po, pp := x.at(n - 2)
		if po >= o || pp >= p {
			return fmt.Errorf("entries %d and %d are not increasing", n-2, n-1)
		}
	}
	return nil
}

const timeEntrySize = 12

// timeIndex maps timestamps to relative offsets (Kafka's TimeIndex). Entry:
// timestamp int64, relativeOffset int32, big-endian. Timestamps strictly
// increase. The last slot is kept free for the entry appended on roll.
type timeIndex struct{ *mmapIndex }

func timeKey(e []byte) int64 { return int64(binary.BigEndian.Uint64(e)) }

func (x timeIndex) at(i int) (ts, offset int64) {
	e := x.entry(i)
	return int64(binary.BigEndian.Uint64(e)), x.base + int64(int32(binary.BigEndian.Uint32(e[8:])))
}

// fullForAppend reserves the last slot, as Kafka's TimeIndex.isFull does.
func (x timeIndex) fullForAppend() bool { return x.entries() >= x.maxEntries-1 }

// lookup returns the offset of the last entry whose timestamp is <= ts, or
// base when there is none: where to start scanning for ts.
func (x timeIndex) lookup(ts int64) int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.mm == nil {
		return x.base
	}
	i := x.search(x.entries(), timeKey, ts)
	if i < 0 {
		return x.base
	}
	_, o := x.at(i)
	return o
}

func (x timeIndex) last() (ts, offset int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := x.entries()
	if n == 0 || x.mm == nil {
		return 0, 0, false
	}
	ts, offset = x.at(n - 1)
	return ts, offset, true
}

// maybeAdd appends (ts, offset) when ts is larger than the last entry's.
// force uses the reserved last slot (roll, close). Caller is the writer.
func (x timeIndex) maybeAdd(ts, offset int64, force bool, scratch *[timeEntrySize]byte) {
	n := x.entries()
	if n >= x.maxEntries || (!force && x.fullForAppend()) {
		return
	}
	if n > 0 {
		lts, lo := x.at(n - 1)
		if ts <= lts || offset < lo {
			return
		}
	}
	binary.BigEndian.PutUint64(scratch[0:], uint64(ts))
	binary.BigEndian.PutUint32(scratch[8:], uint32(offset-x.base))
	x.appendEntry(scratch[:timeEntrySize])
}

// truncateTo drops entries for offsets >= offset.
func (x timeIndex) truncateTo(offset int64) {
	x.mu.RLock()
	n := x.entries()
	i := n
	for i > 0 {
		if _, o := x.at(i - 1); o < offset {
			break
		}
		i--
	}
	x.mu.RUnlock()
	x.setEntries(i)
}

// sane is Kafka's TimeIndex.sanityCheck: the last entry's offset lies in the
// segment and its timestamp is not below the previous one.
func (x timeIndex) sane(nextOffset int64) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := x.entries()
	if n == 0 {
		return nil
	}
	ts, o := x.at(n - 1)
	if o < x.base || o >= nextOffset {
		return fmt.Errorf("last entry offset %d is outside [%d, %d)", o, x.base, nextOffset)
	}
	if n > 1 {
		pts, po := x.at(n - 2)
		if pts >= ts || po > o {
			return fmt.Errorf("entries %d and %d are not increasing", n-2, n-1)
		}
	}
	return nil
}
