package broker

// ListGroups, versions 0-5: every group this broker coordinates, with its
// protocol type. v3 is flexible; v4 returns each group's state and may
// filter by states (KIP-518, case-insensitive); v5 returns the group type
// ("classic", or "consumer" for groups of the KIP-848 protocol, whose state
// is Empty, Assigning, Reconciling or Stable) and may filter by types.

import (
	"context"
	"strings"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListGroups, 0, 5, handleListGroups) }

func handleListGroups(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.ListGroupsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	gc, err := b.groupCoordinator()
	if err != nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	match := func(filter []string, v string) bool {
		if len(filter) == 0 {
			return true
		}
		for _, f := range filter {
			if strings.EqualFold(f, v) {
				return true
			}
		}
		return false
	}
	for _, l := range gc.ListGroups() {
		if (req.Version >= 4 && !match(req.StatesFilter, l.State)) ||
			(req.Version >= 5 && !match(req.TypesFilter, l.Type)) {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = l.Group, l.ProtocolType, l.State, l.Type
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
