package broker

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/replica"
)

// The group coordinator runs once __consumer_offsets exists: at start when
// the topic is already there, else on first use (FindCoordinator or any
// group API), when the topic is created with Kafka's settings for it.

// groupCoordinator returns the coordinator, creating __consumer_offsets and
// loading its partitions on first use.
func (b *Broker) groupCoordinator() (*group.Coordinator, error) {
	if c := b.groups.Load(); c != nil {
		return c, nil
	}
	b.groupsMu.Lock()
	defer b.groupsMu.Unlock()
	if c := b.groups.Load(); c != nil {
		return c, nil
	}
	err := b.ensureInternalTopic(group.Topic, b.cfgInt("offsets.topic.num.partitions", 50),
		b.cfgInt("offsets.topic.segment.bytes", 100<<20), "producer")
	if err != nil {
		return nil, err
	}
	return b.startGroups()
}

// startGroups creates the coordinator and loads every partition of
// __consumer_offsets (all of them are led here). b.groupsMu held.
func (b *Broker) startGroups() (*group.Coordinator, error) {
	t := b.meta.Image().Topic(group.Topic)
	if t == nil {
		return nil, fmt.Errorf("%s is not in this broker's metadata yet", group.Topic)
	}
	ms := func(key string, def int) time.Duration { return time.Duration(b.cfgInt(key, def)) * time.Millisecond }
	cfg := group.Config{
		MinSessionTimeout: ms("group.min.session.timeout.ms", 6000),
		MaxSessionTimeout: ms("group.max.session.timeout.ms", 1800000),
		InitialRebalance:  ms("group.initial.rebalance.delay.ms", 3000),
		MaxSize:           b.cfgInt("group.max.size", 1<<31-1),
		MetadataMaxBytes:  b.cfgInt("offset.metadata.max.bytes", 4096),
		OffsetsRetention:  time.Duration(b.cfgInt("offsets.retention.minutes", 10080)) * time.Minute,
		RetentionCheck:    ms("offsets.retention.check.interval.ms", 600000),
		Codec:             int8(b.cfgInt("offsets.topic.compression.codec", 0)),
		LoadBufferSize:    b.cfgInt("offsets.load.buffer.size", 5<<20),

		ConsumerSessionTimeout:    ms("group.consumer.session.timeout.ms", 45000),
		ConsumerHeartbeatInterval: ms("group.consumer.heartbeat.interval.ms", 5000),
		ConsumerMaxSize:           b.cfgInt("group.consumer.max.size", 1<<31-1),
	}
	c := group.New(cfg, t.Partitions, offsetsStore{b}, b.baseLog.With("node_id", b.nodeID))
	if b.cluster != nil {
		// Partitions load as this broker becomes their leader (cluster.go).
		b.groups.Store(c)
		return c, nil
	}
	for p := int32(0); p < t.Partitions; p++ {
		if err := c.LoadPartition(p); err != nil {
			c.Close()
			return nil, err
		}
	}
	b.groups.Store(c)
	return c, nil
}

// ensureInternalTopic creates a coordinator's compacted internal topic with
// Kafka's settings for it unless it exists. The caller serializes calls for
// one topic (groupsMu, txnsMu).
func (b *Broker) ensureInternalTopic(name string, partitions, segmentBytes int, compression string) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return fmt.Errorf("broker is shutting down")
	}
	if b.meta.Image().Topic(name) != nil {
		return nil
	}
	configs := map[string]string{
		"cleanup.policy":   "compact",
		"segment.bytes":    strconv.Itoa(segmentBytes),
		"compression.type": compression,
	}
	if b.cluster != nil {
		rfKey := "offsets.topic.replication.factor"
		if name != group.Topic {
			rfKey = "transaction.state.log.replication.factor"
		}
		rf := b.cfgInt(rfKey, 3)
		if live := len(b.meta.Image().LiveBrokers()); rf > live {
			return fmt.Errorf("create %s: %d live brokers do not meet its replication factor %s=%d", name, live, rfKey, rf)
		}
		_, err := b.cluster.CreateTopicSpec(topicSpec{Name: name, Partitions: int32(partitions), ReplicationFactor: int16(rf), Configs: configs})
		if errors.Is(err, metadata.ErrTopicExists) {
			// Another broker created it a moment ago: the controller
			// has it, this broker's image may not have it yet, and the
			// caller reads it from there next.
			err = b.cluster.waitImage(func(im *metadata.Image) bool { return im.Topic(name) != nil })
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		return nil
	}
	if _, err := b.createTopic(name, int32(partitions), configs); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	b.log.Info("created the internal topic", "topic", name, "partitions", partitions)
	return nil
}

func (b *Broker) cfgInt(key string, def int) int {
	s, ok := b.cfg.Get(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// offsetsStore gives the coordinator the partitions of __consumer_offsets.
type offsetsStore struct{ b *Broker }

func (s offsetsStore) partition(p int32) (*replica.Partition, error) {
	part := s.b.replicas.Partition(group.Topic, p)
	if part == nil {
		return nil, fmt.Errorf("%w: %s-%d is not open", group.ErrNotCoordinator, group.Topic, p)
	}
	return part, nil
}

func (s offsetsStore) Append(p int32, batch record.Header) (int64, error) {
	part, err := s.partition(p)
	if err != nil {
		return 0, err
	}
	epoch := part.LeaderEpoch()
	off, err := part.AppendInternal(batch)
	if err != nil {
		return off, err
	}
	return off, s.b.waitReplicated(part, part.LogEndOffset(), epoch)
}

func (s offsetsStore) WriteMarker(p int32, producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32) (int64, error) {
	part, err := s.partition(p)
	if err != nil {
		return 0, err
	}
	epoch := part.LeaderEpoch()
	off, err := part.WriteTxnMarker(producerID, producerEpoch, commit, coordinatorEpoch)
	if err != nil {
		return off, err
	}
	return off, s.b.waitReplicated(part, off+1, epoch)
}

func (s offsetsStore) Read(p int32, offset int64, maxBytes int) ([]byte, error) {
	part, err := s.partition(p)
	if err != nil {
		return nil, err
	}
	return part.ReadInternal(offset, maxBytes)
}

// clientHost is how Kafka shows a member's address (InetAddress.toString).
// A Conn without a network connection (handler tests build bare ones) has
// no address.
func clientHost(c *protocol.Conn) string {
	addr := c.RemoteAddr()
	if addr == nil {
		return "/unknown"
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "/" + addr.String()
	}
	return "/" + host
}
