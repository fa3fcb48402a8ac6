package broker

import (
	"errors"
	"fmt"
	"time"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kerr"
)

// The transaction coordinator runs once __transaction_state exists: at
// start when the topic is already there (after the group coordinator,
// which completes markers on __consumer_offsets), else on first use
// (FindCoordinator for a transaction key, or InitProducerId with a
// transactional id), when the topic is created with Kafka's settings.

// txnCoordinator returns the coordinator, creating __transaction_state and
// loading its partitions on first use.
func (b *Broker) txnCoordinator() (*txn.Coordinator, error) {
	if c := b.txns.Load(); c != nil {
		return c, nil
	}
	b.txnsMu.Lock()
	defer b.txnsMu.Unlock()
	if c := b.txns.Load(); c != nil {
		return c, nil
	}
	err := b.ensureInternalTopic(txn.Topic, b.cfgInt("transaction.state.log.num.partitions", 50),
		b.cfgInt("transaction.state.log.segment.bytes", 100<<20), "uncompressed")
	if err != nil {
		return nil, err
	}
	return b.startTxns()
}

// startTxns creates the coordinator and loads every partition of
// __transaction_state. b.txnsMu held.
func (b *Broker) startTxns() (*txn.Coordinator, error) {
	t := b.meta.Image().Topic(txn.Topic)
	if t == nil {
		return nil, fmt.Errorf("%s is not in this broker's metadata yet", txn.Topic)
	}
	ms := func(key string, def int) time.Duration { return time.Duration(b.cfgInt(key, def)) * time.Millisecond }
	cfg := txn.Config{
		MaxTimeout:     ms("transaction.max.timeout.ms", 900000),
		IDExpiration:   ms("transactional.id.expiration.ms", 604800000),
		AbortInterval:  ms("transaction.abort.timed.out.transaction.cleanup.interval.ms", 10000),
		ExpireInterval: ms("transaction.remove.expired.transaction.cleanup.interval.ms", 3600000),
		LoadBufferSize: b.cfgInt("transaction.state.log.load.buffer.size", 5<<20),
	}
	c := txn.New(cfg, t.Partitions, txnStore{b}, txnMarkers{b}, b.pids.next1, b.baseLog.With("node_id", b.nodeID))
	if b.cluster != nil {
		// Partitions load as this broker becomes their leader (cluster.go).
		b.txns.Store(c)
		return c, nil
	}
	for p := int32(0); p < t.Partitions; p++ {
		part := b.replicas.Partition(txn.Topic, p)
		if part == nil {
			c.Close()
			return nil, fmt.Errorf("%s-%d is not open", txn.Topic, p)
		}
		if err := c.LoadPartition(p, part.LeaderEpoch()); err != nil {
			c.Close()
			return nil, err
		}
	}
	b.txns.Store(c)
	return c, nil
}

// txnStore gives the coordinator the partitions of __transaction_state.
type txnStore struct{ b *Broker }

func (s txnStore) Append(p int32, batch record.Header) error {
	part := s.b.replicas.Partition(txn.Topic, p)
	if part == nil {
		return fmt.Errorf("%s-%d is not open", txn.Topic, p)
	}
	epoch := part.LeaderEpoch()
	if _, err := part.AppendInternal(batch); err != nil {
		return err
	}
	return s.b.waitReplicated(part, part.LogEndOffset(), epoch)
}

func (s txnStore) Read(p int32, offset int64, maxBytes int) ([]byte, error) {
	part := s.b.replicas.Partition(txn.Topic, p)
	if part == nil {
		return nil, fmt.Errorf("%s-%d is not open", txn.Topic, p)
	}
	return part.ReadInternal(offset, maxBytes)
}

// txnMarkers writes the coordinator's markers to the local partitions.
type txnMarkers struct{ b *Broker }

func (m txnMarkers) WriteMarker(tp txn.TopicPartition, pid int64, epoch int16, commit bool, coordinatorEpoch int32) error {
	part := m.b.replicas.Partition(tp.Topic, tp.Partition)
	if m.b.cluster != nil && (part == nil || !part.IsLeader()) {
		// Led elsewhere: the marker goes to that broker (WriteTxnMarkers).
		return m.b.cluster.writeRemoteMarker(tp, pid, epoch, commit, coordinatorEpoch)
	}
	if part == nil {
		return txn.ErrPartitionGone
	}
	_, err := m.b.writeMarker(part, pid, epoch, commit, coordinatorEpoch)
	if errors.Is(err, storage.ErrInvalidProducerEpoch) || errors.Is(err, storage.ErrTransactionCoordinatorFenced) {
		return fmt.Errorf("%w: %v", txn.ErrFenced, err)
	}
	return err
}

// completeGroupTxn writes a marker on a __consumer_offsets partition
// through the group coordinator, which commits or drops the producer's
// pending offsets with it.
func (b *Broker) completeGroupTxn(p int32, pid int64, epoch int16, commit bool, coordinatorEpoch int32) error {
	gc, err := b.groupCoordinator()
	if err != nil {
		return err
	}
	return gc.CompleteTxn(p, pid, epoch, commit, coordinatorEpoch)
}

// txnErrorCode maps a coordinator error to the wire, turning
// PRODUCER_FENCED into INVALID_PRODUCER_EPOCH for request versions older
// than fencedSince, which predate KIP-588's error code, as Kafka does.
func txnErrorCode(err error, version, fencedSince int16) int16 {
	code := txn.ErrorCode(err)
	if code == kerr.ProducerFenced.Code && version < fencedSince {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}
