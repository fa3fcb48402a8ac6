package broker

// OffsetDelete, version 0 (KIP-496): deletes committed offsets of a group.
// For a group with members only topics it does not subscribe to may be
// deleted (GROUP_SUBSCRIBED_TO_TOPIC otherwise); a group with members that
// is not a "consumer" group is NON_EMPTY_GROUP; an unknown group
// GROUP_ID_NOT_FOUND; a partition that does not exist
// UNKNOWN_TOPIC_OR_PARTITION.

import (
	"context"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetDelete, 0, 0, handleOffsetDelete) }

func handleOffsetDelete(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.OffsetDeleteRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	gc, err := b.groupCoordinator()
	if err != nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	im := b.meta.Image()
	var parts []group.TopicPartition
	for _, t := range req.Topics {
		it := im.Topic(t.Topic)
		for _, p := range t.Partitions {
			if it != nil && p.Partition >= 0 && p.Partition < it.Partitions {
				parts = append(parts, group.TopicPartition{Topic: t.Topic, Partition: p.Partition})
			}
		}
	}
	code, codes := gc.DeleteOffsets(req.Group, parts)
	resp.ErrorCode = code
	i := 0
	for _, t := range req.Topics {
		it := im.Topic(t.Topic)
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if it != nil && p.Partition >= 0 && p.Partition < it.Partitions {
				if code == 0 {
					rp.ErrorCode = codes[i]
				}
				i++
			} else {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
