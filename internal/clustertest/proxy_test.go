package clustertest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echoServer stands in for a node listener: it binds the node's own
// loopback IP and echoes every connection until EOF, then closes it. It
// records the source address of each connection it accepts.
type echoServer struct {
	ln *net.TCPListener
	wg sync.WaitGroup

	mu      sync.Mutex
	sources []string
	conns   []net.Conn
}

func startEcho(t *testing.T, ip string) *echoServer {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.sources = append(e.sources, c.RemoteAddr().(*net.TCPAddr).IP.String())
			e.conns = append(e.conns, c)
			e.mu.Unlock()
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		e.mu.Lock()
		for _, c := range e.conns {
			c.Close()
		}
		e.mu.Unlock()
		e.wg.Wait()
	})
	return e
}

func (e *echoServer) accepted() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.sources)
}

// testNet is a network of n echo "nodes", each behind a proxy.
type testNet struct {
	nw      *network
	echo    []*echoServer // echo[i] is node i+1
	proxies []*proxy
}

func newTestNet(t *testing.T, n int) *testNet {
	t.Helper()
	tn := &testNet{nw: newNetwork(n)}
	t.Cleanup(tn.nw.close)
	for id := 1; id <= n; id++ {
		e := startEcho(t, nodeIP(id))
		p, err := tn.nw.listen(id, "PLAINTEXT", e.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		tn.echo = append(tn.echo, e)
		tn.proxies = append(tn.proxies, p)
	}
	return tn
}

// dial connects from peer from (0: a client on 127.0.0.1) to node to's
// proxy. The connect itself always succeeds: the proxy accepts everything
// and decides afterwards.
func (tn *testNet) dial(t *testing.T, from, to int) *net.TCPConn {
	t.Helper()
	ip := "127.0.0.1"
	if from != client {
		ip = nodeIP(from)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", tn.proxies[to-1].Addr())
	if err != nil {
		t.Fatalf("dial %d->%d: %v", from, to, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// alive checks that a round trip through c comes back intact.
func alive(t *testing.T, c net.Conn, what string) {
	t.Helper()
	msg := fmt.Appendf(nil, "ping %s %d", what, time.Now().UnixNano())
	c.SetDeadline(time.Now().Add(2 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("%s: write: %v", what, err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("%s: read: %v", what, err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("%s: echoed %q, want %q", what, got, msg)
	}
}

// dead checks that c is closed: a read ends with EOF or a reset at once,
// not with a timeout and not with data.
func dead(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	defer c.SetDeadline(time.Time{})
	c.Write([]byte("ping")) // may fail already; the read decides
	start := time.Now()
	n, err := c.Read(make([]byte, 16))
	if err == nil {
		t.Fatalf("%s: read %d bytes from a cut connection", what, n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: read timed out after %v; want the connection closed", what, time.Since(start))
	}
}

// deadDial checks that a new connection from -> to is refused: the dial
// itself is reset, or the connection is dead at once.
func deadDial(t *testing.T, tn *testNet, from, to int, what string) {
	t.Helper()
	ip := "127.0.0.1"
	if from != client {
		ip = nodeIP(from)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", tn.proxies[to-1].Addr())
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("%s: dial: %v, want a reset", what, err)
		}
		return
	}
	defer c.Close()
	dead(t, c, what)
}

func TestProxyForwardsBothWays(t *testing.T) {
	tn := newTestNet(t, 2)
	c := tn.dial(t, 2, 1)

	// 4 MiB out while reading the echo back, then a half-close: the echo
	// server sees EOF only if the proxy passed the FIN on, and our read
	// ends only if the proxy passed the server's FIN back.
	payload := make([]byte, 4<<20)
	rand.Read(payload)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("echoed %d bytes, want the %d sent, intact", len(got), len(payload))
	}
	// The node saw the dialer's own IP, not the proxy's.
	if got, want := tn.echo[0].accepted(), []string{nodeIP(2)}; !slices.Equal(got, want) {
		t.Fatalf("node 1 accepted connections from %v, want %v", got, want)
	}
	// Both halves closed: the proxy drops the connection from its table.
	deadline := time.Now().Add(2 * time.Second)
	for len(tn.nw.connections()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("connections still open after both sides closed: %+v", tn.nw.connections())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProxyConnections(t *testing.T) {
	tn := newTestNet(t, 3)
	c21 := tn.dial(t, 2, 1)
	c03 := tn.dial(t, client, 3)
	alive(t, c21, "2->1")
	alive(t, c03, "client->3")
	got := tn.nw.connections()
	want := []Conn{
		{From: 0, To: 3, Listener: "PLAINTEXT", Source: c03.LocalAddr().String()},
		{From: 2, To: 1, Listener: "PLAINTEXT", Source: c21.LocalAddr().String()},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("connections = %+v, want %+v", got, want)
	}
}

func TestProxyCut(t *testing.T) {
	tn := newTestNet(t, 3)
	c21 := tn.dial(t, 2, 1)
	c12 := tn.dial(t, 1, 2)
	c13 := tn.dial(t, 1, 3)
	c23 := tn.dial(t, 2, 3)
	c11 := tn.dial(t, 1, 1)
	c01 := tn.dial(t, client, 1)
	c02 := tn.dial(t, client, 2)
	for _, c := range []struct {
		c    net.Conn
		name string
	}{{c21, "2->1"}, {c12, "1->2"}, {c13, "1->3"}, {c23, "2->3"}, {c11, "1->1"}, {c01, "client->1"}, {c02, "client->2"}} {
		alive(t, c.c, c.name)
	}

	tn.nw.cut(1)
	// Cut returns after closing: no waiting needed for the open ones.
	dead(t, c21, "open 2->1 after Cut(1)")
	dead(t, c12, "open 1->2 after Cut(1)")
	dead(t, c13, "open 1->3 after Cut(1)")
	dead(t, c01, "open client->1 after Cut(1)")
	alive(t, c23, "open 2->3 after Cut(1)")
	alive(t, c02, "open client->2 after Cut(1)")
	alive(t, c11, "open 1->1 after Cut(1)")

	accepted1 := len(tn.echo[0].accepted())
	deadDial(t, tn, 2, 1, "new 2->1 while cut")
	deadDial(t, tn, 3, 1, "new 3->1 while cut")
	deadDial(t, tn, client, 1, "new client->1 while cut")
	deadDial(t, tn, 1, 2, "new 1->2 while cut")
	deadDial(t, tn, 1, 3, "new 1->3 while cut")
	alive(t, tn.dial(t, 2, 3), "new 2->3 while 1 is cut")
	alive(t, tn.dial(t, client, 3), "new client->3 while 1 is cut")
	alive(t, tn.dial(t, 1, 1), "new 1->1 while cut")
	// Refused connections never reach the node: only the 1->1 one did.
	if got := len(tn.echo[0].accepted()); got != accepted1+1 {
		t.Fatalf("node 1 accepted %d connections while cut, want 1 (its own)", got-accepted1)
	}
	for _, c := range tn.nw.connections() {
		if (c.From == 1 || c.To == 1) && c.From != c.To {
			t.Fatalf("connection %+v still open while node 1 is cut", c)
		}
	}

	tn.nw.heal(1)
	alive(t, tn.dial(t, 2, 1), "new 2->1 after Heal(1)")
	alive(t, tn.dial(t, 1, 2), "new 1->2 after Heal(1)")
	alive(t, tn.dial(t, client, 1), "new client->1 after Heal(1)")
	// Connections closed by the cut stay closed.
	dead(t, c21, "old 2->1 after Heal(1)")
}

func TestProxyCutLink(t *testing.T) {
	tn := newTestNet(t, 3)
	c12 := tn.dial(t, 1, 2)
	c21 := tn.dial(t, 2, 1)
	c13 := tn.dial(t, 1, 3)
	c31 := tn.dial(t, 3, 1)
	c23 := tn.dial(t, 2, 3)
	c01 := tn.dial(t, client, 1)
	c02 := tn.dial(t, client, 2)

	tn.nw.cutLink(2, 1) // either order names the same link
	dead(t, c12, "open 1->2 after CutLink(1,2)")
	dead(t, c21, "open 2->1 after CutLink(1,2)")
	alive(t, c13, "open 1->3 after CutLink(1,2)")
	alive(t, c31, "open 3->1 after CutLink(1,2)")
	alive(t, c23, "open 2->3 after CutLink(1,2)")
	alive(t, c01, "open client->1 after CutLink(1,2)")
	alive(t, c02, "open client->2 after CutLink(1,2)")
	deadDial(t, tn, 1, 2, "new 1->2 while the link is cut")
	deadDial(t, tn, 2, 1, "new 2->1 while the link is cut")
	alive(t, tn.dial(t, 1, 3), "new 1->3 while 1-2 is cut")
	alive(t, tn.dial(t, 3, 2), "new 3->2 while 1-2 is cut")
	alive(t, tn.dial(t, client, 2), "new client->2 while 1-2 is cut")

	// Healing a node does not heal a link cut on its own.
	tn.nw.cut(1)
	tn.nw.heal(1)
	deadDial(t, tn, 1, 2, "new 1->2 after Cut(1)+Heal(1) with the link still cut")
	alive(t, tn.dial(t, 1, 3), "new 1->3 after Cut(1)+Heal(1)")

	tn.nw.healLink(1, 2)
	alive(t, tn.dial(t, 1, 2), "new 1->2 after HealLink")
	alive(t, tn.dial(t, 2, 1), "new 2->1 after HealLink")
}

func TestProxyTargetDown(t *testing.T) {
	tn := newTestNet(t, 1)
	// A node that is not listening: the dialer sees the connection reset
	// at once, as with a refused connection.
	tn.echo[0].ln.Close()
	deadDial(t, tn, client, 1, "client->1 with nothing listening")
}

func TestPeerOf(t *testing.T) {
	nw := newNetwork(5)
	for _, tc := range []struct {
		ip   string
		want int
	}{
		{"127.0.0.1", client},
		{"127.0.0.10", client},
		{"127.0.0.11", 1},
		{"127.0.0.15", 5},
		{"127.0.0.16", client},
		{"127.0.1.11", client},
		{"::1", client},
		{"::ffff:127.0.0.12", 2},
	} {
		if got := nw.peerOf(net.ParseIP(tc.ip)); got != tc.want {
			t.Errorf("peerOf(%s) = %d, want %d", tc.ip, got, tc.want)
		}
	}
}
