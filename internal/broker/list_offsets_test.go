package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestListOffsets(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "lo", 2, nil) // partition 1 stays empty
	r := dialRaw(t, b.Addr)
	base := time.Now().Add(-time.Hour).UnixMilli()
	// One batch per record; timestamps are not monotonic: offset 3 has the
	// largest.
	tss := []int64{base, base + 100, base + 200, base + 900, base + 300, base + 400}
	for i, ts := range tss {
		batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: ts, value: []byte(fmt.Sprint(i))})
		if pr := produceOne(t, r, "lo", 0, batch); pr.ErrorCode != 0 || pr.BaseOffset != int64(i) {
			t.Fatalf("produce %d: error %d base %d", i, pr.ErrorCode, pr.BaseOffset)
		}
	}

	for _, tc := range []struct {
		name       string
		version    int16
		partition  int32
		ts         int64
		wantOffset int64
		wantTs     int64
	}{
		{"earliest", 9, 0, -2, 0, -1},
		{"latest", 9, 0, -1, 6, -1},
		{"earliestLocal", 9, 0, -4, 0, -1},
		{"maxTimestamp", 9, 0, -3, 3, base + 900},
		{"exactTimestamp", 9, 0, base + 200, 2, base + 200},
		{"betweenTimestamps", 9, 0, base + 150, 2, base + 200},
		// The first record at or after base+350 in offset order is offset 3
		// (ts base+900), as Kafka's time index lookup answers.
		{"nonMonotonic", 9, 0, base + 350, 3, base + 900},
		{"beforeAll", 9, 0, base - 1000, 0, base},
		{"afterAll", 9, 0, base + 10_000, -1, -1},
		{"v1latest", 1, 0, -1, 6, -1},
		{"emptyEarliest", 9, 1, -2, 0, -1},
		{"emptyLatest", 9, 1, -1, 0, -1},
		{"emptyMaxTimestamp", 9, 1, -3, -1, -1},
		{"emptyByTimestamp", 9, 1, base, -1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := listOffset(t, r, tc.version, "lo", tc.partition, tc.ts)
			if p.ErrorCode != 0 || p.Offset != tc.wantOffset || p.Timestamp != tc.wantTs {
				t.Fatalf("error %d offset %d timestamp %d, want offset %d timestamp %d",
					p.ErrorCode, p.Offset, p.Timestamp, tc.wantOffset, tc.wantTs)
			}
		})
	}

	t.Run("v0OldStyle", func(t *testing.T) {
		for _, tc := range []struct {
			partition int32
			ts        int64
			want      []int64
		}{{0, -1, []int64{6}}, {0, -2, []int64{0}}, {1, -1, []int64{0}}} {
			p := listOffset(t, r, 0, "lo", tc.partition, tc.ts)
			if p.ErrorCode != 0 || fmt.Sprint(p.OldStyleOffsets) != fmt.Sprint(tc.want) {
				t.Errorf("v0 p%d ts %d: error %d offsets %v, want %v", tc.partition, tc.ts, p.ErrorCode, p.OldStyleOffsets, tc.want)
			}
		}
	})

	t.Run("unknownPartition", func(t *testing.T) {
		if p := listOffset(t, r, 9, "lo", 7, -1); p.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("error %d", p.ErrorCode)
		}
		if p := listOffset(t, r, 9, "nope", 0, -1); p.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("error %d", p.ErrorCode)
		}
	})

	t.Run("kadm", func(t *testing.T) {
		adm := b.Admin(t)
		ctx := context.Background()
		after, err := adm.ListOffsetsAfterMilli(ctx, base+250, "lo")
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := after.Lookup("lo", 0); o.Err != nil || o.Offset != 3 {
			t.Fatalf("after milli: %+v", o)
		}
		mx, err := adm.ListMaxTimestampOffsets(ctx, "lo")
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := mx.Lookup("lo", 0); o.Err != nil || o.Offset != 3 || o.Timestamp != base+900 {
			t.Fatalf("max timestamp: %+v", o)
		}
	})

	t.Run("kgoConsumeFromTimestamp", func(t *testing.T) {
		cl := b.Client(t, kgo.ConsumeTopics("lo"), kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(base+350)))
		got := consume(t, cl, 3, 10*time.Second)
		if got[0].Offset != 3 {
			t.Fatalf("consuming after %d started at offset %d", base+350, got[0].Offset)
		}
	})

	t.Run("leaderEpochFencing", func(t *testing.T) {
		req := kmsg.NewPtrListOffsetsRequest()
		req.SetVersion(9)
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "lo"
		for _, e := range []int32{-1, 0, 5} {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -1, e
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp := do[*kmsg.ListOffsetsResponse](t, r, req)
		ps := resp.Topics[0].Partitions
		if ps[0].ErrorCode != 0 || ps[1].ErrorCode != 0 || ps[2].ErrorCode != kerr.UnknownLeaderEpoch.Code {
			t.Fatalf("errors %d %d %d", ps[0].ErrorCode, ps[1].ErrorCode, ps[2].ErrorCode)
		}
	})
}
