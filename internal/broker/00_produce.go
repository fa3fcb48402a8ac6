package broker

// Produce, versions 0-11 (Kafka 3.9's range).
//
// Each partition's data must be exactly one magic v2 batch (v3+ carry only
// v2; v0-2 are still advertised because librdkafka turns compression off
// unless Produce v0 is in range, but their v0/v1 message sets are refused,
// as by Kafka 4). The batch is validated (internal/record: CRC, framing,
// record count and offset deltas, timestamps against
// message.timestamp.*.max.ms, max.message.bytes, codec), recompressed when
// the topic's compression.type says so, given offsets and the leader epoch
// in place, and appended. Idempotent batches are checked against the
// producer's last five sequences: a retry gets the original offsets, a gap
// OUT_OF_ORDER_SEQUENCE_NUMBER.
//
// acks: 0 sends no response at all, and on any error closes the connection
// so the producer notices; 1 and -1 (all) answer after the append,
// which on a single node is also when the ISR (ourselves) has it. Any other
// value is INVALID_REQUIRED_ACKS. Produce never auto-creates topics (only
// Metadata does, as in Kafka). v8+ carries per-record errors and an error
// message (KIP-467); v5+ the log start offset; v2+ the log append time.
//
// Transactional batches (KIP-98, v3+) need the request's transactional id,
// or every partition is TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka's
// handleProduceRequest. Like Kafka without partition verification
// (transaction.partition.verification.enable=false), a transactional batch
// is accepted for any producer id and opens a transaction on the partition
// until a marker (WriteTxnMarkers) ends it; an older producer epoch is
// INVALID_PRODUCER_EPOCH.

import (
	"context"
	"errors"
	"fmt"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Produce, 0, 11, handleProduce) }

func handleProduce(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.ProduceRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	badAcks := req.Acks != 0 && req.Acks != 1 && req.Acks != -1
	noTxnID := req.TransactionID == nil && hasTransactionalRecords(req)
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := &st.Partitions[j]
			sp.Partition = rp.Partition
			sp.BaseOffset = -1
			sp.LogAppendTime = -1
			sp.LogStartOffset = -1
			if badAcks {
				sp.ErrorCode = kerr.InvalidRequiredAcks.Code
				continue
			}
			if noTxnID {
				sp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
				continue
			}
			p := b.replicas.Partition(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			}
			res, err := p.AppendRecords(rp.Records, req.Version)
			if err != nil {
				sp.ErrorCode = errorCode(err)
				if req.Version >= 8 {
					sp.ErrorMessage = errorMessage(err)
					var ve *record.ValidationError
					if errors.As(err, &ve) {
						for _, re := range ve.RecordErrors {
							msg := re.Message
							sp.ErrorRecords = append(sp.ErrorRecords, kmsg.ProduceResponseTopicPartitionErrorRecord{
								RelativeOffset: re.Index, ErrorMessage: &msg})
						}
					}
				}
				b.log.Debug("produce rejected", "topic", rt.Topic, "partition", rp.Partition,
					"client_id", h.ClientID, "err", err)
				continue
			}
			sp.BaseOffset = res.BaseOffset
			sp.LogAppendTime = res.LogAppendTime
			sp.LogStartOffset = res.LogStartOffset
		}
	}
	if req.Acks == 0 {
		// No response is expected, so an error can only be signalled by
		// closing the connection; the producer then refreshes its metadata
		// (Kafka's KafkaApis.handleProduceRequest does the same).
		for _, st := range resp.Topics {
			for _, sp := range st.Partitions {
				if sp.ErrorCode != 0 {
					return nil, fmt.Errorf("acks=0 produce to %s[%d] failed (%s); closing the connection so the producer notices",
						st.Topic, sp.Partition, kerr.ErrorForCode(sp.ErrorCode))
				}
			}
		}
		return nil, nil
	}
	return resp, nil
}

// hasTransactionalRecords reports whether any partition's first batch is a
// transactional v2 batch (Kafka's ProduceRequest.hasTransactionalRecords).
func hasTransactionalRecords(req *kmsg.ProduceRequest) bool {
	for i := range req.Topics {
		for j := range req.Topics[i].Partitions {
			r := req.Topics[i].Partitions[j].Records
			if len(r) >= record.HeaderSize && record.Header(r).Magic() == 2 && record.Header(r).Transactional() {
				return true
			}
		}
	}
	return false
}
