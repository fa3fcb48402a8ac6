package broker

// Heartbeat, versions 0-4: keeps a classic group member's session alive and
// tells it when to rejoin (REBALANCE_IN_PROGRESS). Errors as Kafka:
// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID (v3+ carries
// group.instance.id, KIP-345). v4 is the first flexible version.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Heartbeat, 0, 4, handleHeartbeat) }

func handleHeartbeat(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.HeartbeatRequest) (kmsg.Response, error) {
	gc, err := b.groupCoordinator()
	if err != nil {
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	return gc.Heartbeat(req), nil
}
