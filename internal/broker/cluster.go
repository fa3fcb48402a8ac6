package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cluster is a broker's membership of a cluster (controller.quorum.voters
// set): its quorum member and controller (internal/controller), its
// registration and heartbeats, and the reconciliation of hosted partitions
// with the metadata image (leader, follower, removed).
//
// Goroutines: the heartbeat loop, the reconcile loop (the only one that
// opens, re-roles and deletes partitions after start, and owns the replica
// fetchers' assignments), one fetcher per leader broker, and short-lived
// AlterPartition senders.
type cluster struct {
	b         *Broker
	log       *slog.Logger
	mux       *controller.Mux
	q         *controller.Quorum
	ctl       *controller.Controller
	handler   *controller.Handler
	client    *controller.Client
	ctlServer *protocol.Server
	localHost string
	// brokerListener is set on a broker-only node: its inter-broker
	// listener, which mux splits between Raft and the Kafka half that
	// Broker.Start serves (a voter's mux splits its CONTROLLER listener).
	brokerListener string

	incarnation metadata.UUID
	epoch       atomic.Int64
	fenced      atomic.Bool

	fetchers *fetchers

	peersMu sync.Mutex
	peers   map[string]*kgo.Client // inter-broker clients by address

	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// joinCluster starts this node's quorum member and, on a controller, the
// controller; then a broker registers and waits until the local image has
// caught up with the registration, and a controller-only node waits until
// the quorum has named the cluster. It is prepareDirs' cluster id
// resolver: found is the id on disk ("" for new dirs).
//
// A voter (process.roles has controller) runs Raft and the controller's
// Kafka APIs on its CONTROLLER listener. A broker-only node is a Raft
// non-voter: its Raft transport shares the inter-broker listener (the same
// preamble mux), and the active controller adds it to the Raft group when
// it registers (controller/doc.go).
func (b *Broker) joinCluster(found string) (string, error) {
	cfg := b.cfg
	voters, err := controller.ParseVoters(cfg.ControllerQuorumVoters)
	if err != nil {
		return "", err
	}
	isVoter, isBroker := cfg.HasRole("controller"), cfg.HasRole("broker")
	var self *controller.Voter
	for i := range voters {
		if voters[i].ID == b.nodeID {
			self = &voters[i]
		}
	}
	// config.NewBroker checks these too; a Broker built otherwise must not
	// join the quorum in the wrong role.
	if isVoter && self == nil {
		return "", fmt.Errorf("node.id %d is not in controller.quorum.voters (%s); a controller must be one of the voters", b.nodeID, strings.Join(cfg.ControllerQuorumVoters, ","))
	}
	if !isVoter && self != nil {
		return "", fmt.Errorf("node.id %d is in controller.quorum.voters (%s), but process.roles=broker: a broker-only node is no voter", b.nodeID, strings.Join(cfg.ControllerQuorumVoters, ","))
	}
	for _, l := range cfg.AdvertisedListeners {
		if l.Port == 0 {
			return "", fmt.Errorf("listener %s has port 0; cluster nodes need fixed ports other nodes can find", l.Name)
		}
	}
	// The listener carrying Raft: the controller listener of a voter, the
	// inter-broker listener of a broker-only node.
	var raftListener *config.Listener
	advertise := ""
	for i := range cfg.Listeners {
		l := &cfg.Listeners[i]
		if isVoter && b.isControllerListener(l.Name) || !isVoter && l.Name == cfg.InterBrokerListenerName {
			raftListener = l
			break
		}
	}
	switch {
	case raftListener == nil && isVoter:
		return "", fmt.Errorf("no controller listener: set controller.listener.names and a listener of that name in listeners (e.g. CONTROLLER://127.0.0.1:9093)")
	case raftListener == nil:
		return "", fmt.Errorf("inter.broker.listener.name %s is not in listeners; a broker-only node follows the metadata log on its inter-broker listener", cfg.InterBrokerListenerName)
	case isVoter:
		advertise = self.Addr
	default:
		for _, l := range cfg.AdvertisedListeners {
			if l.Name == raftListener.Name {
				advertise = net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
			}
		}
	}
	c := &cluster{b: b, log: b.baseLog.With("component", "cluster", "node_id", b.nodeID), localHost: raftListener.Host,
		incarnation: metadata.NewUUID(), stop: make(chan struct{})}
	c.fenced.Store(true)
	b.cluster = c
	ln, err := net.Listen("tcp", net.JoinHostPort(raftListener.Host, strconv.Itoa(raftListener.Port)))
	if err != nil {
		return "", fmt.Errorf("listener %s: %w", raftListener.Name, err)
	}
	c.mux = controller.NewMux(ln)
	if !isVoter {
		// Start serves the Kafka half to clients and brokers.
		c.brokerListener = raftListener.Name
	}
	dir := cfg.MetadataLogDir
	if dir == "" {
		dir = b.dataDirs[0].path
	}
	electionTimeout := time.Duration(cfg.ControllerQuorumElectionTimeoutMs) * time.Millisecond
	c.q, err = controller.OpenQuorum(controller.QuorumConfig{
		NodeID: b.nodeID, Voter: isVoter, Voters: voters, Dir: filepath.Join(dir, storage.MetadataLogFolder),
		Listener: c.mux.Raft(), Advertise: advertise, LocalHost: raftListener.Host, BrokerListener: cfg.InterBrokerListenerName,
		ElectionTimeout: electionTimeout, RequestTimeout: time.Duration(cfg.ControllerQuorumRequestTimeoutMs) * time.Millisecond,
		Logger: b.baseLog.With("node_id", b.nodeID),
	})
	if err != nil {
		c.mux.Close()
		return "", err
	}
	if isVoter {
		c.ctl = controller.NewController(c.q, controller.Settings{
			SessionTimeout: time.Duration(b.cfgInt("broker.session.timeout.ms", 9000)) * time.Millisecond,
			UncleanElection: func(t *metadata.Topic) bool {
				tc := cfg.ResolveTopic(t.Configs)
				return tc.UncleanLeaderElectionEnable
			},
			DefaultRF:         cfg.DefaultReplicationFactor,
			NumPartitions:     cfg.NumPartitions,
			AutoLeaderBalance: cfg.AutoLeaderRebalanceEnable,
			ImbalanceInterval: time.Duration(b.cfgInt("leader.imbalance.check.interval.seconds", 300)) * time.Second,
			ImbalancePercent:  int(b.cfgInt("leader.imbalance.per.broker.percentage", 10)),
		}, b.baseLog.With("node_id", b.nodeID))
		c.handler = controller.NewHandler(c.q, c.ctl, b.baseLog.With("node_id", b.nodeID))
		c.ctlServer = protocol.NewServer(protocol.Config{MaxRequestBytes: cfg.SocketRequestMaxBytes, IdleTimeout: 10 * time.Minute}, c.handler, b.baseLog, nil)
		if _, err := c.ctlServer.Serve(raftListener.Name, c.mux.Kafka()); err != nil {
			c.close()
			return "", err
		}
		b.mu.Lock()
		b.endpoints[raftListener.Name] = endpoint{host: raftListener.Host, port: int32(ln.Addr().(*net.TCPAddr).Port)}
		b.mu.Unlock()
		c.log.Info("listening for controllers and brokers", "listener", raftListener.Name, "address", ln.Addr().String(), "voters", len(voters))
	} else {
		c.log.Info("following the metadata quorum as a non-voter", "listener", raftListener.Name, "address", ln.Addr().String(),
			"raft_address", advertise, "voters", len(voters))
	}
	c.client = controller.NewClient(c.q, c.handler, b.nodeID, raftListener.Host)

	timeout := time.Duration(b.cfgInt("initial.broker.registration.timeout.ms", 60000)) * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if !isVoter {
		// A non-voter sees no log until the controller has added it, which
		// it does on registration; the controller checks found.
		if err := c.register(ctx, found); err != nil {
			return "", err
		}
		if id := c.q.Image().ClusterID; found != "" && found != id {
			return "", fmt.Errorf("the log dirs belong to cluster %s, but the controller quorum is cluster %s; point log.dirs at this cluster's data or controller.quorum.voters at the right cluster", found, id)
		}
		return c.q.Image().ClusterID, nil
	}
	if err := c.waitQuorum(ctx, voters); err != nil {
		return "", err
	}
	id := c.q.Image().ClusterID
	if found != "" && found != id {
		return "", fmt.Errorf("the log dirs belong to cluster %s, but the controller quorum is cluster %s; point log.dirs at this cluster's data or controller.quorum.voters at the right cluster", found, id)
	}
	if isBroker {
		if err := c.register(ctx, id); err != nil {
			return "", err
		}
	}
	return id, nil
}

// waitQuorum waits until a leader is elected and the cluster is named.
func (c *cluster) waitQuorum(ctx context.Context, voters []controller.Voter) error {
	start := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	sub, unsub := c.q.Subscribe()
	defer unsub()
	for c.q.Image().ClusterID == "" {
		select {
		case <-ctx.Done():
			addrs := make([]string, 0, len(voters))
			for _, v := range voters {
				addrs = append(addrs, fmt.Sprintf("%d@%s", v.ID, v.Addr))
			}
			return fmt.Errorf("no controller quorum after %s: a majority of the voters (%s) must be running and reachable on their controller listeners",
				time.Since(start).Round(time.Second), strings.Join(addrs, ","))
		case <-tick.C:
			c.log.Info("waiting for a majority of the controller quorum", "voters", len(voters), "waited", time.Since(start).Round(time.Second))
		case <-sub:
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// register (re-)registers the broker and waits until the local image holds
// the registration, so this node has seen every change made before it.
func (c *cluster) register(ctx context.Context, clusterID string) error {
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID = c.b.nodeID
	req.ClusterID = clusterID
	req.IncarnationID = c.incarnation
	if c.b.cfg.BrokerRack != "" {
		req.Rack = &c.b.cfg.BrokerRack
	}
	for _, l := range c.b.cfg.AdvertisedListeners {
		req.Listeners = append(req.Listeners, kmsg.BrokerRegistrationRequestListener{Name: l.Name, Host: l.Host, Port: uint16(l.Port),
			SecurityProtocol: controller.ProtocolID(c.b.cfg.ListenerSecurityProtocolMap[l.Name])})
	}
	req.PreviousBrokerEpoch = c.epoch.Load()
	if c.ctl != nil {
		c.ctl.SetLocalIncarnation(metadata.UUID(c.incarnation).String())
	}
	for {
		resp, err := c.client.Request(ctx, req)
		if err != nil {
			return fmt.Errorf("register with the controller: %w", err)
		}
		r := resp.(*kmsg.BrokerRegistrationResponse)
		if r.ErrorCode == kerr.DuplicateBrokerRegistration.Code {
			// The previous process of this node (killed) still has a live
			// session; it ends within broker.session.timeout.ms.
			c.log.Info("the controller still has a session of this node's previous process; retrying until it expires")
			select {
			case <-ctx.Done():
				return fmt.Errorf("register with the controller: another process holds node.id %d", c.b.nodeID)
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("the controller refused the registration of node %d: %w", c.b.nodeID, err)
		}
		c.epoch.Store(r.BrokerEpoch)
		break
	}
	epoch := c.epoch.Load()
	if err := c.q.WaitFor(ctx, func(im *metadata.Image) bool {
		br := im.Brokers[c.b.nodeID]
		return br != nil && br.Epoch >= epoch
	}); err != nil {
		if c.ctl == nil {
			return fmt.Errorf("catch up with the metadata log: %w; a broker-only node receives it once the active controller has added it to the Raft group at its %s endpoint, so every node must set the same inter.broker.listener.name",
				err, c.b.cfg.InterBrokerListenerName)
		}
		return fmt.Errorf("catch up with the metadata log: %w", err)
	}
	c.log.Info("registered with the controller", "broker_epoch", epoch)
	return nil
}

// Image implements metaStore.
func (c *cluster) Image() *metadata.Image { return c.q.Image() }

func (c *cluster) request(req kmsg.Request) (kmsg.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.b.cfg.RequestTimeoutMs)*time.Millisecond)
	defer cancel()
	return c.client.Request(ctx, req)
}

// waitImage waits until the local image satisfies ok after a change made
// by the controller, so the next request to this broker sees it.
func (c *cluster) waitImage(ok func(*metadata.Image) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.b.cfg.RequestTimeoutMs)*time.Millisecond)
	defer cancel()
	return c.q.WaitFor(ctx, ok)
}

// codeErr turns a controller's error code and message into the broker's
// error, keeping Kafka's code for the client.
func codeErr(code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	m := kerr.ErrorForCode(code).Error()
	if msg != nil && *msg != "" {
		m = *msg
	}
	return reqErr(kerr.ErrorForCode(code).(*kerr.Error), "%s", m)
}

// CreateTopicSpec creates a topic through the controller.
func (c *cluster) CreateTopicSpec(s controller.TopicSpec) (*metadata.Topic, error) {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = s.Name, s.Partitions, s.ReplicationFactor
	for p, replicas := range s.Assignments {
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: int32(p), Replicas: replicas})
	}
	if len(s.Assignments) > 0 {
		rt.NumPartitions, rt.ReplicationFactor = -1, -1
	}
	for k, v := range s.Configs {
		rt.Configs = append(rt.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: k, Value: &v})
	}
	req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	resp, err := c.request(req)
	if err != nil {
		return nil, err
	}
	st := resp.(*kmsg.CreateTopicsResponse).Topics[0]
	if st.ErrorCode == kerr.TopicAlreadyExists.Code {
		return nil, fmt.Errorf("%w: %s", metadata.ErrTopicExists, s.Name)
	}
	if err := codeErr(st.ErrorCode, st.ErrorMessage); err != nil {
		return nil, err
	}
	var t *metadata.Topic
	err = c.waitImage(func(im *metadata.Image) bool {
		t = im.TopicByID(st.TopicID)
		return t != nil
	})
	return t, err
}

// CreateTopic implements metaStore.
func (c *cluster) CreateTopic(name string, partitions int32, configs map[string]string) (*metadata.Topic, error) {
	return c.CreateTopicSpec(controller.TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: -1, Configs: configs})
}

// DeleteTopic implements metaStore.
func (c *cluster) DeleteTopic(name string) (*metadata.Topic, error) {
	t := c.Image().Topic(name)
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = []string{name}
	resp, err := c.request(req)
	if err != nil {
		return nil, err
	}
	st := resp.(*kmsg.DeleteTopicsResponse).Topics[0]
	if st.ErrorCode == kerr.UnknownTopicOrPartition.Code {
		return nil, fmt.Errorf("%w: %s", metadata.ErrUnknownTopic, name)
	}
	if err := codeErr(st.ErrorCode, st.ErrorMessage); err != nil {
		return nil, err
	}
	err = c.waitImage(func(im *metadata.Image) bool { return im.TopicByID(st.TopicID) == nil })
	if t == nil || t.ID != st.TopicID {
		t = &metadata.Topic{Name: name, ID: st.TopicID}
	}
	return t, err
}

// SetPartitions implements metaStore.
func (c *cluster) SetPartitions(name string, total int32) (*metadata.Topic, error) {
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: name, Count: total}}
	resp, err := c.request(req)
	if err != nil {
		return nil, err
	}
	st := resp.(*kmsg.CreatePartitionsResponse).Topics[0]
	if err := codeErr(st.ErrorCode, st.ErrorMessage); err != nil {
		return nil, err
	}
	var t *metadata.Topic
	err = c.waitImage(func(im *metadata.Image) bool {
		t = im.Topic(name)
		return t != nil && t.Partitions >= total
	})
	return t, err
}

// SetTopicConfigs implements metaStore.
func (c *cluster) SetTopicConfigs(name string, configs map[string]string) (*metadata.Topic, error) {
	req := kmsg.NewPtrAlterConfigsRequest()
	rr := kmsg.AlterConfigsRequestResource{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: name}
	for k, v := range configs {
		rr.Configs = append(rr.Configs, kmsg.AlterConfigsRequestResourceConfig{Name: k, Value: &v})
	}
	req.Resources = []kmsg.AlterConfigsRequestResource{rr}
	resp, err := c.request(req)
	if err != nil {
		return nil, err
	}
	st := resp.(*kmsg.AlterConfigsResponse).Resources[0]
	if st.ErrorCode == kerr.UnknownTopicOrPartition.Code {
		return nil, fmt.Errorf("%w: %s", metadata.ErrUnknownTopic, name)
	}
	if err := codeErr(st.ErrorCode, st.ErrorMessage); err != nil {
		return nil, err
	}
	var t *metadata.Topic
	err = c.waitImage(func(im *metadata.Image) bool {
		t = im.Topic(name)
		return t != nil && maps.Equal(t.Configs, configs)
	})
	return t, err
}

// AllocateProducerIDs implements metaStore (blocks of 1000, as Kafka).
func (c *cluster) AllocateProducerIDs(n int64) (int64, error) {
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID, req.BrokerEpoch = c.b.nodeID, c.epoch.Load()
	resp, err := c.request(req)
	if err != nil {
		return 0, err
	}
	r := resp.(*kmsg.AllocateProducerIDsResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return 0, err
	}
	if int64(r.ProducerIDLen) != n {
		return 0, fmt.Errorf("the controller handed out %d producer ids, not %d", r.ProducerIDLen, n)
	}
	return r.ProducerIDStart, nil
}

// start runs the heartbeat and reconcile loops.
func (c *cluster) start() {
	c.fetchers = newFetchers(c)
	// Subscribe before the first reconcile: an image applied in between
	// (the heartbeat that unfences this broker, say) must wake the loop.
	sub, unsub := c.q.Subscribe()
	c.reconcile(c.q.Image())
	c.wg.Add(2)
	go c.heartbeatLoop()
	go c.reconcileLoop(sub, unsub)
}

func (c *cluster) heartbeatLoop() {
	defer c.wg.Done()
	interval := time.Duration(c.b.cfgInt("broker.heartbeat.interval.ms", 2000)) * time.Millisecond
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.heartbeat(false)
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
	}
}

// heartbeat sends one heartbeat; it reports whether the controller allows
// a shutdown that was asked for.
func (c *cluster) heartbeat(shutdown bool) bool {
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = c.b.nodeID, c.epoch.Load()
	req.CurrentMetadataOffset = int64(c.q.AppliedIndex())
	req.WantShutdown = shutdown
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := c.client.Request(ctx, req)
	if err != nil {
		c.log.Debug("heartbeat failed", "err", err)
		return false
	}
	r := resp.(*kmsg.BrokerHeartbeatResponse)
	switch r.ErrorCode {
	case 0:
	case kerr.StaleBrokerEpoch.Code, kerr.BrokerIDNotRegistered.Code:
		c.log.Warn("the controller no longer knows this broker's registration; registering again")
		rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer rcancel()
		if err := c.register(rctx, c.q.Image().ClusterID); err != nil {
			c.log.Warn("registering again failed", "err", err)
		}
		return false
	default:
		c.log.Debug("heartbeat refused", "err", kerr.ErrorForCode(r.ErrorCode))
		return false
	}
	if was := c.fenced.Swap(r.IsFenced); was != r.IsFenced {
		if r.IsFenced {
			c.log.Warn("the controller fenced this broker: it leads no partitions until it is unfenced")
		} else {
			c.log.Info("unfenced: this broker may now lead partitions and join ISRs")
		}
	}
	return r.ShouldShutdown
}

func (c *cluster) reconcileLoop(sub <-chan struct{}, unsub func()) {
	defer c.wg.Done()
	defer unsub()
	t := time.NewTicker(time.Duration(max(c.b.cfg.ReplicaLagTimeMaxMs/2, 100)) * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-sub:
			c.reconcile(c.q.Image())
		case <-t.C:
			lag := time.Duration(c.b.cfg.ReplicaLagTimeMaxMs) * time.Millisecond
			for _, p := range c.b.replicas.All() {
				p.CheckISR(lag)
			}
		}
	}
}

// reconcile brings hosted partitions in line with the image: opens
// partitions assigned here, makes each leader or follower at its epoch,
// and deletes partitions no longer assigned here.
func (c *cluster) reconcile(im *metadata.Image) {
	self := c.b.nodeID
	want := map[replica.TopicPartition]bool{}
	for _, name := range im.TopicNames() {
		t := im.Topic(name)
		var cfg *config.Topic
		for i := range t.Assignments {
			st := t.Assignments[i]
			if !st.HasReplica(self) {
				continue
			}
			tp := replica.TopicPartition{Topic: name, Partition: int32(i)}
			want[tp] = true
			p := c.b.replicas.Partition(name, int32(i))
			if p != nil && p.TopicID != t.ID {
				c.b.replicas.DeletePartitions([]replica.TopicPartition{tp})
				p = nil
			}
			if p == nil {
				if cfg == nil {
					tc := c.b.cfg.ResolveTopic(t.Configs)
					cfg = &tc
				}
				var err error
				if p, err = c.b.replicas.OpenPartition(name, int32(i), t.ID, cfg); err != nil {
					c.log.Error("opening a partition assigned to this broker failed", "topic", name, "partition", i, "err", err)
					continue
				}
			}
			old := p.State()
			if old.PartitionEpoch == st.PartitionEpoch && old.LeaderEpoch == st.LeaderEpoch && old.Leader == st.Leader && slices.Equal(old.ISR, st.ISR) && p.IsLeader() == (st.Leader == self) && len(old.Replicas) > 0 {
				continue
			}
			changed := p.Become(self, st, c.alterISR)
			if st.Leader == self {
				c.fetchers.remove(tp)
				if changed {
					c.log.Info("leading partition", "topic", name, "partition", i, "leader_epoch", st.LeaderEpoch, "isr", st.ISR)
				}
			} else {
				c.fetchers.assign(tp, p, st.Leader, st.LeaderEpoch, changed)
			}
		}
	}
	var gone []replica.TopicPartition
	for _, p := range c.b.replicas.All() {
		tp := replica.TopicPartition{Topic: p.Topic, Partition: p.Index}
		if !want[tp] {
			gone = append(gone, tp)
			c.fetchers.remove(tp)
		}
	}
	if len(gone) > 0 {
		if err := c.b.replicas.DeletePartitions(gone); err != nil {
			c.log.Error("deleting partitions no longer assigned here failed", "err", err)
		}
	}
	c.syncCoordinators(im)
}

// alterISR proposes an ISR change to the controller (AlterPartition).
func (c *cluster) alterISR(p *replica.Partition, isr []int32, leaderEpoch, partitionEpoch int32) {
	im := c.q.Image()
	req := kmsg.NewPtrAlterPartitionRequest()
	req.BrokerID, req.BrokerEpoch = c.b.nodeID, c.epoch.Load()
	rp := kmsg.AlterPartitionRequestTopicPartition{Partition: p.Index, LeaderEpoch: leaderEpoch, PartitionEpoch: partitionEpoch}
	for _, id := range isr {
		e := int64(-1)
		if br := im.Brokers[id]; br != nil {
			e = br.Epoch
		}
		rp.NewEpochISR = append(rp.NewEpochISR, kmsg.AlterPartitionRequestTopicPartitionNewEpochISR{BrokerID: id, BrokerEpoch: e})
		rp.NewISR = append(rp.NewISR, id)
	}
	req.Topics = []kmsg.AlterPartitionRequestTopic{{TopicID: p.TopicID, Partitions: []kmsg.AlterPartitionRequestTopicPartition{rp}}}
	backoff := 100 * time.Millisecond
	for {
		resp, err := c.request(req)
		if err == nil {
			r := resp.(*kmsg.AlterPartitionResponse)
			err = kerr.ErrorForCode(r.ErrorCode)
			if err == nil && len(r.Topics) == 1 && len(r.Topics[0].Partitions) == 1 {
				err = kerr.ErrorForCode(r.Topics[0].Partitions[0].ErrorCode)
			}
		}
		if err == nil {
			c.log.Info("ISR changed", "topic", p.Topic, "partition", p.Index, "isr", isr)
			return
		}
		var ke *kerr.Error
		if errors.As(err, &ke) {
			c.log.Info("the controller did not take an ISR change", "topic", p.Topic, "partition", p.Index, "isr", isr, "err", err)
			// Only a refusal of this very change lets the leader propose
			// again at once. Anything else (a stale epoch, a fenced
			// leader) means newer metadata is on its way, and applying it
			// resets the proposal; until then the follower being added
			// keeps counting for the high watermark, as in Kafka.
			if ke == kerr.IneligibleReplica || ke == kerr.OperationNotAttempted {
				p.AlterISRFailed(partitionEpoch)
			}
			return
		}
		// No answer: the change may have been written. Ask again while it
		// is still the current proposal (Kafka retries these too).
		st := p.State()
		if !p.IsLeader() || st.PartitionEpoch != partitionEpoch || st.LeaderEpoch != leaderEpoch {
			return
		}
		c.log.Info("no answer from the controller to an ISR change; retrying", "topic", p.Topic, "partition", p.Index, "isr", isr, "err", err)
		select {
		case <-c.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// shutdown moves this broker's leaderships away before a clean stop
// (controlled shutdown), for at most a few seconds.
func (c *cluster) shutdown() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c.heartbeat(true) {
			c.log.Info("controlled shutdown: leaderships moved to other brokers")
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.log.Warn("controlled shutdown did not finish in time; stopping anyway")
}

func (c *cluster) close() {
	c.stopOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		if c.fetchers != nil {
			c.fetchers.close()
		}
		if c.client != nil {
			c.client.Close()
		}
		c.peersMu.Lock()
		for _, cl := range c.peers {
			cl.Close()
		}
		c.peersMu.Unlock()
		if c.ctl != nil {
			c.ctl.Close()
		}
		if c.ctlServer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			c.ctlServer.Close(ctx)
			cancel()
		}
		if c.q != nil {
			if err := c.q.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				c.log.Warn("closing the metadata quorum", "err", err)
			}
		}
		if c.mux != nil {
			c.mux.Close()
		}
	})
}

// metadataBrokers lists the live brokers at their endpoint for listener, and
// a controller id for clients: the active controller when it is a broker
// too; otherwise, as KRaft brokers do (KIP-590), a live broker, which
// forwards admin changes to the controller: this one if listed, else the
// first.
func (c *cluster) metadataBrokers(listener string) ([]kmsg.MetadataResponseBroker, int32) {
	im := c.q.Image()
	var out []kmsg.MetadataResponseBroker
	for _, br := range im.LiveBrokers() {
		ep, ok := br.Endpoint(listener)
		if !ok {
			continue
		}
		mb := kmsg.MetadataResponseBroker{NodeID: br.ID, Host: ep.Host, Port: ep.Port}
		if br.Rack != "" {
			r := br.Rack
			mb.Rack = &r
		}
		out = append(out, mb)
	}
	leader, _ := c.q.Leader()
	if leader != -1 && len(out) > 0 && !slices.ContainsFunc(out, func(mb kmsg.MetadataResponseBroker) bool { return mb.NodeID == leader }) {
		leader = out[0].NodeID
		if slices.ContainsFunc(out, func(mb kmsg.MetadataResponseBroker) bool { return mb.NodeID == c.b.nodeID }) {
			leader = c.b.nodeID
		}
	}
	return out, leader
}

// leaderFor is the leader of a partition in the image, or -1.
func (c *cluster) leaderFor(topic string, partition int32) (int32, int32) {
	t := c.q.Image().Topic(topic)
	if t == nil {
		return -1, -1
	}
	st := t.PartitionState(partition)
	if st == nil {
		return -1, -1
	}
	return st.Leader, st.LeaderEpoch
}

// leaderPartition returns the partition if this broker leads it, or the
// error code for the client: UNKNOWN_TOPIC_OR_PARTITION when no such
// partition exists, NOT_LEADER_OR_FOLLOWER when another broker leads it
// (or it is leaderless, or this broker has not caught up yet).
func (b *Broker) leaderPartition(topic string, idx int32) (*replica.Partition, int16) {
	p := b.replicas.Partition(topic, idx)
	if p != nil && p.IsLeader() {
		return p, 0
	}
	if b.cluster != nil {
		if t := b.meta.Image().Topic(topic); t != nil && t.PartitionState(idx) != nil {
			return nil, kerr.NotLeaderForPartition.Code
		}
	}
	return nil, kerr.UnknownTopicOrPartition.Code
}

// coordinatorFor answers FindCoordinator in a cluster: the coordinator of a
// key is the leader of its partition of the internal topic.
func (c *cluster) coordinatorFor(topic string, partition int32, listener string) (int32, string, int32, int16, *string) {
	leader, _ := c.leaderFor(topic, partition)
	if leader < 0 {
		return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
	}
	br := c.q.Image().Brokers[leader]
	if br == nil || br.Fenced {
		return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
	}
	ep, ok := br.Endpoint(listener)
	if !ok {
		return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
	}
	return leader, ep.Host, ep.Port, 0, nil
}

// waitReplicated makes a write the broker did itself (a coordinator's
// record, a transaction marker) wait, in a cluster, until every in-sync
// replica has it, as Kafka appends those with acks=all: an acknowledged
// offset commit or a written marker survives the leader's death. end is an
// offset at or past the write's end (the log end right after it), epoch
// the leader epoch the write was made in.
func (b *Broker) waitReplicated(part *replica.Partition, end int64, epoch int32) error {
	if b.cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b.cfg.RequestTimeoutMs)*time.Millisecond)
	defer cancel()
	return part.WaitReplicated(ctx, end, epoch, int(part.Config().MinInsyncReplicas))
}

// syncCoordinators loads the coordinator partitions this broker now leads
// and unloads those it no longer leads.
func (c *cluster) syncCoordinators(im *metadata.Image) {
	b := c.b
	if im.Topic(group.Topic) != nil {
		b.groupsMu.Lock()
		gc, err := b.groups.Load(), error(nil)
		if gc == nil {
			gc, err = b.startGroups()
		}
		b.groupsMu.Unlock()
		if err != nil {
			c.log.Error("starting the group coordinator failed", "err", err)
		} else {
			c.syncCoordinator(im, group.Topic, "group", gc.Loaded, func(p int32, _ *replica.Partition) error { return gc.LoadPartition(p) }, gc.UnloadPartition)
		}
	}
	if im.Topic(txn.Topic) != nil {
		b.txnsMu.Lock()
		tc, err := b.txns.Load(), error(nil)
		if tc == nil {
			tc, err = b.startTxns()
		}
		b.txnsMu.Unlock()
		if err != nil {
			c.log.Error("starting the transaction coordinator failed", "err", err)
		} else {
			c.syncCoordinator(im, txn.Topic, "transaction", tc.Loaded,
				func(p int32, part *replica.Partition) error { return tc.LoadPartition(p, part.LeaderEpoch()) }, tc.UnloadPartition)
		}
	}
}

// syncCoordinator loads the partitions of a coordinator's topic that this
// broker leads and unloads the others.
func (c *cluster) syncCoordinator(im *metadata.Image, topic, what string, loaded func(int32) bool,
	load func(int32, *replica.Partition) error, unload func(int32)) {
	t := im.Topic(topic)
	for i := range t.Assignments {
		p := int32(i)
		part := c.b.replicas.Partition(topic, p)
		lead := t.Assignments[i].Leader == c.b.nodeID && part != nil && part.IsLeader()
		switch {
		case lead && !loaded(p):
			if err := load(p, part); err != nil {
				c.log.Error("loading a coordinator partition failed", "coordinator", what, "partition", p, "err", err)
			}
		case !lead && loaded(p):
			unload(p)
			c.log.Info("no longer the coordinator of a partition", "coordinator", what, "partition", p)
		}
	}
}

// writeRemoteMarker sends a transaction marker to the partition's leader.
func (c *cluster) writeRemoteMarker(tp txn.TopicPartition, pid int64, epoch int16, commit bool, coordinatorEpoch int32) error {
	leader, _ := c.leaderFor(tp.Topic, tp.Partition)
	if leader < 0 {
		return fmt.Errorf("%s-%d has no leader", tp.Topic, tp.Partition)
	}
	cl, err := c.peer(leader)
	if err != nil {
		return err
	}
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = pid, epoch, commit, coordinatorEpoch
	m.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: tp.Topic, Partitions: []int32{tp.Partition}}}
	req.Markers = []kmsg.WriteTxnMarkersRequestMarker{m}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.b.cfg.RequestTimeoutMs)*time.Millisecond)
	defer cancel()
	seeds := cl.SeedBrokers()
	if len(seeds) == 0 {
		return fmt.Errorf("no connection to broker %d", leader)
	}
	resp, err := seeds[0].Request(ctx, req)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.WriteTxnMarkersResponse)
	for _, rm := range r.Markers {
		for _, t := range rm.Topics {
			for _, p := range t.Partitions {
				switch p.ErrorCode {
				case 0:
				case kerr.InvalidProducerEpoch.Code, kerr.TransactionCoordinatorFenced.Code:
					return fmt.Errorf("%w: %v", txn.ErrFenced, kerr.ErrorForCode(p.ErrorCode))
				case kerr.UnknownTopicOrPartition.Code:
					if c.q.Image().Topic(tp.Topic) == nil {
						return txn.ErrPartitionGone
					}
					return kerr.ErrorForCode(p.ErrorCode)
				default:
					return kerr.ErrorForCode(p.ErrorCode)
				}
			}
		}
	}
	return nil
}

// remoteTxnCoordinator returns, in a cluster, the broker that coordinates
// txnID (the leader of its partition of __transaction_state, -1 if it has
// none) and true, unless that is this broker.
func (b *Broker) remoteTxnCoordinator(txnID string) (int32, bool) {
	if b.cluster == nil {
		return -1, false
	}
	t := b.cluster.Image().Topic(txn.Topic)
	if t == nil {
		return -1, false
	}
	leader, _ := b.cluster.leaderFor(txn.Topic, txn.PartitionFor(txnID, t.Partitions))
	if leader == b.nodeID {
		return -1, false
	}
	return leader, true
}

// verifyTxnPartition asks broker coord, the coordinator of txnID, whether
// topic-partition is in the producer's open transaction (AddPartitionsToTxn
// v4+ with VerifyOnly, broker to broker as in Kafka). nil means it is;
// otherwise the coordinator's answer as a kerr error, or
// COORDINATOR_NOT_AVAILABLE when it could not be asked.
func (c *cluster) verifyTxnPartition(ctx context.Context, coord int32, txnID string, pid int64, epoch int16, topic string, partition int32) error {
	if coord < 0 {
		return fmt.Errorf("%w: %s has no leader", kerr.CoordinatorNotAvailable, txn.Topic)
	}
	cl, err := c.peer(coord)
	if err != nil {
		return fmt.Errorf("%w: %v", kerr.CoordinatorNotAvailable, err)
	}
	seeds := cl.SeedBrokers()
	if len(seeds) == 0 {
		return fmt.Errorf("%w: no connection to broker %d", kerr.CoordinatorNotAvailable, coord)
	}
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	rt := kmsg.NewAddPartitionsToTxnRequestTransaction()
	rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch, rt.VerifyOnly = txnID, pid, epoch, true
	rt.Topics = []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: topic, Partitions: []int32{partition}}}
	req.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{rt}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.b.cfg.RequestTimeoutMs)*time.Millisecond)
	defer cancel()
	resp, err := seeds[0].Request(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: verifying with broker %d: %v", kerr.CoordinatorNotAvailable, coord, err)
	}
	r := resp.(*kmsg.AddPartitionsToTxnResponse)
	if r.Version < 4 {
		return fmt.Errorf("%w: broker %d answered AddPartitionsToTxn v%d, which cannot verify", kerr.CoordinatorNotAvailable, coord, r.Version)
	}
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return err
	}
	for _, t := range r.Transactions {
		for _, rt := range t.Topics {
			for _, rp := range rt.Partitions {
				if t.TransactionalID == txnID && rt.Topic == topic && rp.Partition == partition {
					return kerr.ErrorForCode(rp.ErrorCode)
				}
			}
		}
	}
	return fmt.Errorf("%w: broker %d did not answer for %s-%d", kerr.CoordinatorNotAvailable, coord, topic, partition)
}

// peer returns a client for broker id's inter-broker listener.
func (c *cluster) peer(id int32) (*kgo.Client, error) {
	br := c.q.Image().Brokers[id]
	if br == nil {
		return nil, fmt.Errorf("broker %d is not registered", id)
	}
	ep, ok := br.Endpoint(c.b.cfg.InterBrokerListenerName)
	if !ok {
		return nil, fmt.Errorf("broker %d has no %s listener", id, c.b.cfg.InterBrokerListenerName)
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	c.peersMu.Lock()
	defer c.peersMu.Unlock()
	if c.peers == nil {
		c.peers = map[string]*kgo.Client{}
	}
	if cl := c.peers[addr]; cl != nil {
		return cl, nil
	}
	cl, err := controller.NodeClient(addr, c.localHost, fmt.Sprintf("samsa-broker-%d", c.b.nodeID))
	if err != nil {
		return nil, err
	}
	c.peers[addr] = cl
	return cl, nil
}
