package broker

// InitProducerId, versions 0-5 (KIP-98; v3 KIP-360 lets a producer ask to
// keep its id after an error, by sending its current id and epoch; v4 knows
// PRODUCER_FENCED; v5 only widens error semantics).
//
// A v3+ request with a producer id but no epoch, or an epoch but no
// producer id, is INVALID_REQUEST, as in Kafka.
//
// Without a transactional id (idempotent producers) every call gets a fresh
// producer id with epoch 0, as Kafka does: ids come from blocks reserved in
// the metadata before use, so they are unique across restarts. With one,
// the transaction coordinator (internal/txn) answers: the id's producer id
// with its epoch bumped, which fences earlier producers of the same id.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.InitProducerID, 0, 5, handleInitProducerID) }

func handleInitProducerID(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.InitProducerIDRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.Version >= 3 && (req.ProducerID == -1) != (req.ProducerEpoch == -1) {
		// Kafka's handleInitProducerIdRequest: a producer id without an
		// epoch, or an epoch without a producer id, is malformed.
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	if req.TransactionalID != nil {
		tc, err := b.txnCoordinator()
		if err != nil {
			b.log.Warn("the transaction coordinator is not available", "err", err)
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return resp, nil
		}
		expectPID, expectEpoch := req.ProducerID, req.ProducerEpoch
		if req.Version < 3 {
			expectPID, expectEpoch = -1, -1
		}
		pid, epoch, err := tc.InitProducerID(*req.TransactionalID, req.TransactionTimeoutMillis, expectPID, expectEpoch)
		if err != nil {
			resp.ErrorCode = txnErrorCode(err, req.Version, 4)
			b.log.Debug("InitProducerId refused", "transactional_id", *req.TransactionalID, "client_id", h.ClientID, "err", err)
			return resp, nil
		}
		resp.ProducerID, resp.ProducerEpoch = pid, epoch
		return resp, nil
	}
	id, err := b.pids.next1()
	if err != nil {
		b.log.Error("allocating a producer id failed", "err", err)
		resp.ErrorCode = kerr.UnknownServerError.Code
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}
