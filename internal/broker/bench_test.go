package broker_test

// Benchmarks of the Produce and Fetch handlers called directly, without the
// network: they measure the broker's CPU and allocations per batch and per
// record (1 KiB values, like scripts/bench.sh). Disk use is bounded by
// -benchtime; the default (1s) writes a few hundred MiB under $TMPDIR.
//
//	go test ./internal/broker -run '^$' -bench . -benchmem

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	benchRecordSize = 1024
	benchBatchSize  = 16 // records per batch
)

func benchBatch(b *testing.B) []byte {
	var bl record.Builder
	bl.Reset(record.NonIdempotent)
	v := make([]byte, benchRecordSize)
	for i := range v {
		v[i] = 'A' + byte(i%26)
	}
	// Real timestamps: an old one would make every append roll a segment
	// (segment.ms).
	ts := time.Now().UnixMilli()
	for range benchBatchSize {
		bl.Append(ts, nil, v, nil)
	}
	h, err := bl.Finish(record.CodecNone, 0)
	if err != nil {
		b.Fatal(err)
	}
	return append([]byte(nil), h...)
}

func benchBroker(b *testing.B) *kafkatest.Broker {
	kb := kafkatest.Start(b, "log.segment.bytes=268435456")
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "bench", 1, 1
	req.Topics = append(req.Topics, rt)
	req.SetVersion(7)
	resp, err := kb.Handle(context.Background(), &protocol.Conn{}, protocol.RequestHeader{APIKey: 19, APIVersion: 7}, req)
	if err != nil || resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode != 0 {
		b.Fatalf("create topic: %v %+v", err, resp)
	}
	return kb
}

// perRecord reports time and allocations per record.
func perRecord(b *testing.B, records int, mallocs uint64) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
	b.ReportMetric(float64(mallocs)/float64(records), "allocs/record")
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

func produceBench(b *testing.B, kb *kafkatest.Broker, batch []byte, n int) {
	ctx := context.Background()
	c := &protocol.Conn{}
	h := protocol.RequestHeader{APIKey: 0, APIVersion: 9}
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks = -1
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "bench"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	for range n {
		// The append stamped the base offset and leader epoch in place;
		// neither is covered by the CRC.
		clear(batch[:8])
		resp, err := kb.Handle(ctx, c, h, req)
		if err != nil {
			b.Fatal(err)
		}
		if ec := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; ec != 0 {
			b.Fatalf("produce error %d", ec)
		}
	}
}

// BenchmarkProduce is one Produce request (acks=all, one partition, one
// batch of 16 x 1 KiB records) through the handler: decode excluded,
// validation (CRC), append to the segment file and index included.
func BenchmarkProduce(b *testing.B) {
	kb := benchBroker(b)
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	m := mallocs()
	b.ResetTimer()
	produceBench(b, kb, batch, b.N)
	b.StopTimer()
	perRecord(b, b.N*benchBatchSize, mallocs()-m)
}

// BenchmarkFetch is one Fetch request (v12, one partition, up to 1 MiB)
// through the handler plus encoding its response, as the connection's
// writer does.
func BenchmarkFetch(b *testing.B) {
	kb := benchBroker(b)
	batch := benchBatch(b)
	const batches = 1024 // 16 MiB of records to read from
	produceBench(b, kb, batch, batches)

	ctx := context.Background()
	c := &protocol.Conn{}
	h := protocol.RequestHeader{APIKey: 1, APIVersion: 12}
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.MaxBytes = 50 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "bench"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	var out []byte
	records := 0
	b.ReportAllocs()
	m := mallocs()
	b.ResetTimer()
	for i := range b.N {
		req.Topics[0].Partitions[0].FetchOffset = int64(i%(batches/2)) * benchBatchSize
		resp, err := kb.Handle(ctx, c, h, req)
		if err != nil {
			b.Fatal(err)
		}
		fr := resp.(*kmsg.FetchResponse)
		p := &fr.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
			b.Fatalf("fetch error %d, %d bytes", p.ErrorCode, len(p.RecordBatches))
		}
		records += len(p.RecordBatches) / len(batch) * benchBatchSize
		b.SetBytes(int64(len(p.RecordBatches)))
		out = fr.AppendTo(out[:0])
		fetchWritten(c)
	}
	b.StopTimer()
	perRecord(b, records, mallocs()-m)
}

// fetchWritten does what the connection's writer does once it has encoded
// the response: it runs the handler's AfterWrite hook.
func fetchWritten(c *protocol.Conn) {
	if done := c.TakeAfterWrite(); done != nil {
		done()
	}
}
