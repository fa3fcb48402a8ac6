package broker

// OffsetCommit, versions 0-9: stores a group's committed offsets in
// __consumer_offsets and answers once the records are in the log.
//
// v0 has no generation (a group outside group management); v1 adds the
// generation, member id and a per-partition commit timestamp; v2-4 carry a
// retention time (an explicit expire timestamp, OffsetCommitValue v1); v5
// drops it (KIP-211: offsets expire offsets.retention.minutes after the
// group became empty); v6 adds the leader epoch (KIP-320); v7 adds
// group.instance.id (KIP-345); v8 is flexible. Generation -1 with an empty
// member id commits for a group without members (manual assignment).
// Errors as Kafka: UNKNOWN_TOPIC_OR_PARTITION for partitions that do not
// exist, OFFSET_METADATA_TOO_LARGE over offset.metadata.max.bytes,
// ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
// REBALANCE_IN_PROGRESS while the group awaits its assignment.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetCommit, 0, 9, handleOffsetCommit) }

func handleOffsetCommit(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.OffsetCommitRequest) (kmsg.Response, error) {
	gc, err := b.groupCoordinator()
	if err != nil {
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, kerr.CoordinatorNotAvailable.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	im := b.meta.Image()
	exists := func(topic string, partition int32) bool {
		t := im.Topic(topic)
		return t != nil && partition >= 0 && partition < t.Partitions
	}
	return gc.CommitOffsets(req, exists), nil
}
