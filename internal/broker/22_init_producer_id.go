package broker

// InitProducerId, versions 0-5 (KIP-98; v3 KIP-360 lets a producer ask to
// bump its epoch; v4-5 only widen error semantics).
//
// Without a transactional id (idempotent producers) every call gets a fresh
// producer id with epoch 0, as Kafka does: ids come from blocks reserved in
// the metadata before use, so they are unique across restarts. A
// transactional id needs the transaction coordinator (a later issue) and is
// answered with COORDINATOR_NOT_AVAILABLE.

import (
	"context"
	"sync"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.InitProducerID, 0, 5, handleInitProducerID) }

func handleInitProducerID(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.InitProducerIDRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		// Clients retry this every few hundred ms: warn once per id.
		if b.warnedTxnIDCount.Load() < 1000 && !loadedOrStored(&b.warnedTxnIDs, *req.TransactionalID) {
			b.warnedTxnIDCount.Add(1)
			b.log.Warn("transactional producer refused: transactions are not supported yet (it will keep retrying)",
				"transactional_id", *req.TransactionalID, "client_id", h.ClientID)
		}
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
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

func loadedOrStored(m *sync.Map, k string) bool {
	_, loaded := m.LoadOrStore(k, true)
	return loaded
}
