package broker_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnBatch is a transactional batch of values for producer pid.
func txnBatch(t *testing.T, pid int64, epoch int16, seq int32, values ...string) []byte {
	t.Helper()
	var recs []rec
	for _, v := range values {
		recs = append(recs, rec{ts: time.Now().UnixMilli(), value: []byte(v)})
	}
	return buildBatch(t, record.BatchFields{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
		PartitionLeaderEpoch: record.NoPartitionLeader, Transactional: true}, record.CodecNone, recs...)
}

func plainBatch(t *testing.T, values ...string) []byte {
	t.Helper()
	var recs []rec
	for _, v := range values {
		recs = append(recs, rec{ts: time.Now().UnixMilli(), value: []byte(v)})
	}
	return buildBatch(t, record.NonIdempotent, record.CodecNone, recs...)
}

// produceTxn sends a transactional batch with a transactional id in the
// request and expects success.
func produceTxn(t *testing.T, r *rawConn, topic string, partition int32, batch []byte) int64 {
	t.Helper()
	req := produceReq(9, -1, topic, partition, batch)
	req.TransactionID = sp("txn-test")
	resp := do[*kmsg.ProduceResponse](t, r, req)
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("transactional produce to %s[%d]: %v", topic, partition, kerr.ErrorForCode(p.ErrorCode))
	}
	return p.BaseOffset
}

// writeMarkers sends WriteTxnMarkers for one producer and returns each
// partition's error code.
func writeMarkers(t *testing.T, r *rawConn, version int16, pid int64, epoch int16, commit bool, coordEpoch int32, topic string, partitions ...int32) []int16 {
	t.Helper()
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.SetVersion(version)
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = pid, epoch, commit, coordEpoch
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = topic, partitions
	m.Topics = append(m.Topics, mt)
	req.Markers = append(req.Markers, m)
	resp := do[*kmsg.WriteTxnMarkersResponse](t, r, req)
	if len(resp.Markers) != 1 || resp.Markers[0].ProducerID != pid || len(resp.Markers[0].Topics) != 1 {
		t.Fatalf("WriteTxnMarkers response %+v", resp)
	}
	var codes []int16
	for _, p := range resp.Markers[0].Topics[0].Partitions {
		codes = append(codes, p.ErrorCode)
	}
	return codes
}

// fetchCommitted is a read_committed fetch of one partition.
func fetchCommitted(t *testing.T, r *rawConn, topic string, partition int32, offset int64, maxWait time.Duration) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := fetchReq(topic, partition, offset, maxWait, 1)
	req.IsolationLevel = 1
	resp := do[*kmsg.FetchResponse](t, r, req)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch: error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

func dataValues(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		h, rest, err := record.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		b = rest
		if h.Control() {
			continue
		}
		recs, _ := decodeBatches(t, h[:h.Size()])
		for _, r := range recs {
			out = append(out, string(r.value))
		}
	}
	return out
}

func consumeValues(t *testing.T, addr, topic string, level kgo.IsolationLevel, want map[int32][]string) {
	t.Helper()
	cl := kafkatest.NewClient(t, addr, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	n := 0
	for _, v := range want {
		n += len(v)
	}
	got := map[int32][]string{}
	for _, r := range consume(t, cl, n, 15*time.Second) {
		got[r.Partition] = append(got[r.Partition], string(r.Value))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("consumed %v, want %v", got, want)
	}
	// Nothing more arrives (aborted records stay hidden).
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if fs := cl.PollFetches(ctx); len(fs.Records()) > 0 {
		t.Fatalf("extra records %v", fs.Records())
	}
}

// noVerify turns off the transaction coordinator's check of transactional
// produces: these tests drive partitions through WriteTxnMarkers, the
// inter-broker API, with no coordinator involved.
const noVerify = "transaction.partition.verification.enable=false"

func TestTxnMarkersAndReadCommitted(t *testing.T) {
	b := kafkatest.Start(t, noVerify)
	createTopic(t, b, "tx", 2, nil)
	r := dialRaw(t, b.Addr)
	pid, epoch := initProducerID(t, r)

	if pr := produceOne(t, r, "tx", 0, plainBatch(t, "p0")); pr.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(pr.ErrorCode))
	}
	// Transactional records need a transactional id in the request.
	if pr := produceOne(t, r, "tx", 0, txnBatch(t, pid, epoch, 0, "a1", "a2")); pr.ErrorCode != kerr.TransactionalIDAuthorizationFailed.Code {
		t.Fatalf("transactional batch without a transactional id: %v", kerr.ErrorForCode(pr.ErrorCode))
	}
	if o := produceTxn(t, r, "tx", 0, txnBatch(t, pid, epoch, 0, "a1", "a2")); o != 1 {
		t.Fatalf("txn batch at %d", o)
	}
	produceTxn(t, r, "tx", 1, txnBatch(t, pid, epoch, 0, "b1"))

	// read_committed stops at the open transaction.
	fp := fetchCommitted(t, r, "tx", 0, 0, 0)
	if fp.HighWatermark != 3 || fp.LastStableOffset != 1 || !reflect.DeepEqual(dataValues(t, fp.RecordBatches), []string{"p0"}) {
		t.Fatalf("read_committed: hw %d lso %d values %v", fp.HighWatermark, fp.LastStableOffset, dataValues(t, fp.RecordBatches))
	}
	if lo := listOffsetIsolation(t, r, "tx", 0, 1); lo != 1 {
		t.Fatalf("ListOffsets latest read_committed %d, want 1", lo)
	}
	if lo := listOffsetIsolation(t, r, "tx", 0, 0); lo != 3 {
		t.Fatalf("ListOffsets latest read_uncommitted %d, want 3", lo)
	}
	// A long poll past the LSO waits for the marker.
	done := make(chan kmsg.FetchResponseTopicPartition, 1)
	r2 := dialRaw(t, b.Addr)
	go func() { done <- fetchCommitted(t, r2, "tx", 1, 0, 10*time.Second) }()
	select {
	case fp := <-done:
		t.Fatalf("read_committed long poll returned before the commit: %+v", fp)
	case <-time.After(500 * time.Millisecond):
	}
	if codes := writeMarkers(t, r, 1, pid, epoch, true, 0, "tx", 0, 1); !reflect.DeepEqual(codes, []int16{0, 0}) {
		t.Fatalf("commit markers: %v", codes)
	}
	select {
	case fp := <-done:
		if got := dataValues(t, fp.RecordBatches); !reflect.DeepEqual(got, []string{"b1"}) || fp.LastStableOffset != 2 || len(fp.AbortedTransactions) != 0 {
			t.Fatalf("after commit: values %v lso %d aborted %v", got, fp.LastStableOffset, fp.AbortedTransactions)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the commit marker did not wake the read_committed long poll")
	}

	// An aborted transaction, then a committed one.
	x := produceTxn(t, r, "tx", 0, txnBatch(t, pid, epoch, 2, "x1", "x2"))
	produceTxn(t, r, "tx", 1, txnBatch(t, pid, epoch, 1, "y1"))
	if codes := writeMarkers(t, r, 0, pid, epoch, false, 0, "tx", 0, 1); !reflect.DeepEqual(codes, []int16{0, 0}) {
		t.Fatalf("abort markers: %v", codes)
	}
	produceTxn(t, r, "tx", 0, txnBatch(t, pid, epoch, 4, "c1"))
	writeMarkers(t, r, 1, pid, epoch, true, 0, "tx", 0)

	fp = fetchCommitted(t, r, "tx", 0, 0, 0)
	want := []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: pid, FirstOffset: x}}
	if len(fp.AbortedTransactions) != 1 || fp.AbortedTransactions[0].ProducerID != pid || fp.AbortedTransactions[0].FirstOffset != x {
		t.Fatalf("aborted transactions %+v, want %+v", fp.AbortedTransactions, want)
	}
	if fp.LastStableOffset != fp.HighWatermark {
		t.Fatalf("lso %d hw %d", fp.LastStableOffset, fp.HighWatermark)
	}
	// read_uncommitted answers carry no aborted transactions.
	if up := fetchOne(t, r, "tx", 0, 0); up.AbortedTransactions != nil {
		t.Fatalf("read_uncommitted aborted %v", up.AbortedTransactions)
	}

	consumeValues(t, b.Addr, "tx", kgo.ReadCommitted(), map[int32][]string{0: {"p0", "a1", "a2", "c1"}, 1: {"b1"}})
	consumeValues(t, b.Addr, "tx", kgo.ReadUncommitted(), map[int32][]string{0: {"p0", "a1", "a2", "x1", "x2", "c1"}, 1: {"b1", "y1"}})
}

func TestTxnWriteTxnMarkersErrors(t *testing.T) {
	b := kafkatest.Start(t, noVerify)
	createTopic(t, b, "txe", 1, nil)
	r := dialRaw(t, b.Addr)
	pid, _ := initProducerID(t, r)
	produceTxn(t, r, "txe", 0, txnBatch(t, pid, 3, 0, "v"))
	if c := writeMarkers(t, r, 1, pid, 2, true, 0, "txe", 0); c[0] != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("old producer epoch: %v", kerr.ErrorForCode(c[0]))
	}
	if c := writeMarkers(t, r, 1, pid, 3, false, 7, "txe", 0); c[0] != 0 {
		t.Fatalf("abort: %v", kerr.ErrorForCode(c[0]))
	}
	if c := writeMarkers(t, r, 1, pid, 3, false, 6, "txe", 0); c[0] != kerr.TransactionCoordinatorFenced.Code {
		t.Fatalf("old coordinator epoch: %v", kerr.ErrorForCode(c[0]))
	}
	if c := writeMarkers(t, r, 1, pid, 3, true, 7, "nope", 0, 1); !reflect.DeepEqual(c, []int16{kerr.UnknownTopicOrPartition.Code, kerr.UnknownTopicOrPartition.Code}) {
		t.Fatalf("unknown topic: %v", c)
	}
	// A marker for a producer without an open transaction is written.
	if c := writeMarkers(t, r, 0, pid+1000, 0, true, 0, "txe", 0); c[0] != 0 {
		t.Fatalf("marker without a transaction: %v", kerr.ErrorForCode(c[0]))
	}
	// A transactional batch with a fenced epoch.
	req := produceReq(9, -1, "txe", 0, txnBatch(t, pid, 2, 0, "old"))
	req.TransactionID = sp("txn-test")
	if p := do[*kmsg.ProduceResponse](t, r, req).Topics[0].Partitions[0]; p.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("fenced transactional produce: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}

// listOffsetIsolation is ListOffsets v5 latest with an isolation level.
func listOffsetIsolation(t *testing.T, r *rawConn, topic string, partition int32, isolation int8) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(5)
	req.IsolationLevel = isolation
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := do[*kmsg.ListOffsetsResponse](t, r, req)
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	return p.Offset
}

// TestTxnOpenTransactionSurvivesCrash SIGKILLs the binary with a
// transaction open: after the restart the last stable offset is still held
// at the transaction's first offset until an ABORT marker, and then
// read_committed consumers move past it without the aborted records.
func TestTxnOpenTransactionSurvivesCrash(t *testing.T) {
	p := kafkatest.StartProcess(t, "", noVerify)
	r := dialRaw(t, p.Addr)
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.SetVersion(5)
	tt := kmsg.NewCreateTopicsRequestTopic()
	tt.Topic, tt.NumPartitions, tt.ReplicationFactor = "crashtx", 1, 1
	ct.Topics = append(ct.Topics, tt)
	ct.TimeoutMillis = 5000
	if resp := do[*kmsg.CreateTopicsResponse](t, r, ct); resp.Topics[0].ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(resp.Topics[0].ErrorCode))
	}
	pid, epoch := initProducerID(t, r)
	var first int64
	kafkatest.Eventually(t, 10*time.Second, func() error {
		pr := produceOne(t, r, "crashtx", 0, plainBatch(t, "before"))
		if pr.ErrorCode != 0 {
			return kerr.ErrorForCode(pr.ErrorCode)
		}
		return nil
	})
	first = produceTxn(t, r, "crashtx", 0, txnBatch(t, pid, epoch, 0, "t1", "t2"))
	produceOne(t, r, "crashtx", 0, plainBatch(t, "after"))

	p.Restart() // SIGKILL, then start on the same dir
	r = dialRaw(t, p.Addr)
	var fp kmsg.FetchResponseTopicPartition
	kafkatest.Eventually(t, 10*time.Second, func() error {
		req := fetchReq("crashtx", 0, 0, 0, 0)
		req.IsolationLevel = 1
		resp, err := r.try(req)
		if err != nil {
			r = dialRaw(t, p.Addr)
			return err
		}
		tp := resp.(*kmsg.FetchResponse).Topics[0].Partitions[0]
		if tp.ErrorCode != 0 {
			return kerr.ErrorForCode(tp.ErrorCode)
		}
		fp = tp
		return nil
	})
	if fp.LastStableOffset != first || fp.HighWatermark != first+3 || !reflect.DeepEqual(dataValues(t, fp.RecordBatches), []string{"before"}) {
		t.Fatalf("after the crash: lso %d hw %d values %v, want lso %d", fp.LastStableOffset, fp.HighWatermark, dataValues(t, fp.RecordBatches), first)
	}
	if lo := listOffsetIsolation(t, r, "crashtx", 0, 1); lo != first {
		t.Fatalf("ListOffsets read_committed after the crash %d, want %d", lo, first)
	}
	if c := writeMarkers(t, r, 1, pid, epoch, false, 0, "crashtx", 0); c[0] != 0 {
		t.Fatalf("abort after the crash: %v", kerr.ErrorForCode(c[0]))
	}
	fp = fetchCommitted(t, r, "crashtx", 0, 0, 0)
	if fp.LastStableOffset != first+4 || len(fp.AbortedTransactions) != 1 || fp.AbortedTransactions[0].FirstOffset != first {
		t.Fatalf("after abort: lso %d aborted %+v", fp.LastStableOffset, fp.AbortedTransactions)
	}
	consumeValues(t, p.Addr, "crashtx", kgo.ReadCommitted(), map[int32][]string{0: {"before", "after"}})
	consumeValues(t, p.Addr, "crashtx", kgo.ReadUncommitted(), map[int32][]string{0: {"before", "t1", "t2", "after"}})
	// The aborted transaction survives a second crash (.txnindex).
	p.Restart()
	consumeValues(t, p.Addr, "crashtx", kgo.ReadCommitted(), map[int32][]string{0: {"before", "after"}})
}
