// Package clustertest runs samsa clusters of several nodes for tests: each
// node is the real `samsa server` binary in its own process, every node is
// a broker and a voter of the metadata quorum unless Config.Roles says
// otherwise, and every connection to a node passes through a TCP proxy in
// the test process, so a test can
// SIGKILL, freeze (SIGSTOP), restart, stop and cut off any node while real
// clients keep working against the rest.
//
// # Use
//
//	c := clustertest.Start(t, 3, "broker.session.timeout.ms=2000", "min.insync.replicas=2")
//	c.WaitReady(t, 30*time.Second)          // every live node lists every live broker
//	cl := c.Client(t, kgo.RequiredAcks(kgo.AllISRAcks()))
//	...
//	old := c.LeaderOf("orders", 0)
//	c.Kill(int(old))                        // SIGKILL
//	l, took := c.WaitLeader("orders", 0, old, 10*time.Second)
//	c.Restart(int(old))                     // same dir, ports and properties
//	c.Pause(2); c.Resume(2)                 // SIGSTOP, SIGCONT
//	c.Cut(3); c.Heal(3)                     // network partition of one node
//	c.CutLink(1, 2); c.HealLink(1, 2)       // one link, both directions
//
//	// dedicated controllers 1-3 and brokers 4-5
//	c := clustertest.StartConfig(t, clustertest.Config{Nodes: 5,
//		Roles: map[int]string{1: "controller", 2: "controller", 3: "controller", 4: "broker", 5: "broker"}})
//
// Everything is torn down by t.Cleanup: nodes get SIGCONT then SIGKILL and
// are reaped, proxies close, data and logs live in t.TempDir(). If the
// test failed, the cleanup prints the last lines of every node's log. A
// node that exits by itself (a panic, a fatal error) rather than through
// Kill, Stop or Restart fails the test, even if the rest of the cluster
// carried on.
//
// # Topology
//
// Node n owns the loopback address 127.0.0.<10+n> and binds both its
// listeners there on ports the harness picked. Nobody dials those directly
// (the harness's own start check aside): for each listener the harness
// runs a proxy on 127.0.0.1, and that proxy address is what the node
// advertises (advertised.listeners) and what controller.quorum.voters
// names. So every byte between two nodes, and between a client and a node,
// crosses exactly one proxy, the one in front of the node that was dialed.
//
//	  test clients, kcat              node 1                     node 2
//	  (from 127.0.0.1)         (dials from 127.0.0.11)   (dials from 127.0.0.12)
//	        │                           │                          │
//	        ▼                           ▼                          ▼
//	┌─────────────────────────── test process: proxies on 127.0.0.1 ───────────────┐
//	│  :p1 → node 1 PLAINTEXT   :c1 → node 1 CONTROLLER   :p2 → node 2 PLAINTEXT …  │
//	│  each accepted connection: who dialed? (source IP)  cut?  then io.Copy ⇄      │
//	└───────────┬─────────────────────────┬──────────────────────────┬──────────────┘
//	            ▼                         ▼                          ▼
//	   127.0.0.11:<plain>        127.0.0.11:<controller>    127.0.0.12:<plain>   …
//	   node 1 listeners                                     node 2 listeners
//
// Each node runs with these properties (Config.Props and Config.NodeProps
// come after and win): node.id=n, process.roles=broker,controller,
// log.dirs=<tmp>/node<n>, listeners=PLAINTEXT://127.0.0.<10+n>:<p>,
// CONTROLLER://127.0.0.<10+n>:<c>, controller.listener.names=CONTROLLER,
// advertised.listeners=PLAINTEXT://127.0.0.1:<proxy of p>,
// controller.quorum.voters=1@127.0.0.1:<proxy of node 1's c>,..., and empty
// schema.registry.listeners and rest.proxy.listeners.
//
// # Roles
//
// Config.Roles gives a node process.roles=controller or =broker (setting
// process.roles in Props or NodeProps is refused: the listeners and voters
// must match). A controller-only node gets only the CONTROLLER listener
// and its proxy, no advertised.listeners; a broker-only node only
// PLAINTEXT, and it is left out of controller.quorum.voters, which lists
// the controllers alone. Its Raft traffic shares its PLAINTEXT listener and
// proxy, so Cut cuts it too. Bootstrap, Addr, Client and Metadata are about
// brokers (Addr is "" for a controller-only node, Metadata an error);
// QuorumLeader asks controllers only; Brokers and Controllers list who is
// which. Live lists every live node, LiveBrokers the live brokers. Its output goes to
// <tmp>/node<n>.log (NodeLog), appended across restarts.
//
// The proxies keep their ports for the life of the cluster and a node
// keeps its ports across restarts, so every address a client or peer has
// cached stays right after Restart. While a node is down (after Kill or
// Stop, until Restart) its proxies do not listen: dialers are refused, as
// by a machine whose process died, and clients move on to other brokers.
//
// # Why each node has its own source IP
//
// A proxy learns nothing about a connection but its two addresses. The
// address it was dialed on says which node is behind it; only the source
// address can say who dialed. The server binds the local address of every
// dial to another node to its own listener IP when both ends are on
// loopback, so a connection from node m arrives from 127.0.0.<10+m>, while
// clients arrive from 127.0.0.1. The proxy dials the node from the same
// source IP it was dialed from, so the node's logs show the real peer.
//
// If the server does not bind its dials, node traffic arrives from
// 127.0.0.1 and looks like a client's: Cut(n) still closes everything that
// reaches n, but not n's own connections to others, and CutLink cuts
// nothing. Connections lists what is open, with the dialer as the proxy
// saw it, for a test that wants to check.
//
// This needs Linux, where the whole of 127.0.0.0/8 reaches the loopback
// interface; Start fails with a clear message where it does not.
//
// # What a cut means
//
// Cut(n) puts node n on the far side of a partition. Before Cut returns,
// every open proxied connection from n to another node, from another node
// to n, and from a client to n is closed (both halves, so both ends see it
// end); new connections of those kinds are accepted and reset at once,
// without reaching the node, until Heal(n). A connection accepted for a node
// that is not listening (still starting, or crashed) is reset the same way: dialers see what a dead machine or a
// rejecting firewall gives, an error clients retry (a bare close before
// any byte would look to franz-go like a TLS or SASL mismatch). Connections from a node to its
// own listeners stay up: a partitioned machine still reaches itself.
// CutLink(a, b) does the same for the connections between a and b only,
// both directions; clients still reach both. Cuts are independent: Heal(n)
// leaves a CutLink in place. A cut outlives Restart, and the process of a
// cut node keeps running, unaware.
//
// Closing gives peers a fast, clean error, like a firewall that rejects.
// For the other kind of failure, a peer that accepts connections and then
// never answers, use Pause: a SIGSTOPped node's kernel still completes TCP
// handshakes and buffers requests, and nothing comes back.
//
// # Waiting
//
// Start (and Restart) launch every node first and then wait until each
// accepts TCP on its own PLAINTEXT address (CONTROLLER for a
// controller-only node), dialed directly because the proxy always accepts
// and so proves nothing. They do not wait for the quorum; a broker-only
// node even opens its listener before it has registered (Raft needs it),
// and answers clients only once it has. WaitReady waits until every live
// broker (LiveBrokers: a broker running, not paused, not cut) answers
// Metadata with exactly the live brokers at their proxy addresses.
// LeaderOf asks for one partition's leader; WaitLeader waits for
// a leader other than a given one that the leader itself confirms, and
// returns how long that took, which is the failover time when called
// right after a fault. QuorumLeader and WaitQuorumLeader do the same for
// the metadata quorum with DescribeQuorum on the CONTROLLER listeners.
// These requests go to one chosen node each through the harness's own
// franz-go clients, whose seed brokers are the brokers (or controllers) in
// node order.
//
// # Goroutines and state
//
// The network (proxy.go) owns one accept loop per proxy and two copy
// goroutines per open connection; its mutex guards the cut state and the
// table of open connections, and its close waits for all of them. Each
// node (node.go) owns one goroutine per process that waits for it to exit;
// the node's mutex guards the process state. Cluster methods may be called
// from any goroutine, except Restart and the ones that take a testing.TB,
// which may call t.Fatalf and so belong on the test goroutine.
package clustertest
