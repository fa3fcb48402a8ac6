package clustertest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// client is the peer number of a connection that does not come from a node:
// a test's franz-go client, kcat, or anything else dialing from 127.0.0.1.
const client = 0

// upstreamDialTimeout bounds the proxy's dial to a node's real listener. A
// dead node refuses at once; a paused one still completes the handshake
// from the kernel's accept queue, so this only matters if that queue is
// full.
const upstreamDialTimeout = 2 * time.Second

// network is the set of proxies in front of every node listener plus the
// cut state they all consult. Node numbers are 1..nodes; peer 0 is a
// client. See the package doc for the picture.
//
// network.mu guards isolated, cutLinks, conns and closed. It is never held
// while dialing or copying; closing a connection under it only closes file
// descriptors.
type network struct {
	nodes int

	mu       sync.Mutex
	isolated map[int]bool    // Cut(n)
	cutLinks map[[2]int]bool // CutLink(a, b), key sorted (a < b)
	conns    map[*proxyConn]bool
	proxies  []*proxy
	closed   bool

	wg sync.WaitGroup // accept loops and connection pumps
}

func newNetwork(nodes int) *network {
	return &network{
		nodes:    nodes,
		isolated: map[int]bool{},
		cutLinks: map[[2]int]bool{},
		conns:    map[*proxyConn]bool{},
	}
}

// proxy listens on 127.0.0.1:<port> and forwards every accepted connection
// to one listener of one node.
type proxy struct {
	nw       *network
	node     int    // the node behind it
	listener string // its listener name, e.g. PLAINTEXT or CONTROLLER
	target   string // the node's real address, 127.0.0.<10+node>:<port>
	addr     *net.TCPAddr
	ln       *net.TCPListener // nil while the node is down (network.mu)
}

// Addr is the proxy's own address, the one advertised to clients and peers.
func (p *proxy) Addr() string { return p.addr.String() }

// proxyConn is one proxied connection: down is the accepted side (the
// dialer), up the side dialed to the node.
type proxyConn struct {
	from, to int // peer numbers: from is the dialer (0 for a client), to the node behind the proxy
	listener string
	down, up *net.TCPConn
}

// Conn describes one connection open through the proxies, for tests that
// want to check who talks to whom (see Cluster.Connections).
type Conn struct {
	From     int    // dialing node, or 0 for a client (127.0.0.1 or any other address)
	To       int    // node dialed
	Listener string // listener of To, e.g. PLAINTEXT or CONTROLLER
	Source   string // the dialer's address as the proxy saw it
}

// listen opens a proxy for node's listener, forwarding to target.
func (nw *network) listen(node int, listener, target string) (*proxy, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("proxy for node %d %s: %w", node, listener, err)
	}
	p := &proxy{nw: nw, node: node, listener: listener, target: target, addr: ln.Addr().(*net.TCPAddr), ln: ln}
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		ln.Close()
		return nil, errors.New("network closed")
	}
	nw.proxies = append(nw.proxies, p)
	nw.wg.Add(1)
	nw.mu.Unlock()
	go p.acceptLoop(ln)
	return p, nil
}

// nodeDown closes the listeners of node n's proxies: while its process is
// gone, dialers get "connection refused", as from a machine whose process
// died, and clients move on to other brokers at once. Open connections end
// by themselves as the dead process's sockets are reset.
func (nw *network) nodeDown(n int) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for _, p := range nw.proxies {
		if p.node == n && p.ln != nil {
			p.ln.Close()
			p.ln = nil
		}
	}
}

// nodeUp listens again, on the same ports, for node n's proxies.
func (nw *network) nodeUp(n int) error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.closed {
		return errors.New("network closed")
	}
	for _, p := range nw.proxies {
		if p.node != n || p.ln != nil {
			continue
		}
		ln, err := net.ListenTCP("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("proxy for node %d %s: listen again on %s: %w", n, p.listener, p.addr, err)
		}
		p.ln = ln
		nw.wg.Add(1)
		go p.acceptLoop(ln)
	}
	return nil
}

func (p *proxy) acceptLoop(ln *net.TCPListener) {
	defer p.nw.wg.Done()
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient accept errors (EMFILE, ECONNABORTED): back off a
			// little instead of spinning.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.nw.wg.Add(1)
		go p.serve(c)
	}
}

// serve dials the node for one accepted connection and pumps bytes both
// ways until both directions finish or the connection is cut.
func (p *proxy) serve(down *net.TCPConn) {
	defer p.nw.wg.Done()
	src := down.RemoteAddr().(*net.TCPAddr)
	from := p.nw.peerOf(src.IP)
	if !p.nw.allowed(from, p.node) {
		reject(down)
		return
	}
	// Dial from the dialer's own source IP so the node sees the real peer
	// in its logs (127.0.0.<10+m> for node m, 127.0.0.1 for a client).
	d := net.Dialer{Timeout: upstreamDialTimeout, LocalAddr: &net.TCPAddr{IP: src.IP}}
	uc, err := d.Dial("tcp", p.target)
	if err != nil {
		// The node is down (or its port is not open yet).
		reject(down)
		return
	}
	up := uc.(*net.TCPConn)
	pc := &proxyConn{from: from, to: p.node, listener: p.listener, down: down, up: up}
	// Register and re-check under one lock, so a Cut that ran while we
	// dialed cannot miss this connection.
	p.nw.mu.Lock()
	if p.nw.closed || !p.nw.allowedLocked(from, p.node) {
		p.nw.mu.Unlock()
		pc.close()
		return
	}
	p.nw.conns[pc] = true
	p.nw.mu.Unlock()

	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); pc.pump(up, down) }()
	go func() { defer pumps.Done(); pc.pump(down, up) }()
	pumps.Wait()

	p.nw.mu.Lock()
	delete(p.nw.conns, pc)
	p.nw.mu.Unlock()
	pc.close()
}

// reject ends a connection the proxy accepted but cannot carry with a
// reset, which is what a dialer of a dead machine or through a rejecting
// firewall sees. A plain close would be a FIN before any byte, which
// franz-go takes for a TLS or SASL mismatch and does not retry.
func reject(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// pump copies src to dst. io.Copy between two *net.TCPConn uses splice(2)
// on Linux, so bytes never pass through user space. At EOF it half-closes
// dst, passing the FIN on while the other direction may still carry data
// (a peer may shut down its write side and keep reading). Any error (reset,
// or the connection was cut) closes both sides, which also ends the other
// pump.
func (pc *proxyConn) pump(dst, src *net.TCPConn) {
	if _, err := io.Copy(dst, src); err != nil {
		pc.close()
		return
	}
	if err := dst.CloseWrite(); err != nil {
		pc.close()
	}
}

// close closes both sides; safe to call more than once and concurrently.
func (pc *proxyConn) close() {
	pc.down.Close()
	pc.up.Close()
}

// peerOf maps a source IP to a node number, or client for anything that is
// not 127.0.0.<10+n> with n in 1..nodes.
func (nw *network) peerOf(ip net.IP) int {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return client
	}
	a = a.Unmap()
	if !a.Is4() {
		return client
	}
	b := a.As4()
	if b[0] != 127 || b[1] != 0 || b[2] != 0 {
		return client
	}
	n := int(b[3]) - 10
	if n < 1 || n > nw.nodes {
		return client
	}
	return n
}

func (nw *network) allowed(from, to int) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.allowedLocked(from, to)
}

// allowedLocked reports whether a connection from peer from to node to may
// exist. A node's connections to itself are never cut: an isolated machine
// still reaches its own loopback. nw.mu must be held.
func (nw *network) allowedLocked(from, to int) bool {
	if from == to {
		return true
	}
	if nw.isolated[from] || nw.isolated[to] {
		return false
	}
	return !nw.cutLinks[linkKey(from, to)]
}

func linkKey(a, b int) [2]int {
	if a > b {
		a, b = b, a
	}
	return [2]int{a, b}
}

// cut isolates node n (see Cluster.Cut) and closes the connections it no
// longer allows before returning.
func (nw *network) cut(n int) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.isolated[n] = true
	nw.enforceLocked()
}

func (nw *network) heal(n int) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	delete(nw.isolated, n)
}

func (nw *network) cutLink(a, b int) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.cutLinks[linkKey(a, b)] = true
	nw.enforceLocked()
}

func (nw *network) healLink(a, b int) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	delete(nw.cutLinks, linkKey(a, b))
}

// healAll removes every cut.
func (nw *network) healAll() {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	clear(nw.isolated)
	clear(nw.cutLinks)
}

func (nw *network) isIsolated(n int) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.isolated[n]
}

// enforceLocked closes every open connection the cut state forbids. The
// pumps see the closed sockets, finish and unregister the connection.
// nw.mu must be held.
func (nw *network) enforceLocked() {
	for pc := range nw.conns {
		if !nw.allowedLocked(pc.from, pc.to) {
			pc.close()
			delete(nw.conns, pc)
		}
	}
}

// connections lists the open proxied connections, ordered by (From, To,
// Listener, Source).
func (nw *network) connections() []Conn {
	nw.mu.Lock()
	out := make([]Conn, 0, len(nw.conns))
	for pc := range nw.conns {
		out = append(out, Conn{From: pc.from, To: pc.to, Listener: pc.listener, Source: pc.down.RemoteAddr().String()})
	}
	nw.mu.Unlock()
	slices.SortFunc(out, func(a, b Conn) int {
		switch {
		case a.From != b.From:
			return a.From - b.From
		case a.To != b.To:
			return a.To - b.To
		case a.Listener != b.Listener:
			if a.Listener < b.Listener {
				return -1
			}
			return 1
		case a.Source < b.Source:
			return -1
		case a.Source > b.Source:
			return 1
		}
		return 0
	})
	return out
}

// close stops every proxy, closes every connection and waits for all the
// network's goroutines to finish.
func (nw *network) close() {
	nw.mu.Lock()
	nw.closed = true
	for _, p := range nw.proxies {
		if p.ln != nil {
			p.ln.Close()
		}
	}
	for pc := range nw.conns {
		pc.close()
		delete(nw.conns, pc)
	}
	nw.mu.Unlock()
	nw.wg.Wait()
}
