package broker

// ConsumerGroupDescribe, version 0: groups of the consumer protocol
// (KIP-848) with their state (Empty, Assigning, Reconciling, Stable), group
// epoch, target assignment epoch, assignor, and members with their current
// and target assignments (topic ids and names). An unknown group or a
// classic group is GROUP_ID_NOT_FOUND, as in Kafka 3.9. Authorized
// operations are reported as not requested (MinInt32) until ACLs exist.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ConsumerGroupDescribe, 0, 0, handleConsumerGroupDescribe) }

func handleConsumerGroupDescribe(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.ConsumerGroupDescribeRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	gc, err := b.groupCoordinator()
	topics := imageTopics{b.meta.Image()}
	for _, id := range req.Groups {
		if err != nil {
			d := kmsg.NewConsumerGroupDescribeResponseGroup()
			d.Group, d.ErrorCode, d.AuthorizedOperations = id, kerr.CoordinatorNotAvailable.Code, authorizedOperationsOmitted
			resp.Groups = append(resp.Groups, d)
			continue
		}
		resp.Groups = append(resp.Groups, gc.DescribeConsumerGroup(id, topics))
	}
	return resp, nil
}
