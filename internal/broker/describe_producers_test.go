package broker_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDescribeProducers: kadm's DescribeProducers sees an idempotent
// producer's and a transactional producer's state with Kafka's fields,
// before and after the transaction's marker; unknown topics and partitions
// and invalid names get Kafka's errors.
func TestDescribeProducers(t *testing.T) {
	// Transactional batches go straight to the partition here (no
	// coordinator), so the produce verification is off.
	b := kafkatest.Start(t, "transaction.partition.verification.enable=false")
	createTopic(t, b, "dp", 2, nil)
	r := dialRaw(t, b.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	idem, idemEpoch := initProducerID(t, r)
	ts := time.Now().Add(-time.Minute).UnixMilli()
	fields := record.BatchFields{ProducerID: idem, ProducerEpoch: idemEpoch, PartitionLeaderEpoch: record.NoPartitionLeader}
	if pr := produceOne(t, r, "dp", 0, buildBatch(t, fields, record.CodecNone,
		rec{ts: ts, value: []byte("a")}, rec{ts: ts + 7, value: []byte("b")}, rec{ts: ts + 3, value: []byte("c")})); pr.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(pr.ErrorCode))
	}
	fields.BaseSequence = 3
	if pr := produceOne(t, r, "dp", 0, buildBatch(t, fields, record.CodecNone,
		rec{ts: ts + 20, value: []byte("d")}, rec{ts: ts + 11, value: []byte("e")})); pr.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(pr.ErrorCode))
	}

	txnPid, txnEpoch := initProducerID(t, r)
	req := produceReq(9, -1, "dp", 0, buildBatch(t, record.BatchFields{ProducerID: txnPid, ProducerEpoch: txnEpoch,
		PartitionLeaderEpoch: record.NoPartitionLeader, Transactional: true}, record.CodecNone,
		rec{ts: ts + 30, value: []byte("t1")}, rec{ts: ts + 31, value: []byte("t2")}))
	req.TransactionID = sp("dp-txn")
	resp := do[*kmsg.ProduceResponse](t, r, req)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 5 {
		t.Fatalf("transactional produce: %v at %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}

	adm := b.Admin(t)
	describe := func() (map[int64]kadm.DescribedProducer, kadm.DescribedProducersPartition) {
		t.Helper()
		set := kadm.TopicsSet{}
		set.Add("dp", 0, 1)
		d, err := adm.DescribeProducers(ctx, set)
		if err != nil {
			t.Fatal(err)
		}
		parts := d["dp"].Partitions
		if len(parts) != 2 || parts[0].Err != nil || parts[1].Err != nil {
			t.Fatalf("described %+v", d)
		}
		return parts[0].ActiveProducers, parts[1]
	}
	got, p1 := describe()
	want := map[int64]kadm.DescribedProducer{
		idem: {Leader: 1, Topic: "dp", Partition: 0, ProducerID: idem, ProducerEpoch: idemEpoch, LastSequence: 4,
			LastTimestamp: ts + 20, CoordinatorEpoch: -1, CurrentTxnStartOffset: -1},
		txnPid: {Leader: 1, Topic: "dp", Partition: 0, ProducerID: txnPid, ProducerEpoch: txnEpoch, LastSequence: 1,
			LastTimestamp: ts + 31, CoordinatorEpoch: -1, CurrentTxnStartOffset: 5},
	}
	for id, p := range got {
		p.Leader = 1 // the node id is the broker's; only the producer fields matter here
		got[id] = p
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("producers of dp-0:\n got %+v\nwant %+v", got, want)
	}
	if len(p1.ActiveProducers) != 0 {
		t.Fatalf("producers of dp-1: %+v", p1.ActiveProducers)
	}

	// The commit marker (coordinator epoch 3) ends the transaction.
	before := time.Now().UnixMilli()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = txnPid, txnEpoch, true, 3
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = "dp", []int32{0}
	m.Topics = append(m.Topics, mt)
	wreq := kmsg.NewPtrWriteTxnMarkersRequest()
	wreq.SetVersion(1)
	wreq.Markers = append(wreq.Markers, m)
	if wr := do[*kmsg.WriteTxnMarkersResponse](t, r, wreq); wr.Markers[0].Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(wr.Markers[0].Topics[0].Partitions[0].ErrorCode))
	}
	after := time.Now().UnixMilli()
	got, _ = describe()
	tp := got[txnPid]
	if tp.ProducerEpoch != txnEpoch || tp.LastSequence != 1 || tp.CoordinatorEpoch != 3 || tp.CurrentTxnStartOffset != -1 ||
		tp.LastTimestamp < before || tp.LastTimestamp > after {
		t.Fatalf("transactional producer after its commit %+v (marker written in [%d, %d])", tp, before, after)
	}
	if ip := got[idem]; ip.LastSequence != 4 || ip.LastTimestamp != ts+20 {
		t.Fatalf("idempotent producer after the other's commit %+v", ip)
	}

	// Errors, on the wire.
	dreq := kmsg.NewPtrDescribeProducersRequest()
	for _, x := range []struct {
		topic string
		parts []int32
	}{{"dp", []int32{0, 7}}, {"nope", []int32{0}}, {"bad name!", []int32{0}}} {
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = x.topic, x.parts
		dreq.Topics = append(dreq.Topics, rt)
	}
	dresp := do[*kmsg.DescribeProducersResponse](t, r, dreq)
	codes := map[string][]int16{}
	for _, rt := range dresp.Topics {
		for _, p := range rt.Partitions {
			codes[rt.Topic] = append(codes[rt.Topic], p.ErrorCode)
		}
	}
	wantCodes := map[string][]int16{
		"dp":        {0, kerr.UnknownTopicOrPartition.Code},
		"nope":      {kerr.UnknownTopicOrPartition.Code},
		"bad name!": {kerr.InvalidTopicException.Code},
	}
	if !reflect.DeepEqual(codes, wantCodes) {
		t.Fatalf("error codes %v, want %v", codes, wantCodes)
	}
	if n := len(dresp.Topics[0].Partitions[0].ActiveProducers); n != 2 {
		t.Fatalf("%d producers on the wire", n)
	}
}
