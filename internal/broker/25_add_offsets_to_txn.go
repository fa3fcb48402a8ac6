package broker

// AddOffsetsToTxn, versions 0-4 (Kafka 3.9's range; v3 is flexible).
//
// Adds the group's __consumer_offsets partition to the producer's
// transaction, so that the offsets it commits with TxnOffsetCommit are
// committed or dropped with the transaction's marker. Errors as
// AddPartitionsToTxn; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.

import (
	"context"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.AddOffsetsToTxn, 0, 4, handleAddOffsetsToTxn) }

func handleAddOffsetsToTxn(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.AddOffsetsToTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	tc, err := b.txnCoordinator()
	if err != nil {
		b.log.Warn("the transaction coordinator is not available", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	gc, err := b.groupCoordinator()
	if err != nil {
		b.log.Warn("the group coordinator is not available", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	tp := txn.TopicPartition{Topic: group.Topic, Partition: group.PartitionFor(req.Group, gc.Partitions())}
	if err := tc.AddPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, []txn.TopicPartition{tp}); err != nil {
		b.log.Debug("AddOffsetsToTxn refused", "transactional_id", req.TransactionalID, "group", req.Group, "client_id", h.ClientID, "err", err)
		resp.ErrorCode = txnErrorCode(err, req.Version, 2)
	}
	return resp, nil
}
