package broker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Large Fetch responses go out with sendfile from the segment files; these
// tests hold them to the copy path: the handler called without a
// connection reads the batches into memory, and kmsg encodes that whole.

// sendfileTopic creates a topic and fills each partition with batches of 4
// records of 1000 bytes, several segments' worth.
func sendfileTopic(t *testing.T, b *kafkatest.Broker, name string, partitions int32, batches int, configs map[string]*string) (id [16]byte) {
	t.Helper()
	createTopic(t, b, name, partitions, configs)
	r := dialRaw(t, b.Addr)
	for p := range partitions {
		for i := range batches {
			var recs []rec
			for j := range 4 {
				recs = append(recs, rec{ts: time.Now().UnixMilli(), key: []byte(fmt.Sprint(p, i, j)), value: bytes.Repeat([]byte{byte('a' + (i+j)%26)}, 1000)})
			}
			if pr := produceOne(t, r, name, p, buildBatch(t, record.NonIdempotent, record.CodecNone, recs...)); pr.ErrorCode != 0 {
				t.Fatalf("produce: error %d", pr.ErrorCode)
			}
		}
	}
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(name)
	md.Topics = append(md.Topics, mt)
	resp := do[*kmsg.MetadataResponse](t, r, md)
	return resp.Topics[0].TopicID
}

func sendfileFetch(version int16, topic string, id [16]byte, offsets []int64, partMax int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(version)
	req.MaxBytes = 1 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	for p, o := range offsets {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = int32(p)
		rp.FetchOffset = o
		rp.PartitionMaxBytes = partMax
		rp.CurrentLeaderEpoch = -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// copyFrame is the response frame (after the size) the copy path gives.
func copyFrame(t testing.TB, b *kafkatest.Broker, req *kmsg.FetchRequest, corr int32) []byte {
	t.Helper()
	c := &protocol.Conn{}
	resp, err := b.Handle(context.Background(), c, protocol.RequestHeader{APIKey: 1, APIVersion: req.Version}, req)
	if err != nil {
		t.Fatal(err)
	}
	resp.SetVersion(req.Version)
	out := binary.BigEndian.AppendUint32(nil, uint32(corr))
	if resp.IsFlexible() {
		out = append(out, 0)
	}
	out = resp.AppendTo(out)
	if done := c.TakeAfterWrite(); done != nil {
		done()
	}
	return out
}

// wireFrame sends req over r and returns the response frame.
func wireFrame(t testing.TB, r *rawConn, req *kmsg.FetchRequest) ([]byte, int32) {
	t.Helper()
	corr, err := r.send(req)
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.readFrame(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return f, corr
}

func TestFetchSendfileMatchesCopy(t *testing.T) {
	b := kafkatest.Start(t)
	id := sendfileTopic(t, b, "sf", 2, 60, map[string]*string{"segment.bytes": sp("65536")})
	r := dialRaw(t, b.Addr)
	for _, v := range []int16{4, 11, 12, 13, 17} {
		for _, offs := range [][]int64{{0, 0}, {37, 100}, {200, 236}, {236, 240}, {1, 239}} {
			for _, partMax := range []int32{1, 10000, 50000, 1 << 20} {
				req := sendfileFetch(v, "sf", id, offs, partMax)
				got, corr := wireFrame(t, r, req)
				want := copyFrame(t, b, req, corr)
				if !bytes.Equal(got, want) {
					t.Fatalf("v%d offsets %v max %d: the response (%d bytes) differs from the copy path's (%d)", v, offs, partMax, len(got), len(want))
				}
				resp := req.ResponseKind().(*kmsg.FetchResponse)
				resp.SetVersion(v)
				body := got[4:]
				if v >= 12 {
					body = body[1:]
				}
				if err := resp.ReadFrom(body); err != nil {
					t.Fatal(err)
				}
				for _, p := range resp.Topics[0].Partitions {
					if p.ErrorCode != 0 {
						t.Fatalf("v%d: partition %d error %d", v, p.Partition, p.ErrorCode)
					}
					decodeBatches(t, p.RecordBatches) // CRCs
				}
			}
		}
	}
}

// TestFetchSendfileConcurrent: many connections fetching different offsets
// of the same segments at once each get their own bytes (sendfile at an
// explicit offset, never through the shared file position).
func TestFetchSendfileConcurrent(t *testing.T) {
	b := kafkatest.Start(t)
	id := sendfileTopic(t, b, "sfc", 1, 100, nil)
	want := map[int64][]byte{}
	for o := int64(0); o < 400; o += 3 {
		want[o] = copyFrame(t, b, sendfileFetch(12, "sfc", id, []int64{o}, 64<<10), 1)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		r := dialRaw(t, b.Addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 60 {
				o := rng.Int64N(400/3) * 3
				corr, err := r.send(sendfileFetch(12, "sfc", id, []int64{o}, 64<<10))
				if err != nil {
					t.Error(err)
					return
				}
				got, err := r.readFrame(10 * time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				w := append(binary.BigEndian.AppendUint32(nil, uint32(corr)), want[o][4:]...)
				if !bytes.Equal(got, w) {
					t.Errorf("offset %d: %d bytes differ from the copy path's %d", o, len(got), len(w))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestFetchSendfileRacesRetention: fetches racing DeleteRecords, which
// closes and removes segments at once (file.delete.delay.ms 0), return
// intact batches or OFFSET_OUT_OF_RANGE, never damaged data.
func TestFetchSendfileRacesRetention(t *testing.T) {
	b := kafkatest.Start(t)
	id := sendfileTopic(t, b, "sfr", 1, 200, map[string]*string{"segment.bytes": sp("40000"), "file.delete.delay.ms": sp("0")})
	// Every batch as the copy path returns it, by base offset.
	ref := map[int64][]byte{}
	for o := int64(0); o < 800; {
		f := copyFrame(t, b, sendfileFetch(12, "sfr", id, []int64{o}, 1<<20), 1)
		resp := kmsg.NewPtrFetchResponse()
		resp.SetVersion(12)
		if err := resp.ReadFrom(f[5:]); err != nil {
			t.Fatal(err)
		}
		recs := resp.Topics[0].Partitions[0].RecordBatches
		if len(recs) == 0 {
			t.Fatalf("nothing at %d", o)
		}
		for len(recs) > 0 {
			h, rest, err := record.Next(recs)
			if err != nil {
				t.Fatal(err)
			}
			ref[h.BaseOffset()], recs, o = clone(h), rest, h.NextOffset()
		}
	}
	log := b.Replicas().Partition("sfr", 0).Log()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var fetched atomic.Int64
	for g := range 4 {
		r := dialRaw(t, b.Addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := int64(g * 4)
			for {
				select {
				case <-stop:
					return
				default:
				}
				req := sendfileFetch(12, "sfr", id, []int64{o}, 64<<10)
				got, _ := wireFrame(t, r, req)
				resp := kmsg.NewPtrFetchResponse()
				resp.SetVersion(12)
				if err := resp.ReadFrom(got[5:]); err != nil {
					t.Error(err)
					return
				}
				p := resp.Topics[0].Partitions[0]
				if p.ErrorCode == kerr.OffsetOutOfRange.Code {
					o = p.LogStartOffset
					continue
				}
				if p.ErrorCode != 0 {
					t.Errorf("fetch at %d: error %d", o, p.ErrorCode)
					return
				}
				recs := p.RecordBatches
				if len(recs) == 0 {
					o = 0
					continue
				}
				for len(recs) > 0 {
					h, rest, err := record.Next(recs)
					if err != nil || !bytes.Equal(h, ref[h.BaseOffset()]) {
						t.Errorf("fetch at %d: batch at %d differs (%v)", o, h.BaseOffset(), err)
						return
					}
					recs, o = rest, h.NextOffset()
					fetched.Add(1)
				}
			}
		}()
	}
	for start := int64(4); start < 800; start += 20 {
		if _, err := log.DeleteRecordsBefore(start); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if fetched.Load() == 0 {
		t.Fatal("nothing fetched")
	}
}
