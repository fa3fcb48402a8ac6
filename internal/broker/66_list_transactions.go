package broker

// ListTransactions, versions 0-1 (KIP-664; v1 adds the duration filter of
// KIP-994): the transactional ids this coordinator knows, filtered by state
// names (unknown names are listed back in UnknownStateFilters and match
// nothing), producer ids and, from v1, a minimum time since the
// transaction started. Before any transactional id was used it answers an
// empty list without creating __transaction_state.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListTransactions, 0, 1, handleListTransactions) }

func handleListTransactions(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.ListTransactionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	var states []kmsg.TransactionState
	for _, name := range req.StateFilters {
		// Kafka matches the exact state names.
		if s, err := kmsg.ParseTransactionState(name); err == nil && s.String() == name {
			states = append(states, s)
		} else {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, name)
		}
	}
	if len(req.StateFilters) > 0 && len(states) == 0 {
		return resp, nil
	}
	if b.txns.Load() == nil && b.meta.Image().Topic(txn.Topic) == nil {
		// No transactional id was ever used: nothing to list, and no
		// reason to create __transaction_state for a read (Kafka's
		// coordinator answers an empty list when it leads no partition).
		return resp, nil
	}
	tc, err := b.txnCoordinator()
	if err != nil {
		b.log.Warn("the transaction coordinator is not available", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	minDuration := int64(-1)
	if req.Version >= 1 {
		minDuration = req.DurationFilterMillis
	}
	ls, err := tc.List(states, req.ProducerIDFilters, minDuration)
	if err != nil {
		resp.ErrorCode = txnErrorCode(err, 0, 0)
		return resp, nil
	}
	for _, l := range ls {
		ts := kmsg.NewListTransactionsResponseTransactionState()
		ts.TransactionalID, ts.ProducerID, ts.TransactionState = l.TransactionalID, l.ProducerID, l.State.String()
		resp.TransactionStates = append(resp.TransactionStates, ts)
	}
	return resp, nil
}
