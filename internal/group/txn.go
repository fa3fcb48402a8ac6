package group

import (
	"errors"
	"fmt"
	"sort"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactional offset commits (KIP-98, KIP-447).
//
// TxnCommitOffsets appends a transaction's offsets to the group's
// __consumer_offsets partition as one transactional batch of the producer
// and keeps them in group.txnOffsets[producer id], invisible to OffsetFetch.
// When the transaction ends, the transaction coordinator calls CompleteTxn,
// which writes the COMMIT or ABORT marker and then commits or drops the
// offsets whose records precede the marker. Replay (persist.go) does the
// same from the log, so memory after a restart is what it was before.

// TxnCommitOffsets serves TxnOffsetCommit v0-4 for the broker's handler
// (which also authorizes and checks the transaction). exists reports
// whether a topic partition exists; commits to others get
// UNKNOWN_TOPIC_OR_PARTITION. It answers once the batch is in the log.
//
// Validation is Kafka 3.9's (OffsetMetadataManager.
// validateTransactionalOffsetCommit): a group that does not exist is
// created (as a simple classic group) when the generation is negative, else
// the commit is ILLEGAL_GENERATION; v3+'s member id, generation and group
// instance id are checked as ClassicGroup.validateOffsetCommit does for
// transactional commits (FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID,
// ILLEGAL_GENERATION; no REBALANCE_IN_PROGRESS, and a commit without a
// member is accepted even from a group with members, as v0-2 carry none);
// a consumer group (KIP-848) checks the member id and takes the generation
// as its member epoch (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION). A producer
// epoch older than the one the partition last saw from the producer is
// INVALID_PRODUCER_EPOCH (the store's epoch check).
func (c *Coordinator) TxnCommitOffsets(req *kmsg.TxnOffsetCommitRequest, exists func(topic string, partition int32) bool) *kmsg.TxnOffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	gen, memberID, instanceID := req.Generation, req.MemberID, req.InstanceID
	if req.Version < 3 {
		gen, memberID, instanceID = -1, "", nil
	}
	codes := make(commitCodes, len(req.Topics))
	for i, t := range req.Topics {
		codes[i] = make([]int16, len(t.Partitions))
		for j, p := range t.Partitions {
			codes[i][j] = c.precheckOffset(exists, t.Topic, p.Partition, p.Metadata)
		}
	}
	setAll := codes.setAll
	defer func() {
		for i, t := range req.Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for j, p := range t.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, codes[i][j]
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	}()
	if req.Group == "" {
		setAll(kerr.InvalidGroupID.Code)
		return resp
	}
	switch {
	case req.ProducerID < 0:
		// No transaction can own the offsets (the transaction coordinator's
		// verification answers so for a producer it does not know).
		setAll(kerr.InvalidProducerIDMapping.Code)
		return resp
	case req.ProducerEpoch < 0:
		setAll(kerr.InvalidProducerEpoch.Code)
		return resp
	}
	g, err := c.lookup(req.Group, gen < 0)
	if err != nil {
		setAll(codeOf(err))
		return resp
	}
	if g == nil {
		setAll(kerr.IllegalGeneration.Code)
		return resp
	}
	defer g.mu.Unlock()
	defer g.maybeForget()
	if code := g.checkTxnCommit(memberID, instanceID, gen); code != 0 {
		setAll(code)
		return resp
	}
	now := c.now()
	var recs []kv
	var tps []topicPartition
	var vals []offset
	for i, t := range req.Topics {
		for j, p := range t.Partitions {
			if codes[i][j] != 0 {
				continue
			}
			o := offset{offset: p.Offset, leaderEpoch: -1, commitTs: now, expireTs: -1}
			if req.Version >= 2 {
				o.leaderEpoch = p.LeaderEpoch
			}
			if p.Metadata != nil {
				o.metadata = *p.Metadata
			}
			tp := topicPartition{t.Topic, p.Partition}
			recs = append(recs, kv{offsetKey(g.id, tp), offsetValue(o)})
			tps = append(tps, tp)
			vals = append(vals, o)
		}
	}
	if len(recs) == 0 {
		return resp
	}
	// Indexed before the append, so a CompleteTxn whose marker follows the
	// batch finds this group (and waits for g.mu).
	c.addOpenTxn(req.ProducerID, g.id)
	base, err := g.append(record.BatchFields{
		PartitionLeaderEpoch: record.NoPartitionLeader,
		ProducerID:           req.ProducerID,
		ProducerEpoch:        req.ProducerEpoch,
		BaseSequence:         record.NoSequence,
		Transactional:        true,
	}, recs)
	if err != nil {
		if len(g.txnOffsets[req.ProducerID]) == 0 {
			c.removeOpenTxn(req.ProducerID, g.id)
		}
		code := txnCommitCode(err)
		if code == kerr.InvalidProducerEpoch.Code {
			c.log.Info("refused a transactional offset commit of a fenced producer", "group", g.id,
				"producer_id", req.ProducerID, "producer_epoch", req.ProducerEpoch, "transactional_id", req.TransactionalID)
		} else {
			c.log.Warn("writing a transactional offset commit failed", "group", g.id, "producer_id", req.ProducerID, "err", err)
		}
		setAll(code)
		return resp
	}
	for i, tp := range tps {
		o := vals[i]
		o.recordOffset = base + int64(i)
		g.addTxnOffset(req.ProducerID, tp, o)
	}
	return resp
}

// txnCommitCode is the error code of a failed append of a transactional
// offset commit.
func txnCommitCode(err error) int16 {
	switch {
	case errors.Is(err, storage.ErrInvalidProducerEpoch):
		return kerr.InvalidProducerEpoch.Code
	case errors.Is(err, ErrNotCoordinator):
		return kerr.NotCoordinator.Code
	}
	return kerr.CoordinatorNotAvailable.Code
}

// checkTxnCommit validates the member of a transactional offset commit
// (see TxnCommitOffsets). g.mu held.
func (g *group) checkTxnCommit(memberID string, instanceID *string, gen int32) int16 {
	if g.cg != nil {
		if gen < 0 && len(g.cg.members) == 0 {
			return 0
		}
		m := g.cg.members[memberID]
		switch {
		case m == nil:
			return kerr.UnknownMemberID.Code
		case gen != m.epoch:
			return kerr.IllegalGeneration.Code
		}
		return 0
	}
	if gen < 0 && g.state == Empty {
		return 0
	}
	if gen < 0 && memberID == "" && instanceID == nil {
		return 0
	}
	if instanceID != nil {
		id, ok := g.static[*instanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case id != memberID:
			return kerr.FencedInstanceID.Code
		}
	}
	switch {
	case g.members[memberID] == nil:
		return kerr.UnknownMemberID.Code
	case gen != g.generation:
		return kerr.IllegalGeneration.Code
	}
	return 0
}

// CompleteTxn ends producerID's transaction on partition p of
// __consumer_offsets: the transaction coordinator calls it for each
// partition the transaction added with AddOffsetsToTxn (and may call it
// again, or for a partition where the producer committed nothing: the
// marker is then written all the same). It writes the COMMIT or ABORT
// marker through the Store (an older producer epoch fails with
// storage.ErrInvalidProducerEpoch, an older coordinator epoch with
// storage.ErrTransactionCoordinatorFenced; nothing changes then), and then,
// for every group of p, commits or drops the producer's offsets whose
// records precede the marker. A committed offset replaces the group's
// offset of the partition only if its record is the later one, so a plain
// commit appended after the transactional one wins, as Kafka's
// OffsetMetadataManager.replayEndTransactionMarker. A partition that is not
// loaded here is ErrNotCoordinator, and nothing is written.
//
// Locks: it takes Coordinator.mu and then each group's mutex in turn (never
// both together, as the lock order wants), calls nothing outside the
// package but the Store, and holds no lock while writing the marker; a
// caller may hold its own locks.
func (c *Coordinator) CompleteTxn(p int32, producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32) error {
	c.mu.Lock()
	loaded := !c.closed && c.loaded[p]
	c.mu.Unlock()
	if !loaded {
		return fmt.Errorf("%w: %s-%d is not loaded", ErrNotCoordinator, Topic, p)
	}
	at, err := c.store.WriteMarker(p, producerID, producerEpoch, commit, coordinatorEpoch)
	if err != nil {
		return fmt.Errorf("write the transaction marker of producer %d to %s-%d: %w", producerID, Topic, p, err)
	}
	// Every group whose batch precedes the marker was indexed before that
	// batch was appended, so it is in openTxns now.
	c.mu.Lock()
	var ids []string
	for id := range c.openTxns[producerID] {
		if PartitionFor(id, c.partitions) == p {
			ids = append(ids, id)
		}
	}
	c.mu.Unlock()
	sort.Strings(ids)
	ended := 0
	for _, id := range ids {
		g, err := c.lookup(id, false)
		if err != nil {
			break // the partition was unloaded: its groups are gone
		}
		if g == nil {
			c.removeOpenTxnOfGone(producerID, id)
			continue
		}
		ended += g.endTxn(producerID, commit, at)
		if len(g.txnOffsets[producerID]) == 0 {
			c.removeOpenTxn(producerID, g.id)
		}
		g.maybeForget()
		g.mu.Unlock()
	}
	c.log.Debug("completed transactional offset commits", "partition", p, "producer_id", producerID,
		"commit", commit, "marker_offset", at, "offsets", ended)
	return nil
}

// addTxnOffset records o as an offset of producer pid's open transaction.
// g.mu held.
func (g *group) addTxnOffset(pid int64, tp topicPartition, o offset) {
	m := g.txnOffsets[pid]
	if m == nil {
		m = map[topicPartition]offset{}
		g.txnOffsets[pid] = m
	}
	m[tp] = o
}

// endTxn commits (or drops) the offsets of pid's transaction whose records
// are before offset marker, the offset of the transaction's marker, and
// returns how many there were. Offsets appended after the marker belong to
// a later transaction and stay. g.mu held (or the group is being replayed).
func (g *group) endTxn(pid int64, commit bool, marker int64) int {
	pend := g.txnOffsets[pid]
	n := 0
	for tp, o := range pend {
		if o.recordOffset >= marker {
			continue
		}
		delete(pend, tp)
		n++
		if !commit {
			continue
		}
		if cur, ok := g.offsets[tp]; !ok || cur.recordOffset < o.recordOffset {
			g.offsets[tp] = o
		}
	}
	if len(pend) == 0 {
		delete(g.txnOffsets, pid)
	}
	return n
}

// dropOffset forgets the committed offset of tp and those of open
// transactions, as a tombstone for tp does (Kafka's replay of an offset
// tombstone). g.mu held (or the group is being replayed).
func (g *group) dropOffset(tp topicPartition) {
	delete(g.offsets, tp)
	for pid, m := range g.txnOffsets {
		delete(m, tp)
		if len(m) == 0 {
			delete(g.txnOffsets, pid)
		}
	}
}

// txnOnlyPartitions lists the partitions only open transactions hold
// offsets of (none committed). g.mu held.
func (g *group) txnOnlyPartitions() []topicPartition {
	seen := map[topicPartition]bool{}
	var out []topicPartition
	for _, m := range g.txnOffsets {
		for tp := range m {
			if _, ok := g.offsets[tp]; !ok && !seen[tp] {
				seen[tp] = true
				out = append(out, tp)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].partition < out[j].partition
	})
	return out
}

// hasTxnOffset reports whether an open transaction holds an offset of tp.
// g.mu held.
func (g *group) hasTxnOffset(tp topicPartition) bool {
	for _, m := range g.txnOffsets {
		if _, ok := m[tp]; ok {
			return true
		}
	}
	return false
}

// addOpenTxn indexes group id under producer pid. Takes c.mu; the
// caller holds the group's mutex.
func (c *Coordinator) addOpenTxn(pid int64, id string) {
	c.mu.Lock()
	c.addOpenTxnLocked(pid, id)
	c.mu.Unlock()
}

func (c *Coordinator) addOpenTxnLocked(pid int64, id string) {
	ids := c.openTxns[pid]
	if ids == nil {
		ids = map[string]bool{}
		c.openTxns[pid] = ids
	}
	ids[id] = true
}

// removeOpenTxn drops group id from pid's index. The caller holds the
// group's mutex and has checked the group holds none of pid's offsets, so
// no registration can race with it (registering needs that mutex too).
func (c *Coordinator) removeOpenTxn(pid int64, id string) {
	c.mu.Lock()
	c.removeOpenTxnLocked(pid, id)
	c.mu.Unlock()
}

// removeOpenTxnOfGone drops group id from pid's index if no group with
// that id exists now: a new one is in the map before it can register.
func (c *Coordinator) removeOpenTxnOfGone(pid int64, id string) {
	c.mu.Lock()
	if c.groups[id] == nil {
		c.removeOpenTxnLocked(pid, id)
	}
	c.mu.Unlock()
}

func (c *Coordinator) removeOpenTxnLocked(pid int64, id string) {
	if ids := c.openTxns[pid]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(c.openTxns, pid)
		}
	}
}
