package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testRecords is a deterministic set spread over parts partitions: keys,
// headers (one with a null value), a null key and a null value, values
// compressible enough that every codec wins.
func testRecords(topic string, parts int32, n int) []*kgo.Record {
	var rs []*kgo.Record
	for i := range n {
		r := &kgo.Record{
			Topic:     topic,
			Partition: int32(i) % parts,
			Key:       []byte(fmt.Sprintf("key-%03d", i)),
			Value:     []byte(strings.Repeat(fmt.Sprintf("value-%03d;", i), 20)),
			Headers: []kgo.RecordHeader{
				{Key: "h1", Value: []byte(fmt.Sprintf("hv-%d", i))},
				{Key: "null-header", Value: nil},
				{Key: "empty-header", Value: []byte{}},
			},
		}
		switch i % 7 {
		case 3:
			r.Key = nil
		case 5:
			r.Value = nil
		case 6:
			r.Headers = nil
		}
		rs = append(rs, r)
	}
	return rs
}

// checkConsumed asserts got holds exactly want, per partition in produce
// order at consecutive offsets from 0.
func checkConsumed(t *testing.T, want, got []*kgo.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	byPart := map[int32][]*kgo.Record{}
	for _, r := range got {
		byPart[r.Partition] = append(byPart[r.Partition], r)
	}
	next := map[int32]int{}
	for _, w := range want {
		i := next[w.Partition]
		next[w.Partition]++
		if i >= len(byPart[w.Partition]) {
			t.Fatalf("partition %d: missing record %d", w.Partition, i)
		}
		g := byPart[w.Partition][i]
		if g.Offset != int64(i) {
			t.Errorf("partition %d record %d: offset %d", w.Partition, i, g.Offset)
		}
		if !sameBytes(g.Key, w.Key) || !sameBytes(g.Value, w.Value) {
			t.Errorf("partition %d offset %d: key %q value %.20q, want key %q value %.20q",
				w.Partition, g.Offset, g.Key, g.Value, w.Key, w.Value)
		}
		if len(g.Headers) != len(w.Headers) {
			t.Errorf("partition %d offset %d: %d headers, want %d", w.Partition, g.Offset, len(g.Headers), len(w.Headers))
			continue
		}
		for j := range w.Headers {
			if g.Headers[j].Key != w.Headers[j].Key || !sameBytes(g.Headers[j].Value, w.Headers[j].Value) {
				t.Errorf("partition %d offset %d header %d: %q=%q (nil %v), want %q=%q (nil %v)", w.Partition, g.Offset, j,
					g.Headers[j].Key, g.Headers[j].Value, g.Headers[j].Value == nil,
					w.Headers[j].Key, w.Headers[j].Value, w.Headers[j].Value == nil)
			}
		}
		if !w.Timestamp.IsZero() && !g.Timestamp.Equal(w.Timestamp) {
			t.Errorf("partition %d offset %d: timestamp %v, want %v", w.Partition, g.Offset, g.Timestamp, w.Timestamp)
		}
	}
}

// sameBytes compares including nil-ness (null vs empty).
func sameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestProduceConsumeCodecs(t *testing.T) {
	b := kafkatest.Start(t)
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
		id    int8
	}{
		{"none", kgo.NoCompression(), record.CodecNone},
		{"gzip", kgo.GzipCompression(), record.CodecGzip},
		{"snappy", kgo.SnappyCompression(), record.CodecSnappy},
		{"lz4", kgo.Lz4Compression(), record.CodecLZ4},
		{"zstd", kgo.ZstdCompression(), record.CodecZstd},
	}
	const parts = 12
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			topic := "codec-" + c.name
			createTopic(t, b, topic, parts, nil)
			p := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(c.codec),
				kgo.ProducerLinger(0))
			want := testRecords(topic, parts, 120)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.ProduceSync(ctx, want...).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			for _, r := range want {
				if r.Offset < 0 || r.Offset >= 10 {
					t.Fatalf("record on partition %d got offset %d", r.Partition, r.Offset)
				}
			}
			cl := b.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			checkConsumed(t, want, consume(t, cl, len(want), 10*time.Second))

			// The stored batches keep the producer's codec (compression.type
			// defaults to producer).
			r := dialRaw(t, b.Addr)
			fp := fetchOne(t, r, topic, 0, 0)
			if fp.ErrorCode != 0 || fp.HighWatermark != 10 {
				t.Fatalf("fetch: error %d hw %d", fp.ErrorCode, fp.HighWatermark)
			}
			recs, cs := decodeBatches(t, fp.RecordBatches)
			if len(recs) != 10 {
				t.Fatalf("raw fetch decoded %d records, want 10", len(recs))
			}
			for _, got := range cs {
				if got != c.id {
					t.Fatalf("stored batch codec %d, want %d", got, c.id)
				}
			}
		})
	}
}

func TestProduceAcks(t *testing.T) {
	b := kafkatest.Start(t)
	for _, tc := range []struct {
		name string
		acks kgo.Acks
	}{{"acks0", kgo.NoAck()}, {"acks1", kgo.LeaderAck()}, {"acksAll", kgo.AllISRAcks()}} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "acks-" + tc.name
			createTopic(t, b, topic, 1, nil)
			p := b.Client(t, kgo.RequiredAcks(tc.acks), kgo.DisableIdempotentWrite(), kgo.DefaultProduceTopic(topic))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var want []*kgo.Record
			for i := range 20 {
				want = append(want, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("v%d", i))})
			}
			if err := p.ProduceSync(ctx, want...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if tc.name != "acks0" {
				for i, r := range want {
					if r.Offset != int64(i) {
						t.Fatalf("record %d acked at offset %d", i, r.Offset)
					}
				}
			}
			adm := b.Admin(t)
			kafkatest.Eventually(t, 5*time.Second, func() error {
				lo, err := adm.ListEndOffsets(ctx, topic)
				if err != nil {
					return err
				}
				if o, _ := lo.Lookup(topic, 0); o.Offset != 20 {
					return fmt.Errorf("end offset %d", o.Offset)
				}
				return nil
			})
			cl := b.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			got := consume(t, cl, 20, 10*time.Second)
			for i, g := range got {
				if g.Offset != int64(i) || string(g.Value) != fmt.Sprintf("v%d", i) {
					t.Fatalf("record %d: offset %d value %q", i, g.Offset, g.Value)
				}
			}
		})
	}
	t.Run("invalidAcks", func(t *testing.T) {
		createTopic(t, b, "acks-bad", 1, nil)
		r := dialRaw(t, b.Addr)
		batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: time.Now().UnixMilli(), value: []byte("x")})
		resp := do[*kmsg.ProduceResponse](t, r, produceReq(9, 2, "acks-bad", 0, batch))
		if got := resp.Topics[0].Partitions[0].ErrorCode; got != 21 { // INVALID_REQUIRED_ACKS
			t.Fatalf("acks=2: error %d, want 21", got)
		}
	})
}

func TestProduceNullKeyAndValue(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "nulls", 1, nil)
	r := dialRaw(t, b.Addr)
	ts := time.Now().UnixMilli()
	batch := buildBatch(t, record.NonIdempotent, record.CodecNone,
		rec{ts: ts, key: nil, value: nil},
		rec{ts: ts, key: []byte{}, value: []byte{}},
		rec{ts: ts, key: []byte("k"), value: nil, headers: []record.RecordHeader{{Key: "n", Value: nil}}})
	if pr := produceOne(t, r, "nulls", 0, batch); pr.ErrorCode != 0 || pr.BaseOffset != 0 {
		t.Fatalf("produce: error %d base %d", pr.ErrorCode, pr.BaseOffset)
	}
	recs, _ := decodeBatches(t, fetchOne(t, r, "nulls", 0, 0).RecordBatches)
	if len(recs) != 3 {
		t.Fatalf("fetched %d records", len(recs))
	}
	if recs[0].key != nil || recs[0].value != nil {
		t.Errorf("record 0: key %v value %v, want null/null", recs[0].key, recs[0].value)
	}
	if recs[1].key == nil || recs[1].value == nil || len(recs[1].key)+len(recs[1].value) != 0 {
		t.Errorf("record 1: key %v value %v, want empty/empty (not null)", recs[1].key, recs[1].value)
	}
	if string(recs[2].key) != "k" || recs[2].value != nil || len(recs[2].headers) != 1 || recs[2].headers[0].Value != nil {
		t.Errorf("record 2: %+v", recs[2])
	}
	// And through kgo.
	cl := b.Client(t, kgo.ConsumeTopics("nulls"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consume(t, cl, 3, 10*time.Second)
	if got[0].Key != nil || got[0].Value != nil || got[1].Key == nil || got[1].Value == nil || got[2].Headers[0].Value != nil {
		t.Errorf("kgo saw null/empty wrongly: %+v %+v %+v", got[0], got[1], got[2])
	}
}

func TestProduceLargeRecord(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "large", 1, nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 900*1024/16)
	for i := range big {
		big[i] ^= byte(i * 7) // not too compressible, not random
	}
	p := b.Client(t, kgo.DefaultProduceTopic("large"), kgo.ProducerBatchMaxBytes(2<<20))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs := []*kgo.Record{{Value: []byte("before")}, {Value: big}, {Value: []byte("after")}}
	for _, r := range recs {
		if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d bytes: %v", len(r.Value), err)
		}
	}
	cl := b.Client(t, kgo.ConsumeTopics("large"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consume(t, cl, 3, 10*time.Second)
	for i := range recs {
		if got[i].Offset != int64(i) || !bytes.Equal(got[i].Value, recs[i].Value) {
			t.Fatalf("record %d: offset %d, %d bytes", i, got[i].Offset, len(got[i].Value))
		}
	}
	// A fetch with a tiny partition limit still returns the whole big batch
	// (KIP-74).
	r := dialRaw(t, b.Addr)
	req := fetchReq("large", 0, 1, 0, 0)
	req.Topics[0].Partitions[0].PartitionMaxBytes = 100
	resp := do[*kmsg.FetchResponse](t, r, req)
	fr, _ := decodeBatches(t, resp.Topics[0].Partitions[0].RecordBatches)
	if len(fr) != 1 || !bytes.Equal(fr[0].value, big) {
		t.Fatalf("tiny-limit fetch returned %d records", len(fr))
	}
}

func TestProduceAcrossSegmentRolls(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "rolls", 1, map[string]*string{"segment.bytes": sp("1024")})
	p := b.Client(t, kgo.DefaultProduceTopic("rolls"), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var want []*kgo.Record
	// 30 batches of 8 records of ~100 bytes: every batch is bigger than a
	// segment, so every batch rolls.
	for i := range 30 {
		var batch []*kgo.Record
		for j := range 8 {
			n := i*8 + j
			batch = append(batch, &kgo.Record{Key: []byte(fmt.Sprint(n)), Value: []byte(fmt.Sprintf("%0100d", n))})
		}
		if err := p.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		want = append(want, batch...)
	}
	segs, _ := filepath.Glob(filepath.Join(b.Dir, "rolls-0", "*.log"))
	if len(segs) < 10 {
		t.Fatalf("%d segments after 30 oversized batches, want many", len(segs))
	}
	check := func(b *kafkatest.Broker, from int64) {
		t.Helper()
		cl := b.Client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"rolls": {0: kgo.NewOffset().At(from)}}))
		got := consume(t, cl, len(want)-int(from), 10*time.Second)
		for i, g := range got {
			w := want[int(from)+i]
			if g.Offset != from+int64(i) || !bytes.Equal(g.Value, w.Value) || !bytes.Equal(g.Key, w.Key) {
				t.Fatalf("from %d: record %d at offset %d = %q", from, i, g.Offset, g.Key)
			}
		}
	}
	for _, from := range []int64{0, 7, 8, 123, 239} {
		check(b, from)
	}
	b = b.Restart(t)
	check(b, 0)
	check(b, 101)
	if _, err := os.Stat(filepath.Join(b.Dir, "rolls-0")); err != nil {
		t.Fatal(err)
	}
}

// A batch larger than segment.bytes can never be stored: Kafka answers
// RECORD_LIST_TOO_LARGE (RecordBatchTooLargeException), and the log is
// unchanged.
func TestProduceBatchLargerThanSegment(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "seg-small", 1, map[string]*string{"segment.bytes": sp("1024")})
	r := dialRaw(t, b.Addr)
	ts := time.Now().UnixMilli()
	big := buildBatch(t, record.NonIdempotent, record.CodecNone,
		rec{ts: ts, value: bytes.Repeat([]byte("a"), 700)}, rec{ts: ts, value: bytes.Repeat([]byte("b"), 700)})
	pr := produceOne(t, r, "seg-small", 0, big)
	if pr.ErrorCode != kerr.RecordListTooLarge.Code {
		t.Errorf("batch of %d bytes into 1024-byte segments: error %d (%v), want RECORD_LIST_TOO_LARGE (18)",
			len(big), pr.ErrorCode, kerr.ErrorForCode(pr.ErrorCode))
	}
	if p := listOffset(t, r, 9, "seg-small", 0, -1); p.Offset != 0 {
		t.Fatalf("high watermark %d after a refused batch", p.Offset)
	}
	small := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: ts, value: []byte("fits")})
	if pr := produceOne(t, r, "seg-small", 0, small); pr.ErrorCode != 0 || pr.BaseOffset != 0 {
		t.Fatalf("small batch: error %d base %d", pr.ErrorCode, pr.BaseOffset)
	}
}
