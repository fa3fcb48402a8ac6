package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record layouts of __transaction_state (docs/format/transaction_state.md):
// TransactionLogKey v0 and TransactionLogValue v0, what Kafka 3.9 writes for
// transaction version 1 clients. v1 values (flexible, Kafka 4) are read.
const (
	keyVersion   = 0
	valueVersion = 0
)

func stateKey(txnID string) []byte {
	k := kmsg.NewTxnMetadataKey()
	k.Version, k.TransactionalID = keyVersion, txnID
	return k.AppendTo(nil)
}

func stateValue(m meta) []byte {
	v := kmsg.NewTxnMetadataValue()
	v.Version = valueVersion
	v.ProducerID, v.ProducerEpoch, v.TimeoutMillis, v.State = m.pid, m.epoch, m.timeoutMs, m.state
	v.LastUpdateTimestamp, v.StartTimestamp = m.updateMs, m.startMs
	if m.state != stEmpty {
		v.Topics = []kmsg.TxnMetadataValueTopic{} // Kafka writes null only for Empty
	}
	for i := 0; i < len(m.parts); {
		t := kmsg.NewTxnMetadataValueTopic()
		t.Topic = m.parts[i].Topic
		for ; i < len(m.parts) && m.parts[i].Topic == t.Topic; i++ {
			t.Partitions = append(t.Partitions, m.parts[i].Partition)
		}
		v.Topics = append(v.Topics, t)
	}
	return v.AppendTo(nil)
}

// persist appends m as the new state of t and applies it to memory once it
// is in the log. t.mu held, which orders one id's records.
func (c *Coordinator) persist(t *txn, m meta) error {
	if err := c.append(t.partition, stateKey(t.id), stateValue(m)); err != nil {
		return err
	}
	t.meta = m
	return nil
}

func (c *Coordinator) append(p int32, key, value []byte) error {
	if _, ok := c.coordinatorEpoch(p); !ok {
		return errNotCoordinator
	}
	var b record.Builder
	b.Reset(record.NonIdempotent)
	b.Append(c.now(), key, value, nil)
	batch, err := b.Finish(record.CodecNone, 0)
	if err != nil {
		return err
	}
	if err := c.store.Append(p, batch); err != nil {
		// Kafka answers a failed append to its state log with
		// NOT_COORDINATOR (the client finds the coordinator again and retries).
		c.log.Error("appending to the transaction log failed", "partition", p, "err", err)
		return fmt.Errorf("%w: append to %s-%d: %v", errNotCoordinator, Topic, p, err)
	}
	return nil
}

// replay reads partition p from its start and returns the transactions it
// holds: the last record of each id, without the ids deleted by a tombstone.
func (c *Coordinator) replay(p int32) (map[string]meta, error) {
	out := map[string]meta{}
	var off int64
	for {
		data, err := c.store.Read(p, off, c.cfg.LoadBufferSize)
		if err != nil {
			return nil, err
		}
		if len(data) == 0 {
			return out, nil
		}
		for len(data) > 0 {
			h, rest, err := record.Next(data)
			if err != nil {
				return nil, err
			}
			data = rest
			off = h.NextOffset()
			if h.Control() {
				continue
			}
			err = record.ForEachRecord(h, func(r *record.Record) error {
				if len(r.Key) >= 2 {
					if v := int16(binary.BigEndian.Uint16(r.Key)); v != keyVersion {
						// Kafka's TransactionLog.readTxnRecordKey: an unknown
						// key version is skipped, not a reason to fail the load.
						c.log.Warn("skipping a record with an unknown key version in the transaction log",
							"partition", p, "offset", h.BaseOffset()+int64(r.OffsetDelta), "key_version", v)
						return nil
					}
				}
				var k kmsg.TxnMetadataKey
				if err := k.ReadFrom(r.Key); err != nil {
					return fmt.Errorf("transaction log key: %w", err)
				}
				if r.Value == nil {
					delete(out, k.TransactionalID)
					return nil
				}
				var v kmsg.TxnMetadataValue
				if err := v.ReadFrom(r.Value); err != nil {
					return fmt.Errorf("transaction log value of %q: %w", k.TransactionalID, err)
				}
				if v.Version > 1 {
					return fmt.Errorf("transaction log value version %d of %q (0 and 1 are known)", v.Version, k.TransactionalID)
				}
				if v.State < stEmpty || v.State > stCompleteAbort {
					// Dead and PrepareEpochFence are never written; anything
					// else is not a state.
					return fmt.Errorf("transaction log value of %q has state %d", k.TransactionalID, v.State)
				}
				m := meta{pid: v.ProducerID, epoch: v.ProducerEpoch, timeoutMs: v.TimeoutMillis, state: v.State,
					startMs: v.StartTimestamp, updateMs: v.LastUpdateTimestamp}
				for _, t := range v.Topics {
					for _, part := range t.Partitions {
						m.parts = append(m.parts, TopicPartition{t.Topic, part})
					}
				}
				m.parts = m.withParts(nil)
				out[k.TransactionalID] = m
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("offset %d: %w", h.BaseOffset(), err)
			}
		}
	}
}

// LoadPartition replays partition p of __transaction_state, serves the ids
// it holds with coordinatorEpoch (the partition's leader epoch) and
// completes the transactions a crash left between decision and markers.
func (c *Coordinator) LoadPartition(p int32, coordinatorEpoch int32) error {
	start := time.Now()
	ms, err := c.replay(p)
	if err != nil {
		return fmt.Errorf("load %s-%d: %w", Topic, p, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	var pending []*txn
	counts := map[kmsg.TransactionState]int{}
	for id, m := range ms {
		t := &txn{id: id, partition: p, meta: m, lastEpoch: -1, prevPID: -1}
		c.txns[id] = t
		counts[m.state]++
		if m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort {
			pending = append(pending, t)
		}
	}
	c.loaded[p] = coordinatorEpoch
	c.mu.Unlock()
	if len(ms) > 0 {
		c.log.Info(fmt.Sprintf("loaded %d transactional ids from %s-%d in %d ms", len(ms), Topic, p, time.Since(start).Milliseconds()),
			"partition", p, "ongoing", counts[kmsg.TransactionStateOngoing],
			"prepared", len(pending))
	}
	for _, t := range pending {
		t.mu.Lock()
		if !t.removed {
			c.log.Info("completing a transaction decided before the restart",
				"transactional_id", t.id, "producer_id", t.pid, "state", t.state.String())
			c.complete(t)
		}
		t.mu.Unlock()
	}
	return nil
}

// UnloadPartition stops serving the ids of partition p.
func (c *Coordinator) UnloadPartition(p int32) {
	c.mu.Lock()
	delete(c.loaded, p)
	var ts []*txn
	for id, t := range c.txns {
		if t.partition == p {
			ts = append(ts, t)
			delete(c.txns, id)
		}
	}
	c.mu.Unlock()
	for _, t := range ts {
		t.mu.Lock()
		t.removed = true
		t.mu.Unlock()
	}
}

// ErrorCode is the Kafka error code of an error the coordinator returned.
func ErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}
