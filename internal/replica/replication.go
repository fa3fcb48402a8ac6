package replica

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Replication state of a partition in a cluster (Kafka's Partition with
// its leader and follower halves). On a single node the partition is
// always leader with itself as ISR and none of this is used: the high
// watermark follows the log end.
//
// As leader, the partition learns each follower's log end offset from its
// fetches (UpdateFollower), moves the high watermark to the smallest log
// end offset in the ISR, and proposes ISR changes: a follower that has
// caught up joins, one that has not been caught up for
// replica.lag.time.max.ms leaves. Proposals go to the controller through
// the AlterISR callback, at most one at a time per partition; the result
// comes back as a new metadata state (Become).
//
// As follower, the partition takes batches from the leader
// (AppendAsFollower) and the leader's high watermark (SetFollowerHW).

// ErrNotLeader: the partition is not led by this broker
// (NOT_LEADER_OR_FOLLOWER).
var ErrNotLeader = errors.New("this broker is not the partition's leader")

// ErrNotEnoughReplicas: the ISR is smaller than min.insync.replicas.
var ErrNotEnoughReplicas = errors.New("the in-sync replicas are fewer than min.insync.replicas")

// ErrNotEnoughReplicasAfterAppend: the records were written but the ISR
// shrank below min.insync.replicas before they were replicated.
var ErrNotEnoughReplicasAfterAppend = errors.New("the records were written, but the in-sync replicas fell below min.insync.replicas")

// ErrTimeout: acks=all waited past the request timeout.
var ErrTimeout = errors.New("the records were not replicated to every in-sync replica within the request timeout")

type follower struct {
	leo                int64
	logStart           int64 // as the follower last reported it; -1 unknown
	lastFetch          time.Time
	lastFetchLeaderLEO int64
	lastCaughtUp       time.Time
}

type replication struct {
	clustered atomic.Bool
	follower  atomic.Bool // the inverse of leading, only in a cluster

	mu        sync.Mutex
	self      int32
	state     metadata.PartitionState
	followers map[int32]*follower
	pending   bool // an ISR change is with the controller
	// adding is the follower a pending change adds to the ISR: it counts
	// for the high watermark already (Kafka's maximal ISR), so a record is
	// not committed without it should the change go through.
	adding int32
	// epochStart is this leader's log end when it took over: a follower
	// joins the ISR only once it has everything up to there.
	epochStart int64
	// alterISR proposes an ISR to the controller (async).
	alterISR func(p *Partition, isr []int32, leaderEpoch, partitionEpoch int32)
}

// IsLeader reports whether this broker leads the partition.
func (p *Partition) IsLeader() bool { return !p.repl.follower.Load() }

// State returns the partition's metadata state as last applied (clusters).
func (p *Partition) State() metadata.PartitionState {
	p.repl.mu.Lock()
	defer p.repl.mu.Unlock()
	return p.repl.state.Clone()
}

// Become applies the partition's state from the metadata image: it makes
// the partition leader or follower at the state's leader epoch, or updates
// the ISR of a partition it already leads. It reports whether the leader or
// epoch changed (a follower must then check for divergence).
func (p *Partition) Become(self int32, st metadata.PartitionState, alterISR func(*Partition, []int32, int32, int32)) bool {
	p.roleMu.Lock()
	defer p.roleMu.Unlock()
	r := &p.repl
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clustered.Store(true)
	r.self, r.alterISR = self, alterISR
	changed := st.LeaderEpoch != r.state.LeaderEpoch || st.Leader != r.state.Leader || r.followers == nil
	r.state = st.Clone()
	r.pending, r.adding = false, -1
	p.leaderEpoch.Store(st.LeaderEpoch)
	if st.Leader == self {
		if changed {
			// Followers asking where an older epoch ended learn it at
			// once, before this leader appends anything.
			if err := p.log.AssignEpochStart(st.LeaderEpoch); err != nil {
				p.logger.Warn("recording the start of a leader epoch failed", "topic", p.Topic, "partition", p.Index, "err", err)
			}
			r.epochStart = p.log.LogEndOffset()
		}
		if changed || r.followers == nil {
			now := time.Now()
			r.followers = map[int32]*follower{}
			for _, id := range st.Replicas {
				if id != self {
					// Unknown positions; ISR members get a full lag window
					// to show up before they are dropped.
					r.followers[id] = &follower{leo: -1, logStart: -1, lastCaughtUp: now}
				}
			}
		} else {
			// A reassignment adds and removes replicas under the same
			// leader: new ones start unknown, removed ones are forgotten.
			for _, id := range st.Replicas {
				if _, ok := r.followers[id]; !ok && id != self {
					r.followers[id] = &follower{leo: -1, logStart: -1, lastCaughtUp: time.Now()}
				}
			}
			for id := range r.followers {
				if !st.HasReplica(id) {
					delete(r.followers, id)
				}
			}
		}
		p.repl.follower.Store(false)
		p.maybeAdvanceHWLocked()
	} else {
		r.followers = map[int32]*follower{}
		p.repl.follower.Store(true)
		if hw := p.hw.Load(); hw > p.log.LogEndOffset() {
			p.hw.Store(p.log.LogEndOffset())
		}
	}
	p.notify()
	return changed
}

// maybeAdvanceHWLocked moves the high watermark to the smallest log end
// offset among the ISR (this leader's included).
func (p *Partition) maybeAdvanceHWLocked() {
	r := &p.repl
	hw := p.log.LogEndOffset()
	isr := r.state.ISR
	if r.pending && r.adding >= 0 {
		isr = append(slices.Clone(isr), r.adding)
	}
	for _, id := range isr {
		if id == r.self {
			continue
		}
		f := r.followers[id]
		if f == nil || f.leo < 0 {
			return // unknown position: the HW cannot move yet
		}
		hw = min(hw, f.leo)
	}
	p.advanceHighWatermark(hw)
}

// afterLeaderAppend moves the high watermark after an append as leader and
// wakes fetches (followers waiting for data too).
func (p *Partition) afterLeaderAppend() {
	if !p.repl.clustered.Load() {
		p.advanceHighWatermark(p.log.LogEndOffset())
		return
	}
	p.repl.mu.Lock()
	p.maybeAdvanceHWLocked()
	p.repl.mu.Unlock()
	p.notify()
}

// UpdateFollower records a follower fetch at fetchOffset (the follower's
// log end offset) with the follower's log start offset (-1 if the request
// has none): it may advance the high watermark and propose adding the
// follower to the ISR. It returns ErrNotLeader when this broker does not
// lead; callers check the leader epoch before.
func (p *Partition) UpdateFollower(id int32, fetchOffset, logStart int64) error {
	r := &p.repl
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.repl.follower.Load() {
		return ErrNotLeader
	}
	f := r.followers[id]
	if f == nil {
		// Not a replica (a reassignment removed it, or a stray broker).
		return ErrNotLeader
	}
	now := time.Now()
	leo := p.log.LogEndOffset()
	switch {
	case fetchOffset >= leo:
		f.lastCaughtUp = now
	case fetchOffset >= f.lastFetchLeaderLEO && !f.lastFetch.IsZero():
		f.lastCaughtUp = f.lastFetch
	}
	f.leo, f.logStart, f.lastFetch, f.lastFetchLeaderLEO = fetchOffset, logStart, now, leo
	p.maybeAdvanceHWLocked()
	// Join the ISR once caught up to the high watermark (and at least to
	// the start of this leader's epoch, Kafka's isFollowerInSync).
	if !r.state.InISR(id) && !r.pending && fetchOffset >= max(p.hw.Load(), r.epochStart) && r.alterISR != nil {
		isr := append(slices.Clone(r.state.ISR), id)
		slices.Sort(isr)
		r.pending, r.adding = true, id
		go r.alterISR(p, isr, r.state.LeaderEpoch, r.state.PartitionEpoch)
	}
	return nil
}

// ReadReplica is a follower that can serve a consumer reading at some
// offset (KIP-392), with what a replica selector weighs: its log end offset
// and how long ago it was last caught up with this leader.
type ReadReplica struct {
	ID            int32
	LogEndOffset  int64
	SinceCaughtUp time.Duration
}

// ReadReplicas lists the in-sync followers whose logs, as their last
// fetches reported them, hold fetchOffset (log start <= fetchOffset <= log
// end), sorted by id: the candidates of Kafka's findPreferredReadReplica.
// Out-of-sync followers are left out, as a lagging one could hold a
// consumer behind for good (KAFKA-14372). Nil unless this broker leads the
// partition in a cluster.
func (p *Partition) ReadReplicas(fetchOffset int64, now time.Time) []ReadReplica {
	r := &p.repl
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.clustered.Load() || r.follower.Load() {
		return nil
	}
	var out []ReadReplica
	for _, id := range r.state.ISR {
		f := r.followers[id]
		if id == r.self || f == nil || f.leo < 0 || f.leo < fetchOffset || f.logStart > fetchOffset {
			continue
		}
		out = append(out, ReadReplica{ID: id, LogEndOffset: f.leo, SinceCaughtUp: now.Sub(f.lastCaughtUp)})
	}
	slices.SortFunc(out, func(a, b ReadReplica) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// IsFollower reports whether this broker hosts the partition as a follower
// in a cluster (never on a single node).
func (p *Partition) IsFollower() bool { return p.repl.clustered.Load() && p.repl.follower.Load() }

// CheckISR drops followers that have not caught up within maxLag from the
// ISR (Kafka's maybeShrinkIsr), proposing the change to the controller.
func (p *Partition) CheckISR(maxLag time.Duration) {
	r := &p.repl
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.clustered.Load() || p.repl.follower.Load() || r.pending || r.alterISR == nil {
		return
	}
	now := time.Now()
	leo := p.log.LogEndOffset()
	var isr []int32
	for _, id := range r.state.ISR {
		f := r.followers[id]
		if id == r.self || f == nil || f.leo >= leo || now.Sub(f.lastCaughtUp) <= maxLag {
			isr = append(isr, id)
		}
	}
	if len(isr) == len(r.state.ISR) {
		return
	}
	r.pending, r.adding = true, -1
	go r.alterISR(p, isr, r.state.LeaderEpoch, r.state.PartitionEpoch)
}

// AlterISRFailed lets the partition propose again after the failure of the
// change it proposed at partitionEpoch. The failure of an older proposal,
// overtaken by a newer metadata state (and maybe by a newer proposal whose
// joining follower must go on counting for the high watermark), is
// ignored, as Kafka ignores a failed proposal that is no longer the
// pending one.
func (p *Partition) AlterISRFailed(partitionEpoch int32) {
	p.repl.mu.Lock()
	if p.repl.state.PartitionEpoch == partitionEpoch {
		p.repl.pending, p.repl.adding = false, -1
	}
	p.repl.mu.Unlock()
}

// ISRSize is the current ISR size (1 on a single node).
func (p *Partition) ISRSize() int {
	if !p.repl.clustered.Load() {
		return 1
	}
	p.repl.mu.Lock()
	defer p.repl.mu.Unlock()
	return len(p.repl.state.ISR)
}

// WaitReplicated waits until the high watermark reaches offset (acks=all),
// or leadership is lost, or ctx ends.
func (p *Partition) WaitReplicated(ctx context.Context, offset int64, epoch int32, minISR int) error {
	w := NewWaiter([]*Partition{p})
	defer w.Close()
	for {
		if !p.IsLeader() || p.leaderEpoch.Load() != epoch {
			return ErrNotLeader
		}
		if p.hw.Load() >= offset {
			return p.checkISRAfterAppend(minISR)
		}
		select {
		case <-w.C():
		case <-ctx.Done():
			return ErrTimeout
		}
	}
}

func (p *Partition) checkISRAfterAppend(minISR int) error {
	if p.ISRSize() < minISR {
		return ErrNotEnoughReplicasAfterAppend
	}
	return nil
}

// ErrStale: a fetch response for a role or epoch this partition has left.
var ErrStale = errors.New("the partition's leader or epoch changed during the fetch")

// followerAt holds roleMu shared if the partition follows at epoch; the
// caller must call the returned unlock.
func (p *Partition) followerAt(epoch int32) (func(), error) {
	p.roleMu.RLock()
	if !p.repl.follower.Load() || p.leaderEpoch.Load() != epoch {
		p.roleMu.RUnlock()
		return nil, ErrStale
	}
	return p.roleMu.RUnlock, nil
}

// AppendAsFollower appends batches replicated from the leader of epoch.
func (p *Partition) AppendAsFollower(batches []byte, epoch int32) error {
	if err := p.offline.Load(); err != nil {
		return *err
	}
	unlock, err := p.followerAt(epoch)
	if err != nil {
		return err
	}
	defer unlock()
	if err := p.log.AppendAsFollower(batches); err != nil {
		return p.appendFailed(err)
	}
	p.notify()
	return nil
}

// SetFollowerHW takes the leader's high watermark, bounded by this
// replica's log end.
func (p *Partition) SetFollowerHW(hw int64) {
	hw = min(hw, p.log.LogEndOffset())
	if hw > p.hw.Load() {
		p.advanceHighWatermark(hw)
	}
}

// RestartAt empties the log and starts it again at offset (a follower
// behind its leader's log start), with the high watermark there.
func (p *Partition) RestartAt(offset int64, epoch int32) error {
	unlock, err := p.followerAt(epoch)
	if err != nil {
		return err
	}
	defer unlock()
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return p.appendFailed(err)
	}
	p.hw.Store(offset)
	return nil
}

// TruncateTo drops records at and after offset (follower truncation after a
// leader change) and lowers the high watermark with them.
func (p *Partition) TruncateTo(offset int64, epoch int32) error {
	unlock, err := p.followerAt(epoch)
	if err != nil {
		return err
	}
	defer unlock()
	if err := p.log.Truncate(offset); err != nil {
		return p.appendFailed(err)
	}
	if leo := p.log.LogEndOffset(); p.hw.Load() > leo {
		p.hw.Store(leo)
	}
	return nil
}
