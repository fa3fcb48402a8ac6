package replica

import (
	"github.com/samsa-io/samsa/internal/record"
)

// AppendInternal appends a batch the broker built itself (coordinator
// records for __consumer_offsets) as leader, skipping the client-facing
// validation of AppendRecords: the batch must be a well-formed v2 batch with
// a valid CRC. A batch with a producer id (a transactional offset commit,
// base sequence record.NoSequence) is appended as Kafka appends with origin
// COORDINATOR (storage.Log.AppendAsCoordinator): its producer epoch is
// checked (storage.ErrInvalidProducerEpoch when older than the producer's)
// but not its sequence, and a transactional batch opens a transaction that
// holds the last stable offset until its marker (WriteTxnMarker). It
// returns the offset of the batch's first record once the batch is in the
// log and the high watermark covers it.
func (p *Partition) AppendInternal(batch record.Header) (int64, error) {
	if err := p.offline.Load(); err != nil {
		return 0, *err
	}
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	if !p.IsLeader() {
		return 0, ErrNotLeader
	}
	info, err := p.log.AppendAsCoordinator(batch, p.leaderEpoch.Load())
	if err != nil {
		return 0, p.appendFailed(err)
	}
	p.afterLeaderAppend()
	return info.FirstOffset, nil
}

// ReadInternal returns whole batches from offset up to about maxBytes
// (always at least one batch), bounded by the log end rather than the high
// watermark: coordinators replaying their own partition read everything
// that was appended. An offset below the log start offset reads from the
// log start (Kafka's coordinators load from logStartOffset), so a replay
// from 0 works after retention (cleanup.policy=compact,delete) or
// DeleteRecords moved the start.
func (p *Partition) ReadInternal(offset int64, maxBytes int) ([]byte, error) {
	offset = max(offset, p.log.LogStartOffset())
	return p.log.ReadAppend(nil, offset, maxBytes, p.log.LogEndOffset(), true)
}
