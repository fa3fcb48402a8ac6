package broker

// UnregisterBroker, version 0 (KIP-631; kafka-cluster.sh unregister).
//
// In a cluster the request goes to the active controller, which removes
// the broker's registration: it leaves the ISRs (the last member of one
// stays, so the partition can come back with it), its leaderships move and
// a broker-only node stops following the metadata log. A broker still
// running registers again at its next heartbeat. An id that is not
// registered is BROKER_ID_NOT_REGISTERED. A single node has only itself,
// which it cannot unregister (INVALID_REQUEST).

import (
	"context"
	"fmt"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.UnregisterBroker, 0, 0, handleUnregisterBroker) }

func handleUnregisterBroker(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.UnregisterBrokerRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.UnregisterBrokerResponse)
	var err error
	switch {
	case b.cluster != nil:
		fwd := *req
		r, ferr := b.cluster.request(&fwd)
		if ferr != nil {
			err = ferr
			break
		}
		cr := r.(*kmsg.UnregisterBrokerResponse)
		resp.ErrorCode, resp.ErrorMessage = cr.ErrorCode, cr.ErrorMessage
		return resp, nil
	case req.BrokerID == b.nodeID:
		err = fmt.Errorf("%w: a single node cannot unregister itself", kerr.InvalidRequest)
	default:
		err = fmt.Errorf("%w: broker %d is not currently registered", kerr.BrokerIDNotRegistered, req.BrokerID)
	}
	resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
	return resp, nil
}
