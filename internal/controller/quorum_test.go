package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// node is one voter of a test quorum: the CONTROLLER listener split by a
// Mux, the Raft member, the controller and its Kafka handler served on the
// listener's Kafka half.
type node struct {
	id     int32
	addr   string
	mux    *Mux
	q      *Quorum
	ctl    *Controller
	srv    *protocol.Server
	closed bool
}

func (n *node) close() {
	if n.closed {
		return
	}
	n.closed = true
	n.ctl.Close()
	n.srv.Close(context.Background())
	n.q.Close()
	n.mux.Close()
}

func startQuorum(t *testing.T, size int) []*node {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	var nodes []*node
	var voters []Voter
	for i := range size {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n := &node{id: int32(i + 1), addr: ln.Addr().String(), mux: NewMux(ln)}
		nodes = append(nodes, n)
		voters = append(voters, Voter{ID: n.id, Addr: n.addr})
	}
	for _, n := range nodes {
		q, err := OpenQuorum(QuorumConfig{NodeID: n.id, Voter: true, Voters: voters, Dir: t.TempDir(),
			Listener: n.mux.Raft(), Advertise: n.addr, LocalHost: "127.0.0.1", BrokerListener: "PLAINTEXT",
			ElectionTimeout: 300 * time.Millisecond, RequestTimeout: 2 * time.Second, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		n.q = q
		// A long session: nothing is fenced for missing heartbeats here.
		n.ctl = NewController(q, Settings{SessionTimeout: time.Minute, DefaultRF: 3, NumPartitions: 1}, log)
		n.srv = protocol.NewServer(protocol.Config{MaxRequestBytes: 1 << 20, IdleTimeout: time.Minute}, NewHandler(q, n.ctl, log), log, nil)
		if _, err := n.srv.Serve("CONTROLLER", n.mux.Kafka()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.close()
		}
	})
	return nodes
}

// waitLeader waits until every open node names the same leader, which
// knows it leads, and returns it.
func waitLeader(t *testing.T, nodes []*node) *node {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var leader *node
		agree := true
		for _, n := range nodes {
			if n.closed {
				continue
			}
			id, _ := n.q.Leader()
			if leader == nil {
				for _, m := range nodes {
					if m.id == id && !m.closed {
						leader = m
					}
				}
			}
			if leader == nil || id != leader.id {
				agree = false
			}
		}
		if agree && leader != nil && leader.q.IsLeader() {
			return leader
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no quorum leader within 10s")
	return nil
}

// waitAll waits until every open node's image satisfies ok.
func waitAll(t *testing.T, nodes []*node, what string, ok func(*metadata.Image) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range nodes {
		if n.closed {
			continue
		}
		if err := n.q.WaitFor(ctx, ok); err != nil {
			t.Fatalf("node %d: %s: %v", n.id, what, err)
		}
	}
}

// kafkaClient is a Kafka client of one node's CONTROLLER listener.
func kafkaClient(t *testing.T, addr string) *kgo.Broker {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl.SeedBrokers()[0]
}

func registration(id int32) *kmsg.BrokerRegistrationRequest {
	r := kmsg.NewPtrBrokerRegistrationRequest()
	r.BrokerID = id
	r.IncarnationID = metadata.NewUUID()
	rack := fmt.Sprintf("rack-%d", id)
	r.Rack = &rack
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port = "PLAINTEXT", "127.0.0.1", uint16(9000+id)
	r.Listeners = append(r.Listeners, l)
	return r
}

func TestQuorumOfThree(t *testing.T) {
	nodes := startQuorum(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	leader := waitLeader(t, nodes)
	waitAll(t, nodes, "cluster id", func(im *metadata.Image) bool { return im.ClusterID != "" })
	clusterID := leader.q.Image().ClusterID
	if _, err := metadata.ParseUUID(clusterID); err != nil {
		t.Fatalf("cluster id %q: %v", clusterID, err)
	}
	var followers []*node
	for _, n := range nodes {
		if n != leader {
			followers = append(followers, n)
			if got := n.q.Image().ClusterID; got != clusterID {
				t.Fatalf("node %d has cluster id %s, the leader %s", n.id, got, clusterID)
			}
		}
	}

	// A follower's controller refuses changes, directly and on the wire.
	if _, err := followers[0].ctl.CreateTopic(ctx, TopicSpec{Name: "x", Partitions: 1, ReplicationFactor: 1}, false); !errors.Is(err, ErrNotController) {
		t.Fatalf("CreateTopic on follower %d: %v, want ErrNotController", followers[0].id, err)
	}
	resp, err := kafkaClient(t, followers[1].addr).Request(ctx, registration(1))
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.(*kmsg.BrokerRegistrationResponse); r.ErrorCode != kerr.NotController.Code || r.BrokerEpoch != -1 {
		t.Fatalf("registration on follower %d: code %d epoch %d, want NOT_CONTROLLER, -1", followers[1].id, r.ErrorCode, r.BrokerEpoch)
	}

	// Register brokers 1-3 on the leader's listener: the epoch is the
	// registration's log index, and the broker starts fenced.
	lc := kafkaClient(t, leader.addr)
	epochs := map[int32]int64{}
	for id := int32(1); id <= 3; id++ {
		req := registration(id)
		req.ClusterID = clusterID
		resp, err := lc.Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		r := resp.(*kmsg.BrokerRegistrationResponse)
		if r.ErrorCode != 0 {
			t.Fatalf("registration of %d: code %d", id, r.ErrorCode)
		}
		if applied := leader.q.AppliedIndex(); r.BrokerEpoch <= 0 || uint64(r.BrokerEpoch) != applied {
			t.Fatalf("broker %d got epoch %d; the leader's applied index after it is %d", id, r.BrokerEpoch, applied)
		}
		epochs[id] = r.BrokerEpoch
	}
	if epochs[1] >= epochs[2] || epochs[2] >= epochs[3] {
		t.Fatalf("epochs %v do not grow with each registration", epochs)
	}
	waitAll(t, nodes, "registrations", func(im *metadata.Image) bool {
		for id, e := range epochs {
			b := im.Brokers[id]
			if b == nil || b.Epoch != e || !b.Fenced || b.Rack != fmt.Sprintf("rack-%d", id) ||
				!slices.Equal(b.Endpoints, []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9000 + id, Protocol: "PLAINTEXT"}}) {
				return false
			}
		}
		return len(im.Brokers) == 3
	})

	// A registration naming another cluster is refused.
	other := registration(4)
	other.ClusterID = "another-cluster"
	if resp, err := lc.Request(ctx, other); err != nil || resp.(*kmsg.BrokerRegistrationResponse).ErrorCode != kerr.InconsistentClusterID.Code {
		t.Fatalf("registration for another cluster: %v %+v", err, resp)
	}

	// Heartbeats: a stale epoch is refused; a broker behind the log
	// stays fenced; one caught up with its registration is unfenced.
	if _, err := leader.ctl.Heartbeat(ctx, 1, epochs[1]-1, epochs[1], false, false); !errors.Is(err, ErrStaleBrokerEpoch) {
		t.Fatalf("heartbeat with a stale epoch: %v", err)
	}
	if _, err := leader.ctl.Heartbeat(ctx, 9, 1, 1, false, false); !errors.Is(err, ErrUnknownBroker) {
		t.Fatalf("heartbeat of an unregistered broker: %v", err)
	}
	if hb, err := leader.ctl.Heartbeat(ctx, 1, epochs[1], epochs[1]-1, false, false); err != nil || hb != (HeartbeatResult{Fenced: true}) {
		t.Fatalf("heartbeat behind the log: %+v %v, want fenced, not caught up", hb, err)
	}
	for id := int32(1); id <= 3; id++ {
		hb := kmsg.NewPtrBrokerHeartbeatRequest()
		hb.BrokerID, hb.BrokerEpoch, hb.CurrentMetadataOffset = id, epochs[id], epochs[3]
		resp, err := lc.Request(ctx, hb)
		if err != nil {
			t.Fatal(err)
		}
		if r := resp.(*kmsg.BrokerHeartbeatResponse); r.ErrorCode != 0 || r.IsFenced || !r.IsCaughtUp || r.ShouldShutdown {
			t.Fatalf("heartbeat of %d: %+v", id, r)
		}
	}
	waitAll(t, nodes, "unfenced brokers", func(im *metadata.Image) bool {
		return len(im.LiveBrokers()) == 3
	})

	// A topic created through the leader's controller reaches every node.
	created, err := leader.ctl.CreateTopic(ctx, TopicSpec{Name: "orders", Partitions: 3, ReplicationFactor: 3, Configs: map[string]string{"retention.ms": "5000"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, nodes, "topic orders", func(im *metadata.Image) bool {
		tp := im.Topic("orders")
		return tp != nil && tp.ID == created.ID
	})
	leads := map[int32]int{}
	for _, n := range nodes {
		tp := n.q.Image().Topic("orders")
		if tp.Partitions != 3 || tp.Configs["retention.ms"] != "5000" || len(tp.Configs) != 1 {
			t.Fatalf("node %d: topic %+v", n.id, tp)
		}
		for p, s := range tp.Assignments {
			if !slices.Equal(s.Replicas, created.Assignments[p].Replicas) || !slices.Equal(s.ISR, s.Replicas) ||
				s.Leader != s.Replicas[0] || s.LeaderEpoch != 0 || s.PartitionEpoch != 0 {
				t.Fatalf("node %d partition %d: %+v (created %+v)", n.id, p, s, created.Assignments[p])
			}
			if n == leader {
				leads[s.Leader]++
			}
		}
	}
	if len(leads) != 3 {
		t.Fatalf("leaders %v: want each broker to lead one of the 3 partitions", leads)
	}
	if _, err := leader.ctl.CreateTopic(ctx, TopicSpec{Name: "orders", Partitions: 1, ReplicationFactor: 1}, false); !errors.Is(err, metadata.ErrTopicExists) {
		t.Fatalf("creating orders twice: %v", err)
	}

	// Close the leader: another voter is elected, its image has
	// everything, and it takes changes.
	before := leader.q.Image()
	leader.close()
	next := waitLeader(t, nodes)
	if next == leader {
		t.Fatal("the closed node still leads")
	}
	im := next.q.Image()
	if im.ClusterID != clusterID || im.Topic("orders") == nil || im.Topic("orders").ID != created.ID || len(im.Brokers) != 3 {
		t.Fatalf("the new leader's image lost data: %+v", im)
	}
	for _, tp := range before.TopicNames() {
		if !slices.Equal(im.Topic(tp).Assignments[0].Replicas, before.Topic(tp).Assignments[0].Replicas) {
			t.Fatalf("topic %s differs on the new leader", tp)
		}
	}
	// The controller may answer NOT_CONTROLLER for a moment while it
	// catches up; retry until the deadline.
	var after *metadata.Topic
	for {
		after, err = next.ctl.CreateTopic(ctx, TopicSpec{Name: "after", Partitions: 2, ReplicationFactor: 2}, false)
		if !errors.Is(err, ErrNotController) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("CreateTopic on the new leader %d: %v", next.id, err)
	}
	waitAll(t, nodes, "topic after", func(im *metadata.Image) bool {
		tp := im.Topic("after")
		return tp != nil && tp.ID == after.ID
	})
	for _, n := range nodes {
		if n != next && !n.closed {
			if _, err := n.ctl.AllocateProducerIDs(ctx, 10); !errors.Is(err, ErrNotController) {
				t.Fatalf("AllocateProducerIDs on follower %d: %v", n.id, err)
			}
		}
	}
}

func TestMuxSortsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMux(ln)
	defer m.Close()
	if m.Raft().Addr().String() != ln.Addr().String() || m.Kafka().Addr().String() != ln.Addr().String() {
		t.Fatalf("halves listen on %s and %s, not %s", m.Raft().Addr(), m.Kafka().Addr(), ln.Addr())
	}

	// A real Kafka request: ApiVersions v3 with a client id.
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1"
	kafkaBytes := kmsg.NewRequestFormatter(kmsg.FormatterClientID("mux-test")).AppendRequest(nil, req, 7)
	raftPayload := []byte("payload after the preamble")

	send := func(b []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		c.Write(b)
		c.Close()
	}
	readAll := func(l net.Listener) []byte {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	go send(kafkaBytes)
	if got := readAll(m.Kafka()); string(got) != string(kafkaBytes) {
		t.Fatalf("Kafka() got %x, want %x", got, kafkaBytes)
	}
	// The Kafka half hands over the socket itself, which the server needs
	// for sendfile.
	go send(kafkaBytes)
	if c, err := m.Kafka().Accept(); err != nil {
		t.Fatal(err)
	} else if _, ok := c.(*net.TCPConn); !ok {
		t.Fatalf("Kafka() accepted a %T, want the *net.TCPConn", c)
	} else {
		c.Close()
	}
	go send(append([]byte("RAFT"), raftPayload...))
	if got := readAll(m.Raft()); string(got) != string(raftPayload) {
		t.Fatalf("Raft() got %q, want %q (the preamble consumed)", got, raftPayload)
	}
	// Fewer bytes than the preamble, then EOF: still Kafka's, intact.
	go send([]byte("RA"))
	if got := readAll(m.Kafka()); string(got) != "RA" {
		t.Fatalf("Kafka() got %q for a short connection, want \"RA\"", got)
	}

	m.Close()
	if _, err := m.Kafka().Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed mux: %v", err)
	}
	if _, err := m.Raft().Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed mux: %v", err)
	}
}

// TestQuorumNonvoter: a broker-only node finds the active controller by
// trying the voters, is added to the Raft group as a non-voter when it
// registers, follows the log across a leader change, and does not count
// for a majority.
func TestQuorumNonvoter(t *testing.T) {
	nodes := startQuorum(t, 3)
	waitLeader(t, nodes)
	var voters []Voter
	for _, n := range nodes {
		voters = append(voters, Voter{ID: n.id, Addr: n.addr})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := NewMux(ln)
	t.Cleanup(func() { mux.Close() })
	addr := ln.Addr().(*net.TCPAddr)
	q, err := OpenQuorum(QuorumConfig{NodeID: 4, Voters: voters, Dir: t.TempDir(), Listener: mux.Raft(), Advertise: addr.String(),
		LocalHost: "127.0.0.1", BrokerListener: "PLAINTEXT", ElectionTimeout: 300 * time.Millisecond, RequestTimeout: 2 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	if id, _ := q.Leader(); id != -1 {
		t.Fatalf("a non-voter nobody has added knows leader %d", id)
	}
	cl := NewClient(q, nil, 4, "127.0.0.1")
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	reg := registration(4)
	reg.Listeners[0].Port = uint16(addr.Port) // the PLAINTEXT listener carries its Raft
	resp, err := cl.Request(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	epoch := resp.(*kmsg.BrokerRegistrationResponse).BrokerEpoch
	if err := q.WaitFor(ctx, func(im *metadata.Image) bool { b := im.Brokers[4]; return b != nil && b.Epoch == epoch }); err != nil {
		t.Fatalf("the non-voter did not receive its own registration: %v", err)
	}
	leader := waitLeader(t, nodes)
	members := map[int32]bool{}
	for _, m := range leader.q.State().Members {
		members[m.ID] = m.Voter
	}
	if want := map[int32]bool{1: true, 2: true, 3: true, 4: false}; !maps.Equal(members, want) {
		t.Fatalf("quorum members (id: voter) %v, want %v", members, want)
	}
	if id, _ := q.Leader(); id != leader.id {
		t.Fatalf("non-voter names leader %d, want %d", id, leader.id)
	}

	// The leader goes: the two other voters elect one, and the non-voter
	// follows it and reaches it for changes.
	leader.close()
	next := waitLeader(t, nodes)
	alloc := kmsg.NewPtrAllocateProducerIDsRequest()
	alloc.BrokerID, alloc.BrokerEpoch = 4, epoch
	resp, err = cl.Request(ctx, alloc)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.(*kmsg.AllocateProducerIDsResponse)
	if r.ErrorCode != 0 {
		t.Fatalf("allocate producer ids through the non-voter's client: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	end := r.ProducerIDStart + int64(r.ProducerIDLen)
	if err := q.WaitFor(ctx, func(im *metadata.Image) bool { return im.NextProducerID == end }); err != nil {
		t.Fatalf("the non-voter did not follow the new leader %d: %v", next.id, err)
	}

	// One voter and the non-voter are no majority of three voters.
	next.close()
	short, cancelShort := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelShort()
	if resp, err := cl.Request(short, alloc); err == nil {
		t.Fatalf("a change committed without a majority of the voters: %+v", resp)
	}
	for _, n := range nodes {
		if !n.closed && n.q.IsLeader() {
			t.Fatalf("node %d leads with one voter of three", n.id)
		}
	}
}
