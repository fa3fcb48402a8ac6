package storage

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/samsa-io/samsa/internal/record"
)

// Transactions in the cleaner (Kafka's CleanedTransactionMetadata and the
// transaction rules of LogCleaner).
//
// A cleaning pass never reaches the oldest open transaction, so every
// transactional batch it reads belongs to a transaction that has ended,
// even when the marker that ended it lies past the cleaned range. The
// aborted ones are exactly those in the transaction indexes
// (Log.AbortedTransactions over the pass's range, which also reads the
// indexes of later segments). A txnTracker walks the batches of a pass in
// offset order with that list and answers, for each batch:
//
//   - a transactional data batch: whether its transaction was aborted. Its
//     records are then discarded (and kept out of the offset map, so an
//     aborted record never supersedes a committed one); a committed
//     transaction's records are cleaned like any others.
//   - a marker (control batch): whether it may go, which is when no batch of
//     its transaction was read in this pass. A marker whose data may still
//     be in the log stays as it is; one whose data is gone gets a delete
//     horizon (KIP-534: attribute bit 6 and the base timestamp, as a
//     tombstone's batch) and is dropped by the first pass at or after it.
//     An ABORT marker that stays keeps its entry in the cleaned segment's
//     .txnindex; the entry of one that may go is dropped, since no record
//     of that transaction is left to filter.
type txnTracker struct {
	pending   []AbortedTxn             // aborted transactions not reached yet, by first offset
	aborted   map[int64]*abortedInPass // producer id -> its aborted transaction reached, marker not read yet
	committed map[int64]bool           // producer ids with a batch read in their current, not aborted, transaction
	index     []AbortedTxn             // entries kept for the cleaned segment being written
}

type abortedInPass struct {
	txn      AbortedTxn
	sawBatch bool // a batch of the transaction was read in this pass
}

func newTxnTracker(aborts []AbortedTxn) *txnTracker {
	pending := slices.Clone(aborts)
	slices.SortStableFunc(pending, func(a, b AbortedTxn) int {
		switch {
		case a.FirstOffset < b.FirstOffset:
			return -1
		case a.FirstOffset > b.FirstOffset:
			return 1
		}
		return 0
	})
	return &txnTracker{pending: pending, aborted: map[int64]*abortedInPass{}, committed: map[int64]bool{}}
}

// reach makes the aborted transactions that start at or before offset
// current for their producers.
func (t *txnTracker) reach(offset int64) {
	for len(t.pending) > 0 && t.pending[0].FirstOffset <= offset {
		a := t.pending[0]
		t.pending = t.pending[1:]
		if _, ok := t.aborted[a.ProducerID]; !ok {
			t.aborted[a.ProducerID] = &abortedInPass{txn: a}
		}
	}
}

// onData reads a data batch and reports whether it belongs to an aborted
// transaction.
func (t *txnTracker) onData(h record.Header) bool {
	t.reach(h.LastOffset())
	if !h.Transactional() || h.ProducerID() < 0 {
		return false
	}
	if a := t.aborted[h.ProducerID()]; a != nil {
		a.sawBatch = true
		return true
	}
	t.committed[h.ProducerID()] = true
	return false
}

// onControl reads a control batch and reports whether it may be removed:
// it is a marker none of whose transaction's batches were read in this
// pass, or a control batch already emptied by an earlier pass. A kept ABORT
// marker's index entry is added to t.index. Any control batch ends its
// producer's transaction.
func (t *txnTracker) onControl(h record.Header) bool {
	t.reach(h.LastOffset())
	pid := h.ProducerID()
	a := t.aborted[pid]
	sawCommitted := t.committed[pid]
	delete(t.aborted, pid)
	delete(t.committed, pid)
	if h.RecordCount() == 0 {
		if a != nil && a.sawBatch {
			// Cannot happen with this cleaner's own output (an ABORT
			// marker is emptied only once its entry is gone); keep the
			// index saying what the log holds.
			t.index = append(t.index, a.txn)
		}
		return true
	}
	commit, _, ok := parseMarker(h)
	switch {
	case !ok:
		return false // a control record we do not know: keep it
	case commit:
		return !sawCommitted
	case a != nil && a.sawBatch:
		t.index = append(t.index, a.txn)
		return false
	}
	return true
}

// lastRecord is what the producer state says about a producer's last batch
// (Kafka's LastRecord): the last offset of its last data batch, -1 when it
// has none (a marker was its last write), and its epoch.
type lastRecord struct {
	dataOffset int64
	epoch      int16
}

// lastOfProducer reports whether h must stay, emptied if need be, to keep
// its producer's state (Kafka's isBatchLastRecordOfProducer): it is the
// producer's last data batch, or, for a producer whose last write was a
// marker, a control batch of the producer's current epoch. Producers the
// state no longer knows (expired) keep nothing.
func (p *cleanPass) lastOfProducer(h record.Header) bool {
	pid := h.ProducerID()
	if pid < 0 {
		return false
	}
	lr, ok := p.lastOf[pid]
	if !ok {
		return false
	}
	if lr.dataOffset >= 0 {
		return h.LastOffset() == lr.dataOffset
	}
	return h.Control() && h.ProducerEpoch() == lr.epoch
}

// horizon is the delete horizon a batch gets when cleaned now: the time
// plus delete.retention.ms, saturating (Kafka's "never" is Long.MAX_VALUE).
func (p *cleanPass) horizon() int64 {
	if p.cfg.DeleteRetentionMs > math.MaxInt64-p.nowMs {
		return math.MaxInt64
	}
	return p.nowMs + p.cfg.DeleteRetentionMs
}

// filterControl decides what stays of a control batch h (the control
// batch half of Kafka's LogCleaner filter). Results as filter.
func (p *cleanPass) filterControl(h record.Header) (record.Header, int64, error) {
	removable := p.txns.onControl(h)
	last := p.lastOfProducer(h)
	hasHorizon := h.Attributes()&record.DeleteHorizonBit != 0
	n := int64(h.RecordCount())
	if removable && hasHorizon && h.BaseTimestamp() <= p.nowMs {
		if !last {
			return nil, n, nil
		}
		if n == 0 {
			return h, 0, nil
		}
		return p.emptyBatch(h), n, nil
	}
	switch {
	case n == 0:
		if last {
			return h, 0, nil
		}
		return nil, 0, nil
	case !removable:
		return h, 0, nil
	case hasHorizon:
		p.minHorizon = min(p.minHorizon, h.BaseTimestamp())
		return h, 0, nil
	}
	// Its transaction's data is gone: the marker stays until its horizon.
	hz := p.horizon()
	p.minHorizon = min(p.minHorizon, hz)
	p.keep = p.keep[:0]
	for range n {
		p.keep = append(p.keep, true)
	}
	out, err := p.rewrite(h, hz)
	return out, 0, err
}

// placeholder is the empty batch that stands for the last batch of a
// group when nothing of it stays: it keeps the batch's offsets (so the
// cleaned segment ends where the group did), leader epoch, timestamps and
// timestamp type, but no producer and no transactional or control flag, so
// that it neither restores a producer the cleaner let go nor holds a
// transaction's marker in the log. An earlier placeholder is kept as is.
func (p *cleanPass) placeholder(h record.Header) record.Header {
	if h.RecordCount() == 0 && h.ProducerID() < 0 && !h.Transactional() && !h.Control() {
		return h
	}
	p.out = append(p.out[:0], make([]byte, record.HeaderSize)...)
	attrs := h.Attributes() & record.TimestampTypeBit
	out := writeHeader(p.out, h, attrs, h.MaxTimestamp(), h.MaxTimestamp(), 0)
	return writeProducer(out, -1, -1, -1)
}

// writeProducer sets the producer fields of batch h and its CRC.
func writeProducer(h record.Header, producerID int64, epoch int16, baseSequence int32) record.Header {
	be := binary.BigEndian
	be.PutUint64(h[hdrProducerID:], uint64(producerID))
	be.PutUint16(h[hdrProducerEpoch:], uint16(epoch))
	be.PutUint32(h[hdrBaseSequence:], uint32(baseSequence))
	h.UpdateCRC()
	return h
}

// encodeTxnEntries is the content of a .txnindex holding es.
func encodeTxnEntries(es []AbortedTxn) []byte {
	b := make([]byte, 0, len(es)*txnEntrySize)
	for _, a := range es {
		b = appendTxnEntry(b, a)
	}
	return b
}
