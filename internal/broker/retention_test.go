package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceBatches produces n one-batch produce requests of per records each
// (values of size bytes) with timestamp ts and returns the base offsets.
func produceBatches(t *testing.T, r *rawConn, topic string, n, per, size int, ts int64) {
	t.Helper()
	for i := range n {
		var recs []rec
		for j := range per {
			recs = append(recs, rec{ts: ts, key: []byte(fmt.Sprint(i, j)), value: bytes.Repeat([]byte{byte('a' + j)}, size)})
		}
		if pr := produceOne(t, r, topic, 0, buildBatch(t, record.NonIdempotent, record.CodecNone, recs...)); pr.ErrorCode != 0 {
			t.Fatalf("produce batch %d: error %d", i, pr.ErrorCode)
		}
	}
}

func TestRetentionByTime(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "ret", 1, map[string]*string{"retention.ms": sp("60000"), "segment.bytes": sp("1024")})
	r := dialRaw(t, b.Addr)
	// 10 batches of 2 records an hour old (two batches do not fit in a
	// segment, so each sits in its own), then 5 batches of new ones.
	produceBatches(t, r, "ret", 10, 2, 300, time.Now().Add(-time.Hour).UnixMilli())
	produceBatches(t, r, "ret", 5, 2, 300, time.Now().UnixMilli())

	if p := listOffset(t, r, 9, "ret", 0, -2); p.Offset != 0 {
		t.Fatalf("log start %d before retention", p.Offset)
	}
	b.Replicas().EnforceRetention()
	if p := listOffset(t, r, 9, "ret", 0, -2); p.ErrorCode != 0 || p.Offset != 20 {
		t.Fatalf("log start after retention: error %d offset %d, want 20", p.ErrorCode, p.Offset)
	}
	if p := listOffset(t, r, 9, "ret", 0, -1); p.Offset != 30 {
		t.Fatalf("high watermark %d after retention, want 30", p.Offset)
	}
	fp := fetchOne(t, r, "ret", 0, 0)
	if fp.ErrorCode != kerr.OffsetOutOfRange.Code || fp.LogStartOffset != 20 || fp.HighWatermark != 30 {
		t.Fatalf("fetch at 0: error %d log start %d hw %d, want OFFSET_OUT_OF_RANGE 20 30", fp.ErrorCode, fp.LogStartOffset, fp.HighWatermark)
	}
	fp = fetchOne(t, r, "ret", 0, 20)
	recs, _ := decodeBatches(t, fp.RecordBatches)
	if fp.ErrorCode != 0 || len(recs) == 0 || recs[0].offset != 20 {
		t.Fatalf("fetch at 20: error %d, %d records", fp.ErrorCode, len(recs))
	}
	// Fetching past the end is out of range too.
	if fp := fetchOne(t, r, "ret", 0, 31); fp.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch at 31: error %d", fp.ErrorCode)
	}
	// The new start survives a restart.
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if p := listOffset(t, r, 9, "ret", 0, -2); p.Offset != 20 {
		t.Fatalf("log start %d after restart, want 20", p.Offset)
	}
}

func TestDeleteRecords(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "dr", 2, map[string]*string{"segment.bytes": sp("1024")})
	r := dialRaw(t, b.Addr)
	produceBatches(t, r, "dr", 10, 2, 300, time.Now().UnixMilli())
	adm := b.Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "dr", Partition: 0, At: 13})
	res, err := adm.DeleteRecords(ctx, os)
	if err != nil {
		t.Fatal(err)
	}
	if dr, _ := res.Lookup("dr", 0); dr.Err != nil || dr.LowWatermark != 13 {
		t.Fatalf("delete records to 13: %+v", dr)
	}
	if p := listOffset(t, r, 9, "dr", 0, -2); p.Offset != 13 {
		t.Fatalf("log start %d, want 13", p.Offset)
	}
	// Reading below the low watermark is out of range; reading at it works
	// (the batch returned starts at 12, and consumers skip record 12).
	if fp := fetchOne(t, r, "dr", 0, 12); fp.ErrorCode != kerr.OffsetOutOfRange.Code || fp.LogStartOffset != 13 {
		t.Fatalf("fetch at 12: error %d log start %d", fp.ErrorCode, fp.LogStartOffset)
	}
	if fp := fetchOne(t, r, "dr", 0, 13); fp.ErrorCode != 0 || len(fp.RecordBatches) == 0 {
		t.Fatalf("fetch at 13: error %d", fp.ErrorCode)
	}

	// Errors: past the high watermark, unknown partition. Moving backwards
	// keeps the start where it is.
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.SetVersion(2)
	req.TimeoutMillis = 5000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "dr"
	for _, p := range []struct {
		p   int32
		off int64
	}{{0, 21}, {5, 0}, {1, 0}, {0, 5}} {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = p.p, p.off
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := do[*kmsg.DeleteRecordsResponse](t, r, req)
	ps := resp.Topics[0].Partitions
	if ps[0].ErrorCode != kerr.OffsetOutOfRange.Code || ps[1].ErrorCode != kerr.UnknownTopicOrPartition.Code ||
		ps[2].ErrorCode != 0 || ps[2].LowWatermark != 0 || ps[3].ErrorCode != 0 || ps[3].LowWatermark != 13 {
		t.Fatalf("delete records errors: %+v", ps)
	}

	// -1 means the high watermark.
	os = nil
	os.Add(kadm.Offset{Topic: "dr", Partition: 0, At: -1})
	if res, err = adm.DeleteRecords(ctx, os); err != nil {
		t.Fatal(err)
	}
	if dr, _ := res.Lookup("dr", 0); dr.Err != nil || dr.LowWatermark != 20 {
		t.Fatalf("delete records to -1: %+v", dr)
	}

	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if p := listOffset(t, r, 9, "dr", 0, -2); p.Offset != 20 {
		t.Fatalf("log start %d after restart, want 20", p.Offset)
	}
	if p := listOffset(t, r, 9, "dr", 0, -1); p.Offset != 20 {
		t.Fatalf("high watermark %d after restart, want 20", p.Offset)
	}
	// The log continues at 20.
	pr := produceOne(t, r, "dr", 0, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: time.Now().UnixMilli(), value: []byte("next")}))
	if pr.ErrorCode != 0 || pr.BaseOffset != 20 || pr.LogStartOffset != 20 {
		t.Fatalf("produce after delete: %+v", pr)
	}
}
