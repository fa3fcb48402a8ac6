package broker_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestFetchLongPollWakesOnProduce(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "poll", 3, nil)
	cl := b.Client(t, kgo.ConsumeTopics("poll"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(5*time.Second))
	// Warm up: metadata, list offsets, the first (empty) long poll parked.
	got := make(chan time.Time, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil || fs.NumRecords() > 0 {
				got <- time.Now()
				return
			}
		}
	}()
	// Let the consumer park its long poll; the point of the test is a fetch
	// already waiting when the record arrives.
	time.Sleep(300 * time.Millisecond)
	p := b.Client(t, kgo.DefaultProduceTopic("poll"))
	sent := time.Now()
	if err := p.ProduceSync(context.Background(), &kgo.Record{Partition: 0, Value: []byte("wake")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-got:
		lat := at.Sub(sent)
		t.Logf("record arrived %v after produce", lat)
		if lat > time.Second {
			t.Fatalf("long poll returned %v after the produce; it should wake at once (max wait 5s)", lat)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no record within 10s")
	}
}

func TestFetchRawLongPoll(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "rawpoll", 2, nil)
	r := dialRaw(t, b.Addr)
	w := dialRaw(t, b.Addr)

	t.Run("wakesOnProduce", func(t *testing.T) {
		req := fetchReq("rawpoll", 1, 0, 5*time.Second, 1)
		start := time.Now()
		corr, err := r.send(req)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the fetch parks
		if pr := produceOne(t, w, "rawpoll", 1, buildBatch(t, record.NonIdempotent, record.CodecNone,
			rec{ts: time.Now().UnixMilli(), value: []byte("x")})); pr.ErrorCode != 0 {
			t.Fatal(pr.ErrorCode)
		}
		produced := time.Now()
		resp, _, err := r.recv(req, corr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(produced); el > time.Second || time.Since(start) < 250*time.Millisecond {
			t.Fatalf("fetch answered %v after the produce, %v after it was sent", el, time.Since(start))
		}
		fp := resp.(*kmsg.FetchResponse).Topics[0].Partitions[0]
		recs, _ := decodeBatches(t, fp.RecordBatches)
		if fp.ErrorCode != 0 || len(recs) != 1 || string(recs[0].value) != "x" || fp.HighWatermark != 1 {
			t.Fatalf("fetch: error %d, %d records, hw %d", fp.ErrorCode, len(recs), fp.HighWatermark)
		}
	})

	t.Run("minBytesWaitsForMaxWait", func(t *testing.T) {
		// One record is there, but far fewer bytes than MinBytes: the
		// fetch waits the whole max wait, then returns what it has.
		start := time.Now()
		resp := do[*kmsg.FetchResponse](t, r, fetchReq("rawpoll", 1, 0, 500*time.Millisecond, 1<<20))
		el := time.Since(start)
		if el < 450*time.Millisecond || el > 3*time.Second {
			t.Fatalf("fetch with unmet min bytes returned after %v, want ~500ms", el)
		}
		if recs, _ := decodeBatches(t, resp.Topics[0].Partitions[0].RecordBatches); len(recs) != 1 {
			t.Fatalf("returned %d records after max wait, want 1", len(recs))
		}
	})

	t.Run("emptyPartitionWaitsForMaxWait", func(t *testing.T) {
		start := time.Now()
		resp := do[*kmsg.FetchResponse](t, r, fetchReq("rawpoll", 0, 0, 300*time.Millisecond, 1))
		if el := time.Since(start); el < 250*time.Millisecond || el > 3*time.Second {
			t.Fatalf("empty fetch returned after %v, want ~300ms", el)
		}
		if fp := resp.Topics[0].Partitions[0]; fp.ErrorCode != 0 || len(fp.RecordBatches) != 0 || fp.RecordBatches == nil {
			t.Fatalf("empty fetch: error %d, %d bytes (nil %v)", fp.ErrorCode, len(fp.RecordBatches), fp.RecordBatches == nil)
		}
	})

	t.Run("errorsAnswerAtOnce", func(t *testing.T) {
		start := time.Now()
		resp := do[*kmsg.FetchResponse](t, r, fetchReq("rawpoll", 9, 0, 5*time.Second, 1))
		if el := time.Since(start); el > time.Second {
			t.Fatalf("fetch of an unknown partition waited %v", el)
		}
		if e := resp.Topics[0].Partitions[0].ErrorCode; e != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("error %d", e)
		}
	})
}

// TestFetchSessionsWithKgo runs a kgo consumer (which uses incremental fetch
// sessions) across many fetches over several partitions, with partitions
// going quiet and busy, and checks every record arrives exactly once in
// order.
func TestFetchSessionsWithKgo(t *testing.T) {
	b := kafkatest.Start(t)
	const parts = 6
	createTopic(t, b, "sess", parts, nil)
	p := b.Client(t, kgo.DefaultProduceTopic("sess"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	logs := &sessionLogs{}
	cl := b.Client(t, kgo.ConsumeTopics("sess"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond), kgo.WithLogger(logs))
	next := map[int32]int64{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for round := range 25 {
		var batch []*kgo.Record
		for part := int32(0); part < parts; part++ {
			if (int(part)+round)%3 == 0 { // a rotating subset of partitions gets data
				batch = append(batch, &kgo.Record{Partition: part, Value: []byte(fmt.Sprintf("%d/%d", round, part))})
			}
		}
		if err := p.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		got := consume(t, cl, len(batch), 10*time.Second)
		for _, g := range got {
			if g.Offset != next[g.Partition] {
				t.Fatalf("round %d: partition %d offset %d, want %d", round, g.Partition, g.Offset, next[g.Partition])
			}
			if want := fmt.Sprintf("%d/%d", round, g.Partition); string(g.Value) != want {
				t.Fatalf("round %d: got %q want %q", round, g.Value, want)
			}
			next[g.Partition]++
		}
	}
	// kgo recovers from a broken session by starting over, so records
	// arriving proves nothing about sessions; its log does.
	if msgs := logs.get(); len(msgs) > 0 {
		t.Fatalf("kgo had to reset its fetch session %d times; first: %s", len(msgs), msgs[0])
	}
}

// sessionLogs is a kgo.Logger keeping what kgo says about fetch sessions.
type sessionLogs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *sessionLogs) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (l *sessionLogs) Log(_ kgo.LogLevel, msg string, kv ...any) {
	if strings.Contains(msg, "session") {
		l.mu.Lock()
		l.msgs = append(l.msgs, fmt.Sprint(msg, kv))
		l.mu.Unlock()
	}
}

func (l *sessionLogs) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// sessionFetch is a Fetch v12 for partitions of topic at the given offsets
// (partition -> offset), in a session.
func sessionFetch(id, epoch int32, topic string, offsets map[int32]int64, forget ...int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.SessionID, req.SessionEpoch = id, epoch
	if len(offsets) > 0 {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		for p := int32(0); p < 16; p++ {
			if off, ok := offsets[p]; ok {
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
				rt.Partitions = append(rt.Partitions, rp)
			}
		}
		req.Topics = append(req.Topics, rt)
	}
	if len(forget) > 0 {
		req.ForgottenTopics = []kmsg.FetchRequestForgottenTopic{{Topic: topic, Partitions: forget}}
	}
	return req
}

// partitionsIn lists the partitions a fetch response carries, with their
// record counts: "p0:2 p1:0".
func partitionsIn(t *testing.T, resp *kmsg.FetchResponse) string {
	t.Helper()
	s := ""
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			recs, _ := decodeBatches(t, rp.RecordBatches)
			if s != "" {
				s += " "
			}
			s += fmt.Sprintf("p%d:%d", rp.Partition, len(recs))
			if rp.ErrorCode != 0 {
				s += fmt.Sprintf("!%d", rp.ErrorCode)
			}
		}
	}
	return s
}

func TestFetchSessionsRaw(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "rs", 3, nil)
	r := dialRaw(t, b.Addr)
	ts := time.Now().UnixMilli()
	produceOne(t, r, "rs", 0, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: ts, value: []byte("a")}, rec{ts: ts, value: []byte("b")}))

	// Full fetch creating a session: every partition is in the response.
	resp := do[*kmsg.FetchResponse](t, r, sessionFetch(0, 0, "rs", map[int32]int64{0: 0, 1: 0, 2: 0}))
	if resp.ErrorCode != 0 || resp.SessionID == 0 {
		t.Fatalf("session create: error %d id %d", resp.ErrorCode, resp.SessionID)
	}
	id := resp.SessionID
	if got := partitionsIn(t, resp); got != "p0:2 p1:0 p2:0" {
		t.Fatalf("full fetch carried %q", got)
	}

	// Incremental, epoch 1: partition 0 moves to its end; nothing changed
	// anywhere, so the response carries no partitions.
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, 1, "rs", map[int32]int64{0: 2}))
	if resp.ErrorCode != 0 || resp.SessionID != id {
		t.Fatalf("incremental 1: error %d id %d", resp.ErrorCode, resp.SessionID)
	}
	if got := partitionsIn(t, resp); got != "" {
		t.Fatalf("incremental fetch with no news carried %q", got)
	}

	// New data on partition 1 only: only partition 1 comes back, though the
	// request names no partitions.
	produceOne(t, r, "rs", 1, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: ts, value: []byte("c")}))
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, 2, "rs", nil))
	if got := partitionsIn(t, resp); resp.ErrorCode != 0 || got != "p1:1" {
		t.Fatalf("incremental 2: error %d carried %q, want p1:1", resp.ErrorCode, got)
	}
	if hw := resp.Topics[0].Partitions[0].HighWatermark; hw != 1 {
		t.Fatalf("partition 1 hw %d", hw)
	}

	// Wrong epoch: INVALID_FETCH_SESSION_EPOCH, and the session survives.
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, 7, "rs", nil))
	if resp.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("wrong epoch: error %d", resp.ErrorCode)
	}
	// Unknown session id.
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id^0x5a5a5a, 1, "rs", nil))
	if resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: error %d", resp.ErrorCode)
	}
	// A non-zero epoch without a session id: Kafka looks up session 0.
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(0, 3, "rs", nil))
	if resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("epoch without session: error %d", resp.ErrorCode)
	}

	// Epoch 3 still works: move partition 1 past its record and forget
	// partition 2; nothing is new.
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, 3, "rs", map[int32]int64{1: 1}, 2))
	if got := partitionsIn(t, resp); resp.ErrorCode != 0 || got != "" {
		t.Fatalf("incremental 3: error %d carried %q", resp.ErrorCode, got)
	}
	// Data on the forgotten partition is not reported; on partition 0 it is.
	produceOne(t, r, "rs", 2, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: ts, value: []byte("d")}))
	produceOne(t, r, "rs", 0, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: ts, value: []byte("e")}))
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, 4, "rs", nil))
	if got := partitionsIn(t, resp); resp.ErrorCode != 0 || got != "p0:1" {
		t.Fatalf("incremental 4: error %d carried %q, want p0:1", resp.ErrorCode, got)
	}

	// Closing the session (epoch -1) makes the id unknown.
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, -1, "rs", map[int32]int64{0: 0}))
	if resp.ErrorCode != 0 {
		t.Fatalf("session close: error %d", resp.ErrorCode)
	}
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, 5, "rs", nil))
	if resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("after close: error %d", resp.ErrorCode)
	}

	// A session on v13+ names topics by id.
	md := do[*kmsg.MetadataResponse](t, r, func() kmsg.Request {
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(12)
		req.Topics = []kmsg.MetadataRequestTopic{{Topic: sp("rs")}}
		return req
	}())
	tid := md.Topics[0].TopicID
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(17)
	req.SessionEpoch = 0
	rt := kmsg.NewFetchRequestTopic()
	rt.TopicID = tid
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, 0, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp = do[*kmsg.FetchResponse](t, r, req)
	if resp.ErrorCode != 0 || resp.SessionID == 0 || len(resp.Topics) != 1 || resp.Topics[0].TopicID != tid {
		t.Fatalf("v17 session create: %+v", resp)
	}
	if got := partitionsIn(t, resp); got != "p0:3" {
		t.Fatalf("v17 fetch carried %q", got)
	}
}
