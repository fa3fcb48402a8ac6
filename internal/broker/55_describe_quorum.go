package broker

// DescribeQuorum, versions 0-1 (KIP-595, KIP-836).
//
// Kafka's kafka-metadata-quorum.sh --bootstrap-server asks a broker, which
// forwards the request to the active controller. In a cluster we do the
// same; the answer is the Raft state of the metadata quorum (leader, term
// as epoch, commit index as high watermark, voters with their log end).
// A single node is its own one-voter quorum.

import (
	"context"
	"time"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeQuorum, 0, 1, handleDescribeQuorum) }

func handleDescribeQuorum(ctx context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DescribeQuorumRequest) (kmsg.Response, error) {
	if b.cluster != nil {
		fctx, cancel := context.WithTimeout(ctx, time.Duration(b.cfg.RequestTimeoutMs)*time.Millisecond)
		defer cancel()
		fwd := kmsg.NewPtrDescribeQuorumRequest()
		fwd.Topics = req.Topics
		resp, err := b.cluster.client.Request(fctx, fwd)
		if err == nil {
			r := resp.(*kmsg.DescribeQuorumResponse)
			r.Version = req.Version
			return r, nil
		}
		r := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
		r.ErrorCode = kerr.NotController.Code
		return r, nil
	}
	resp := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
	now := time.Now().UnixMilli()
	self := kmsg.DescribeQuorumResponseTopicPartitionReplicaState{ReplicaID: b.nodeID, LogEndOffset: 0, LastFetchTimestamp: now, LastCaughtUpTimestamp: now}
	resp.Topics = []kmsg.DescribeQuorumResponseTopic{{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumResponseTopicPartition{{
		LeaderID: b.nodeID, CurrentVoters: []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{self}}}}}
	return resp, nil
}
