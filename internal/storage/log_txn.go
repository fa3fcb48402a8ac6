package storage

import (
	"fmt"

	"github.com/samsa-io/samsa/internal/record"
)

// trackProducerLocked updates the producer state for a batch h written to
// seg (append, replication or replay) and, for an ABORT marker, adds the
// aborted transaction to seg's transaction index (Kafka's
// UnifiedLog.analyzeAndValidateProducerState plus updateTxnIndex). The
// first unstable offset is published before the caller moves the log end
// offset, so a high watermark covering a transactional batch never sees a
// stale one. Caller holds mu (or owns the log while opening it).
func (l *Log) trackProducerLocked(h record.Header, seg *segment) error {
	pid := h.ProducerID()
	if pid < 0 {
		return nil
	}
	if !h.Control() {
		l.producers.update(h)
		if h.Transactional() {
			l.firstUnstable.Store(l.producers.firstUnstable)
		}
		return nil
	}
	first := h.BaseOffset()
	if e := l.producers.producers[pid]; e != nil && e.currentTxnFirstOffset >= 0 {
		first = e.currentTxnFirstOffset
	}
	l.producers.update(h)
	commit, coordinatorEpoch, ok := parseMarker(h)
	if ok {
		l.producers.producers[pid].coordinatorEpoch = coordinatorEpoch
	}
	if ok && !commit {
		lso := l.producers.firstUnstableExcept(pid)
		if lso < 0 {
			lso = h.LastOffset() + 1
		}
		if err := seg.txn.append(AbortedTxn{ProducerID: pid, FirstOffset: first, LastOffset: h.LastOffset(), LastStableOffset: lso}); err != nil {
			return err
		}
	}
	l.firstUnstable.Store(l.producers.firstUnstable)
	return nil
}

// FirstUnstableOffset is the first offset of the oldest open transaction,
// or -1 when none is open. The last stable offset is the smaller of it and
// the high watermark (Kafka's UnifiedLog.firstUnstableOffset). Once
// retention or DeleteRecords moved the log start offset past that first
// offset it is the log start offset, as Kafka's
// maybeIncrementFirstUnstableOffset bounds it, so the last stable offset
// never lies below the log start. Lock-free.
func (l *Log) FirstUnstableOffset() int64 {
	f := l.firstUnstable.Load()
	if f < 0 {
		return f
	}
	return max(f, l.LogStartOffset())
}

// AppendMarker appends a transaction marker (a control batch holding one
// EndTransactionMarker record) for producerID as leader, ending the
// producer's open transaction, and returns its offset. On abort the
// transaction is added to the active segment's .txnindex. As Kafka's
// ProducerAppendInfo.appendEndTxnMarker: a producer epoch older than the
// producer's is ErrInvalidProducerEpoch, a coordinator epoch older than the
// one of the producer's last marker is ErrTransactionCoordinatorFenced; a
// marker for a producer without an open transaction is written anyway.
//
// Safe for concurrent use with appends and reads.
func (l *Log) AppendMarker(producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32, leaderEpoch int32) (int64, error) {
	if producerID < 0 {
		return 0, fmt.Errorf("%w: marker for producer id %d", ErrInvalidBatch, producerID)
	}
	h, err := markerBatch(producerID, producerEpoch, commit, coordinatorEpoch, l.nowMs())
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return 0, err
	}
	if e := l.producers.producers[producerID]; e != nil {
		if producerEpoch < e.epoch {
			return 0, fmt.Errorf("%w: marker for producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, producerID, producerEpoch, e.epoch)
		}
		if e.coordinatorEpoch > coordinatorEpoch {
			return 0, fmt.Errorf("%w: marker for producer %d from coordinator epoch %d, last was %d", ErrTransactionCoordinatorFenced, producerID, coordinatorEpoch, e.coordinatorEpoch)
		}
	}
	base := l.LogEndOffset()
	h.SetBaseOffset(base)
	h.SetPartitionLeaderEpoch(leaderEpoch)
	if err := l.appendLocked(h, l.cfg.Load()); err != nil {
		return 0, err
	}
	return base, nil
}

// AbortedTransactions lists the aborted transactions that overlap
// [startOffset, upperBoundOffset): those whose marker is at or after
// startOffset and whose first offset is below upperBoundOffset, oldest
// marker first (Kafka's UnifiedLog.collectAbortedTransactions). It reads the
// in-memory transaction indexes from the segment holding startOffset on and
// stops at an entry whose last stable offset reaches upperBoundOffset. nil
// when none. Lock-free; only read_committed fetches call it.
func (l *Log) AbortedTransactions(startOffset, upperBoundOffset int64) []AbortedTxn {
	segs := l.segments()
	i := 0
	for i+1 < len(segs) && segs[i+1].base <= startOffset {
		i++
	}
	var out []AbortedTxn
	for ; i < len(segs); i++ {
		for _, a := range segs[i].txn.all() {
			if a.LastOffset >= startOffset && a.FirstOffset < upperBoundOffset {
				out = append(out, a)
			}
			if a.LastStableOffset >= upperBoundOffset {
				return out
			}
		}
	}
	return out
}
