package broker

// WriteTxnMarkers, versions 0-1 (Kafka 3.9's range; v1 is flexible).
//
// The inter-broker request a transaction coordinator sends to every leader
// of a transaction's partitions to end it (KIP-98): for each marker, a
// COMMIT or ABORT control batch is appended to each listed partition
// (replica.Partition.WriteTxnMarker), ending the producer's open
// transaction there and moving the last stable offset; an ABORT is added to
// the segment's .txnindex so read_committed fetches can report it. Errors
// are per partition, as Kafka's KafkaApis.handleWriteTxnMarkersRequest:
// UNKNOWN_TOPIC_OR_PARTITION for a partition we do not host,
// INVALID_PRODUCER_EPOCH for an epoch older than the producer's,
// TRANSACTION_COORDINATOR_FENCED for a coordinator epoch older than the one
// of the producer's last marker, KAFKA_STORAGE_ERROR if the log is offline.
// A marker for a producer with no open transaction is still written, as
// Kafka does. The response answers once the markers are in the log (on one
// node that is also when every in-sync replica has them).
// A marker on a __consumer_offsets partition goes through the group
// coordinator, which commits or drops the producer's pending transactional
// offsets with it.

import (
	"context"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.WriteTxnMarkers, 0, 1, handleWriteTxnMarkers) }

func handleWriteTxnMarkers(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.WriteTxnMarkersRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	for _, m := range req.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, rt := range m.Topics {
			st := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			st.Topic = rt.Topic
			for _, part := range rt.Partitions {
				sp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				sp.Partition = part
				p, code := b.leaderPartition(rt.Topic, part)
				if p == nil {
					sp.ErrorCode = code
				} else if off, err := b.writeMarker(p, m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch); err != nil {
					sp.ErrorCode = errorCode(err)
					b.log.Debug("transaction marker rejected", "topic", rt.Topic, "partition", part,
						"producer_id", m.ProducerID, "client_id", h.ClientID, "err", err)
				} else {
					b.log.Debug("wrote transaction marker", "topic", rt.Topic, "partition", part,
						"producer_id", m.ProducerID, "commit", m.Committed, "offset", off)
				}
				st.Partitions = append(st.Partitions, sp)
			}
			rm.Topics = append(rm.Topics, st)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return resp, nil
}

// writeMarker writes one transaction marker, through the group coordinator
// on __consumer_offsets. It returns the marker's offset (-1 when written
// through the group coordinator).
func (b *Broker) writeMarker(p *replica.Partition, pid int64, epoch int16, commit bool, coordinatorEpoch int32) (int64, error) {
	if p.Topic == group.Topic {
		return -1, b.completeGroupTxn(p.Index, pid, epoch, commit, coordinatorEpoch)
	}
	leaderEpoch := p.LeaderEpoch()
	off, err := p.WriteTxnMarker(pid, epoch, commit, coordinatorEpoch)
	if err != nil {
		return off, err
	}
	return off, b.waitReplicated(p, off+1, leaderEpoch)
}
