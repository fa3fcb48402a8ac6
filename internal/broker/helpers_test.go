package broker_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawConn speaks the Kafka protocol over a plain TCP socket, one request at
// a time, with exactly the version set on each request (kgo would negotiate
// its own). It never hides a closed connection.
type rawConn struct {
	c    net.Conn
	br   *bufio.Reader
	corr int32
	f    *kmsg.RequestFormatter
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c: c, br: bufio.NewReader(c), f: kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw-test"))}
}

// write sends bytes as they are.
func (r *rawConn) write(b []byte) error {
	r.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := r.c.Write(b)
	return err
}

// send frames and writes req with the version it carries; it returns the
// correlation id used.
func (r *rawConn) send(req kmsg.Request) (int32, error) {
	r.corr++
	return r.corr, r.write(r.f.AppendRequest(nil, req, r.corr))
}

// readFrame reads one size-prefixed frame.
func (r *rawConn) readFrame(timeout time.Duration) ([]byte, error) {
	r.c.SetReadDeadline(time.Now().Add(timeout))
	var size [4]byte
	if _, err := io.ReadFull(r.br, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 256<<20 {
		return nil, fmt.Errorf("response frame of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.br, b); err != nil {
		return nil, err
	}
	return b, nil
}

// recv reads the response to req sent with correlation id corr and
// decodes it at req's version. It also returns the response body.
func (r *rawConn) recv(req kmsg.Request, corr int32, timeout time.Duration) (kmsg.Response, []byte, error) {
	frame, err := r.readFrame(timeout)
	if err != nil {
		return nil, nil, err
	}
	if len(frame) < 4 {
		return nil, nil, fmt.Errorf("response frame of %d bytes", len(frame))
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != corr {
		return nil, nil, fmt.Errorf("correlation id %d, want %d", got, corr)
	}
	body := frame[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		if body, err = skipTags(body); err != nil {
			return nil, nil, err
		}
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, body, fmt.Errorf("decode %s v%d response: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp, body, nil
}

func skipTags(b []byte) ([]byte, error) {
	n, l := binary.Uvarint(b)
	if l <= 0 {
		return nil, errors.New("bad tag count")
	}
	b = b[l:]
	for range n {
		if _, l = binary.Uvarint(b); l <= 0 {
			return nil, errors.New("bad tag")
		}
		b = b[l:]
		size, l := binary.Uvarint(b)
		if l <= 0 || uint64(len(b)-l) < size {
			return nil, errors.New("bad tag size")
		}
		b = b[l+int(size):]
	}
	return b, nil
}

// try sends req and waits for its response.
func (r *rawConn) try(req kmsg.Request) (kmsg.Response, error) {
	corr, err := r.send(req)
	if err != nil {
		return nil, err
	}
	resp, _, err := r.recv(req, corr, 10*time.Second)
	return resp, err
}

// expectClosed asserts the broker closes the connection (without sending
// anything) within a few seconds.
func (r *rawConn) expectClosed(t testing.TB) {
	t.Helper()
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	n, err := r.br.Read(b)
	if n > 0 {
		t.Fatalf("broker sent data instead of closing the connection")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after 5s")
	}
	if err == nil {
		t.Fatalf("read returned no error on a connection that should be closed")
	}
}

// do sends req at its version and returns the typed response, failing the
// test if the connection breaks or the response does not decode.
func do[R kmsg.Response](t testing.TB, r *rawConn, req kmsg.Request) R {
	t.Helper()
	resp, err := r.try(req)
	if err != nil {
		t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp.(R)
}

// kreq issues req through a kgo client (version negotiated by kgo).
func kreq[R kmsg.Response](t testing.TB, cl *kgo.Client, req kmsg.Request) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.Request(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp.(R)
}

// rec is one record for buildBatch.
type rec struct {
	ts         int64
	key, value []byte
	headers    []record.RecordHeader
}

// buildBatch encodes records as one v2 batch with the given producer fields
// (record.NonIdempotent for a plain producer).
func buildBatch(t testing.TB, f record.BatchFields, codec int8, recs ...rec) []byte {
	t.Helper()
	var b record.Builder
	b.Reset(f)
	for _, r := range recs {
		b.Append(r.ts, r.key, r.value, r.headers)
	}
	h, err := b.Finish(codec, 0)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), h...)
}

// produceReq is a Produce request for one partition.
func produceReq(version int16, acks int16, topic string, partition int32, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(version)
	req.Acks = acks
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// produceOne sends one batch over a raw connection and returns the
// partition's response.
func produceOne(t testing.TB, r *rawConn, topic string, partition int32, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	resp := do[*kmsg.ProduceResponse](t, r, produceReq(9, -1, topic, partition, batch))
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce response has %d topics", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// fetchReq is a sessionless Fetch (v12, by topic name) for one partition.
func fetchReq(topic string, partition int32, offset int64, maxWait time.Duration, minBytes int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.MaxWaitMillis = int32(maxWait / time.Millisecond)
	req.MinBytes = minBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = 8 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// fetchOne fetches one partition over a raw connection.
func fetchOne(t testing.TB, r *rawConn, topic string, partition int32, offset int64) kmsg.FetchResponseTopicPartition {
	t.Helper()
	resp := do[*kmsg.FetchResponse](t, r, fetchReq(topic, partition, offset, 0, 0))
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch: error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// fetchedRecord is a decoded record with its absolute offset.
type fetchedRecord struct {
	offset     int64
	ts         int64
	key, value []byte
	headers    []kmsg.Header
}

// decodeBatches decodes fetched record batches (any codec) with kgo's
// decoder-free path: kmsg plus record.Decompress.
func decodeBatches(t testing.TB, b []byte) (recs []fetchedRecord, codecs []int8) {
	t.Helper()
	for len(b) > 0 {
		h, rest, err := record.Next(b)
		if err != nil {
			t.Fatalf("fetched bytes do not frame: %v", err)
		}
		b = rest
		if !h.ValidCRC() {
			t.Fatalf("fetched batch at %d has a bad CRC", h.BaseOffset())
		}
		codecs = append(codecs, h.Codec())
		base, baseTs := h.BaseOffset(), h.BaseTimestamp()
		err = record.ForEachRecord(h, func(r *record.Record) error {
			fr := fetchedRecord{offset: base + int64(r.OffsetDelta), ts: baseTs + r.TimestampDelta,
				key: clone(r.Key), value: clone(r.Value)}
			for _, hd := range r.Headers {
				fr.headers = append(fr.headers, kmsg.Header{Key: hd.Key, Value: clone(hd.Value)})
			}
			recs = append(recs, fr)
			return nil
		})
		if err != nil {
			t.Fatalf("decode batch at %d: %v", base, err)
		}
	}
	return recs, codecs
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// createTopic creates a topic through kadm and fails the test on error.
func createTopic(t testing.TB, b *kafkatest.Broker, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := b.Admin(t).CreateTopic(ctx, partitions, 1, configs, name)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", name, err, resp.Err)
	}
}

func sp(s string) *string { return &s }

// consume polls cl until n records arrived or the deadline passes.
func consume(t testing.TB, cl *kgo.Client, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline", len(out), n)
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch error on %s/%d: %v", topic, p, err)
		})
		out = append(out, fs.Records()...)
	}
	if len(out) != n {
		t.Fatalf("consumed %d records, want %d", len(out), n)
	}
	return out
}

// listOffset asks for one partition's offset at timestamp ts (ListOffsets
// v9 unless version says otherwise).
func listOffset(t testing.TB, r *rawConn, version int16, topic string, partition int32, ts int64) kmsg.ListOffsetsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(version)
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.Timestamp = ts
	rp.MaxNumOffsets = 1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := do[*kmsg.ListOffsetsResponse](t, r, req)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("list offsets: %d topics", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}
