package broker

// DescribeTopicPartitions, version 0 (KIP-966, Kafka 3.8+).
//
// Like Metadata for topics, but paginated: topics in name order (all of them
// for an empty list), at most ResponsePartitionLimit partitions per response
// (default and cap 2000, Kafka's max.request.partition.size.limit), starting
// at Cursor; NextCursor says where to continue. Eligible leader replicas are
// empty: ELR needs replication.

import (
	"context"
	"sort"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeTopicPartitions, 0, 0, handleDescribeTopicPartitions) }

const maxRequestPartitionSizeLimit = 2000

func handleDescribeTopicPartitions(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DescribeTopicPartitionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	im := b.meta.Image()
	var names []string
	if len(req.Topics) == 0 {
		names = im.TopicNames()
	} else {
		for _, t := range req.Topics {
			names = append(names, t.Topic)
		}
		sort.Strings(names)
	}
	limit := int(req.ResponsePartitionLimit)
	if limit <= 0 || limit > maxRequestPartitionSizeLimit {
		limit = maxRequestPartitionSizeLimit
	}
	left := limit
	for _, name := range names {
		startPart := int32(0)
		if c := req.Cursor; c != nil {
			if name < c.Topic {
				continue
			}
			if name == c.Topic {
				startPart = c.Partition
			}
		}
		t := im.Topic(name)
		st := kmsg.NewDescribeTopicPartitionsResponseTopic()
		n := name
		st.Topic = &n
		st.AuthorizedOperations = authorizedOperationsOmitted
		if t == nil {
			st.ErrorCode = kerr.UnknownTopicOrPartition.Code
			resp.Topics = append(resp.Topics, st)
			continue
		}
		if left == 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: startPart}
			break
		}
		st.TopicID, st.IsInternal = t.ID, t.Internal()
		for i := startPart; i < t.Partitions; i++ {
			if left == 0 {
				resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: i}
				break
			}
			left--
			sp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
			sp.Partition = i
			sp.LeaderID = b.nodeID
			sp.Replicas, sp.ISR = []int32{b.nodeID}, []int32{b.nodeID}
			sp.EligibleLeaderReplicas, sp.LastKnownELR, sp.OfflineReplicas = []int32{}, []int32{}, []int32{}
			if p := b.replicas.Partition(name, i); p != nil {
				sp.LeaderEpoch = p.LeaderEpoch()
			} else {
				sp.ErrorCode, sp.LeaderID = kerr.LeaderNotAvailable.Code, -1
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
		if resp.NextCursor != nil {
			break
		}
	}
	return resp, nil
}
