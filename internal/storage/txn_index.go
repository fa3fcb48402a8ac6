package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/samsa-io/samsa/internal/record"
)

// AbortedTxn is one entry of a segment's transaction index (Kafka's
// AbortedTxn): the producer's aborted transaction spans [FirstOffset,
// LastOffset], LastOffset being the ABORT marker's offset, and
// LastStableOffset was the partition's last stable offset once the marker
// was written.
type AbortedTxn struct {
	ProducerID       int64
	FirstOffset      int64
	LastOffset       int64
	LastStableOffset int64
}

// Transaction index file (.txnindex), Kafka's TransactionIndex: a sequence
// of 34-byte entries, version int16 (0), producerId int64, firstOffset
// int64, lastOffset int64, lastStableOffset int64, in marker order.
const (
	txnEntrySize    = 2 + 8 + 8 + 8 + 8
	txnIndexVersion = 0
)

// txnIndex is a segment's aborted-transaction index. The entries are held in
// memory (aborts are rare) behind an atomic pointer to an immutable slice, so
// fetches read them without a lock; the file is written under Log.mu and is
// created on the first entry, as Kafka creates it lazily.
type txnIndex struct {
	path    string
	f       *os.File // nil until the file exists
	entries atomic.Pointer[[]AbortedTxn]
}

// loadTxnIndex reads path's whole entries. A torn last entry or one with an
// unknown version ends the index there: entries after the producer
// snapshot are rebuilt from the log on open (loadProducerState).
func loadTxnIndex(path string) (*txnIndex, error) {
	t := &txnIndex{path: path}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	var es []AbortedTxn
	for len(b) >= txnEntrySize && binary.BigEndian.Uint16(b) == txnIndexVersion {
		es = append(es, AbortedTxn{
			ProducerID:       int64(binary.BigEndian.Uint64(b[2:])),
			FirstOffset:      int64(binary.BigEndian.Uint64(b[10:])),
			LastOffset:       int64(binary.BigEndian.Uint64(b[18:])),
			LastStableOffset: int64(binary.BigEndian.Uint64(b[26:])),
		})
		b = b[txnEntrySize:]
	}
	if t.f, err = os.OpenFile(path, os.O_RDWR, 0o644); err != nil {
		return nil, err
	}
	if len(b) > 0 {
		if err := t.f.Truncate(int64(len(es)) * txnEntrySize); err != nil {
			t.f.Close()
			return nil, err
		}
	}
	t.entries.Store(&es)
	return t, nil
}

func (t *txnIndex) all() []AbortedTxn {
	if p := t.entries.Load(); p != nil {
		return *p
	}
	return nil
}

// append adds an entry at the end of the file. Caller holds Log.mu.
func (t *txnIndex) append(a AbortedTxn) error {
	old := t.all()
	if n := len(old); n > 0 && old[n-1].LastOffset >= a.LastOffset {
		return fmt.Errorf("%s: aborted transaction ending at %d is not after %d", t.path, a.LastOffset, old[n-1].LastOffset)
	}
	if t.f == nil {
		f, err := os.OpenFile(t.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		t.f = f
	}
	b := appendTxnEntry(make([]byte, 0, txnEntrySize), a)
	if _, err := t.f.WriteAt(b, int64(len(old))*txnEntrySize); err != nil {
		return fmt.Errorf("write %s: %w", t.path, err)
	}
	es := append(append(make([]AbortedTxn, 0, len(old)+1), old...), a)
	t.entries.Store(&es)
	return nil
}

// appendTxnEntry appends a's 34-byte .txnindex entry to dst.
func appendTxnEntry(dst []byte, a AbortedTxn) []byte {
	dst = binary.BigEndian.AppendUint16(dst, txnIndexVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(a.ProducerID))
	dst = binary.BigEndian.AppendUint64(dst, uint64(a.FirstOffset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(a.LastOffset))
	return binary.BigEndian.AppendUint64(dst, uint64(a.LastStableOffset))
}

// truncateTo drops entries whose marker is at or after offset (Kafka's
// TransactionIndex.truncateTo). Caller holds Log.mu.
func (t *txnIndex) truncateTo(offset int64) error {
	old := t.all()
	n := len(old)
	for n > 0 && old[n-1].LastOffset >= offset {
		n--
	}
	if n == len(old) {
		return nil
	}
	es := append([]AbortedTxn(nil), old[:n]...)
	t.entries.Store(&es)
	if t.f != nil {
		if err := t.f.Truncate(int64(n) * txnEntrySize); err != nil {
			return fmt.Errorf("truncate %s: %w", t.path, err)
		}
	}
	return nil
}

func (t *txnIndex) flush() error {
	if t.f == nil {
		return nil
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", t.path, err)
	}
	return nil
}

func (t *txnIndex) close() error {
	if t.f == nil {
		return nil
	}
	return t.f.Close()
}

// Control record types (Kafka's ControlRecordType).
const (
	controlAbort  = 0
	controlCommit = 1
)

// parseMarker decodes the EndTransactionMarker of a control batch: key
// version int16 (0) and type int16; value version int16 (0) and
// coordinatorEpoch int32. ok is false for other control records or a batch
// holding only its header.
func parseMarker(h record.Header) (commit bool, coordinatorEpoch int32, ok bool) {
	if len(h) < h.Size() || h.RecordCount() != 1 {
		return false, 0, false
	}
	err := record.ForEachRecord(h, func(r *record.Record) error {
		if len(r.Key) < 4 || binary.BigEndian.Uint16(r.Key) != 0 || len(r.Value) < 6 {
			return errors.New("not a transaction marker")
		}
		switch binary.BigEndian.Uint16(r.Key[2:]) {
		case controlAbort:
		case controlCommit:
			commit = true
		default:
			return errors.New("not a transaction marker")
		}
		coordinatorEpoch = int32(binary.BigEndian.Uint32(r.Value[2:]))
		return nil
	})
	return commit, coordinatorEpoch, err == nil
}

// markerBatch builds the control batch AppendMarker writes.
func markerBatch(producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32, ts int64) (record.Header, error) {
	var key [4]byte
	if commit {
		binary.BigEndian.PutUint16(key[2:], controlCommit)
	}
	var val [6]byte
	binary.BigEndian.PutUint32(val[2:], uint32(coordinatorEpoch))
	var b record.Builder
	b.Reset(record.BatchFields{
		PartitionLeaderEpoch: record.NoPartitionLeader,
		ProducerID:           producerID, ProducerEpoch: producerEpoch,
		BaseSequence:  record.NoSequence,
		Transactional: true, Control: true,
	})
	b.Append(ts, key[:], val[:], nil)
	return b.Finish(record.CodecNone, 0)
}
