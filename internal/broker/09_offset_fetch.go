package broker

// OffsetFetch, versions 0-9: a group's committed offsets (-1 and empty
// metadata for partitions without one, and for unknown groups).
//
// v0-7 ask for one group; v2+ may ask for every partition with an offset
// (null topics) and carry a top-level error; v5 returns the leader epoch
// (KIP-320); v7 adds require_stable (KIP-447): a partition for which an
// open transaction has committed an offset (TxnOffsetCommit) then answers
// UNSTABLE_OFFSET_COMMIT and the consumer retries until the transaction
// ends (without it, the last committed offset is returned: a transaction's
// offsets are not visible before its commit); v8+ ask for many groups at
// once (KIP-709), each with its own error; v9's member id and epoch belong
// to KIP-848 groups: for a consumer group they must name a member and its
// current epoch (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH) unless null and -1;
// classic groups ignore them, as Kafka does.

import (
	"context"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetFetch, 0, 9, handleOffsetFetch) }

func handleOffsetFetch(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.OffsetFetchRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	gc, err := b.groupCoordinator()
	fetch := func(groupID string, topics []kmsg.OffsetFetchRequestTopic, all bool, memberID *string, epoch int32) ([]group.FetchedTopic, int16) {
		if err != nil {
			return nil, kerr.CoordinatorNotAvailable.Code
		}
		return gc.FetchOffsets(groupID, topics, all, memberID, epoch, req.RequireStable)
	}
	if req.Version < 8 {
		all := req.Topics == nil && req.Version >= 2
		topics, code := fetch(req.Group, req.Topics, all, nil, -1)
		resp.ErrorCode = code
		if code != 0 && req.Version < 2 {
			// No top-level error before v2: report it per partition.
			for _, t := range req.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p, -1, -1, code
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil
		}
		for _, t := range topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				md := p.Metadata
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, &md, p.ErrorCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	for _, rg := range req.Groups {
		g := kmsg.NewOffsetFetchResponseGroup()
		g.Group = rg.Group
		var reqTopics []kmsg.OffsetFetchRequestTopic
		for _, t := range rg.Topics {
			reqTopics = append(reqTopics, kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
		topics, code := fetch(rg.Group, reqTopics, rg.Topics == nil, rg.MemberID, rg.MemberEpoch)
		g.ErrorCode = code
		for _, t := range topics {
			rt := kmsg.NewOffsetFetchResponseGroupTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
				md := p.Metadata
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, &md, p.ErrorCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			g.Topics = append(g.Topics, rt)
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}
