package controller

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// raftPreamble opens every Raft connection. Kafka requests start with a
// big-endian int32 size; these bytes would announce a 1.3 GB request, which
// no listener accepts, so the two cannot be confused.
var raftPreamble = []byte("RAFT")

// Mux splits one listener into Raft connections and Kafka connections.
type Mux struct {
	ln    net.Listener
	raft  *subListener
	kafka *subListener
	once  sync.Once
}

// NewMux starts sorting connections accepted on ln.
func NewMux(ln net.Listener) *Mux {
	m := &Mux{ln: ln}
	m.raft = newSubListener(ln.Addr())
	m.kafka = newSubListener(ln.Addr())
	go m.loop()
	return m
}

// Raft returns the listener of Raft connections (preamble consumed).
func (m *Mux) Raft() net.Listener { return m.raft }

// Kafka returns the listener of every other connection.
func (m *Mux) Kafka() net.Listener { return m.kafka }

// Close closes the underlying listener and both halves.
func (m *Mux) Close() error {
	err := m.ln.Close()
	m.once.Do(func() {
		m.raft.close()
		m.kafka.close()
	})
	return err
}

func (m *Mux) loop() {
	var backoff time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				m.Close()
				return
			}
			// Out of file descriptors and the like: keep the listener,
			// which the node's quorum membership depends on.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go m.sort(c)
	}
}

func (m *Mux) sort(c net.Conn) {
	// A peer that connects and says nothing is a Kafka client waiting for
	// nothing: Kafka clients speak first too, so a short wait is safe.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, len(raftPreamble))
	if tc, ok := c.(*net.TCPConn); ok {
		// Look without reading, so that a Kafka connection reaches its
		// server as the *net.TCPConn it is: the server sends fetched
		// records with sendfile only to one, and a broker-only node
		// serves its clients on a muxed listener.
		n, err := peek(tc, head)
		switch {
		case err != nil:
			c.Close()
			return
		case n == len(head) && bytes.Equal(head, raftPreamble):
			if _, err := io.ReadFull(c, head); err != nil {
				c.Close()
				return
			}
			c.SetReadDeadline(time.Time{})
			m.raft.deliver(c)
			return
		case n == len(head):
			c.SetReadDeadline(time.Time{})
			m.kafka.deliver(c)
			return
		}
		// Fewer bytes than the preamble so far: read them below.
	}
	n, err := io.ReadFull(c, head)
	c.SetReadDeadline(time.Time{})
	if err != nil && n == 0 {
		c.Close()
		return
	}
	if n == len(head) && bytes.Equal(head, raftPreamble) {
		m.raft.deliver(c)
		return
	}
	m.kafka.deliver(&prefixConn{Conn: c, prefix: head[:n]})
}

// peek waits until c has data (or its read deadline passes) and copies up
// to len(p) bytes of it into p without consuming them (MSG_PEEK).
func peek(c *net.TCPConn, p []byte) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK)
		// false: wait until readable (or the deadline), then call again.
		return !errors.Is(rerr, syscall.EAGAIN) && !errors.Is(rerr, syscall.EINTR)
	})
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, rerr
	case n <= 0:
		return 0, io.EOF
	}
	return n, nil
}

type subListener struct {
	addr   net.Addr
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newSubListener(a net.Addr) *subListener {
	return &subListener{addr: a, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *subListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *subListener) close() { l.closed.Do(func() { close(l.done) }) }

func (l *subListener) Close() error { l.close(); return nil }

func (l *subListener) Addr() net.Addr { return l.addr }

// prefixConn replays bytes already read from the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
