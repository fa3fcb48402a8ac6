package broker

// DescribeGroups, versions 0-5: state, protocol type, and members of
// classic groups. As Kafka, members' metadata and assignments and the
// protocol name are shown only for a Stable group, and an unknown group is
// described as "Dead" with no members and no error. v3 adds authorized
// operations (reported as not requested, MinInt32, until ACLs exist); v4
// adds group.instance.id (KIP-345); v5 is flexible.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeGroups, 0, 5, handleDescribeGroups) }

func handleDescribeGroups(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DescribeGroupsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	gc, err := b.groupCoordinator()
	for _, id := range req.Groups {
		if err != nil {
			d := kmsg.NewDescribeGroupsResponseGroup()
			d.Group, d.ErrorCode, d.AuthorizedOperations = id, kerr.CoordinatorNotAvailable.Code, authorizedOperationsOmitted
			resp.Groups = append(resp.Groups, d)
			continue
		}
		resp.Groups = append(resp.Groups, gc.DescribeGroup(id))
	}
	return resp, nil
}
