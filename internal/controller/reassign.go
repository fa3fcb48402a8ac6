package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Partition reassignment (KIP-455) and leader election on request (KIP-460)
// and in the background (auto.leader.rebalance.enable).
//
// A reassignment to target replicas T of a partition with replicas R runs
// in two metadata changes:
//
//  1. Replicas becomes T followed by the brokers of R not in T, with
//     AddingReplicas = T−R and RemovingReplicas = R−T. Brokers of T−R open
//     the partition as followers and copy the log from the leader; the
//     leader adds each to the ISR once it has caught up (AlterPartition).
//  2. When every broker of T is in the ISR (checked on every ISR change),
//     Replicas becomes T, the ISR loses R−T and, if the leader is being
//     removed, the first live ISR member of T leads with a new epoch. The
//     brokers of R−T then delete their copies.
//
// A reassignment whose target is already in the ISR (a reordering, a
// smaller replication factor) completes in its first change. A new target
// for a partition that is being reassigned starts over from the replicas
// it had before (Replicas without AddingReplicas): adding replicas the new
// target drops leave at once, and the same target sent again changes
// nothing. Cancelling (null replicas) goes back to the replicas
// without AddingReplicas and drops the adding brokers from the ISR; if that
// would leave the ISR empty it needs unclean.leader.election.enable.

// Reassignment is one partition's requested target; nil Replicas cancels.
type Reassignment struct {
	Topic     string
	Partition int32
	Replicas  []int32
}

// Reassign starts, changes or cancels reassignments, all in one metadata
// change. Each partition gets its own error (nil when accepted); a refused
// partition changes nothing, the others go ahead.
func (c *Controller) Reassign(ctx context.Context, reqs []Reassignment) ([]error, error) {
	res, _, err := c.do(ctx, "alter partition reassignments", func(im *metadata.Image) (metadata.Batch, any, error) {
		errs := make([]error, len(reqs))
		var batch metadata.Batch
		seen := map[[2]any]bool{}
		for i, r := range reqs {
			key := [2]any{r.Topic, r.Partition}
			if seen[key] {
				errs[i] = fmt.Errorf("%w: partition %s-%d appears more than once", errInvalidRequest, r.Topic, r.Partition)
				continue
			}
			seen[key] = true
			t, ps, err := partitionOf(im, r.Topic, r.Partition)
			if err != nil {
				errs[i] = err
				continue
			}
			var n metadata.PartitionState
			if r.Replicas == nil {
				n, err = c.cancelReassignment(im, t, r.Partition, ps)
			} else {
				n, err = c.startReassignment(im, t, ps, r.Replicas)
			}
			if err != nil {
				errs[i] = err
				continue
			}
			if !sameState(&n, ps) {
				n.PartitionEpoch++
				batch = append(batch, metadata.Record{Type: metadata.RecPartition, TopicID: t.ID, Partition: r.Partition, State: &n})
				c.log.Info("partition reassignment", "topic", t.Name, "partition", r.Partition,
					"replicas", n.Replicas, "adding", n.AddingReplicas, "removing", n.RemovingReplicas, "leader", n.Leader)
			}
		}
		return batch, errs, nil
	})
	if err != nil {
		return nil, err
	}
	return res.([]error), nil
}

func partitionOf(im *metadata.Image, topic string, p int32) (*metadata.Topic, *metadata.PartitionState, error) {
	t := im.Topic(topic)
	if t == nil {
		return nil, nil, fmt.Errorf("%w: unable to find a topic named %s", ErrUnknownTopicOrPart, topic)
	}
	ps := t.PartitionState(p)
	if ps == nil {
		return nil, nil, fmt.Errorf("%w: unable to find partition %s-%d", ErrUnknownTopicOrPart, topic, p)
	}
	return t, ps, nil
}

func sameState(a, b *metadata.PartitionState) bool {
	return slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.ISR, b.ISR) && a.Leader == b.Leader &&
		a.LeaderEpoch == b.LeaderEpoch && slices.Equal(a.AddingReplicas, b.AddingReplicas) &&
		slices.Equal(a.RemovingReplicas, b.RemovingReplicas) && a.LeaderRecovering == b.LeaderRecovering
}

// without returns the members of a not in b, in a's order.
func without(a, b []int32) []int32 {
	var out []int32
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func (c *Controller) startReassignment(im *metadata.Image, t *metadata.Topic, ps *metadata.PartitionState, target []int32) (metadata.PartitionState, error) {
	if len(target) == 0 {
		return metadata.PartitionState{}, fmt.Errorf("%w: the manual partition assignment includes an empty replica list", ErrInvalidAssignment)
	}
	for i, r := range target {
		if im.Brokers[r] == nil {
			return metadata.PartitionState{}, fmt.Errorf("%w: the manual partition assignment includes broker %d, but no such broker is registered", ErrInvalidAssignment, r)
		}
		if slices.Contains(target[:i], r) {
			return metadata.PartitionState{}, fmt.Errorf("%w: the manual partition assignment includes broker %d more than once", ErrInvalidAssignment, r)
		}
	}
	n := ps.Clone()
	// Measure the target against the replicas from before any
	// reassignment in progress: its adding replicas are not original
	// ones. Otherwise sending the same target again would forget which
	// replicas are being added, and a cancel would keep them.
	orig := without(ps.Replicas, ps.AddingReplicas)
	removing := without(orig, target)
	slices.Sort(removing)
	adding := without(target, orig)
	slices.Sort(adding)
	n.Replicas = append(slices.Clone(target), removing...)
	n.AddingReplicas, n.RemovingReplicas = adding, removing
	if len(adding) == 0 && len(removing) == 0 {
		n.AddingReplicas, n.RemovingReplicas = nil, nil
	}
	// Replicas that were being added and are not in the new target leave
	// at once, from the ISR too.
	n.ISR = without(ps.ISR, without(ps.Replicas, n.Replicas))
	if len(n.ISR) == 0 && len(ps.ISR) > 0 {
		return metadata.PartitionState{}, fmt.Errorf("%w: only replicas this target drops are in sync", ErrInvalidAssignment)
	}
	if n.Leader >= 0 && !n.HasReplica(n.Leader) {
		n.Leader = firstLive(im, n.Replicas, n.ISR, nil)
		n.LeaderEpoch++
	}
	c.finishReassignment(im, t, &n)
	return n, nil
}

func (c *Controller) cancelReassignment(im *metadata.Image, t *metadata.Topic, p int32, ps *metadata.PartitionState) (metadata.PartitionState, error) {
	if len(ps.AddingReplicas) == 0 && len(ps.RemovingReplicas) == 0 {
		return metadata.PartitionState{}, fmt.Errorf("%w: %s-%d", ErrNoReassignment, t.Name, p)
	}
	n := ps.Clone()
	n.Replicas = without(ps.Replicas, ps.AddingReplicas)
	n.ISR = without(ps.ISR, ps.AddingReplicas)
	n.AddingReplicas, n.RemovingReplicas = nil, nil
	if len(n.ISR) == 0 {
		if c.set.UncleanElection == nil || !c.set.UncleanElection(t) {
			return metadata.PartitionState{}, fmt.Errorf("%w: reverting the reassignment of %s-%d would need an unclean leader election", ErrInvalidAssignment, t.Name, p)
		}
		n.ISR = []int32{n.Replicas[0]}
		n.LeaderRecovering = true
	}
	if !n.InISR(n.Leader) || !live(im, n.Leader, nil) {
		n.Leader = firstLive(im, n.Replicas, n.ISR, nil)
		n.LeaderEpoch++
	}
	return n, nil
}

// finishReassignment completes a reassignment in n once every target
// replica is in the ISR: the removed replicas leave, and a leader being
// removed hands over to the first live target replica.
func (c *Controller) finishReassignment(im *metadata.Image, t *metadata.Topic, n *metadata.PartitionState) bool {
	if len(n.AddingReplicas) == 0 && len(n.RemovingReplicas) == 0 {
		return false
	}
	target := without(n.Replicas, n.RemovingReplicas)
	isr := without(n.ISR, n.RemovingReplicas)
	if len(target) == 0 || len(isr) == 0 {
		return false
	}
	for _, r := range target {
		if !slices.Contains(isr, r) {
			return false
		}
	}
	n.Replicas, n.ISR = target, isr
	n.AddingReplicas, n.RemovingReplicas = nil, nil
	if !slices.Contains(target, n.Leader) || !live(im, n.Leader, nil) {
		n.Leader = firstLive(im, target, isr, nil)
		n.LeaderEpoch++
	}
	c.log.Info("partition reassignment completed", "topic", t.Name, "replicas", n.Replicas, "leader", n.Leader)
	return true
}

// firstLive is the first replica, in order, that is in isr and live, or -1.
func firstLive(im *metadata.Image, replicas, isr []int32, gone func(int32) bool) int32 {
	for _, r := range replicas {
		if slices.Contains(isr, r) && live(im, r, gone) {
			return r
		}
	}
	return -1
}

// ListReassignments returns the partitions being reassigned, of every
// topic (topics nil) or of the given topics and partitions; unknown topics
// and partitions are left out, as Kafka does.
func ListReassignments(im *metadata.Image, topics map[string][]int32) map[string]map[int32]metadata.PartitionState {
	out := map[string]map[int32]metadata.PartitionState{}
	add := func(t *metadata.Topic, p int32) {
		ps := t.PartitionState(p)
		if ps == nil || (len(ps.AddingReplicas) == 0 && len(ps.RemovingReplicas) == 0) {
			return
		}
		if out[t.Name] == nil {
			out[t.Name] = map[int32]metadata.PartitionState{}
		}
		out[t.Name][p] = ps.Clone()
	}
	if topics == nil {
		for _, name := range im.TopicNames() {
			t := im.Topic(name)
			for p := range t.Assignments {
				add(t, int32(p))
			}
		}
		return out
	}
	for _, name := range slices.Sorted(maps.Keys(topics)) {
		if t := im.Topic(name); t != nil {
			for _, p := range topics[name] {
				add(t, p)
			}
		}
	}
	return out
}

// Election types of ElectLeaders (KIP-460).
const (
	ElectPreferred int8 = 0
	ElectUnclean   int8 = 1
)

// ElectionResult is one partition's outcome of ElectLeaders.
type ElectionResult struct {
	Topic     string
	Partition int32
	Err       error
}

// ElectLeaders runs preferred or unclean elections. With parts nil it
// tries every partition and reports only those that needed an election,
// as Kafka does.
func (c *Controller) ElectLeaders(ctx context.Context, typ int8, parts map[string][]int32) ([]ElectionResult, error) {
	if typ != ElectPreferred && typ != ElectUnclean {
		return nil, fmt.Errorf("%w: unknown election type %d", errInvalidRequest, typ)
	}
	res, _, err := c.do(ctx, "elect leaders", func(im *metadata.Image) (metadata.Batch, any, error) {
		var out []ElectionResult
		var batch metadata.Batch
		one := func(topic string, p int32, all bool) {
			t, ps, err := partitionOf(im, topic, p)
			if err == nil {
				var n metadata.PartitionState
				if n, err = c.electOne(im, t, ps, typ); err == nil {
					batch = append(batch, metadata.Record{Type: metadata.RecPartition, TopicID: t.ID, Partition: p, State: &n})
				}
			}
			if !all || !errors.Is(err, ErrElectionNotNeeded) {
				out = append(out, ElectionResult{Topic: topic, Partition: p, Err: err})
			}
		}
		if parts == nil {
			for _, name := range im.TopicNames() {
				for p := range im.Topic(name).Assignments {
					one(name, int32(p), true)
				}
			}
		} else {
			for _, name := range slices.Sorted(maps.Keys(parts)) {
				for _, p := range parts[name] {
					one(name, p, false)
				}
			}
		}
		return batch, out, nil
	})
	if err != nil {
		return nil, err
	}
	return res.([]ElectionResult), nil
}

// electOne computes a partition's state after a preferred or unclean
// election, or the reason there is none.
func (c *Controller) electOne(im *metadata.Image, t *metadata.Topic, ps *metadata.PartitionState, typ int8) (metadata.PartitionState, error) {
	n := ps.Clone()
	switch typ {
	case ElectPreferred:
		pref := ps.Replicas[0]
		if ps.Leader == pref {
			return n, ErrElectionNotNeeded
		}
		if !ps.InISR(pref) || !live(im, pref, nil) {
			return n, fmt.Errorf("%w: broker %d is down or out of sync", ErrPreferredNotAvailable, pref)
		}
		n.Leader = pref
	default:
		if ps.Leader >= 0 {
			return n, ErrElectionNotNeeded
		}
		if l := firstLive(im, ps.Replicas, ps.ISR, nil); l >= 0 {
			n.Leader = l
		} else {
			for _, r := range ps.Replicas {
				if live(im, r, nil) {
					n.Leader, n.ISR, n.LeaderRecovering = r, []int32{r}, true
					c.log.Warn("unclean leader election on request: an out-of-sync replica leads; records only the old ISR had are lost",
						"topic", t.Name, "leader", r)
					break
				}
			}
			if n.Leader < 0 {
				return n, fmt.Errorf("%w: no replica is live", ErrEligibleLeaders)
			}
		}
	}
	n.LeaderEpoch++
	c.finishReassignment(im, t, &n)
	n.PartitionEpoch++
	return n, nil
}

// rebalanceLeaders moves leadership back to preferred replicas when a
// broker leads less than (100 - leader.imbalance.per.broker.percentage)%
// of the partitions it is the preferred leader of (Kafka's
// auto.leader.rebalance.enable).
func (c *Controller) rebalanceLeaders() {
	im := c.q.Image()
	preferred, notLeading := map[int32]int{}, map[int32]int{}
	for _, name := range im.TopicNames() {
		for _, ps := range im.Topic(name).Assignments {
			if len(ps.Replicas) == 0 || len(ps.AddingReplicas)+len(ps.RemovingReplicas) > 0 {
				continue
			}
			pref := ps.Replicas[0]
			preferred[pref]++
			if ps.Leader != pref {
				notLeading[pref]++
			}
		}
	}
	var parts map[string][]int32
	for _, name := range im.TopicNames() {
		t := im.Topic(name)
		for p, ps := range t.Assignments {
			pref := ps.Replicas[0]
			if ps.Leader == pref || preferred[pref] == 0 || !ps.InISR(pref) || !live(im, pref, nil) || len(ps.AddingReplicas)+len(ps.RemovingReplicas) > 0 {
				continue
			}
			if notLeading[pref]*100 <= preferred[pref]*c.set.ImbalancePercent {
				continue
			}
			if parts == nil {
				parts = map[string][]int32{}
			}
			parts[name] = append(parts[name], int32(p))
		}
	}
	if parts == nil {
		return
	}
	o := &op{name: "preferred leader election", done: make(chan struct{}), fn: func(im *metadata.Image) (metadata.Batch, any, error) {
		var batch metadata.Batch
		for _, name := range slices.Sorted(maps.Keys(parts)) {
			for _, p := range parts[name] {
				t, ps, err := partitionOf(im, name, p)
				if err != nil {
					continue
				}
				if n, err := c.electOne(im, t, ps, ElectPreferred); err == nil {
					batch = append(batch, metadata.Record{Type: metadata.RecPartition, TopicID: t.ID, Partition: p, State: &n})
				}
			}
		}
		return batch, len(batch), nil
	}}
	c.execute(o)
	if o.err == nil {
		c.log.Info("moved leaderships back to preferred replicas (auto.leader.rebalance.enable)", "partitions", o.res)
	} else {
		c.log.Warn("preferred leader election failed; will retry", "err", o.err)
	}
}

// rebalanceDue reports whether a background preferred election is due.
func (c *Controller) rebalanceDue(now time.Time) bool {
	if !c.set.AutoLeaderBalance || c.set.ImbalanceInterval <= 0 {
		return false
	}
	if now.Before(c.nextRebalance) {
		return false
	}
	c.nextRebalance = now.Add(c.set.ImbalanceInterval)
	return true
}
