package controller

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// RegisterBroker records a broker's (re-)registration and returns its new
// broker epoch. A registration with another incarnation id while the old
// one's session is alive is refused (two processes with one node.id).
func (c *Controller) RegisterBroker(ctx context.Context, reg metadata.BrokerReg, clusterID string) (int64, error) {
	_, idx, err := c.do(ctx, "register broker", func(im *metadata.Image) (metadata.Batch, any, error) {
		if clusterID != "" && im.ClusterID != "" && clusterID != im.ClusterID {
			return nil, nil, fmt.Errorf("%w: it says %s, the quorum says %s", ErrInconsistentCluster, clusterID, im.ClusterID)
		}
		// Another incarnation of a live broker is refused until the old
		// one's session runs out, unless it is this very process's broker
		// (same node id and incarnation): then the old process is
		// certainly gone, this one replaced it, and a node restarted
		// after a crash need not wait a session.
		self := reg.ID == c.q.cfg.NodeID && reg.Incarn == c.LocalIncarnation()
		if old := im.Brokers[reg.ID]; old != nil && old.Incarn != reg.Incarn && !old.Fenced && !self {
			if dl, ok := c.deadlines[reg.ID]; ok && time.Now().Before(dl) {
				return nil, nil, fmt.Errorf("%w: broker %d", ErrDuplicateBroker, reg.ID)
			}
		}
		r := reg
		r.Fenced = true
		r.ShuttingDown = false
		// The epoch is the entry's index, known only once written: the
		// record carries 0 and readers take the registration index from
		// the result. Kafka does the same with the record's offset.
		batch := metadata.Batch{{Type: metadata.RecRegisterBroker, Broker: &r}}
		// A restarted broker is not what it was: it leaves ISRs and leads
		// nothing until it has caught up and is unfenced again.
		if old := im.Brokers[reg.ID]; old != nil {
			gone := func(x int32) bool { return x == reg.ID }
			batch = append(batch, c.electAll(im, gone, func(ps *metadata.PartitionState) bool {
				return ps.Leader == reg.ID || ps.InISR(reg.ID)
			})...)
		}
		c.deadlines[reg.ID] = time.Now().Add(c.set.SessionTimeout)
		return batch, nil, nil
	})
	if err != nil {
		return 0, err
	}
	return int64(idx), nil
}

// UnregisterBroker removes a broker's registration (Kafka's
// UnregisterBroker, kafka-cluster.sh unregister): it leaves every ISR (but
// the last member of one, kept so the partition can come back), its
// leaderships move, and a broker-only node stops following the metadata
// log. A broker still running registers again at its next heartbeat; the
// API is for brokers that are gone for good.
func (c *Controller) UnregisterBroker(ctx context.Context, id int32) error {
	_, _, err := c.do(ctx, "unregister broker", func(im *metadata.Image) (metadata.Batch, any, error) {
		if im.Brokers[id] == nil {
			return nil, nil, fmt.Errorf("%w: broker %d", ErrUnknownBroker, id)
		}
		gone := func(x int32) bool { return x == id }
		batch := c.electAll(im, gone, func(ps *metadata.PartitionState) bool {
			return ps.Leader == id || ps.InISR(id)
		})
		batch = append(batch, metadata.Record{Type: metadata.RecUnregisterBroker, BrokerID: id})
		delete(c.deadlines, id)
		return batch, nil, nil
	})
	return err
}

// HeartbeatResult is the answer to a broker heartbeat.
type HeartbeatResult struct {
	Fenced         bool
	CaughtUp       bool
	ShouldShutdown bool
}

// Heartbeat renews a broker's session and moves it between fenced and
// unfenced, or through a controlled shutdown.
func (c *Controller) Heartbeat(ctx context.Context, id int32, epoch int64, applied int64, wantFence, wantShutdown bool) (HeartbeatResult, error) {
	res, _, err := c.do(ctx, "heartbeat", func(im *metadata.Image) (metadata.Batch, any, error) {
		b := im.Brokers[id]
		if b == nil {
			return nil, nil, fmt.Errorf("%w: broker %d", ErrUnknownBroker, id)
		}
		if b.Epoch != epoch {
			return nil, nil, fmt.Errorf("%w: broker %d has epoch %d, not %d", ErrStaleBrokerEpoch, id, b.Epoch, epoch)
		}
		c.deadlines[id] = time.Now().Add(c.set.SessionTimeout)
		c.progressMu.Lock()
		c.progress[id] = nodeProgress{offset: applied, at: time.Now()}
		c.progressMu.Unlock()
		caught := applied >= epoch
		switch {
		case wantShutdown:
			if b.ShuttingDown {
				// Done once it leads nothing; then it is fenced at once,
				// so that its next process registers without waiting for
				// this session to expire.
				if leadsAny(im, id) {
					return nil, HeartbeatResult{Fenced: b.Fenced, CaughtUp: caught}, nil
				}
				delete(c.deadlines, id)
				return metadata.Batch{{Type: metadata.RecBrokerState, BrokerID: id, Fenced: true, Shutdown: true}},
					HeartbeatResult{Fenced: true, CaughtUp: caught, ShouldShutdown: true}, nil
			}
			batch := c.fenceRecords(im, id, true)
			return batch, HeartbeatResult{Fenced: b.Fenced, CaughtUp: caught, ShouldShutdown: true}, nil
		case b.Fenced && !wantFence && caught && !b.ShuttingDown:
			batch := metadata.Batch{{Type: metadata.RecBrokerState, BrokerID: id}}
			// Partitions left leaderless may come back with this broker.
			back := func(x int32) bool { return false }
			nim, err := im.Apply(batch, 0)
			if err != nil {
				return nil, nil, err
			}
			batch = append(batch, c.electAll(nim, back, func(ps *metadata.PartitionState) bool {
				return ps.Leader == -1 && ps.HasReplica(id)
			})...)
			return batch, HeartbeatResult{CaughtUp: true}, nil
		case !b.Fenced && wantFence:
			return c.fenceRecords(im, id, false), HeartbeatResult{Fenced: true, CaughtUp: caught}, nil
		}
		return nil, HeartbeatResult{Fenced: b.Fenced, CaughtUp: caught}, nil
	})
	if err != nil {
		return HeartbeatResult{}, err
	}
	return res.(HeartbeatResult), nil
}

func leadsAny(im *metadata.Image, id int32) bool {
	for _, t := range im.Topics {
		for i := range t.Assignments {
			if t.Assignments[i].Leader == id {
				return true
			}
		}
	}
	return false
}

// TopicSpec is a topic to create.
type TopicSpec struct {
	Name              string
	Partitions        int32     // -1: num.partitions
	ReplicationFactor int16     // -1: default.replication.factor
	Assignments       [][]int32 // explicit replicas per partition, or nil
	Configs           map[string]string
}

// CreateTopic creates a topic, placing its replicas across live brokers.
func (c *Controller) CreateTopic(ctx context.Context, s TopicSpec, validateOnly bool) (*metadata.Topic, error) {
	res, _, err := c.do(ctx, "create topic", func(im *metadata.Image) (metadata.Batch, any, error) {
		if err := metadata.ValidateTopicName(s.Name); err != nil {
			return nil, nil, err
		}
		if im.Topic(s.Name) != nil {
			return nil, nil, fmt.Errorf("%w: %s", metadata.ErrTopicExists, s.Name)
		}
		if other := im.Collides(s.Name); other != "" {
			return nil, nil, fmt.Errorf("%w: %q collides with existing topic %q (they differ only in '.' versus '_')", metadata.ErrInvalidTopic, s.Name, other)
		}
		assign := s.Assignments
		if len(assign) == 0 {
			n, rf := s.Partitions, s.ReplicationFactor
			if n == -1 {
				n = c.set.NumPartitions
			}
			if rf == -1 {
				rf = c.set.DefaultRF
			}
			if n <= 0 {
				return nil, nil, fmt.Errorf("%w: %d (must be at least 1)", metadata.ErrInvalidPartitions, n)
			}
			var err error
			if assign, err = place(im, int(n), int(rf), 0); err != nil {
				return nil, nil, err
			}
		} else if err := checkAssignment(im, assign); err != nil {
			return nil, nil, err
		}
		t := &metadata.Topic{Name: s.Name, ID: metadata.NewUUID(), Partitions: int32(len(assign)), Configs: maps.Clone(s.Configs)}
		for _, replicas := range assign {
			t.Assignments = append(t.Assignments, initialState(im, replicas))
		}
		if validateOnly {
			return nil, t, nil
		}
		return metadata.Batch{{Type: metadata.RecTopic, Topic: t}}, t, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*metadata.Topic), nil
}

// initialState is a new partition's state: every live replica in the ISR,
// the first live one leading.
func initialState(im *metadata.Image, replicas []int32) metadata.PartitionState {
	ps := metadata.PartitionState{Replicas: slices.Clone(replicas), Leader: -1}
	for _, r := range replicas {
		if live(im, r, nil) {
			ps.ISR = append(ps.ISR, r)
			if ps.Leader == -1 {
				ps.Leader = r
			}
		}
	}
	if len(ps.ISR) == 0 {
		ps.ISR = []int32{replicas[0]}
	}
	return ps
}

// checkAssignment validates explicit replica lists.
func checkAssignment(im *metadata.Image, assign [][]int32) error {
	for p, replicas := range assign {
		if len(replicas) == 0 {
			return fmt.Errorf("%w: partition %d has no replicas", ErrInvalidAssignment, p)
		}
		seen := map[int32]bool{}
		for _, r := range replicas {
			if im.Brokers[r] == nil {
				return fmt.Errorf("%w: the manual partition assignment includes broker %d, but no such broker is registered", ErrInvalidAssignment, r)
			}
			if seen[r] {
				return fmt.Errorf("%w: the manual partition assignment for partition %d includes broker %d more than once", ErrInvalidAssignment, p, r)
			}
			seen[r] = true
		}
		if len(replicas) != len(assign[0]) {
			return fmt.Errorf("%w: all partitions must have the same number of replicas", ErrInvalidAssignment)
		}
	}
	return nil
}

// place assigns rf replicas to each of n partitions over the live brokers:
// brokers are ordered so that consecutive ones alternate racks, partition p
// starts at broker (start+p) and takes the next rf brokers, so leaders (the
// first replica) are spread evenly and a partition's replicas sit on
// different racks where the racks allow it (Kafka's rack-aware placement).
func place(im *metadata.Image, n, rf int, first int) ([][]int32, error) {
	var brokers []*metadata.BrokerReg
	for _, b := range im.LiveBrokers() {
		if !b.ShuttingDown { // a leaving broker takes no new replicas
			brokers = append(brokers, b)
		}
	}
	if rf <= 0 {
		return nil, fmt.Errorf("%w: replication factor must be larger than 0, or -1 to use the default value", ErrInvalidReplication)
	}
	if rf > len(brokers) {
		return nil, fmt.Errorf("%w: unable to replicate the partition %d time(s): the target replication factor of %d cannot be reached because only %d broker(s) are available", ErrInvalidReplication, rf, rf, len(brokers))
	}
	byRack := map[string][]int32{}
	rackOf := map[int32]string{}
	var racks []string
	for _, b := range brokers {
		if _, ok := byRack[b.Rack]; !ok {
			racks = append(racks, b.Rack)
		}
		byRack[b.Rack] = append(byRack[b.Rack], b.ID)
		rackOf[b.ID] = b.Rack
	}
	slices.Sort(racks)
	var order []int32
	for i := 0; len(order) < len(brokers); i++ {
		for _, r := range racks {
			if i < len(byRack[r]) {
				order = append(order, byRack[r][i])
			}
		}
	}
	start := rand.IntN(len(order))
	out := make([][]int32, n)
	for p := range n {
		// Shift later replicas by a partition-dependent step so that the
		// followers of one broker's leaderships spread too; then take the
		// next broker from there on a rack the partition does not use yet
		// (any rack once every rack has a replica).
		shift := 1 + ((first+p)/len(order))%max(1, len(order)-1)
		replicas := []int32{order[(start+first+p)%len(order)]}
		used := map[string]bool{rackOf[replicas[0]]: true}
		for j := 1; j < rf; j++ {
			if len(used) == len(racks) {
				clear(used) // every rack has one: the next may go anywhere
			}
			idx := (start + first + p + j*shift) % len(order)
			pick := int32(-1)
			for k := 0; k < len(order); k++ {
				b := order[(idx+k)%len(order)]
				if slices.Contains(replicas, b) {
					continue
				}
				if !used[rackOf[b]] {
					pick = b
					break
				}
				if pick < 0 {
					pick = b // fallback: a broker on a used rack
				}
			}
			replicas = append(replicas, pick)
			used[rackOf[pick]] = true
		}
		out[p] = replicas
	}
	return out, nil
}

// DeleteTopic removes a topic.
func (c *Controller) DeleteTopic(ctx context.Context, name string) (*metadata.Topic, error) {
	res, _, err := c.do(ctx, "delete topic", func(im *metadata.Image) (metadata.Batch, any, error) {
		t := im.Topic(name)
		if t == nil {
			return nil, nil, fmt.Errorf("%w: %s", metadata.ErrUnknownTopic, name)
		}
		return metadata.Batch{{Type: metadata.RecRemoveTopic, TopicID: t.ID}}, t, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*metadata.Topic), nil
}

// CreatePartitions grows a topic to total partitions.
func (c *Controller) CreatePartitions(ctx context.Context, name string, total int32, assign [][]int32, validateOnly bool) (*metadata.Topic, error) {
	res, _, err := c.do(ctx, "create partitions", func(im *metadata.Image) (metadata.Batch, any, error) {
		t := im.Topic(name)
		if t == nil {
			return nil, nil, fmt.Errorf("%w: %s", metadata.ErrUnknownTopic, name)
		}
		if total <= t.Partitions {
			return nil, nil, fmt.Errorf("%w: topic %s has %d partitions; the new count must be larger, not %d", metadata.ErrInvalidPartitions, name, t.Partitions, total)
		}
		add := int(total - t.Partitions)
		rf := len(t.Assignments[0].Replicas)
		if len(assign) > 0 {
			if len(assign) != add {
				return nil, nil, fmt.Errorf("%w: %d partitions are added but %d assignments given", ErrInvalidAssignment, add, len(assign))
			}
			if err := checkAssignment(im, assign); err != nil {
				return nil, nil, err
			}
			if len(assign[0]) != rf {
				return nil, nil, fmt.Errorf("%w: the topic has replication factor %d, the new assignment %d", ErrInvalidAssignment, rf, len(assign[0]))
			}
		} else {
			var err error
			if assign, err = place(im, add, rf, int(t.Partitions)); err != nil {
				return nil, nil, err
			}
		}
		var batch metadata.Batch
		nt := *t
		for i, replicas := range assign {
			st := initialState(im, replicas)
			nt.Assignments = append(slices.Clone(nt.Assignments), st)
			batch = append(batch, metadata.Record{Type: metadata.RecPartition, TopicID: t.ID, Partition: t.Partitions + int32(i), State: &st})
		}
		nt.Partitions = total
		if validateOnly {
			return nil, &nt, nil
		}
		return batch, &nt, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*metadata.Topic), nil
}

// SetTopicConfigs replaces a topic's overrides. The topic's leaderless
// partitions are elected again under the new configs, so enabling
// unclean.leader.election.enable gives them a live replica as leader at
// once (ZooKeeper-mode Kafka's controller did this on the config change;
// KRaft's looks for leaderless partitions every few minutes).
func (c *Controller) SetTopicConfigs(ctx context.Context, name string, configs map[string]string) (*metadata.Topic, error) {
	res, _, err := c.do(ctx, "alter configs", func(im *metadata.Image) (metadata.Batch, any, error) {
		t := im.Topic(name)
		if t == nil {
			return nil, nil, fmt.Errorf("%w: %s", metadata.ErrUnknownTopic, name)
		}
		nt := *t
		nt.Configs = maps.Clone(configs)
		batch := metadata.Batch{{Type: metadata.RecTopicConfigs, TopicID: t.ID, Configs: nt.Configs}}
		nim, err := im.Apply(batch, 0)
		if err != nil {
			return nil, nil, err
		}
		return append(batch, c.electLeaderless(nim, name)...), &nt, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*metadata.Topic), nil
}

// electLeaderless elects a leader, where one is now eligible, for each
// leaderless partition of topic name in im.
func (c *Controller) electLeaderless(im *metadata.Image, name string) metadata.Batch {
	t := im.Topic(name)
	if t == nil {
		return nil
	}
	var batch metadata.Batch
	for p := range t.Assignments {
		if ps := &t.Assignments[p]; ps.Leader == -1 {
			if n, changed := c.elect(im, t, ps, nil); changed {
				batch = append(batch, metadata.Record{Type: metadata.RecPartition, TopicID: t.ID, Partition: int32(p), State: &n})
			}
		}
	}
	return batch
}

// AllocateProducerIDs reserves a block of n producer ids.
func (c *Controller) AllocateProducerIDs(ctx context.Context, n int64) (int64, error) {
	res, _, err := c.do(ctx, "allocate producer ids", func(im *metadata.Image) (metadata.Batch, any, error) {
		first := im.NextProducerID
		if first > (1<<63-1)-n {
			return nil, nil, fmt.Errorf("producer ids exhausted")
		}
		return metadata.Batch{{Type: metadata.RecProducerIDs, NextProducerID: first + n}}, first, nil
	})
	if err != nil {
		return 0, err
	}
	return res.(int64), nil
}

// AlterPartition applies a leader's ISR change (Kafka's AlterPartition): the
// leader must name the current leader epoch and partition epoch; new ISR
// members must be live.
//
// epochs (AlterPartition v3, KIP-903) are the broker epochs the leader saw
// its followers fetch with: a member added with an epoch other than its
// current registration is a previous process of that broker, which may
// have lost records it had acknowledged (an unclean restart), and is
// refused. A -1 epoch, or no epochs (v2), is not checked.
func (c *Controller) AlterPartition(ctx context.Context, broker int32, brokerEpoch int64, topicID metadata.UUID, partition int32, leaderEpoch, partitionEpoch int32, isr []int32, epochs map[int32]int64) (metadata.PartitionState, error) {
	res, _, err := c.do(ctx, "alter partition", func(im *metadata.Image) (metadata.Batch, any, error) {
		if b := im.Brokers[broker]; b == nil || b.Epoch != brokerEpoch {
			return nil, nil, fmt.Errorf("%w: broker %d", ErrStaleBrokerEpoch, broker)
		}
		t := im.TopicByID(topicID)
		if t == nil || t.PartitionState(partition) == nil {
			return nil, nil, ErrUnknownTopicOrPart
		}
		ps := t.PartitionState(partition)
		if ps.Leader != broker {
			return nil, nil, fmt.Errorf("%w: %s-%d is led by %d", ErrNotLeader, t.Name, partition, ps.Leader)
		}
		if leaderEpoch != ps.LeaderEpoch {
			return nil, nil, fmt.Errorf("%w: %d, current %d", ErrFencedLeaderEpoch, leaderEpoch, ps.LeaderEpoch)
		}
		if partitionEpoch != ps.PartitionEpoch {
			return nil, ps.Clone(), fmt.Errorf("%w: %d, current %d", ErrInvalidUpdateVersion, partitionEpoch, ps.PartitionEpoch)
		}
		if !slices.Contains(isr, broker) {
			return nil, nil, fmt.Errorf("%w: the leader must stay in the ISR", ErrIneligibleReplica)
		}
		for _, r := range isr {
			if !ps.HasReplica(r) || (!ps.InISR(r) && !live(im, r, nil)) {
				return nil, nil, fmt.Errorf("%w: broker %d", ErrIneligibleReplica, r)
			}
			if e, ok := epochs[r]; ok && e != -1 && !ps.InISR(r) && im.Brokers[r].Epoch != e {
				return nil, nil, fmt.Errorf("%w: broker %d fetched with epoch %d, its registration has %d", ErrIneligibleReplica, r, e, im.Brokers[r].Epoch)
			}
		}
		n := ps.Clone()
		n.ISR = slices.Clone(isr)
		n.PartitionEpoch++
		n.LeaderRecovering = false
		c.finishReassignment(im, t, &n)
		return metadata.Batch{{Type: metadata.RecPartition, TopicID: t.ID, Partition: partition, State: &n}}, n, nil
	})
	if err != nil {
		if ps, ok := res.(metadata.PartitionState); ok {
			return ps, err
		}
		return metadata.PartitionState{}, err
	}
	return res.(metadata.PartitionState), nil
}
