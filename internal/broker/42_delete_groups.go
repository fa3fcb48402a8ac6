package broker

// DeleteGroups, versions 0-2 (KIP-229): deletes groups without members,
// writing tombstones for their offsets and metadata to __consumer_offsets.
// A group with members is NON_EMPTY_GROUP; an unknown one
// GROUP_ID_NOT_FOUND. v2 is flexible.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteGroups, 0, 2, handleDeleteGroups) }

func handleDeleteGroups(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DeleteGroupsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	gc, err := b.groupCoordinator()
	for _, id := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = id
		if err != nil {
			rg.ErrorCode = kerr.CoordinatorNotAvailable.Code
		} else {
			rg.ErrorCode = gc.DeleteGroup(id)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
