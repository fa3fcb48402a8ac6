package broker

// JoinGroup, versions 0-9: the classic group protocol's join round,
// served by internal/group (Kafka 3.9's classic coordinator).
//
// v1 adds the rebalance timeout (v0 uses the session timeout for both,
// KIP-62); v4 requires a member id: a first join without one gets
// MEMBER_ID_REQUIRED with a generated id to rejoin with (KIP-394); v5 adds
// group.instance.id for static membership (KIP-345); v7 returns the protocol
// type and name (KIP-559); v8 adds a reason (KIP-800, logged nowhere); v9
// lets a rejoining static leader skip the assignment (KIP-814). The request
// waits until the join round completes: every member rejoined, the
// rebalance timeout passed, or, for an Empty group,
// group.initial.rebalance.delay.ms passed.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.JoinGroup, 0, 9, handleJoinGroup) }

func handleJoinGroup(ctx context.Context, b *Broker, c *protocol.Conn, h protocol.RequestHeader, req *kmsg.JoinGroupRequest) (kmsg.Response, error) {
	gc, err := b.groupCoordinator()
	if err != nil {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation, resp.MemberID = kerr.CoordinatorNotAvailable.Code, -1, req.MemberID
		return resp, nil
	}
	return gc.JoinGroup(ctx, req, h.ClientID, clientHost(c)), nil
}
