package broker

// TxnOffsetCommit, versions 0-4 (Kafka 3.9's range; v3 is flexible and adds
// the member's generation, id and instance id, checked as OffsetCommit
// checks them; v4 is KIP-890's TRANSACTION_ABORTABLE).
//
// The offsets a transactional producer commits for a group are appended to
// the group's __consumer_offsets partition as a transactional batch and stay
// pending (invisible to OffsetFetch) until the transaction's marker on that
// partition commits or drops them (internal/group). With
// transaction.partition.verification.enable, as in Kafka 3.9, the
// transaction coordinator first confirms that AddOffsetsToTxn added the
// group's partition to the producer's open transaction, and the append runs
// with the transaction locked; a coordinator on another broker is asked
// with AddPartitionsToTxn v4 VerifyOnly, the append guarded as a verified
// produce is (00_produce.go). Its refusals are mapped as Kafka maps them:
// a fenced producer gets INVALID_PRODUCER_EPOCH, a partition not in the
// transaction INVALID_TXN_STATE (TRANSACTION_ABORTABLE from v4).

import (
	"context"
	"errors"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.TxnOffsetCommit, 0, 4, handleTxnOffsetCommit) }

func handleTxnOffsetCommit(ctx context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.TxnOffsetCommitRequest) (kmsg.Response, error) {
	fail := func(code int16) (kmsg.Response, error) {
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	gc, err := b.groupCoordinator()
	if err != nil {
		b.log.Warn("the group coordinator is not available", "err", err)
		return fail(kerr.CoordinatorNotAvailable.Code)
	}
	exists := func(topic string, partition int32) bool {
		t := b.meta.Image().Topic(topic)
		return t != nil && partition >= 0 && partition < t.Partitions
	}
	anyKnown := false
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			anyKnown = anyKnown || exists(t.Topic, p.Partition)
		}
	}
	if !b.cfg.TransactionPartitionVerificationEnable || !anyKnown {
		// With nothing to append (every partition unknown) Kafka answers
		// UNKNOWN_TOPIC_OR_PARTITION without asking the coordinator.
		return gc.TxnCommitOffsets(req, exists), nil
	}
	var resp *kmsg.TxnOffsetCommitResponse
	commit := func() error {
		resp = gc.TxnCommitOffsets(req, exists)
		return nil
	}
	tp := txn.TopicPartition{Topic: group.Topic, Partition: group.PartitionFor(req.Group, gc.Partitions())}
	if coord, remote := b.remoteTxnCoordinator(req.TransactionalID); remote {
		// The transaction coordinator is another broker: ask it, and
		// append only if no marker for the producer came in between
		// (see verifiedAppend).
		part := b.replicas.Partition(tp.Topic, tp.Partition)
		if part == nil {
			return fail(kerr.NotCoordinator.Code)
		}
		guard := part.StartVerification(req.ProducerID)
		err = b.cluster.verifyTxnPartition(ctx, coord, req.TransactionalID, req.ProducerID, req.ProducerEpoch, tp.Topic, tp.Partition)
		if err == nil {
			if err = part.WithVerified(req.ProducerID, guard, commit); errors.Is(err, replica.ErrVerificationVoid) {
				err = kerr.TransactionAbortable
			}
		}
	} else {
		tc, tcErr := b.txnCoordinator()
		if tcErr != nil {
			b.log.Warn("the transaction coordinator is not available", "err", tcErr)
			return fail(kerr.CoordinatorNotAvailable.Code)
		}
		err = tc.WithVerified(req.TransactionalID, req.ProducerID, req.ProducerEpoch, tp, commit)
	}
	if err == nil {
		return resp, nil
	}
	b.log.Debug("TxnOffsetCommit refused by the transaction coordinator", "transactional_id", req.TransactionalID,
		"group", req.Group, "client_id", h.ClientID, "err", err)
	code := txn.ErrorCode(err)
	switch code {
	case kerr.ProducerFenced.Code, kerr.InvalidProducerEpoch.Code:
		code = kerr.InvalidProducerEpoch.Code
	case kerr.TransactionAbortable.Code:
		if req.Version < 4 {
			code = kerr.InvalidTxnState.Code
		}
	case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code, kerr.ConcurrentTransactions.Code:
		// The transaction coordinator is elsewhere or loading: retriable
		// without a group coordinator lookup.
		code = kerr.CoordinatorLoadInProgress.Code
		if req.Version < 2 {
			code = kerr.CoordinatorNotAvailable.Code
		}
	}
	return fail(code)
}
