package broker

// EndTxn, versions 0-4 (Kafka 3.9's range; v3 is flexible; v5, transaction
// version 2 of KIP-890, is Kafka 4's).
//
// Commits or aborts the producer's transaction: the coordinator appends the
// decision to __transaction_state and writes the markers to every
// partition of the transaction (internal/txn). Errors as Kafka:
// INVALID_PRODUCER_ID_MAPPING for an unknown transactional id or another
// producer id, PRODUCER_FENCED for an old epoch (INVALID_PRODUCER_EPOCH
// before v2), INVALID_TXN_STATE with no transaction open or for the
// opposite of a decision already taken, CONCURRENT_TRANSACTIONS while the
// same decision is still being written.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.EndTxn, 0, 4, handleEndTxn) }

func handleEndTxn(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.EndTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	tc, err := b.txnCoordinator()
	if err != nil {
		b.log.Warn("the transaction coordinator is not available", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	if err := tc.EndTxn(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit); err != nil {
		b.log.Debug("EndTxn refused", "transactional_id", req.TransactionalID, "commit", req.Commit, "client_id", h.ClientID, "err", err)
		resp.ErrorCode = txnErrorCode(err, req.Version, 2)
	}
	return resp, nil
}
