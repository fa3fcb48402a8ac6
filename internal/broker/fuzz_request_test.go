package broker

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzRequest feeds arbitrary bytes as the body of a request for a
// fuzzer-chosen served API key and version. Whatever decodes (kmsg's
// ReadFrom, as the connection does) goes through Broker.Handle of a real
// broker with data on disk, created once per fuzz process.
//
// Invariant: Handle never panics, and a response, if any, encodes at the
// request's version and decodes again.
//
//	go test ./internal/broker -run '^$' -fuzz FuzzRequest -fuzztime 60s
//
// Requests are tamed where they would only burn time or disk: fetches do
// not long-poll, and one request creates at most 256 partitions. Topics piling up
// are deleted every so often; the seed topic "fuzz" is recreated if a
// request deleted it.
func FuzzRequest(f *testing.F) {
	cfg, err := config.NewBroker(map[string]string{
		"log.dirs":                  f.TempDir(),
		"listeners":                 "PLAINTEXT://127.0.0.1:0",
		"num.partitions":            "2",
		"log.segment.bytes":         "65536",
		"auto.create.topics.enable": "true",
	})
	if err != nil {
		f.Fatal(err)
	}
	b, err := New(cfg, nil, prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	ensureFuzzTopic(f, b)

	keys := make([]int16, 0, len(apis))
	for k := range apis {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	// Seeds: a default request of every served key at its min and max
	// version, and a few that reach real data.
	for _, k := range keys {
		for _, v := range []int16{apis[k].min, apis[k].max} {
			req := kmsg.RequestForKey(k)
			req.SetVersion(v)
			f.Add(uint16(slices.Index(keys, k)), uint16(v-apis[k].min), req.AppendTo(nil))
		}
	}
	seed := func(req kmsg.Request) {
		k := req.Key()
		f.Add(uint16(slices.Index(keys, k)), uint16(req.GetVersion()-apis[k].min), req.AppendTo(nil))
	}
	var bl record.Builder
	bl.Reset(record.NonIdempotent)
	bl.Append(time.Now().UnixMilli(), []byte("k"), []byte("v"), []record.RecordHeader{{Key: "h", Value: nil}})
	batch, _ := bl.Finish(record.CodecNone, 0)
	{
		req := kmsg.NewPtrProduceRequest()
		req.SetVersion(9)
		req.Acks = -1
		req.Topics = []kmsg.ProduceRequestTopic{{Topic: "fuzz", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}
		seed(req)
	}
	{
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(12)
		req.SessionEpoch = 0
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes = 1 << 20
		req.Topics = []kmsg.FetchRequestTopic{{Topic: "fuzz", Partitions: []kmsg.FetchRequestTopicPartition{rp}}}
		seed(req)
	}
	{
		req := kmsg.NewPtrListOffsetsRequest()
		req.SetVersion(9)
		req.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "fuzz", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -3}}}}
		seed(req)
	}
	{
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.SetVersion(1)
		v := "compact"
		req.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "fuzz",
			Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "cleanup.policy", Op: kmsg.IncrementalAlterConfigOpAppend, Value: &v}}}}
		seed(req)
	}
	{
		req := kmsg.NewPtrCreateTopicsRequest()
		req.SetVersion(7)
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = "fuzz-created", 2, 1
		req.Topics = []kmsg.CreateTopicsRequestTopic{t}
		seed(req)
	}
	{
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		req.ResponsePartitionLimit = 1
		req.Cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "fuzz", Partition: 1}
		seed(req)
	}

	f.Fuzz(func(t *testing.T, keyIdx, version uint16, body []byte) {
		k := keys[int(keyIdx)%len(keys)]
		a := apis[k]
		v := a.min + int16(int(version)%int(a.max-a.min+1))
		if hugeUvarint(body) {
			return // kmsg spins on huge tag counts; see TestHugeTagCount
		}
		// Decoding or a handler that hangs would only show as a dead
		// worker; report it with every goroutine's stack instead.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(8 * time.Second):
				buf := make([]byte, 4<<20)
				panic(fmt.Sprintf("%s v%d still running after 8s:\n%s", kmsg.NameForKey(k), v, buf[:runtime.Stack(buf, true)]))
			}
		}()
		req := kmsg.RequestForKey(k)
		req.SetVersion(v)
		if err := req.ReadFrom(body); err != nil {
			return // the connection closes; nothing reaches a handler
		}
		if !tameRequest(req) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h := protocol.RequestHeader{APIKey: k, APIVersion: v, CorrelationID: 1, ClientID: "fuzz"}
		resp, err := b.Handle(ctx, &protocol.Conn{Listener: "PLAINTEXT"}, h, req)
		if err == nil && resp != nil {
			resp.SetVersion(v)
			enc := resp.AppendTo(nil)
			back := req.ResponseKind()
			back.SetVersion(v)
			if err := back.ReadFrom(enc); err != nil {
				t.Fatalf("%s v%d: response does not decode: %v", kmsg.NameForKey(k), v, err)
			}
		}
		if len(b.meta.Image().TopicNames()) > 40 {
			for _, name := range b.meta.Image().TopicNames() {
				if name != "fuzz" {
					b.deleteTopic(name, "fuzz")
				}
			}
		}
		ensureFuzzTopic(t, b)
	})
}

// hugeUvarint reports whether b has a run of three bytes with the
// continuation bit set: a varint of 2^21 or more somewhere. kmsg (v1.15)
// loops once per declared tagged field even after running out of bytes, so
// such a tag count costs seconds of CPU in ReadFrom, before any handler
// runs (TestHugeTagCount in bad_input_test.go shows it over TCP). Skipping
// these keeps the fuzzer on the broker.
func hugeUvarint(b []byte) bool {
	run := 0
	for _, c := range b {
		if c < 0x80 {
			run = 0
			continue
		}
		if run++; run >= 3 {
			return true
		}
	}
	return false
}

// tameRequest bounds what a request may cost; false skips it.
func tameRequest(req kmsg.Request) bool {
	const maxPartitions = 256 // created by one request
	switch r := req.(type) {
	case *kmsg.FetchRequest:
		r.MaxWaitMillis = 0
	case *kmsg.MetadataRequest:
		return len(r.Topics) <= 32 // each may auto-create
	case *kmsg.CreateTopicsRequest:
		n := 0
		for _, t := range r.Topics {
			n += max(int(t.NumPartitions), len(t.ReplicaAssignment), 2)
		}
		return n <= maxPartitions
	case *kmsg.CreatePartitionsRequest:
		n := 0
		for _, t := range r.Topics {
			n += max(int(t.Count), 0)
		}
		return n <= maxPartitions
	}
	return true
}

func ensureFuzzTopic(tb testing.TB, b *Broker) {
	if b.meta.Image().Topic("fuzz") != nil {
		return
	}
	if _, err := b.createTopic("fuzz", 3, nil); err != nil {
		tb.Fatalf("create seed topic: %v", err)
	}
}
