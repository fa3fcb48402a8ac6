package protocol

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Conn is one client connection. Handlers may read its fields; they must not
// write to the socket.
type Conn struct {
	s        *Server
	nc       net.Conn
	Listener string // listener name, e.g. PLAINTEXT
	ID       uint64
	log      *slog.Logger

	out      chan outgoing // reader -> writer, bounded
	stopOnce sync.Once
	stopped  chan struct{} // closed when the reader must stop taking requests

	afterWrite func()       // set by the handler being served; reader goroutine only
	files      []fileSplice // set by the handler being served; reader goroutine only
}

type outgoing struct {
	corr     int32
	key      int16
	flexible bool // response header v1 (tagged fields)
	resp     kmsg.Response
	done     func() // run once resp is written (or dropped); may be nil
	files    []fileSplice
}

// A RecordFile is the record data of one partition of a Fetch response left
// in a file (storage.FileRange): the writer sends it with sendfile(2) at
// Offset, never through the file position, which other readers share.
type RecordFile interface {
	// ReadAt reads the range's bytes from off (relative to the range's
	// start): the copy path, where sendfile cannot be used.
	io.ReaderAt
	Fd() int
	Offset() int64
	Len() int64
	// Unchanged reports whether the bytes in the file are still those the
	// range stood for; checked after they were sent.
	Unchanged() bool
}

// fileSplice puts f in place of the RecordBatches of
// Topics[topic].Partitions[partition].
type fileSplice struct {
	topic, partition int
	f                RecordFile
}

// SendFile makes the writer send f as the record batches of
// Topics[topic].Partitions[partition] of the FetchResponse the handler
// returns, whose RecordBatches it leaves empty. Entries must come in the
// order of the response. The writer reads f while writing the response: it
// must stay open until the AfterWrite hook runs (which should close it).
// Only call it if CanSendFile, and only with at least MinSpliceBytes of
// record data in the response in all (below that, copying is cheaper).
func (c *Conn) SendFile(topic, partition int, f RecordFile) {
	c.files = append(c.files, fileSplice{topic: topic, partition: partition, f: f})
}

// CanSendFile reports whether record data can go from files to this
// connection with sendfile.
func (c *Conn) CanSendFile() bool { return canSendFile(c.nc) }

// AfterWrite registers fn to run once the response to the request being
// served has been written to the socket, or dropped; after that nothing
// reads the response any more, so fn may recycle memory the response
// references (Fetch returns its read buffer to a pool). Only the handler
// serving a request on c may call it, at most once per request. fn runs on
// the connection's writer goroutine, or on the reader if no response is sent.
func (c *Conn) AfterWrite(fn func()) { c.afterWrite = fn }

// TakeAfterWrite returns and clears the function registered with AfterWrite
// while serving the last request (nil if none). It is for code that calls a
// Handler outside a connection, such as benchmarks, which then run it after
// they are done with the response.
func (c *Conn) TakeAfterWrite() func() {
	fn := c.afterWrite
	c.afterWrite = nil
	return fn
}

// maxQueued bounds responses waiting for the writer per connection.
const maxQueued = 64

func newConn(s *Server, listener string, nc net.Conn) *Conn {
	id := s.nextID.Add(1)
	return &Conn{
		s: s, nc: nc, Listener: listener, ID: id,
		log:     s.log.With("conn", id, "remote", nc.RemoteAddr().String()),
		out:     make(chan outgoing, maxQueued),
		stopped: make(chan struct{}),
	}
}

// RemoteAddr is the client's address, or nil for a Conn without a network
// connection (handlers called directly, as tests and fuzzers do).
func (c *Conn) RemoteAddr() net.Addr {
	if c == nil || c.nc == nil {
		return nil
	}
	return c.nc.RemoteAddr()
}

// stopReading makes the reader stop after the request it is serving.
func (c *Conn) stopReading() {
	c.stopOnce.Do(func() {
		close(c.stopped)
		c.nc.SetReadDeadline(time.Now()) // wake a blocked read
	})
}

// errClose is returned by the reader for a deliberate close; the reason is
// already logged.
var errClose = errors.New("connection closed by broker")

func (c *Conn) readLoop() {
	defer c.s.wg.Done()
	defer close(c.out) // the writer flushes what is queued, then closes the socket
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var frame []byte
	var size [4]byte
	for {
		if c.s.cfg.IdleTimeout > 0 {
			c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
		}
		// Checked after arming the deadline: a stopReading racing with us
		// sets its own (earlier) deadline after ours.
		select {
		case <-c.stopped:
			return
		default:
		}
		if _, err := io.ReadFull(br, size[:]); err != nil {
			c.readFailed(err)
			return
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if n < 0 || (c.s.cfg.MaxRequestBytes > 0 && n > c.s.cfg.MaxRequestBytes) {
			c.s.metrics.closed.WithLabelValues("oversized").Inc()
			c.log.Warn("closing connection: request frame exceeds socket.request.max.bytes",
				"size", n, "limit", c.s.cfg.MaxRequestBytes)
			return
		}
		// The frame buffer is reused: requests are served one at a time and
		// nothing keeps a reference into it after Handle returns.
		if cap(frame) < int(n) {
			frame = make([]byte, n)
		}
		frame = frame[:n]
		if _, err := io.ReadFull(br, frame); err != nil {
			c.readFailed(err)
			return
		}
		if err := c.serve(frame); err != nil {
			if !errors.Is(err, errClose) {
				c.log.Warn("closing connection", "err", err)
			}
			return
		}
	}
}

func (c *Conn) readFailed(err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("client closed the connection")
	case errors.Is(err, os.ErrDeadlineExceeded):
		select {
		case <-c.stopped: // shutdown
		default:
			c.s.metrics.closed.WithLabelValues("idle").Inc()
			c.log.Debug("closing idle connection", "idle", c.s.cfg.IdleTimeout)
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.log.Info("client closed the connection mid-request")
	default:
		c.log.Debug("read failed", "err", err)
	}
}

// serve decodes one frame, runs the handler and queues the response.
func (c *Conn) serve(frame []byte) error {
	h, body, err := parseHeader(frame, requestFlexible)
	if err != nil {
		c.s.metrics.closed.WithLabelValues("malformed").Inc()
		c.log.Warn("closing connection: malformed request header", "err", err)
		return errClose
	}
	req := kmsg.RequestForKey(h.APIKey)
	if req == nil {
		c.s.metrics.closed.WithLabelValues("unknown_api").Inc()
		c.log.Warn("closing connection: unknown API key", "api_key", h.APIKey, "client_id", h.ClientID)
		return errClose
	}
	c.s.metrics.requests.WithLabelValues(kmsg.NameForKey(h.APIKey)).Inc()
	minV, maxV, ok := c.s.handler.Versions(h.APIKey)
	supported := ok && h.APIVersion >= minV && h.APIVersion <= maxV

	switch {
	case !supported && h.APIKey == int16(kmsg.ApiVersions):
		// KIP-511: answer an ApiVersions we cannot parse as v0, so the client
		// learns our ranges and retries with one we speak. The handler sees
		// the header's real version and sets UNSUPPORTED_VERSION.
		req.SetVersion(0)
	case !supported:
		return c.unsupported(h, req)
	default:
		req.SetVersion(h.APIVersion)
		if err := req.ReadFrom(body); err != nil {
			c.s.metrics.closed.WithLabelValues("malformed").Inc()
			c.log.Warn("closing connection: request body does not decode",
				"api", kmsg.NameForKey(h.APIKey), "version", h.APIVersion, "client_id", h.ClientID, "err", err)
			return errClose
		}
	}

	resp, err := c.s.handler.Handle(c.s.ctx, c, h, req)
	done := c.TakeAfterWrite()
	files := c.files
	c.files = nil
	if err != nil || resp == nil {
		if done != nil {
			done()
		}
		if err != nil {
			return fmt.Errorf("%s v%d: %w", kmsg.NameForKey(h.APIKey), h.APIVersion, err)
		}
		return nil
	}
	resp.SetVersion(req.GetVersion())
	c.out <- outgoing{corr: h.CorrelationID, key: h.APIKey, resp: resp, done: done, files: files,
		flexible: resp.IsFlexible() && h.APIKey != int16(kmsg.ApiVersions)}
	return nil
}

// unsupported answers a request whose version we do not serve. Where the
// response has a top-level error code we send UNSUPPORTED_VERSION in it;
// otherwise (or if kmsg cannot encode that version) the connection closes,
// which is what Kafka does for versions it cannot parse.
func (c *Conn) unsupported(h RequestHeader, req kmsg.Request) error {
	c.log.Info("request version not supported", "api", kmsg.NameForKey(h.APIKey),
		"version", h.APIVersion, "client_id", h.ClientID)
	if h.APIVersion < 0 || h.APIVersion > req.MaxVersion() {
		return errClose
	}
	resp := req.ResponseKind()
	resp.SetVersion(h.APIVersion)
	f := reflect.ValueOf(resp).Elem().FieldByName("ErrorCode")
	if !f.IsValid() || f.Kind() != reflect.Int16 {
		return errClose
	}
	f.SetInt(int64(kerr.UnsupportedVersion.Code))
	c.out <- outgoing{corr: h.CorrelationID, key: h.APIKey, resp: resp, flexible: resp.IsFlexible()}
	return nil
}

func (c *Conn) writeLoop() {
	defer c.s.wg.Done()
	defer c.s.forget(c)
	defer c.nc.Close()
	var w responseWriter
	broken := false
	for o := range c.out {
		if broken {
			o.finish()
			continue // drain so the reader never blocks
		}
		w.add(o)
		// Coalesce responses already queued into one write.
		for more := true; more && w.size < 1<<20; {
			select {
			case o2, ok := <-c.out:
				if !ok {
					more = false
					break
				}
				w.add(o2)
			default:
				more = false
			}
		}
		if err := w.flush(c.nc); err != nil {
			c.log.Debug("write failed", "err", err)
			broken = true
			c.nc.Close() // unblocks the reader
		}
	}
}

func (o *outgoing) finish() {
	if o.done != nil {
		o.done()
	}
}
