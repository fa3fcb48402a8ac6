package broker

// ElectLeaders, versions 0-2 (KIP-183; v1 KIP-460 adds the election type
// and a top-level error; v2 is flexible).
//
// In a cluster the request goes to the active controller, which runs a
// preferred election (the first replica leads, if it is live and in the
// ISR) or an unclean one (a live replica leads a partition that has no
// leader) for each partition asked for, or for every partition when the
// list is null, reporting then only the partitions that needed one.
// Kafka's codes: ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
// ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION. A single
// node leads every partition already: each one asked for is
// ELECTION_NOT_NEEDED.

import (
	"context"
	"slices"

	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ElectLeaders, 0, 2, handleElectLeaders) }

func handleElectLeaders(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.ElectLeadersRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	if req.ElectionType != controller.ElectPreferred && req.ElectionType != controller.ElectUnclean {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	if b.cluster != nil {
		fwd := *req
		r, err := b.cluster.request(&fwd)
		if err != nil {
			resp.ErrorCode = errorCode(err)
			return resp, nil
		}
		cr := r.(*kmsg.ElectLeadersResponse)
		resp.ErrorCode, resp.Topics = cr.ErrorCode, cr.Topics
		return resp, nil
	}
	im := b.meta.Image()
	var res []controller.ElectionResult
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			var err error = controller.ErrElectionNotNeeded
			if tp := im.Topic(t.Topic); tp == nil || p < 0 || p >= tp.Partitions {
				err = controller.ErrUnknownTopicOrPart
			}
			res = append(res, controller.ElectionResult{Topic: t.Topic, Partition: p, Err: err})
		}
	}
	slices.SortStableFunc(res, func(a, b controller.ElectionResult) int {
		if a.Topic < b.Topic {
			return -1
		} else if a.Topic > b.Topic {
			return 1
		}
		return 0
	})
	return controller.ElectLeadersResponse(resp, res), nil
}
