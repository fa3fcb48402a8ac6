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
// message (KIP-467); v5+ the log start offset; v2+ the log append time;
// v10+ answers NOT_LEADER_OR_FOLLOWER with the current leader and its
// endpoint (KIP-951, leader_hints.go).
// The internal topics (__consumer_offsets, __transaction_state) are
// INVALID_TOPIC_EXCEPTION unless the client id is "__admin_client", as in
// Kafka.
//
// Beyond Kafka: a topic with confluent.value.schema.validation=true (or
// confluent.key.schema.validation=true, Confluent Server's names) refuses
// a batch with any record whose value (key) lacks a registered Schema
// Registry id, with INVALID_RECORD and per-record errors; the ids come from
// the local _schemas partition, never from the registry over HTTP
// (schema_ids.go).
//
// Transactional batches (KIP-98, v3+) need the request's transactional id,
// or every partition is TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka's
// handleProduceRequest. With transaction.partition.verification.enable
// (the default, KIP-890 part 1) a transactional batch is appended only if
// the transaction coordinator confirms the partition was added to the
// producer's open transaction, and the append runs with the transaction
// locked so it cannot end in between (Kafka verifies only a transaction's
// first batch on a partition and re-checks under the log's lock; see
// needsVerification); otherwise the answer is INVALID_TXN_STATE
// (TRANSACTION_ABORTABLE from v11), INVALID_PRODUCER_EPOCH for a fenced
// producer, or NOT_ENOUGH_REPLICAS (retriable) while the coordinator is
// busy completing the previous transaction, as Kafka maps them. This keeps
// a stray transactional batch from holding the last stable offset forever.
// In a cluster the coordinator may be another broker: the leader then asks
// it with AddPartitionsToTxn v4 VerifyOnly, broker to broker as Kafka does,
// and a verification guard on the partition refuses the batch if the
// producer's marker was written in between (see verifiedAppend); later
// batches of a transaction already open on the partition at the same
// producer epoch skip that round trip, as in Kafka.
// An older producer epoch than the partition has seen is
// INVALID_PRODUCER_EPOCH.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Produce, 0, 11, handleProduce) }

// replicationWait is an acks=all partition waiting for its ISR.
type replicationWait struct {
	sp     *kmsg.ProduceResponseTopicPartition
	p      *replica.Partition
	offset int64
	epoch  int32
}

func handleProduce(ctx context.Context, b *Broker, c *protocol.Conn, h protocol.RequestHeader, req *kmsg.ProduceRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	badAcks := req.Acks != 0 && req.Acks != 1 && req.Acks != -1
	noTxnID := req.TransactionID == nil && hasTransactionalRecords(req)
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	var waits []replicationWait
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := &st.Partitions[j]
			// The defaults keep CurrentLeader (a tagged field, sent
			// whenever it differs from them) out of answers without one.
			*sp = kmsg.NewProduceResponseTopicPartition()
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
			p, code := b.leaderPartition(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = code
				continue
			}
			if req.Acks == -1 && b.cluster != nil {
				if minISR := int(p.Config().MinInsyncReplicas); p.ISRSize() < minISR {
					sp.ErrorCode = kerr.NotEnoughReplicas.Code
					if req.Version >= 8 {
						msg := fmt.Sprintf("the partition has %d in-sync replicas, fewer than min.insync.replicas=%d", p.ISRSize(), minISR)
						sp.ErrorMessage = &msg
					}
					continue
				}
			}
			var res replica.AppendResult
			var err error
			if internalTopic(rt.Topic) && h.ClientID != adminClientID {
				err = fmt.Errorf("%w: Cannot append to internal topic %s", kerr.InvalidTopicException, rt.Topic)
			} else if sc := schemaCheckFor(p.Config()); sc.on() {
				err = b.checkSchemaIDs(rt.Topic, sc, rp.Records)
			}
			if err == nil {
				if vh, ok := needsVerification(b, req, rp.Records); ok {
					res, err = b.verifiedAppend(ctx, *req.TransactionID, vh, p, rp.Records, req.Version)
				} else {
					res, err = p.AppendRecords(rp.Records, req.Version)
				}
			}
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
			if req.Acks == -1 && b.cluster != nil {
				waits = append(waits, replicationWait{sp: sp, p: p, offset: res.LastOffset + 1, epoch: p.LeaderEpoch()})
			}
		}
	}
	if len(waits) > 0 {
		// acks=all: answer once every in-sync replica has the records (the
		// high watermark covers them), within the request's timeout.
		wctx, cancel := context.WithTimeout(ctx, time.Duration(max(req.TimeoutMillis, 0))*time.Millisecond)
		defer cancel()
		for _, w := range waits {
			if err := w.p.WaitReplicated(wctx, w.offset, w.epoch, int(w.p.Config().MinInsyncReplicas)); err != nil {
				w.sp.ErrorCode = errorCode(err)
				if req.Version >= 8 {
					w.sp.ErrorMessage = errorMessage(err)
				}
			}
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
	listener := ""
	if c != nil {
		listener = c.Listener
	}
	b.addProduceLeaderHints(resp, listener)
	return resp, nil
}

// adminClientID is the client id of Kafka's own admin tooling, the only
// one allowed to produce to internal topics (AdminUtils.ADMIN_CLIENT_ID).
const adminClientID = "__admin_client"

// internalTopic reports whether topic is one of the coordinators' topics,
// which clients may not produce to (Kafka's ReplicaManager.appendToLocalLog
// answers INVALID_TOPIC_EXCEPTION): a record the coordinator cannot parse
// would make loading the partition fail at the next start.
func internalTopic(topic string) bool { return topic == group.Topic || topic == txn.Topic }

// needsVerification reports whether records are a transactional batch the
// coordinator must confirm first, and returns their batch header. Every
// transactional batch is verified, not only the first of a transaction on
// the partition: a check of the partition's open transaction outside the
// append would race with the transaction's markers (an EndTxn between the
// check and the append lets the batch open a transaction nobody ends, which
// holds the last stable offset), a race Kafka closes with a verification
// guard checked under the log's lock. The transaction's lock, held across
// the append, closes it here; it costs one uncontended lock per batch, as a
// producer's requests to the broker are handled one at a time.
func needsVerification(b *Broker, req *kmsg.ProduceRequest, records []byte) (record.Header, bool) {
	if req.TransactionID == nil || !b.cfg.TransactionPartitionVerificationEnable || len(records) < record.HeaderSize {
		return nil, false
	}
	h := record.Header(records)
	if h.Magic() != 2 || !h.Transactional() {
		return nil, false
	}
	return h, true
}

// verifiedAppend appends records, a transactional batch with header h, to
// p if the transaction coordinator confirms that p is in the open
// transaction of h's producer, mapping its refusals the way Kafka maps them
// for Produce. A coordinator on this broker is asked directly, with the
// transaction locked across the append so that it cannot end in between.
// In a cluster, when another broker leads the transactional id's partition
// of __transaction_state, that broker is asked (AddPartitionsToTxn v4 with
// VerifyOnly, as Kafka's AddPartitionsToTxnManager), and a verification
// guard taken before asking voids the answer if a marker for the producer
// is written here before the append (replica.Partition.StartVerification).
func (b *Broker) verifiedAppend(ctx context.Context, txnID string, h record.Header, p *replica.Partition, records []byte, version int16) (replica.AppendResult, error) {
	var res replica.AppendResult
	var err, appendErr error
	if coord, remote := b.remoteTxnCoordinator(txnID); remote {
		// A transaction already open here needs no second round trip to
		// the coordinator.
		if res, ok, err := p.AppendInTransaction(h.ProducerID(), h.ProducerEpoch(), records, version); ok {
			return res, err
		}
		guard := p.StartVerification(h.ProducerID())
		err = b.cluster.verifyTxnPartition(ctx, coord, txnID, h.ProducerID(), h.ProducerEpoch(), p.Topic, p.Index)
		if err == nil {
			res, appendErr = p.AppendVerified(h.ProducerID(), guard, records, version)
			if errors.Is(appendErr, replica.ErrVerificationVoid) {
				err, appendErr = kerr.TransactionAbortable, nil
			}
		}
	} else {
		tc, tcErr := b.txnCoordinator()
		if tcErr != nil {
			return res, fmt.Errorf("%w: transaction coordinator unavailable: %v", kerr.NotEnoughReplicas, tcErr)
		}
		err = tc.WithVerified(txnID, h.ProducerID(), h.ProducerEpoch(), txn.TopicPartition{Topic: p.Topic, Partition: p.Index}, func() error {
			res, appendErr = p.AppendRecords(records, version)
			return appendErr
		})
	}
	if appendErr != nil {
		return res, appendErr
	}
	if err == nil {
		return res, nil
	}
	switch txn.ErrorCode(err) {
	case kerr.ProducerFenced.Code, kerr.InvalidProducerEpoch.Code:
		return res, fmt.Errorf("%w: producer %d epoch %d is fenced by a newer producer with transactional id %q",
			kerr.InvalidProducerEpoch, h.ProducerID(), h.ProducerEpoch(), txnID)
	case kerr.TransactionAbortable.Code:
		if version > 10 {
			return res, fmt.Errorf("%w: partition %s-%d was not added to the transaction", kerr.TransactionAbortable, p.Topic, p.Index)
		}
		return res, fmt.Errorf("%w: partition %s-%d was not added to the transaction", kerr.InvalidTxnState, p.Topic, p.Index)
	case kerr.ConcurrentTransactions.Code, kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code,
		kerr.CoordinatorLoadInProgress.Code:
		return res, fmt.Errorf("%w: the transaction coordinator is busy (%v); retry", kerr.NotEnoughReplicas, err)
	}
	return res, err
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
