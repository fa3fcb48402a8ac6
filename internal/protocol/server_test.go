package protocol

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// echoHandler answers Metadata requests with the topics it was asked for,
// so a test can match responses to requests. A topic named "block" makes
// the handler wait until ctx is done (a long poll); "slow" sleeps a little.
type echoHandler struct{ inFlight atomic.Int32 }

func (h *echoHandler) Versions(key int16) (int16, int16, bool) {
	if key == int16(kmsg.Metadata) {
		return 0, 12, true
	}
	return 0, 0, false
}

func (h *echoHandler) Handle(ctx context.Context, _ *Conn, _ RequestHeader, req kmsg.Request) (kmsg.Response, error) {
	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	mr := req.(*kmsg.MetadataRequest)
	resp := mr.ResponseKind().(*kmsg.MetadataResponse)
	for _, t := range mr.Topics {
		switch *t.Topic {
		case "block":
			<-ctx.Done()
		case "slow":
			time.Sleep(5 * time.Millisecond)
		}
		resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{Topic: t.Topic})
	}
	return resp, nil
}

func startServer(t *testing.T, cfg Config) (*Server, *echoHandler, string) {
	t.Helper()
	h := &echoHandler{}
	s := NewServer(cfg, h, nil, nil)
	addr, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, h, addr.String()
}

func metadataFrame(corr int32, version int16, topic string) []byte {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = version
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = &topic
	req.Topics = append(req.Topics, rt)
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(kmsg.Metadata))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "test"...)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// readResponse reads one response frame and decodes it as Metadata.
func readResponse(t *testing.T, c net.Conn, version int16) (int32, string) {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("read size: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	corr := int32(binary.BigEndian.Uint32(body))
	body = body[4:]
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = version
	if resp.IsFlexible() {
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil || len(resp.Topics) != 1 {
		t.Fatalf("decode response %d: %v", corr, err)
	}
	return corr, *resp.Topics[0].Topic
}

// Pipelined requests of mixed versions (classic and flexible headers) are
// answered in order, each matching its request.
func TestPipelinedResponsesInOrder(t *testing.T) {
	_, _, addr := startServer(t, Config{MaxRequestBytes: 1 << 20})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 200
	var all []byte
	for i := 0; i < n; i++ {
		topic := "t" + strconv.Itoa(i)
		if i%7 == 0 {
			topic = "slow"
		}
		all = append(all, metadataFrame(int32(i), int16(i%13), topic)...)
	}
	go c.Write(all) // more than the socket buffers may hold: write while reading
	for i := 0; i < n; i++ {
		corr, topic := readResponse(t, c, int16(i%13))
		want := "t" + strconv.Itoa(i)
		if i%7 == 0 {
			want = "slow"
		}
		if corr != int32(i) || topic != want {
			t.Fatalf("response %d: correlation %d topic %q, want %d %q", i, corr, topic, i, want)
		}
	}
}

// An idle connection is closed after connections.max.idle.ms; an active one
// is not.
func TestIdleConnectionsAreReaped(t *testing.T) {
	_, _, addr := startServer(t, Config{MaxRequestBytes: 1 << 20, IdleTimeout: 200 * time.Millisecond})
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	active, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer active.Close()
	start := time.Now()
	for i := 0; time.Since(start) < 600*time.Millisecond; i++ {
		active.Write(metadataFrame(int32(i), 1, "x"))
		readResponse(t, active, 1)
		time.Sleep(50 * time.Millisecond)
	}
	idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read got %v, want EOF (closed by the broker)", err)
	}
	active.Write(metadataFrame(99, 1, "still-here"))
	if corr, _ := readResponse(t, active, 1); corr != 99 {
		t.Fatalf("active connection: correlation %d", corr)
	}
}

// Close lets the request in flight finish (its context is cancelled, as a
// long poll would see), sends its response, then closes the connection.
func TestCloseFinishesRequestsInFlight(t *testing.T) {
	s, h, addr := startServer(t, Config{MaxRequestBytes: 1 << 20})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(metadataFrame(7, 9, "block"))
	deadline := time.Now().Add(2 * time.Second)
	for h.inFlight.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request never reached the handler")
		}
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		closed <- s.Close(ctx)
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if corr, topic := readResponse(t, c, 9); corr != 7 || topic != "block" {
		t.Fatalf("in-flight response: %d %q", corr, topic)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after close: %v, want EOF", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("listener still accepts after Close")
	}
}

// A frame over the size limit closes that connection only.
func TestOversizedFrameClosesOnlyThatConnection(t *testing.T) {
	_, _, addr := startServer(t, Config{MaxRequestBytes: 1024})
	bad, _ := net.Dial("tcp", addr)
	defer bad.Close()
	good, _ := net.Dial("tcp", addr)
	defer good.Close()
	bad.Write([]byte{0, 0, 4, 1}) // 1025 bytes announced
	bad.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := bad.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("oversized: %v, want EOF", err)
	}
	good.Write(metadataFrame(1, 4, "fine"))
	if corr, topic := readResponse(t, good, 4); corr != 1 || topic != "fine" {
		t.Fatalf("other connection: %d %q", corr, topic)
	}
}
