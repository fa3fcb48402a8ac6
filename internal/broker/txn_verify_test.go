package broker_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestProduceToInternalTopics: as in Kafka, clients cannot produce to
// __transaction_state or __consumer_offsets (INVALID_TOPIC_EXCEPTION): a
// record there that the coordinator cannot parse used to make the next
// start fail loading the partition.
func TestProduceToInternalTopics(t *testing.T) {
	b := kafkatest.Start(t)
	r := dialRaw(t, b.Addr)
	mustInitTxn(t, r, "x")                          // creates __transaction_state
	committedOffset(t, r, "g", "nothing", 0, false) // creates __consumer_offsets
	for _, topic := range []string{"__transaction_state", "__consumer_offsets"} {
		batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: 1, key: []byte("garbage"), value: []byte("v")})
		if p := produceOne(t, r, topic, 0, batch); p.ErrorCode != kerr.InvalidTopicException.Code {
			t.Fatalf("produce to %s: %v, want INVALID_TOPIC_EXCEPTION", topic, kerr.ErrorForCode(p.ErrorCode))
		}
	}
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if d := describeTxn(t, r, "x"); d.ErrorCode != 0 || d.State != "Empty" {
		t.Fatalf("after restart: %+v", d)
	}
}

// TestTxnVerifyRacesEndTxn: a transactional produce racing with the
// producer's own EndTxn (a batch its client gave up on, still in flight)
// is either in the transaction or refused; it never opens a transaction on
// the partition after the marker, which nothing would end and which would
// hold the last stable offset forever. Checking "the partition already has
// the transaction open" outside the append (to skip the coordinator) let
// the marker slip in between within a few iterations.
func TestTxnVerifyRacesEndTxn(t *testing.T) {
	b := kafkatest.Start(t)
	// gzip makes the broker recompress, which widens the window between a
	// check before the append and the append.
	createTopic(t, b, "vr", 1, map[string]*string{"compression.type": sp("gzip")})
	r1, r2 := dialRaw(t, b.Addr), dialRaw(t, b.Addr)
	pid, epoch := mustInitTxn(t, r1, "vr")
	big := make([]string, 2000)
	for i := range big {
		big[i] = fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", 100))
	}
	seq := int32(0)
	for i := 0; i < 100; i++ {
		if c := addPartitions(t, r1, 3, "vr", pid, epoch, "vr", 0); c[0] != 0 {
			t.Fatal(kerr.ErrorForCode(c[0]))
		}
		if p := produceTxnAs(t, r1, 9, "vr", "vr", 0, txnBatch(t, pid, epoch, seq, "first")); p.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(p.ErrorCode))
		}
		seq++
		batch := txnBatch(t, pid, epoch, seq, big...)
		var wg sync.WaitGroup
		var pr kmsg.ProduceResponseTopicPartition
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := produceReq(9, -1, "vr", 0, batch)
			req.TransactionID = sp("vr")
			resp, err := r2.try(req)
			if err != nil {
				t.Error(err)
				return
			}
			pr = resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
		}()
		if c := endTxn(t, r1, 3, "vr", pid, epoch, true); c != 0 {
			t.Fatal(kerr.ErrorForCode(c))
		}
		wg.Wait()
		switch pr.ErrorCode {
		case 0:
			seq += int32(len(big))
		case kerr.InvalidTxnState.Code:
		default:
			t.Fatalf("iteration %d: produce racing EndTxn: %v", i, kerr.ErrorForCode(pr.ErrorCode))
		}
		if f := b.Replicas().Partition("vr", 0).Log().FirstUnstableOffset(); f >= 0 {
			t.Fatalf("iteration %d: produce answered %v at offset %d, and a transaction is open at %d after EndTxn",
				i, kerr.ErrorForCode(pr.ErrorCode), pr.BaseOffset, f)
		}
	}
}

// TestInitProducerIDHalfExpected: KIP-360's producer id and epoch come
// together; one without the other is INVALID_REQUEST, as in Kafka. (A
// producer id with epoch -1 used to be taken as a retry and answered the
// current epoch without a bump, so a second producer joined the first one's
// epoch unfenced.)
func TestInitProducerIDHalfExpected(t *testing.T) {
	b := kafkatest.Start(t)
	r := dialRaw(t, b.Addr)
	pid, epoch := mustInitTxn(t, r, "half")
	if resp := initTxn(t, r, 4, "half", 60000, pid, -1); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("InitProducerId with a producer id and no epoch: %+v", resp)
	}
	if resp := initTxn(t, r, 4, "half", 60000, -1, epoch); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("InitProducerId with an epoch and no producer id: %+v", resp)
	}
	if resp := initTxn(t, r, 4, "half", 60000, pid, epoch); resp.ErrorCode != 0 || resp.ProducerEpoch != epoch+1 {
		t.Fatalf("InitProducerId with both: %+v", resp)
	}
}

// TestTxnStateLoadsFromLogStart: with cleanup.policy=compact,delete on
// __transaction_state (allowed, as in Kafka), size-based retention moves
// the log start offset; loading starts there instead of failing at offset
// 0, which kept the broker from starting. DeleteRecords on an internal topic is
// INVALID_TOPIC_EXCEPTION, as in Kafka.
func TestTxnStateLoadsFromLogStart(t *testing.T) {
	b := kafkatest.Start(t, "log.retention.check.interval.ms=50")
	r := dialRaw(t, b.Addr)
	mustInitTxn(t, r, "x")
	ac := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "__transaction_state"
	for k, v := range map[string]string{"cleanup.policy": "compact,delete", "segment.bytes": "200", "retention.bytes": "250"} {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, sp(v)
		res.Configs = append(res.Configs, c)
	}
	ac.Resources = append(ac.Resources, res)
	if acr := do[*kmsg.IncrementalAlterConfigsResponse](t, r, ac); acr.Resources[0].ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(acr.Resources[0].ErrorCode))
	}
	var epoch int16
	for i := 0; i < 5; i++ {
		_, epoch = mustInitTxn(t, r, "x")
	}
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "__transaction_state"
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if c := do[*kmsg.DeleteRecordsResponse](t, r, req).Topics[0].Partitions[0].ErrorCode; c != kerr.InvalidTopicException.Code {
		t.Fatalf("DeleteRecords on __transaction_state: %v", kerr.ErrorForCode(c))
	}
	kafkatest.Eventually(t, 10*time.Second, func() error {
		for i := int32(0); i < 50; i++ {
			if b.Replicas().Partition("__transaction_state", i).LogStartOffset() > 0 {
				return nil
			}
		}
		return fmt.Errorf("no log start moved")
	})
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if d := describeTxn(t, r, "x"); d.ErrorCode != 0 || d.ProducerEpoch != epoch {
		t.Fatalf("after restart: %+v, want epoch %d", d, epoch)
	}
}

// TestListTransactionsBeforeAnyTxn: listing transactions on a broker where
// no transactional id was ever used answers an empty list and does not
// create __transaction_state (50 partitions) as a side effect of a read.
func TestListTransactionsBeforeAnyTxn(t *testing.T) {
	b := kafkatest.Start(t)
	r := dialRaw(t, b.Addr)
	req := kmsg.NewPtrListTransactionsRequest()
	req.StateFilters = []string{"Ongoing", "bogus"}
	resp := do[*kmsg.ListTransactionsResponse](t, r, req)
	if resp.ErrorCode != 0 || len(resp.TransactionStates) != 0 || len(resp.UnknownStateFilters) != 1 {
		t.Fatalf("ListTransactions: %+v", resp)
	}
	if b.Metadata().Image().Topic("__transaction_state") != nil {
		t.Fatal("ListTransactions created __transaction_state")
	}
	mustInitTxn(t, r, "now")
	if resp := do[*kmsg.ListTransactionsResponse](t, r, kmsg.NewPtrListTransactionsRequest()); len(resp.TransactionStates) != 1 {
		t.Fatalf("ListTransactions after InitProducerId: %+v", resp)
	}
}
