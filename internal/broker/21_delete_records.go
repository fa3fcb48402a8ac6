package broker

// DeleteRecords, versions 0-2 (KIP-107).
//
// Moves a partition's log start offset forward to the given offset (-1
// means the high watermark); whole segments below it are deleted and the
// new start is checkpointed before we answer. An offset past the high
// watermark is OFFSET_OUT_OF_RANGE; a topic whose cleanup.policy lacks
// "delete" is POLICY_VIOLATION, as in Kafka. The response's low watermark is
// the new log start offset. The internal topics are INVALID_TOPIC_EXCEPTION,
// as in Kafka.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteRecords, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.DeleteRecordsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		st := kmsg.DeleteRecordsResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			p, code := b.leaderPartition(rt.Topic, rp.Partition)
			switch {
			case p == nil:
				sp.ErrorCode = code
			case internalTopic(rt.Topic):
				// Kafka's ReplicaManager.deleteRecordsOnLocalLog: "Cannot
				// delete records of internal topic".
				sp.ErrorCode = kerr.InvalidTopicException.Code
			case !p.Config().Deletes():
				// Kafka's Partition.deleteRecordsOnLeader: compact-only
				// topics keep their records.
				sp.ErrorCode = kerr.PolicyViolation.Code
			default:
				off := rp.Offset
				if off == -1 {
					off = p.HighWatermark()
				}
				if off < 0 || off > p.HighWatermark() {
					sp.ErrorCode = kerr.OffsetOutOfRange.Code
					break
				}
				start, err := p.Log().DeleteRecordsBefore(off)
				if err != nil {
					sp.ErrorCode = errorCode(err)
					b.log.Error("delete records failed", "topic", rt.Topic, "partition", rp.Partition, "err", err)
					break
				}
				sp.LowWatermark = start
				b.log.Info("deleted records", "topic", rt.Topic, "partition", rp.Partition, "log_start_offset", start, "client_id", h.ClientID)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
