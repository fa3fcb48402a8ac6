package broker

// LeaveGroup, versions 0-5: members leave a classic group, which rebalances
// at once instead of waiting for their sessions to expire. v0-2 name one
// member; v3+ batch members, each with an optional group.instance.id
// (KIP-345: a static member leaves by instance id; a mismatching member id
// is FENCED_INSTANCE_ID); v5 adds a reason (KIP-800).

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.LeaveGroup, 0, 5, handleLeaveGroup) }

func handleLeaveGroup(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.LeaveGroupRequest) (kmsg.Response, error) {
	gc, err := b.groupCoordinator()
	if err != nil {
		resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	return gc.LeaveGroup(req), nil
}
