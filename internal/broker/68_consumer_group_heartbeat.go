package broker

// ConsumerGroupHeartbeat, version 0: the consumer group protocol of KIP-848
// as Kafka 3.9 serves it, run by internal/group. A member joins with epoch
// 0 (the broker generates its member id when the request has none, as v0
// does), sends its subscription by topic names and the server assignor
// ("uniform", the default, or "range"), and heartbeats every
// group.consumer.heartbeat.interval.ms with the partitions it owns; the
// response carries its member epoch and, when it changed, its assignment by
// topic id. Reconciliation is incremental: a partition moves to its new
// owner only after the old owner stopped reporting it. Epoch -1 leaves;
// -2 is a static member's temporary leave (it keeps its partitions until
// group.consumer.session.timeout.ms). Errors as Kafka: INVALID_REQUEST for
// a malformed request, UNSUPPORTED_ASSIGNOR, UNKNOWN_MEMBER_ID,
// FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID,
// GROUP_MAX_SIZE_REACHED (group.consumer.max.size), GROUP_ID_NOT_FOUND
// (no such group, or a classic group with members).
//
// Regular-expression subscriptions arrive only in v1 (Kafka 4.0), which is
// not served. Membership is kept in memory only: after a restart members
// get UNKNOWN_MEMBER_ID and rejoin (see internal/group/doc.go).

import (
	"context"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ConsumerGroupHeartbeat, 0, 0, handleConsumerGroupHeartbeat) }

func handleConsumerGroupHeartbeat(_ context.Context, b *Broker, c *protocol.Conn, h protocol.RequestHeader, req *kmsg.ConsumerGroupHeartbeatRequest) (kmsg.Response, error) {
	gc, err := b.groupCoordinator()
	if err != nil {
		resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	return gc.ConsumerGroupHeartbeat(req, h.ClientID, clientHost(c), imageTopics{b.meta.Image()}), nil
}

// imageTopics shows the coordinator the topics of a metadata image.
type imageTopics struct{ im *metadata.Image }

func (t imageTopics) TopicByName(name string) ([16]byte, int32, bool) {
	tp := t.im.Topic(name)
	if tp == nil || tp.Internal() {
		return [16]byte{}, 0, false
	}
	return tp.ID, tp.Partitions, true
}

func (t imageTopics) TopicByID(id [16]byte) (string, bool) {
	tp := t.im.TopicByID(id)
	if tp == nil {
		return "", false
	}
	return tp.Name, true
}
