package controller

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/samsa-io/samsa/internal/metadata"
)

// Voter is one member of controller.quorum.voters.
type Voter struct {
	ID   int32
	Addr string // host:port of its CONTROLLER listener
}

// ParseVoters parses controller.quorum.voters entries (id@host:port).
func ParseVoters(entries []string) ([]Voter, error) {
	var out []Voter
	seen := map[int32]bool{}
	for _, e := range entries {
		id, addr, ok := strings.Cut(strings.TrimSpace(e), "@")
		n, err := strconv.ParseInt(id, 10, 32)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("controller.quorum.voters entry %q is not id@host:port", e)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("controller.quorum.voters entry %q: %v", e, err)
		}
		if seen[int32(n)] {
			return nil, fmt.Errorf("controller.quorum.voters names node %d twice", n)
		}
		seen[int32(n)] = true
		out = append(out, Voter{ID: int32(n), Addr: addr})
	}
	return out, nil
}

// QuorumConfig configures a node's quorum member.
type QuorumConfig struct {
	NodeID int32
	// Voter is whether this node is one of the voters (process.roles has
	// controller); others follow the log as non-voters.
	Voter  bool
	Voters []Voter
	// Dir holds the Raft log, stable store and snapshots.
	Dir string
	// Listener accepts Raft connections (the Raft half of a Mux).
	Listener net.Listener
	// Advertise is the address other nodes reach this node's Raft
	// transport on (its voter address).
	Advertise string
	// LocalHost is this node's listener host, used as the source address
	// of connections to other nodes on the same machine (see Dial).
	LocalHost string

	// BrokerListener names the listener whose advertised address carries
	// a broker-only node's Raft transport (inter.broker.listener.name,
	// the same on every node). A voter's leader adds each registered
	// broker that is not a voter as a non-voter at that address.
	BrokerListener string

	ElectionTimeout time.Duration // controller.quorum.election.timeout.ms
	RequestTimeout  time.Duration // controller.quorum.request.timeout.ms
	Logger          *slog.Logger
}

// Quorum is this node's member of the metadata quorum: it replicates the
// metadata log and applies it to the image.
type Quorum struct {
	cfg       QuorumConfig
	log       *slog.Logger
	raft      *raft.Raft
	store     *raftboltdb.BoltStore
	transport *raft.NetworkTransport

	image   atomic.Pointer[metadata.Image]
	applied atomic.Uint64

	subsMu sync.Mutex
	subs   map[chan struct{}]struct{}

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	// warned holds the brokers already reported as unreachable for Raft
	// (owned by the observers goroutine).
	warned map[int32]bool
}

// OpenQuorum opens (creating on first start) the node's Raft state and joins
// the quorum. Voters bootstrap the configuration from the static voter list
// the first time; a restarted node continues from its log.
func OpenQuorum(cfg QuorumConfig) (*Quorum, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create metadata log dir: %w", err)
	}
	q := &Quorum{cfg: cfg, log: cfg.Logger.With("component", "quorum"), subs: map[chan struct{}]struct{}{},
		stop: make(chan struct{}), warned: map[int32]bool{}}
	q.image.Store(metadata.NewImage(""))

	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("open metadata log %s: %w", filepath.Join(cfg.Dir, "raft.db"), err)
	}
	q.store = store
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: &slogWriter{log: q.log}})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hl)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("open metadata snapshots in %s: %w", cfg.Dir, err)
	}
	q.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  &streamLayer{Listener: cfg.Listener, advertise: cfg.Advertise, local: cfg.LocalHost},
		MaxPool: 3, Timeout: cfg.RequestTimeout, Logger: hl,
	})

	rc := raft.DefaultConfig()
	rc.LocalID = serverID(cfg.NodeID)
	rc.Logger = hl
	if cfg.ElectionTimeout > 0 {
		rc.HeartbeatTimeout = cfg.ElectionTimeout
		rc.ElectionTimeout = cfg.ElectionTimeout
		rc.LeaderLeaseTimeout = cfg.ElectionTimeout / 2
	}
	rc.CommitTimeout = 5 * time.Millisecond
	rc.SnapshotThreshold = 4096
	rc.TrailingLogs = 4096

	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("read metadata log: %w", err)
	}
	r, err := raft.NewRaft(rc, &fsm{q: q}, store, store, snaps, q.transport)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("start metadata quorum: %w", err)
	}
	q.raft = r
	if !existing && cfg.Voter {
		var servers []raft.Server
		for _, v := range cfg.Voters {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: serverID(v.ID), Address: raft.ServerAddress(v.Addr)})
		}
		if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			q.Close()
			return nil, fmt.Errorf("bootstrap metadata quorum: %w", err)
		}
		q.log.Info("formatted a new metadata log", "voters", len(servers))
	}
	if cfg.Voter {
		q.wg.Add(1)
		go q.observersLoop()
	}
	return q, nil
}

// observersLoop keeps, while this node leads, one Raft non-voter per
// registered broker that is not a voter (broker-only nodes): they receive
// the log and snapshots like KRaft's observers and never count for a
// majority. It wakes after every apply and every half second, so a new
// leader picks up the brokers its predecessor had not added yet.
func (q *Quorum) observersLoop() {
	defer q.wg.Done()
	sub, unsub := q.Subscribe()
	defer unsub()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-sub:
		case <-tick.C:
		}
		if q.IsLeader() {
			q.syncObservers()
		}
	}
}

// syncObservers adds or re-addresses the non-voter of every registered
// broker that is not a voter, and removes the non-voters of brokers no
// longer registered. Called by observersLoop only.
func (q *Quorum) syncObservers() {
	f := q.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	im := q.Image()
	servers := map[raft.ServerID]raft.Server{}
	for _, s := range f.Configuration().Servers {
		servers[s.ID] = s
	}
	voter := func(id int32) bool {
		s, ok := servers[serverID(id)]
		return ok && s.Suffrage == raft.Voter
	}
	timeout := max(q.cfg.RequestTimeout, 5*time.Second)
	for _, id := range slices.Sorted(maps.Keys(im.Brokers)) {
		if voter(id) {
			continue
		}
		ep, ok := im.Brokers[id].Endpoint(q.cfg.BrokerListener)
		if !ok {
			if !q.warned[id] {
				q.warned[id] = true
				q.log.Error("a broker-only node has no listener named by inter.broker.listener.name, so it cannot follow the metadata log; set the same inter.broker.listener.name on every node",
					"broker", id, "listener", q.cfg.BrokerListener)
			}
			continue
		}
		delete(q.warned, id)
		addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
		if s, ok := servers[serverID(id)]; ok && string(s.Address) == addr {
			continue
		}
		if err := q.raft.AddNonvoter(serverID(id), raft.ServerAddress(addr), 0, timeout).Error(); err != nil {
			q.log.Warn("could not add a broker to the metadata quorum as a non-voter; retrying", "broker", id, "address", addr, "err", err)
			return
		}
		q.log.Info("added a broker to the metadata quorum as a non-voter", "broker", id, "address", addr)
	}
	// Remove only once the image reflects every configuration change, so a
	// new leader that has not yet applied a registration keeps its broker.
	cfgIndex, _ := strconv.ParseUint(q.raft.Stats()["latest_configuration_index"], 10, 64)
	if q.raft.AppliedIndex() < cfgIndex {
		return
	}
	for sid, s := range servers {
		id, err := strconv.Atoi(string(sid))
		if err != nil || s.Suffrage == raft.Voter || im.Brokers[int32(id)] != nil {
			continue
		}
		if err := q.raft.RemoveServer(sid, 0, timeout).Error(); err != nil {
			q.log.Warn("could not remove an unregistered broker from the metadata quorum", "broker", id, "err", err)
			return
		}
		q.log.Info("removed an unregistered broker from the metadata quorum", "broker", id)
	}
}

func serverID(id int32) raft.ServerID { return raft.ServerID(strconv.Itoa(int(id))) }

// Image returns the current metadata image.
func (q *Quorum) Image() *metadata.Image { return q.image.Load() }

// AppliedIndex is the index of the last applied metadata log entry.
func (q *Quorum) AppliedIndex() uint64 { return q.applied.Load() }

// Subscribe returns a channel signalled (coalescing) after every apply, and
// a function to unsubscribe.
func (q *Quorum) Subscribe() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	q.subsMu.Lock()
	q.subs[c] = struct{}{}
	q.subsMu.Unlock()
	return c, func() {
		q.subsMu.Lock()
		delete(q.subs, c)
		q.subsMu.Unlock()
	}
}

func (q *Quorum) publish(im *metadata.Image, index uint64) {
	q.image.Store(im)
	q.applied.Store(index)
	q.subsMu.Lock()
	for c := range q.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
	q.subsMu.Unlock()
}

// WaitFor waits until the image satisfies ok or ctx ends.
func (q *Quorum) WaitFor(ctx context.Context, ok func(*metadata.Image) bool) error {
	c, stop := q.Subscribe()
	defer stop()
	for {
		if ok(q.Image()) {
			return nil
		}
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Leader returns the current Raft leader's node id and address, or -1.
func (q *Quorum) Leader() (int32, string) {
	addr, id := q.raft.LeaderWithID()
	if id == "" {
		return -1, ""
	}
	n, err := strconv.Atoi(string(id))
	if err != nil {
		return -1, ""
	}
	return int32(n), string(addr)
}

// IsLeader reports whether this node leads the quorum.
func (q *Quorum) IsLeader() bool { return q.raft.State() == raft.Leader }

// QuorumMember is one voter's replication state (DescribeQuorum).
type QuorumMember struct {
	ID          int32
	Voter       bool
	LogEndIndex int64 // -1 when unknown
	LastContact time.Time
}

// QuorumState describes the quorum as this node sees it.
type QuorumState struct {
	LeaderID   int32
	Term       int64
	HighIndex  int64 // commit index
	Members    []QuorumMember
	LastIndex  int64
	AppliedIdx int64
}

// State reports the quorum from this node's Raft state.
func (q *Quorum) State() QuorumState {
	st := QuorumState{LeaderID: -1}
	stats := q.raft.Stats()
	st.Term, _ = strconv.ParseInt(stats["term"], 10, 64)
	st.HighIndex, _ = strconv.ParseInt(stats["commit_index"], 10, 64)
	st.LastIndex, _ = strconv.ParseInt(stats["last_log_index"], 10, 64)
	st.AppliedIdx = int64(q.applied.Load())
	st.LeaderID, _ = q.Leader()
	f := q.raft.GetConfiguration()
	if f.Error() != nil {
		return st
	}
	for _, s := range f.Configuration().Servers {
		id, _ := strconv.Atoi(string(s.ID))
		m := QuorumMember{ID: int32(id), Voter: s.Suffrage == raft.Voter, LogEndIndex: -1}
		if int32(id) == q.cfg.NodeID {
			// The applied offset, as the other members report theirs in
			// heartbeats, so a caught-up member shows no lag.
			m.LogEndIndex = st.AppliedIdx
			m.LastContact = time.Now()
		}
		st.Members = append(st.Members, m)
	}
	return st
}

// Close leaves the quorum (without changing its membership) and closes the
// log.
func (q *Quorum) Close() error {
	var errs []error
	q.stopOnce.Do(func() { close(q.stop) })
	if q.raft != nil {
		// Shutting Raft down first ends a membership change in flight.
		errs = append(errs, q.raft.Shutdown().Error())
	}
	q.wg.Wait()
	if q.transport != nil {
		errs = append(errs, q.transport.Close())
	}
	errs = append(errs, q.store.Close())
	return errors.Join(errs...)
}

// fsm applies metadata log entries to the image.
type fsm struct{ q *Quorum }

func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	b, err := metadata.DecodeBatch(l.Data)
	if err == nil {
		var im *metadata.Image
		if im, err = f.q.Image().Apply(b, int64(l.Index)); err == nil {
			f.q.publish(im, l.Index)
			return nil
		}
	}
	// Every node applies the same entries, so every node skips this one:
	// the images stay equal. The controller that wrote it gets the error.
	f.q.log.Error("skipping a metadata log entry that does not apply", "index", l.Index, "err", err)
	f.q.applied.Store(l.Index)
	return err
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &snapshot{im: f.q.Image(), index: f.q.applied.Load()}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	var snap struct {
		Index uint64          `json:"index"`
		Image json.RawMessage `json:"image"`
	}
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("undecodable metadata snapshot: %w", err)
	}
	im, err := metadata.DecodeImage(snap.Image)
	if err != nil {
		return err
	}
	f.q.publish(im, snap.Index)
	return nil
}

type snapshot struct {
	im    *metadata.Image
	index uint64
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	ib, err := metadata.EncodeImage(s.im)
	var b []byte
	if err == nil {
		b, err = json.Marshal(map[string]any{"index": s.index, "image": json.RawMessage(ib)})
	}
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() {}

// streamLayer carries Raft over the CONTROLLER listener: outgoing
// connections start with raftPreamble so the peer's Mux routes them.
type streamLayer struct {
	net.Listener
	advertise string
	local     string
}

func (s *streamLayer) Addr() net.Addr { return advertisedAddr(s.advertise) }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := Dial(ctx, s.local, string(address))
	if err != nil {
		return nil, err
	}
	if _, err := c.Write(raftPreamble); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// Dial connects to another node. When this node listens on a loopback
// address and the target is on loopback too (several nodes on one machine),
// the connection is made from this node's address, so that each node's
// traffic is told apart by its source address (the cluster test harness
// cuts nodes off this way); otherwise the system picks the source.
func Dial(ctx context.Context, localHost, addr string) (net.Conn, error) {
	d := net.Dialer{}
	if lip := net.ParseIP(localHost); lip != nil && lip.IsLoopback() {
		host, _, err := net.SplitHostPort(addr)
		if err == nil {
			if rip := net.ParseIP(host); rip != nil && rip.IsLoopback() && rip.To4() != nil == (lip.To4() != nil) {
				d.LocalAddr = &net.TCPAddr{IP: lip}
			}
		}
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return c, nil
}

// slogWriter turns hclog lines into slog records.
type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		line := sc.Text()
		lvl := slog.LevelInfo
		switch {
		case strings.Contains(line, "failed to appendEntries") || strings.Contains(line, "failed to heartbeat"):
			// Repeated every few milliseconds while a peer is down; the
			// "failed to contact" warning says it once per timeout.
			lvl = slog.LevelDebug
		case strings.Contains(line, "[ERROR]"):
			lvl = slog.LevelError
		case strings.Contains(line, "[WARN]"):
			lvl = slog.LevelWarn
		}
		if i := strings.Index(line, "raft: "); i >= 0 {
			line = line[i+len("raft: "):]
		}
		w.log.Log(context.Background(), lvl, "raft: "+line)
	}
	return len(p), nil
}
