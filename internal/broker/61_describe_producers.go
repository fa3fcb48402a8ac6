package broker

// DescribeProducers, version 0 (KIP-664).
//
// For each requested partition, the idempotent and transactional producers
// its log knows (Kafka's ReplicaManager.activeProducerState): producer id,
// epoch, last sequence (-1 when the producer has written only markers),
// timestamp of its last write, coordinator epoch of its last marker (-1
// when none) and first offset of its open transaction (-1 when none). An
// invalid topic name is INVALID_TOPIC_EXCEPTION, a topic that does not
// exist or a partition we do not host UNKNOWN_TOPIC_OR_PARTITION, a
// partition whose log is offline KAFKA_STORAGE_ERROR, as in Kafka.

import (
	"context"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeProducers, 0, 0, handleDescribeProducers) }

func handleDescribeProducers(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DescribeProducersRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	im := b.meta.Image()
	for _, rt := range req.Topics {
		st := kmsg.NewDescribeProducersResponseTopic()
		st.Topic = rt.Topic
		var topicErr *kerr.Error
		var topicMsg *string
		if err := metadata.ValidateTopicName(rt.Topic); err != nil {
			topicErr = kerr.InvalidTopicException
			msg := err.Error()
			topicMsg = &msg
		} else if im.Topic(rt.Topic) == nil {
			topicErr = kerr.UnknownTopicOrPartition
		}
		for _, idx := range rt.Partitions {
			sp := kmsg.NewDescribeProducersResponseTopicPartition()
			sp.Partition = idx
			p := b.replicas.Partition(rt.Topic, idx)
			switch {
			case topicErr != nil:
				sp.ErrorCode, sp.ErrorMessage = topicErr.Code, topicMsg
			case p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case p.Offline() != nil:
				sp.ErrorCode = kerr.KafkaStorageError.Code
			default:
				states := p.Log().ProducerStates()
				sp.ActiveProducers = make([]kmsg.DescribeProducersResponseTopicPartitionActiveProducer, 0, len(states))
				for _, s := range states {
					ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
					ap.ProducerID, ap.ProducerEpoch = s.ProducerID, int32(s.ProducerEpoch)
					ap.LastSequence, ap.LastTimestamp = s.LastSequence, s.LastTimestamp
					ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = s.CoordinatorEpoch, s.CurrentTxnStartOffset
					sp.ActiveProducers = append(sp.ActiveProducers, ap)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
