package broker

// SyncGroup, versions 0-5: after a join round the leader sends the
// assignment; every member waits for its part. The assignment is stored in
// __consumer_offsets (GroupMetadataValue) before anyone is answered. v3 adds
// group.instance.id (KIP-345); v5 adds the protocol type and name, checked
// against the group's (INCONSISTENT_GROUP_PROTOCOL, KIP-559).

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.SyncGroup, 0, 5, handleSyncGroup) }

func handleSyncGroup(ctx context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.SyncGroupRequest) (kmsg.Response, error) {
	gc, err := b.groupCoordinator()
	if err != nil {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	return gc.SyncGroup(ctx, req), nil
}
