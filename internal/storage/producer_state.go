package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/samsa-io/samsa/internal/record"
)

// numBatchesToRetain is how many recent batches per producer are kept for
// duplicate detection: a producer has at most 5 in flight (Kafka's
// ProducerStateEntry.NUM_BATCHES_TO_RETAIN).
const numBatchesToRetain = 5

// batchMeta identifies one appended idempotent batch.
type batchMeta struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
	maxTimestamp            int64
}

// producerEntry is Kafka's ProducerStateEntry.
type producerEntry struct {
	epoch                 int16
	batches               [numBatchesToRetain]batchMeta // ring, oldest first from head
	head, count           int
	lastTimestamp         int64
	coordinatorEpoch      int32
	currentTxnFirstOffset int64 // -1 when no transaction is open
}

func (e *producerEntry) last() (batchMeta, bool) {
	if e.count == 0 {
		return batchMeta{}, false
	}
	return e.batches[(e.head+e.count-1)%numBatchesToRetain], true
}

func (e *producerEntry) add(m batchMeta) {
	if e.count < numBatchesToRetain {
		e.batches[(e.head+e.count)%numBatchesToRetain] = m
		e.count++
	} else {
		e.batches[e.head] = m
		e.head = (e.head + 1) % numBatchesToRetain
	}
	e.lastTimestamp = m.maxTimestamp
}

func (e *producerEntry) findDuplicate(firstSeq, lastSeq int32) (batchMeta, bool) {
	for i := 0; i < e.count; i++ {
		m := e.batches[(e.head+i)%numBatchesToRetain]
		if m.firstSeq == firstSeq && m.lastSeq == lastSeq {
			return m, true
		}
	}
	return batchMeta{}, false
}

// ProducerState describes one idempotent producer (DescribeProducers).
type ProducerState struct {
	ProducerID            int64
	ProducerEpoch         int16
	LastSequence          int32
	LastOffset            int64
	LastTimestamp         int64
	CoordinatorEpoch      int32
	CurrentTxnStartOffset int64 // -1 when none
}

// producerStates is Kafka's ProducerStateManager for one log. Guarded by
// Log.mu.
type producerStates struct {
	dir       string
	producers map[int64]*producerEntry
	// ongoing maps the producers with an open transaction to its first
	// offset (Kafka's ongoingTxns); firstUnstable is the least of them, -1
	// when none.
	ongoing       map[int64]int64
	firstUnstable int64
}

func newProducerStates(dir string) *producerStates {
	return &producerStates{dir: dir, producers: make(map[int64]*producerEntry), ongoing: make(map[int64]int64), firstUnstable: -1}
}

// rebuildOngoing recomputes ongoing and firstUnstable from the entries.
func (p *producerStates) rebuildOngoing() {
	clear(p.ongoing)
	for pid, e := range p.producers {
		if e.currentTxnFirstOffset >= 0 {
			p.ongoing[pid] = e.currentTxnFirstOffset
		}
	}
	p.recomputeFirstUnstable()
}

func (p *producerStates) recomputeFirstUnstable() {
	p.firstUnstable = -1
	for _, o := range p.ongoing {
		if p.firstUnstable < 0 || o < p.firstUnstable {
			p.firstUnstable = o
		}
	}
}

// firstUnstableExcept is the least first offset of the open transactions of
// producers other than pid, -1 when none (Kafka's lastStableOffset of a
// completed transaction looks for the next incomplete one).
func (p *producerStates) firstUnstableExcept(pid int64) int64 {
	f := int64(-1)
	for id, o := range p.ongoing {
		if id != pid && (f < 0 || o < f) {
			f = o
		}
	}
	return f
}

// check validates an idempotent batch against the producer's state, as
// Kafka's ProducerAppendInfo with origin client. It returns the original
// batch when h duplicates one of the last five.
func (p *producerStates) check(h record.Header) (dup batchMeta, isDup bool, err error) {
	pid := h.ProducerID()
	e, ok := p.producers[pid]
	if !ok {
		return batchMeta{}, false, nil // new or expired producer: any sequence
	}
	epoch := h.ProducerEpoch()
	firstSeq := h.BaseSequence()
	switch {
	case epoch < e.epoch:
		return batchMeta{}, false, fmt.Errorf("%w: producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, pid, epoch, e.epoch)
	case epoch > e.epoch:
		if firstSeq != 0 {
			return batchMeta{}, false, fmt.Errorf("%w: producer %d new epoch %d starts at sequence %d, not 0", ErrOutOfOrderSequence, pid, epoch, firstSeq)
		}
		return batchMeta{}, false, nil
	}
	if m, ok := e.findDuplicate(firstSeq, h.LastSequence()); ok {
		return m, true, nil
	}
	last, ok := e.last()
	if !ok {
		return batchMeta{}, false, nil // entry without batches (e.g. epoch bump marker)
	}
	if firstSeq != record.IncrementSequence(last.lastSeq, 1) {
		return batchMeta{}, false, fmt.Errorf("%w: producer %d epoch %d sequence %d, expected %d", ErrOutOfOrderSequence, pid, epoch, firstSeq, record.IncrementSequence(last.lastSeq, 1))
	}
	return batchMeta{}, false, nil
}

// checkCoordinator validates a batch a coordinator of this broker built
// (Kafka's ProducerAppendInfo with origin COORDINATOR: a transactional
// offset commit on __consumer_offsets, whose base sequence is
// record.NoSequence). Only the producer epoch is checked: an epoch older
// than the producer's is ErrInvalidProducerEpoch. Sequences are not checked
// and there is no duplicate detection; the coordinator appends each batch
// once.
func (p *producerStates) checkCoordinator(h record.Header) error {
	pid := h.ProducerID()
	if e, ok := p.producers[pid]; ok && h.ProducerEpoch() < e.epoch {
		return fmt.Errorf("%w: producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, pid, h.ProducerEpoch(), e.epoch)
	}
	return nil
}

// update records an appended batch (leader, follower or replay). It does not
// validate.
func (p *producerStates) update(h record.Header) {
	pid := h.ProducerID()
	if pid < 0 {
		return
	}
	e, ok := p.producers[pid]
	if !ok {
		e = &producerEntry{epoch: h.ProducerEpoch(), coordinatorEpoch: -1, currentTxnFirstOffset: -1}
		p.producers[pid] = e
	}
	if h.ProducerEpoch() != e.epoch {
		// A new epoch resets the sequence history (Kafka's maybeUpdateProducerEpoch).
		e.epoch = h.ProducerEpoch()
		e.count, e.head = 0, 0
	}
	if h.Control() {
		// A transaction marker ends the open transaction; the caller records
		// the coordinator epoch and any aborted transaction.
		e.currentTxnFirstOffset = -1
		e.lastTimestamp = h.MaxTimestamp()
		if _, ok := p.ongoing[pid]; ok {
			delete(p.ongoing, pid)
			p.recomputeFirstUnstable()
		}
		return
	}
	if h.Transactional() && e.currentTxnFirstOffset < 0 {
		e.currentTxnFirstOffset = h.BaseOffset()
		p.ongoing[pid] = h.BaseOffset()
		if p.firstUnstable < 0 || h.BaseOffset() < p.firstUnstable {
			p.firstUnstable = h.BaseOffset()
		}
	}
	e.add(batchMeta{
		firstSeq: h.BaseSequence(), lastSeq: h.LastSequence(),
		firstOffset: h.BaseOffset(), lastOffset: h.LastOffset(),
		maxTimestamp: h.MaxTimestamp(),
	})
}

// expire drops producers idle since before nowMs-expirationMs that have no
// open transaction (Kafka's removeExpiredProducers).
func (p *producerStates) expire(nowMs, expirationMs int64) {
	for pid, e := range p.producers {
		if e.currentTxnFirstOffset < 0 && nowMs-e.lastTimestamp >= expirationMs {
			delete(p.producers, pid)
		}
	}
}

func (p *producerStates) states() []ProducerState {
	out := make([]ProducerState, 0, len(p.producers))
	for pid, e := range p.producers {
		s := ProducerState{ProducerID: pid, ProducerEpoch: e.epoch, LastSequence: -1, LastOffset: -1,
			LastTimestamp: e.lastTimestamp, CoordinatorEpoch: e.coordinatorEpoch, CurrentTxnStartOffset: e.currentTxnFirstOffset}
		if m, ok := e.last(); ok {
			s.LastSequence, s.LastOffset = m.lastSeq, m.lastOffset
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProducerID < out[j].ProducerID })
	return out
}

// Producer snapshot file, Kafka's ProducerStateManager layout (version 1):
//
//	version int16, crc int32 (CRC-32C of everything after it),
//	count int32, then count entries of 46 bytes:
//	producerId int64, epoch int16, lastSequence int32, lastOffset int64,
//	offsetDelta int32, timestamp int64, coordinatorEpoch int32,
//	currentTxnFirstOffset int64
const (
	snapshotVersion   = 1
	snapshotEntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8
	snapshotHeader    = 2 + 4 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (p *producerStates) encodeSnapshot() []byte {
	pids := make([]int64, 0, len(p.producers))
	for pid := range p.producers {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	b := make([]byte, snapshotHeader, snapshotHeader+len(pids)*snapshotEntrySize)
	binary.BigEndian.PutUint16(b, snapshotVersion)
	binary.BigEndian.PutUint32(b[6:], uint32(len(pids)))
	for _, pid := range pids {
		e := p.producers[pid]
		m, ok := e.last()
		if !ok {
			m = batchMeta{firstSeq: -1, lastSeq: -1, firstOffset: -1, lastOffset: -1}
		}
		b = binary.BigEndian.AppendUint64(b, uint64(pid))
		b = binary.BigEndian.AppendUint16(b, uint16(e.epoch))
		b = binary.BigEndian.AppendUint32(b, uint32(m.lastSeq))
		b = binary.BigEndian.AppendUint64(b, uint64(m.lastOffset))
		b = binary.BigEndian.AppendUint32(b, uint32(m.lastOffset-m.firstOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(e.lastTimestamp))
		b = binary.BigEndian.AppendUint32(b, uint32(e.coordinatorEpoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.currentTxnFirstOffset))
	}
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
	return b
}

func decodeSnapshot(path string, b []byte) (map[int64]*producerEntry, error) {
	bad := func(why string) error { return &CorruptionError{File: path, Err: errors.New(why)} }
	if len(b) < snapshotHeader {
		return nil, bad("snapshot shorter than its header")
	}
	if v := int16(binary.BigEndian.Uint16(b)); v != snapshotVersion {
		return nil, bad(fmt.Sprintf("snapshot version %d", v))
	}
	if binary.BigEndian.Uint32(b[2:]) != crc32.Checksum(b[6:], castagnoli) {
		return nil, bad("snapshot CRC mismatch")
	}
	n := int(int32(binary.BigEndian.Uint32(b[6:])))
	if n < 0 || len(b) != snapshotHeader+n*snapshotEntrySize {
		return nil, bad(fmt.Sprintf("snapshot declares %d entries in %d bytes", n, len(b)))
	}
	out := make(map[int64]*producerEntry, n)
	r := b[snapshotHeader:]
	for i := 0; i < n; i++ {
		pid := int64(binary.BigEndian.Uint64(r))
		e := &producerEntry{
			epoch:                 int16(binary.BigEndian.Uint16(r[8:])),
			lastTimestamp:         int64(binary.BigEndian.Uint64(r[26:])),
			coordinatorEpoch:      int32(binary.BigEndian.Uint32(r[34:])),
			currentTxnFirstOffset: int64(binary.BigEndian.Uint64(r[38:])),
		}
		lastSeq := int32(binary.BigEndian.Uint32(r[10:]))
		lastOffset := int64(binary.BigEndian.Uint64(r[14:]))
		delta := int32(binary.BigEndian.Uint32(r[22:]))
		if lastOffset >= 0 {
			fs := int64(lastSeq) - int64(delta)
			if lastSeq >= 0 && fs < 0 { // the batch wrapped past MaxInt32
				fs += 1 << 31
			}
			firstSeq := int32(fs)
			e.add(batchMeta{firstSeq: firstSeq, lastSeq: lastSeq, firstOffset: lastOffset - int64(delta), lastOffset: lastOffset, maxTimestamp: e.lastTimestamp})
		}
		out[pid] = e
		r = r[snapshotEntrySize:]
	}
	return out, nil
}

// writeSnapshot writes <offset>.snapshot (tmp, fsync, rename).
func (p *producerStates) writeSnapshot(offset int64) error {
	return writeFileAtomic(fileName(p.dir, offset, snapshotSuffix), p.encodeSnapshot())
}

// snapshotOffsets lists the snapshot files' offsets, ascending.
func snapshotOffsets(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range ents {
		if o, ok := parseOffsetName(e.Name(), snapshotSuffix); ok {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out, nil
}

// deleteSnapshots removes snapshots with offsets outside [lo, hi].
func deleteSnapshots(dir string, lo, hi int64) error {
	offs, err := snapshotOffsets(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range offs {
		if o < lo || o > hi {
			if err := os.Remove(fileName(dir, o, snapshotSuffix)); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// loadLatestSnapshot loads the newest readable snapshot at or below maxOffset
// and returns its offset, or -1 when there is none. Unreadable snapshots are
// removed (Kafka does the same and falls back to an older one).
func (p *producerStates) loadLatestSnapshot(maxOffset int64, warn func(path string, err error)) (int64, error) {
	offs, err := snapshotOffsets(p.dir)
	if err != nil {
		return -1, err
	}
	for i := len(offs) - 1; i >= 0; i-- {
		if offs[i] > maxOffset {
			continue
		}
		path := filepath.Join(p.dir, fmt.Sprintf("%020d%s", offs[i], snapshotSuffix))
		b, err := os.ReadFile(path)
		if err == nil {
			var m map[int64]*producerEntry
			if m, err = decodeSnapshot(path, b); err == nil {
				p.producers = m
				p.rebuildOngoing()
				return offs[i], nil
			}
		}
		warn(path, err)
		os.Remove(path)
	}
	p.producers = make(map[int64]*producerEntry)
	p.rebuildOngoing()
	return -1, nil
}
