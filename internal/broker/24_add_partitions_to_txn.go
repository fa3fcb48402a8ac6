package broker

// AddPartitionsToTxn, versions 0-5 (Kafka 3.9's range; v3 is flexible; v4+
// batch several transactions and add VerifyOnly, for brokers checking a
// transactional produce, KIP-890).
//
// Partitions of unknown topics (or beyond a topic's partition count) are
// UNKNOWN_TOPIC_OR_PARTITION, and the other partitions of the same
// transaction OPERATION_NOT_ATTEMPTED, nothing being added, as Kafka does.
// Otherwise the transaction coordinator's answer applies to every partition
// of the transaction: PRODUCER_FENCED for an old epoch (INVALID_PRODUCER_EPOCH
// before v2), INVALID_PRODUCER_ID_MAPPING for an unknown id or another
// producer id, CONCURRENT_TRANSACTIONS while the previous transaction is
// being completed. VerifyOnly answers per partition: none if the partition
// is in the transaction, TRANSACTION_ABORTABLE if not.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.AddPartitionsToTxn, 0, 5, handleAddPartitionsToTxn) }

func handleAddPartitionsToTxn(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	tc, tcErr := b.txnCoordinator()
	if tcErr != nil {
		b.log.Warn("the transaction coordinator is not available", "err", tcErr)
	}
	// add answers one transaction: one error code per partition, in order.
	add := func(txnID string, pid int64, epoch int16, verifyOnly bool, parts []txn.TopicPartition) []int16 {
		codes := make([]int16, len(parts))
		fill := func(code int16) {
			for i := range codes {
				codes[i] = code
			}
		}
		if tcErr != nil {
			fill(kerr.CoordinatorNotAvailable.Code)
			return codes
		}
		unknown := false
		im := b.meta.Image()
		for i, tp := range parts {
			if t := im.Topic(tp.Topic); t == nil || tp.Partition < 0 || tp.Partition >= t.Partitions {
				codes[i], unknown = kerr.UnknownTopicOrPartition.Code, true
			}
		}
		if unknown {
			for i := range codes {
				if codes[i] == 0 {
					codes[i] = kerr.OperationNotAttempted.Code
				}
			}
			return codes
		}
		if verifyOnly {
			errs, err := tc.VerifyPartitions(txnID, pid, epoch, parts)
			if err != nil {
				fill(txnErrorCode(err, req.Version, 2))
				return codes
			}
			for i, e := range errs {
				codes[i] = txn.ErrorCode(e)
			}
			return codes
		}
		if err := tc.AddPartitions(txnID, pid, epoch, parts); err != nil {
			b.log.Debug("AddPartitionsToTxn refused", "transactional_id", txnID, "client_id", h.ClientID, "err", err)
			fill(txnErrorCode(err, req.Version, 2))
		}
		return codes
	}

	if req.Version < 4 {
		var parts []txn.TopicPartition
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, txn.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
		codes := add(req.TransactionalID, req.ProducerID, req.ProducerEpoch, false, parts)
		i := 0
		for _, t := range req.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[i]
				i++
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	for _, tr := range req.Transactions {
		var parts []txn.TopicPartition
		for _, t := range tr.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, txn.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
		codes := add(tr.TransactionalID, tr.ProducerID, tr.ProducerEpoch, tr.VerifyOnly, parts)
		rtx := kmsg.NewAddPartitionsToTxnResponseTransaction()
		rtx.TransactionalID = tr.TransactionalID
		i := 0
		for _, t := range tr.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[i]
				i++
				rt.Partitions = append(rt.Partitions, rp)
			}
			rtx.Topics = append(rtx.Topics, rt)
		}
		resp.Transactions = append(resp.Transactions, rtx)
	}
	return resp, nil
}
