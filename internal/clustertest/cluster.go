package clustertest

import (
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// MaxNodes is the largest cluster the harness numbers: node n uses
// 127.0.0.<10+n>.
const MaxNodes = 245

// Config describes a cluster to start. Only Nodes is required.
type Config struct {
	// Nodes is the number of nodes, numbered 1..Nodes. Every node is a
	// broker and a controller (a voter of the metadata quorum) unless
	// Roles says otherwise.
	Nodes int
	// Roles sets process.roles per node: "broker", "controller" or
	// "broker,controller" (the default for a node not listed). A
	// controller-only node has no PLAINTEXT listener and no proxy for one;
	// a broker-only node has no CONTROLLER listener and is not in
	// controller.quorum.voters. At least one node must be a controller.
	// Set roles here, not with a process.roles property.
	Roles map[int]string
	// Props are key=value broker properties for every node, e.g.
	// "broker.session.timeout.ms=2000" or "min.insync.replicas=2". They
	// are applied after the harness's own, so they can override any of
	// them (listeners and the quorum settings are best left alone).
	Props []string
	// NodeProps are key=value properties for one node, applied after
	// Props, e.g. NodeProps[2] = []string{"broker.rack=b"}.
	NodeProps map[int][]string
	// Args go to `samsa server` before the --set flags, e.g.
	// []string{"--log-level", "debug"}.
	Args []string
	// StartTimeout bounds how long Start and Restart wait for a node's
	// PLAINTEXT listener to accept connections. Default 30s.
	StartTimeout time.Duration
	// StopTimeout bounds how long Stop waits for a node to exit after
	// SIGTERM before killing it. Default 30s.
	StopTimeout time.Duration
	// LogTailLines is how many lines of each node's log the cleanup
	// prints when the test failed. Default 80.
	LogTailLines int
}

// Cluster is a running set of samsa server processes behind the harness's
// proxies. Start builds one; everything is torn down by t.Cleanup.
//
// Methods are safe for concurrent use, so a fault-injection goroutine may
// Kill or Cut while producers run. Restart reports a node that fails to
// start with t.Fatalf, so it must run on the test's own goroutine; all
// other methods report problems with t.Errorf or a return value and may
// run anywhere.
type Cluster struct {
	t     testing.TB
	cfg   Config
	bin   string
	dir   string
	nodes []*node // nodes[i] is node i+1
	nw    *network

	probeOnce sync.Once
	probe     *kgo.Client // seeds: every node's PLAINTEXT proxy, in node order
	ctrlOnce  sync.Once
	ctrlProbe *kgo.Client // seeds: every node's CONTROLLER proxy, in node order
}

// Start runs a cluster of n nodes with props (key=value) set on every node
// and waits until each node's PLAINTEXT listener (CONTROLLER on a
// controller-only node) accepts TCP connections.
// It does not wait for the quorum or broker registration; call WaitReady
// for that.
func Start(t testing.TB, n int, props ...string) *Cluster {
	t.Helper()
	return StartConfig(t, Config{Nodes: n, Props: props})
}

// StartConfig is Start with every knob.
func StartConfig(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.Nodes < 1 || cfg.Nodes > MaxNodes {
		t.Fatalf("clustertest: Nodes = %d, want 1..%d", cfg.Nodes, MaxNodes)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.LogTailLines <= 0 {
		cfg.LogTailLines = 80
	}
	extra := map[string]string{}
	if err := parseProps(extra, cfg.Props); err != nil {
		t.Fatalf("clustertest: Props: %v", err)
	}
	for id, props := range cfg.NodeProps {
		if id < 1 || id > cfg.Nodes {
			t.Fatalf("clustertest: NodeProps for node %d, want 1..%d", id, cfg.Nodes)
		}
		for _, p := range props {
			if k, _, _ := strings.Cut(p, "="); strings.TrimSpace(k) == "process.roles" {
				t.Fatalf("clustertest: NodeProps[%d] sets process.roles; use Config.Roles, which also sets the listeners and voters to match", id)
			}
		}
	}
	if _, ok := extra["process.roles"]; ok {
		t.Fatalf("clustertest: Props sets process.roles; use Config.Roles, which also sets the listeners and voters to match")
	}
	roles := map[int][2]bool{} // node -> broker, controller
	for id := 1; id <= cfg.Nodes; id++ {
		roles[id] = [2]bool{true, true}
	}
	for id, r := range cfg.Roles {
		if id < 1 || id > cfg.Nodes {
			t.Fatalf("clustertest: Roles for node %d, want 1..%d", id, cfg.Nodes)
		}
		switch r {
		case "broker":
			roles[id] = [2]bool{true, false}
		case "controller":
			roles[id] = [2]bool{false, true}
		case "broker,controller", "controller,broker":
		default:
			t.Fatalf("clustertest: Roles[%d] = %q, want broker, controller or broker,controller", id, r)
		}
	}
	if !slices.ContainsFunc(slices.Collect(maps.Values(roles)), func(r [2]bool) bool { return r[1] }) {
		t.Fatalf("clustertest: Roles name no controller; a cluster needs at least one")
	}

	c := &Cluster{t: t, cfg: cfg, bin: kafkatest.Binary(t), dir: t.TempDir(), nw: newNetwork(cfg.Nodes)}
	// Cleanups run last-registered first: stop the processes and the
	// proxies, then report crashes and print the logs.
	t.Cleanup(c.report)
	t.Cleanup(c.shutdown)

	for id := 1; id <= cfg.Nodes; id++ {
		n := &node{
			id:         id,
			ip:         nodeIP(id),
			dir:        filepath.Join(c.dir, fmt.Sprintf("node%d", id)),
			logPath:    filepath.Join(c.dir, fmt.Sprintf("node%d.log", id)),
			broker:     roles[id][0],
			controller: roles[id][1],
		}
		var err error
		if n.broker {
			if n.plainPort, err = freePort(n.ip); err != nil {
				t.Fatalf("clustertest: node %d: %v (the harness needs Linux, where all of 127.0.0.0/8 is loopback)", id, err)
			}
			if n.plain, err = c.nw.listen(id, "PLAINTEXT", n.plainAddr()); err != nil {
				t.Fatalf("clustertest: %v", err)
			}
		}
		if n.controller {
			if n.ctrlPort, err = freePort(n.ip); err != nil {
				t.Fatalf("clustertest: node %d: %v (the harness needs Linux, where all of 127.0.0.0/8 is loopback)", id, err)
			}
			if n.ctrl, err = c.nw.listen(id, "CONTROLLER", n.ctrlAddr()); err != nil {
				t.Fatalf("clustertest: %v", err)
			}
		}
		c.nodes = append(c.nodes, n)
	}
	voters := make([]string, 0, cfg.Nodes)
	for _, n := range c.nodes {
		if n.controller {
			voters = append(voters, fmt.Sprintf("%d@%s", n.id, n.ctrl.Addr()))
		}
	}
	for _, n := range c.nodes {
		props := map[string]string{
			"node.id":                   strconv.Itoa(n.id),
			"log.dirs":                  n.dir,
			"controller.listener.names": "CONTROLLER",
			"controller.quorum.voters":  strings.Join(voters, ","),
			"schema.registry.listeners": "",
			"rest.proxy.listeners":      "",
		}
		var listeners, roleNames []string
		if n.broker {
			roleNames = append(roleNames, "broker")
			listeners = append(listeners, fmt.Sprintf("PLAINTEXT://%s:%d", n.ip, n.plainPort))
			props["advertised.listeners"] = "PLAINTEXT://" + n.plain.Addr()
		}
		if n.controller {
			roleNames = append(roleNames, "controller")
			listeners = append(listeners, fmt.Sprintf("CONTROLLER://%s:%d", n.ip, n.ctrlPort))
		}
		props["process.roles"] = strings.Join(roleNames, ",")
		props["listeners"] = strings.Join(listeners, ",")
		maps.Copy(props, extra)
		if err := parseProps(props, cfg.NodeProps[n.id]); err != nil {
			t.Fatalf("clustertest: NodeProps[%d]: %v", n.id, err)
		}
		n.args = append([]string{"server"}, cfg.Args...)
		for _, k := range slices.Sorted(maps.Keys(props)) {
			n.args = append(n.args, "--set", k+"="+props[k])
		}
	}
	c.startAndWait(c.ids())
	return c
}

func parseProps(into map[string]string, props []string) error {
	for _, p := range props {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%q is not key=value", p)
		}
		into[strings.TrimSpace(k)] = v
	}
	return nil
}

// nodeIP is node n's own loopback address.
func nodeIP(n int) string { return fmt.Sprintf("127.0.0.%d", 10+n) }

// freePort returns a port that was free on ip a moment ago. Each node has
// its own IP, so two nodes cannot race for one port; the harness's own
// proxies listen on 127.0.0.1.
func freePort(ip string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ids is 1..Nodes.
func (c *Cluster) ids() []int {
	ids := make([]int, len(c.nodes))
	for i := range ids {
		ids[i] = i + 1
	}
	return ids
}

// node returns node id, reporting a bad number through t.
func (c *Cluster) node(id int) *node {
	if id < 1 || id > len(c.nodes) {
		c.t.Errorf("clustertest: no node %d in a %d-node cluster", id, len(c.nodes))
		return nil
	}
	return c.nodes[id-1]
}

// startAndWait launches every listed node, then waits for each. Starting
// them all before waiting matters: a node may open its client listener
// only once the metadata quorum has a majority.
func (c *Cluster) startAndWait(ids []int) {
	c.t.Helper()
	for _, id := range ids {
		if err := c.nw.nodeUp(id); err != nil {
			c.t.Fatalf("clustertest: %v", err)
		}
		if err := c.nodes[id-1].start(c.bin); err != nil {
			c.t.Fatalf("clustertest: %v", err)
		}
	}
	for _, id := range ids {
		n := c.nodes[id-1]
		if err := n.waitListening(c.cfg.StartTimeout); err != nil {
			c.t.Fatalf("clustertest: %v\n--- %s (last %d lines) ---\n%s", err, n.logPath, c.cfg.LogTailLines, n.logTail(c.cfg.LogTailLines))
		}
	}
}

// N is the number of nodes.
func (c *Cluster) N() int { return len(c.nodes) }

// Bootstrap is the comma-separated list of every broker's PLAINTEXT proxy
// address, for kgo.SeedBrokers, kcat -b or bootstrap.servers.
func (c *Cluster) Bootstrap() string {
	var addrs []string
	for _, n := range c.nodes {
		if n.broker {
			addrs = append(addrs, n.plain.Addr())
		}
	}
	return strings.Join(addrs, ",")
}

// Addr is node n's PLAINTEXT address as clients reach it (its proxy, on
// 127.0.0.1), which is also the address the node advertises; "" for a
// controller-only node.
func (c *Cluster) Addr(n int) string {
	nd := c.node(n)
	if nd == nil || !nd.broker {
		return ""
	}
	return nd.plain.Addr()
}

// ControllerAddr is node n's CONTROLLER address as peers reach it (its
// proxy), the address listed for it in controller.quorum.voters; "" for a
// broker-only node.
func (c *Cluster) ControllerAddr(n int) string {
	nd := c.node(n)
	if nd == nil || !nd.controller {
		return ""
	}
	return nd.ctrl.Addr()
}

// Brokers lists the nodes with the broker role, in order.
func (c *Cluster) Brokers() []int {
	return c.withRole(func(n *node) bool { return n.broker })
}

// Controllers lists the nodes with the controller role (the voters), in
// order.
func (c *Cluster) Controllers() []int {
	return c.withRole(func(n *node) bool { return n.controller })
}

func (c *Cluster) withRole(ok func(*node) bool) []int {
	var ids []int
	for _, n := range c.nodes {
		if ok(n) {
			ids = append(ids, n.id)
		}
	}
	return ids
}

// Dir is node n's data directory (log.dirs).
func (c *Cluster) Dir(n int) string {
	nd := c.node(n)
	if nd == nil {
		return ""
	}
	return nd.dir
}

// NodeLog returns everything node n has logged, across restarts. Each run
// starts after a line the harness writes, beginning with "=====".
func (c *Cluster) NodeLog(n int) string {
	nd := c.node(n)
	if nd == nil {
		return ""
	}
	return nd.log()
}

// Client returns a franz-go client seeded with every node, closed at
// cleanup. opts come after the harness's defaults.
func (c *Cluster) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...), kgo.MetadataMinAge(50 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns a kadm client on every node; its client is closed at
// cleanup.
func (c *Cluster) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.Client(t))
}

// Kill sends node n SIGKILL (after SIGCONT, should it be paused) and waits
// until the process is gone. Killing a node that is not running does
// nothing. Its proxies stop listening until it is restarted (on the same
// ports), so clients and peers that dial it are refused, as by a machine
// whose process died.
func (c *Cluster) Kill(n int) {
	if nd := c.node(n); nd != nil {
		nd.kill()
		c.nw.nodeDown(n)
	}
}

// Pause sends node n SIGSTOP. The kernel still completes TCP handshakes on
// its sockets, but nothing reads or answers: requests hang, as they would
// for a machine that froze (a long GC pause, a stalled VM).
func (c *Cluster) Pause(n int) {
	if nd := c.node(n); nd != nil {
		if err := nd.pause(); err != nil {
			c.t.Errorf("clustertest: %v", err)
		}
	}
}

// Resume sends SIGCONT to a node paused with Pause; otherwise it does
// nothing.
func (c *Cluster) Resume(n int) {
	if nd := c.node(n); nd != nil {
		nd.resume()
	}
}

// Restart kills each listed node that is running (SIGKILL, no clean
// shutdown), starts them all again with the same data dir, ports and
// properties, and waits until each accepts TCP connections on its
// PLAINTEXT listener (CONTROLLER on a controller-only node). Listing several nodes restarts them together, which
// is needed when a majority of the quorum is down. Cuts stay as they were.
// It calls t.Fatalf if a node does not come up, so call it from the test
// goroutine.
func (c *Cluster) Restart(nodes ...int) {
	c.t.Helper()
	nodes = slices.Compact(slices.Sorted(slices.Values(nodes)))
	for _, id := range nodes {
		if c.node(id) == nil {
			c.t.FailNow()
		}
	}
	for _, id := range nodes {
		c.nodes[id-1].kill()
	}
	c.startAndWait(nodes)
}

// Stop sends node n SIGTERM and waits for it to exit (at most
// Config.StopTimeout, then it kills it). It returns the exit error, nil
// after a clean exit with status 0, and nil if the node was not running.
func (c *Cluster) Stop(n int) error {
	nd := c.node(n)
	if nd == nil {
		return fmt.Errorf("no node %d", n)
	}
	err := nd.stop(c.cfg.StopTimeout)
	c.nw.nodeDown(n)
	return err
}

// Running reports whether node n has a live process (paused or not).
func (c *Cluster) Running(n int) bool {
	nd := c.node(n)
	return nd != nil && nd.running()
}

// Paused reports whether node n is running and paused.
func (c *Cluster) Paused(n int) bool {
	nd := c.node(n)
	return nd != nil && nd.isPaused()
}

// PID is node n's process ID, or 0 if it is not running.
func (c *Cluster) PID(n int) int {
	nd := c.node(n)
	if nd == nil {
		return 0
	}
	return nd.pid()
}

// Live lists the nodes that are running, not paused and not cut off with
// Cut. Links cut with CutLink do not count.
func (c *Cluster) Live() []int {
	return c.withRole(func(n *node) bool { return n.running() && !n.isPaused() && !c.nw.isIsolated(n.id) })
}

// LiveBrokers lists the live nodes (see Live) with the broker role: the
// brokers a healthy cluster should list.
func (c *Cluster) LiveBrokers() []int {
	return c.withRole(func(n *node) bool { return n.broker && n.running() && !n.isPaused() && !c.nw.isIsolated(n.id) })
}

// Cut isolates node n from the network: every proxied connection from or
// to it, including clients' connections to it, is closed before Cut
// returns, and new ones are accepted and closed at once until Heal(n). The
// node's connections to itself are kept, as a partitioned machine still
// reaches its own loopback. The process keeps running. See the package doc.
func (c *Cluster) Cut(n int) {
	if c.node(n) != nil {
		c.nw.cut(n)
	}
}

// Heal undoes Cut(n). Links cut with CutLink stay cut.
func (c *Cluster) Heal(n int) {
	if c.node(n) != nil {
		c.nw.heal(n)
	}
}

// CutLink cuts the link between nodes a and b in both directions, closing
// their open connections; a and b still reach every other node and
// clients still reach both.
func (c *Cluster) CutLink(a, b int) {
	if c.node(a) != nil && c.node(b) != nil {
		c.nw.cutLink(a, b)
	}
}

// HealLink undoes CutLink(a, b).
func (c *Cluster) HealLink(a, b int) {
	if c.node(a) != nil && c.node(b) != nil {
		c.nw.healLink(a, b)
	}
}

// HealAll removes every cut made with Cut or CutLink.
func (c *Cluster) HealAll() { c.nw.healAll() }

// Connections lists the connections open through the proxies right now.
// A connection between nodes shows From as the dialing node only if the
// server bound its dial to its own listener IP; otherwise it shows as a
// client (From 0).
func (c *Cluster) Connections() []Conn { return c.nw.connections() }

// shutdown kills every node (SIGCONT, then SIGKILL) and closes the proxies.
func (c *Cluster) shutdown() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(n.kill)
	}
	wg.Wait()
	// Wait out a probe being built right now; one asked for later is nil.
	c.probeOnce.Do(func() {})
	c.ctrlOnce.Do(func() {})
	if c.probe != nil {
		c.probe.Close()
	}
	if c.ctrlProbe != nil {
		c.ctrlProbe.Close()
	}
	c.nw.close()
}

// report fails the test for any node that exited on its own, and prints
// the tail of every node's log if the test failed.
func (c *Cluster) report() {
	for _, n := range c.nodes {
		for _, crash := range n.takeCrashes() {
			c.t.Errorf("clustertest: %s", crash)
		}
	}
	if !c.t.Failed() {
		return
	}
	for _, n := range c.nodes {
		c.t.Logf("--- node %d log %s (last %d lines) ---\n%s", n.id, n.logPath, c.cfg.LogTailLines, n.logTail(c.cfg.LogTailLines))
	}
}
