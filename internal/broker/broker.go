package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Broker is one samsa broker.
type Broker struct {
	cfg      *config.Broker
	log      *slog.Logger
	baseLog  *slog.Logger // for components that set their own component attribute
	nodeID   int32
	dataDirs []*dataDir
	// meta is the metadata: store on a single node, cluster (the quorum,
	// changes through the active controller) otherwise.
	meta     metaStore
	store    *metadata.Store
	cluster  *cluster
	replicas *replica.Manager
	server   *protocol.Server
	sessions *fetchSessions
	pids     *producerIDs
	// schemaIDs follows _schemas for topics with schema validation
	// (schema_ids.go).
	schemaIDs *schemaIDs

	// groups is the group coordinator, nil until __consumer_offsets
	// exists (groups.go); groupsMu serializes starting it.
	groups   atomic.Pointer[group.Coordinator]
	groupsMu sync.Mutex

	// topicMu serializes topic changes: the metadata change together with
	// opening or deleting the partitions it implies, so a delete racing a
	// create of the same name cannot close the new topic's partitions, and
	// config read-modify-writes do not lose updates.
	topicMu sync.Mutex

	// txns is the transaction coordinator, nil until __transaction_state
	// exists (txns.go); txnsMu serializes starting it.
	txns   atomic.Pointer[txn.Coordinator]
	txnsMu sync.Mutex

	mu        sync.Mutex
	endpoints map[string]endpoint // listener name -> advertised host/port
	closed    bool
}

type endpoint struct {
	host string
	port int32
}

// New prepares a broker: it checks and locks the log dirs, loads metadata
// and opens (recovering if needed) every partition. It does not listen yet.
func New(cfg *config.Broker, log *slog.Logger, reg prometheus.Registerer) (_ *Broker, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Broker{cfg: cfg, log: log.With("component", "broker", "node_id", cfg.NodeID), baseLog: log, nodeID: cfg.NodeID,
		endpoints: map[string]endpoint{}}
	b.schemaIDs = newSchemaIDs(b.log)
	defer func() {
		if err != nil {
			b.unlockDirs()
		}
	}()
	clustered := len(cfg.ControllerQuorumVoters) > 0
	resolve := func(found string) (string, error) {
		if found == "" {
			found = metadata.NewUUID().String()
			b.log.Info("formatting new cluster", "cluster_id", found)
		}
		return found, nil
	}
	if clustered {
		resolve = b.joinCluster
	}
	clusterID, err := b.prepareDirs(resolve)
	if err != nil {
		if b.cluster != nil {
			b.cluster.close()
		}
		return nil, err
	}
	if clustered {
		b.meta = b.cluster
		if !cfg.HasRole("broker") {
			// A controller-only node runs the quorum, the controller and
			// its listener (all started by joinCluster) and nothing else:
			// no client listeners, partitions or coordinators.
			return b, nil
		}
	} else {
		if b.store, err = metadata.Open(b.dataDirs[0].path, clusterID); err != nil {
			return nil, err
		}
		b.meta = b.store
	}
	b.pids = newProducerIDs(b.meta)
	dirs := make([]*storage.Dir, 0, len(b.dataDirs))
	for _, d := range b.dataDirs {
		sd, err := storage.OpenDir(d.path, log)
		if err != nil {
			return nil, fmt.Errorf("open log dir %s: %w", d.path, err)
		}
		dirs = append(dirs, sd)
	}
	iv := replica.Intervals{
		Retention:  msDuration(cfg.LogRetentionCheckIntervalMs),
		Flush:      msDuration(cfg.LogFlushSchedulerIntervalMs),
		Checkpoint: msDuration(cfg.LogFlushOffsetCheckpointIntervalMs),

		HighWatermarkCheckpoint: msDuration(cfg.ReplicaHighWatermarkCheckpointIntervalMs),

		CleanerEnable:  cfg.LogCleanerEnable,
		CleanerBackoff: msDuration(cfg.LogCleanerBackoffMs),
	}
	sopts := storage.Options{Logger: log, ProducerIDExpiration: msDuration(cfg.ProducerIDExpirationMs)}
	if b.replicas, err = replica.NewManager(dirs, iv, sopts, log); err != nil {
		return nil, err
	}
	if clustered {
		b.replicas.SetClustered()
	}
	if err := b.openPartitions(); err != nil {
		b.replicas.Close()
		return nil, err
	}
	if b.meta.Image().Topic(group.Topic) != nil {
		b.groupsMu.Lock()
		_, err := b.startGroups()
		b.groupsMu.Unlock()
		if err != nil {
			b.replicas.Close()
			return nil, err
		}
	}
	if b.meta.Image().Topic(txn.Topic) != nil {
		b.txnsMu.Lock()
		_, err := b.startTxns()
		b.txnsMu.Unlock()
		if err != nil {
			if c := b.groups.Load(); c != nil {
				c.Close()
			}
			b.replicas.Close()
			return nil, err
		}
	}
	slots, _ := cfg.Get("max.incremental.fetch.session.cache.slots")
	n, _ := strconv.Atoi(slots)
	b.sessions = newFetchSessions(n)
	b.server = protocol.NewServer(protocol.Config{
		MaxRequestBytes: cfg.SocketRequestMaxBytes,
		IdleTimeout:     msDuration(cfg.ConnectionsMaxIdleMs),
		SendBuffer:      int(cfg.SocketSendBufferBytes),
		ReceiveBuffer:   int(cfg.SocketReceiveBufferBytes),
	}, b, log, protocol.NewMetrics(reg))
	return b, nil
}

// openPartitions opens the log of every partition in the metadata image and
// deletes partition folders of topics that no longer exist (a crash between
// deleting a topic and removing its files).
func (b *Broker) openPartitions() error {
	im := b.meta.Image()
	var orphans []replica.TopicPartition
	onDisk := b.replicas.OnDisk()
	if b.store != nil && b.store.Created() && len(onDisk) > 0 {
		// Without the metadata every folder would look orphaned and be
		// deleted. A missing file is far likelier a mistake (log.dirs
		// reordered: it lives in the first one) than a crash.
		return fmt.Errorf("%s did not exist, but the log dirs hold %d partition folders (e.g. %s-%d); "+
			"refusing to start, which would delete them as belonging to no topic. "+
			"If log.dirs was reordered, list the dir holding %s first",
			b.store.Path(), len(onDisk), onDisk[0].Topic, onDisk[0].Partition, metadata.FileName)
	}
	for _, tp := range onDisk {
		t := im.Topic(tp.Topic)
		ours := t != nil && tp.Partition < t.Partitions
		if ours {
			if st := t.PartitionState(tp.Partition); st != nil && !st.HasReplica(b.nodeID) {
				ours = false // moved to other brokers while this one was down
			}
		}
		folder := b.replicas.Folder(tp)
		id, hasID, err := storage.ReadPartitionMetadata(folder)
		switch {
		case err != nil || !hasID:
			if !ours {
				// Not provably a partition of ours (a user's copy named like
				// one, say): never delete what we cannot identify.
				b.log.Warn("ignoring a folder that looks like a partition of no topic and has no readable partition.metadata; move it out of the log dir",
					"folder", folder, "err", err)
			}
		case !ours:
			orphans = append(orphans, tp)
		case id != t.ID:
			// A leftover of an earlier topic with the same name (KIP-516
			// calls these stray logs): its records must not reappear.
			b.log.Warn("deleting a stray partition folder left by an earlier topic of the same name",
				"folder", folder, "folder_topic_id", metadata.UUID(id).String(), "topic_id", t.ID.String())
			orphans = append(orphans, tp)
		}
	}
	if len(orphans) > 0 {
		b.log.Warn("deleting partition folders of topics that no longer exist", "partitions", len(orphans))
		if err := b.replicas.DeletePartitions(orphans); err != nil {
			return err
		}
	}
	start := time.Now()
	clean, n := true, 0
	for _, d := range b.replicas.Dirs() {
		clean = clean && d.CleanShutdown()
	}
	if !clean && len(im.Topics) > 0 {
		b.log.Info("the last stop was not clean: checking the tail of every partition log")
	}
	for _, name := range im.TopicNames() {
		t := im.Topic(name)
		cfg := b.cfg.ResolveTopic(t.Configs)
		for i := int32(0); i < t.Partitions; i++ {
			if st := t.PartitionState(i); st != nil && !st.HasReplica(b.nodeID) {
				continue
			}
			if _, err := b.replicas.OpenPartition(name, i, t.ID, &cfg); err != nil {
				return err
			}
			n++
		}
	}
	if n > 0 {
		b.log.Info("opened partition logs", "partitions", n, "clean_shutdown", clean, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Start opens every configured listener and starts background work.
func (b *Broker) Start() error {
	if b.replicas == nil {
		return nil // controller-only: joinCluster started everything
	}
	if b.cluster != nil {
		// Partitions take their roles before any client can reach them.
		b.cluster.start()
	}
	for _, l := range b.cfg.Listeners {
		if b.isControllerListener(l.Name) {
			continue
		}
		var addr net.Addr
		var err error
		if b.cluster != nil && l.Name == b.cluster.brokerListener {
			// A broker-only node's Raft shares this listener (cluster.go).
			addr, err = b.server.Serve(l.Name, b.cluster.mux.Kafka())
		} else {
			addr, err = b.server.Listen(l.Name, net.JoinHostPort(l.Host, strconv.Itoa(l.Port)))
		}
		if err != nil {
			return err
		}
		ep := endpoint{host: l.Host, port: int32(addr.(*net.TCPAddr).Port)}
		for _, a := range b.cfg.AdvertisedListeners {
			if a.Name == l.Name {
				ep.host = a.Host
				if a.Port != 0 {
					ep.port = int32(a.Port)
				}
			}
		}
		if ep.host == "" || ep.host == "0.0.0.0" || ep.host == "::" {
			// Listening on every interface without an advertised host: tell
			// clients the canonical loopback name rather than an address
			// they cannot dial.
			ep.host = "localhost"
		}
		b.mu.Lock()
		b.endpoints[l.Name] = ep
		b.mu.Unlock()
		b.log.Info("listening for Kafka clients", "listener", l.Name, "address", addr.String(),
			"advertised", net.JoinHostPort(ep.host, strconv.Itoa(int(ep.port))))
	}
	b.replicas.Start()
	return nil
}

func (b *Broker) isControllerListener(name string) bool {
	for _, n := range b.cfg.ControllerListenerNames {
		if n == name {
			return true
		}
	}
	return false
}

// Addr returns the bound address of the named listener ("" for the first
// one that is not a controller listener).
func (b *Broker) Addr(listener string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.cfg.Listeners {
		if listener != "" {
			break
		}
		if !b.isControllerListener(l.Name) {
			listener = l.Name
		}
	}
	ep, ok := b.endpoints[listener]
	if !ok {
		return ""
	}
	return net.JoinHostPort(ep.host, strconv.Itoa(int(ep.port)))
}

// endpointFor returns the advertised endpoint of the listener a client used.
func (b *Broker) endpointFor(c *protocol.Conn) endpoint {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.endpoints[c.Listener]
}

// ClusterID returns the cluster id from meta.properties.
func (b *Broker) ClusterID() string { return b.meta.Image().ClusterID }

// Close shuts the broker down: no new requests, in-flight ones finish, logs
// are flushed and closed cleanly.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	var errs []error
	if b.replicas == nil {
		// Controller-only: the cluster is all there is.
		b.cluster.close()
		b.unlockDirs()
		return nil
	}
	if b.cluster != nil {
		b.cluster.shutdown()
	}
	// Stop the transaction coordinator first, which writes through the
	// group coordinator, then the group coordinator: it answers the JoinGroup and
	// SyncGroup requests waiting for a rebalance, which the network close
	// below waits for, and appends nothing more to the logs.
	b.txnsMu.Lock()
	if c := b.txns.Load(); c != nil {
		c.Close()
	}
	b.txnsMu.Unlock()
	b.groupsMu.Lock()
	if c := b.groups.Load(); c != nil {
		c.Close()
	}
	b.groupsMu.Unlock()
	if err := b.server.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("close network: %w", err))
	}
	if b.cluster != nil {
		b.cluster.close()
	}
	if err := b.replicas.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close logs: %w", err))
	}
	b.unlockDirs()
	return errors.Join(errs...)
}

// Replicas exposes the partition manager (tests and admin tooling).
func (b *Broker) Replicas() *replica.Manager { return b.replicas }

// Metadata exposes the metadata (tests and admin tooling).
func (b *Broker) Metadata() interface{ Image() *metadata.Image } { return b.meta }

// metaStore is where topics, configs and producer id blocks are kept and
// changed: metadata.Store on a single node, the cluster (cluster.go)
// otherwise.
type metaStore interface {
	Image() *metadata.Image
	CreateTopic(name string, partitions int32, configs map[string]string) (*metadata.Topic, error)
	DeleteTopic(name string) (*metadata.Topic, error)
	SetPartitions(name string, total int32) (*metadata.Topic, error)
	SetTopicConfigs(name string, configs map[string]string) (*metadata.Topic, error)
	AllocateProducerIDs(n int64) (int64, error)
}

var _ protocol.Handler = (*Broker)(nil)

// respVersion is a helper for handlers building responses.
func respVersion(req kmsg.Request) int16 { return req.GetVersion() }
