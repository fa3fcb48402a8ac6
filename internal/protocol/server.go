package protocol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handler serves decoded requests.
type Handler interface {
	// Handle serves one request. It is called on the connection's reader
	// goroutine, one request at a time per connection and concurrently
	// across connections. It may block (long polls, acks=all) but must
	// return soon after ctx is done. A nil response sends nothing (Produce
	// with acks=0). A non-nil error closes the connection.
	Handle(ctx context.Context, c *Conn, h RequestHeader, req kmsg.Request) (kmsg.Response, error)
	// Versions reports the request versions served for an API key.
	Versions(key int16) (min, max int16, ok bool)
}

// Config holds the network settings (Kafka's socket.* and connections.* keys).
type Config struct {
	MaxRequestBytes int32         // socket.request.max.bytes
	IdleTimeout     time.Duration // connections.max.idle.ms
	SendBuffer      int           // socket.send.buffer.bytes (-1: OS default)
	ReceiveBuffer   int           // socket.receive.buffer.bytes (-1: OS default)
}

// Server accepts Kafka connections on one or more listeners.
type Server struct {
	cfg     Config
	handler Handler
	log     *slog.Logger
	metrics *Metrics

	ctx    context.Context // cancelled by Close: handlers return early
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*Conn]struct{}
	closing   bool
	wg        sync.WaitGroup // accept loops and connection goroutines
	nextID    atomic.Uint64
}

// NewServer returns a server that passes requests to h.
func NewServer(cfg Config, h Handler, log *slog.Logger, m *Metrics) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, handler: h, log: log.With("component", "network"), metrics: m,
		ctx: ctx, cancel: cancel, conns: make(map[*Conn]struct{})}
}

// Listen opens a TCP listener on addr and serves it in the background. It
// returns the bound address (useful with port 0).
func (s *Server) Listen(name, addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listener %s on %s: %w", name, addr, err)
	}
	return s.Serve(name, ln)
}

// Serve serves Kafka connections accepted on ln in the background (a
// listener shared with another protocol, say). Close closes ln.
func (s *Server) Serve(name string, ln net.Listener) (net.Addr, error) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return nil, errors.New("server is closed")
	}
	s.listeners = append(s.listeners, ln)
	s.wg.Add(1)
	s.mu.Unlock()
	go s.accept(name, ln)
	return ln.Addr(), nil
}

func (s *Server) accept(name string, ln net.Listener) {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, keep serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "listener", name, "err", err, "backoff", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
			if s.cfg.SendBuffer > 0 {
				tc.SetWriteBuffer(s.cfg.SendBuffer)
			}
			if s.cfg.ReceiveBuffer > 0 {
				tc.SetReadBuffer(s.cfg.ReceiveBuffer)
			}
		}
		c := newConn(s, name, nc)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		s.metrics.connections.Inc()
		go c.readLoop()
		go c.writeLoop()
	}
}

func (s *Server) forget(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.metrics.connections.Dec()
}

// Close stops accepting, lets in-flight requests finish (their context is
// cancelled so long polls return), flushes their responses, and closes every
// connection. It waits until all connection goroutines are gone or ctx ends,
// in which case sockets are closed forcibly.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	for _, ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.stopReading()
	}
	s.mu.Unlock()
	s.cancel()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
