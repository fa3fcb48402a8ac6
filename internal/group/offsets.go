package group

import (
	"sort"
	"time"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CommitOffsets serves OffsetCommit v0-9. exists reports whether a topic
// partition exists; commits to others get UNKNOWN_TOPIC_OR_PARTITION. The
// response is sent only after the commit's records are in the log.
func (c *Coordinator) CommitOffsets(req *kmsg.OffsetCommitRequest, exists func(topic string, partition int32) bool) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	gen, memberID, retention := req.Generation, req.MemberID, int64(-1)
	if req.Version == 0 {
		gen, memberID = -1, ""
	}
	if req.Version >= 2 && req.Version <= 4 {
		retention = req.RetentionTimeMillis
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
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for j, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, codes[i][j]
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	}()
	g, err := c.lookup(req.Group, gen < 0)
	if err != nil {
		setAll(codeOf(err))
		return resp
	}
	if g == nil {
		// A generation of a group that does not exist: GROUP_ID_NOT_FOUND
		// from v9 on, ILLEGAL_GENERATION before, as Kafka 3.9's
		// OffsetMetadataManager.validateOffsetCommit.
		if req.Version >= 9 {
			setAll(kerr.GroupIDNotFound.Code)
		} else {
			setAll(kerr.IllegalGeneration.Code)
		}
		return resp
	}
	defer g.mu.Unlock()
	defer g.maybeForget()
	if g.cg != nil {
		if code := g.checkConsumerCommit(memberID, gen, req.Version); code != 0 {
			setAll(code)
			return resp
		}
	} else if gen < 0 && g.state == Empty {
		// Generation -1 on an Empty group: the admin client or a consumer
		// without group management, accepted whatever member id or
		// instance id it names (Kafka's ClassicGroup.validateOffsetCommit).
	} else if gen >= 0 || memberID != "" || req.InstanceID != nil {
		m := g.members[memberID]
		switch {
		case g.isStaticFenced(req.InstanceID, memberID):
			setAll(kerr.FencedInstanceID.Code)
		case m == nil:
			setAll(kerr.UnknownMemberID.Code)
		case gen != g.generation:
			setAll(kerr.IllegalGeneration.Code)
		case g.state == CompletingRebalance:
			// The member has the new generation but not its assignment.
			setAll(kerr.RebalanceInProgress.Code)
		default:
			g.scheduleHeartbeat(m, m.sessionTimeout) // a commit counts as a heartbeat
		}
		if m == nil || gen != g.generation || g.state == CompletingRebalance || g.isStaticFenced(req.InstanceID, memberID) {
			return resp
		}
	} else if g.state != Empty {
		// Only members may commit for a group that has members.
		setAll(kerr.UnknownMemberID.Code)
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
			if req.Version >= 6 {
				o.leaderEpoch = p.LeaderEpoch
			}
			if p.Metadata != nil {
				o.metadata = *p.Metadata
			}
			if req.Version == 1 && p.Timestamp != -1 {
				o.commitTs = p.Timestamp
			}
			if retention >= 0 {
				// From now, not from a commit timestamp the client sent, as
				// Kafka's OffsetMetadataManager.expireTimestampMs.
				o.expireTs = now + retention
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
	base, err := g.append(record.NonIdempotent, recs)
	if err != nil {
		c.log.Warn("writing an offset commit failed", "group", g.id, "err", err)
		setAll(codeOf(err))
		return resp
	}
	for i, tp := range tps {
		o := vals[i]
		o.recordOffset = base + int64(i)
		g.offsets[tp] = o
	}
	return resp
}

// commitCodes holds the error code of every partition of an offset commit,
// by topic then partition index, in request order.
type commitCodes [][]int16

// setAll gives code to every partition that has no error yet.
func (cc commitCodes) setAll(code int16) {
	for i := range cc {
		for j := range cc[i] {
			if cc[i][j] == 0 {
				cc[i][j] = code
			}
		}
	}
}

// precheckOffset is the check of one committed offset that needs no group:
// the partition exists and its metadata fits offset.metadata.max.bytes.
func (c *Coordinator) precheckOffset(exists func(string, int32) bool, topic string, partition int32, metadata *string) int16 {
	switch {
	case !exists(topic, partition):
		return kerr.UnknownTopicOrPartition.Code
	case metadata != nil && len(*metadata) > c.cfg.MetadataMaxBytes:
		return kerr.OffsetMetadataTooLarge.Code
	}
	return 0
}

// FetchedPartition is one committed offset (Offset -1: none). ErrorCode is
// UNSTABLE_OFFSET_COMMIT (with Offset -1) when the fetch requires stable
// offsets and an open transaction holds an offset of the partition.
type FetchedPartition struct {
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	ErrorCode   int16
}

// FetchedTopic holds a topic's committed offsets.
type FetchedTopic struct {
	Topic      string
	Partitions []FetchedPartition
}

// FetchOffsets serves one group of OffsetFetch: the committed offsets of
// the named partitions (topics nil: every partition with an offset).
// Offsets of open transactions are not committed yet and not shown; with
// requireStable (OffsetFetch v7+, KIP-447) a partition that has one
// answers UNSTABLE_OFFSET_COMMIT instead, as Kafka's
// OffsetMetadataManager.fetchOffsets, so the consumer retries until the
// transaction ends. memberID and memberEpoch (OffsetFetch v9) are checked
// for consumer groups (KIP-848): UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH; nil
// and -1 skip the check.
func (c *Coordinator) FetchOffsets(groupID string, topics []kmsg.OffsetFetchRequestTopic, all bool, memberID *string, memberEpoch int32, requireStable bool) ([]FetchedTopic, int16) {
	g, err := c.lookup(groupID, false)
	if err != nil {
		return nil, codeOf(err)
	}
	var offsets map[topicPartition]offset
	unstable := func(topicPartition) bool { return false }
	if g != nil {
		offsets = g.offsets
		if requireStable {
			unstable = g.hasTxnOffset
		}
		defer g.mu.Unlock()
		if g.cg != nil && (memberID != nil || memberEpoch >= 0) {
			id := ""
			if memberID != nil {
				id = *memberID
			}
			m := g.cg.members[id]
			if m == nil {
				return nil, kerr.UnknownMemberID.Code
			}
			if m.epoch != memberEpoch {
				return nil, kerr.StaleMemberEpoch.Code
			}
		}
	}
	var out []FetchedTopic
	if all {
		byTopic := map[string][]FetchedPartition{}
		for tp, o := range offsets {
			fp := FetchedPartition{Partition: tp.partition, Offset: o.offset, LeaderEpoch: o.leaderEpoch, Metadata: o.metadata}
			if unstable(tp) {
				fp = FetchedPartition{Partition: tp.partition, Offset: -1, LeaderEpoch: -1, ErrorCode: kerr.UnstableOffsetCommit.Code}
			}
			byTopic[tp.topic] = append(byTopic[tp.topic], fp)
		}
		for t, ps := range byTopic {
			sort.Slice(ps, func(i, j int) bool { return ps[i].Partition < ps[j].Partition })
			out = append(out, FetchedTopic{t, ps})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
		return out, 0
	}
	for _, t := range topics {
		ft := FetchedTopic{Topic: t.Topic}
		for _, p := range t.Partitions {
			fp := FetchedPartition{Partition: p, Offset: -1, LeaderEpoch: -1}
			tp := topicPartition{t.Topic, p}
			if unstable(tp) {
				fp.ErrorCode = kerr.UnstableOffsetCommit.Code
			} else if o, ok := offsets[tp]; ok {
				fp.Offset, fp.LeaderEpoch, fp.Metadata = o.offset, o.leaderEpoch, o.metadata
			}
			ft.Partitions = append(ft.Partitions, fp)
		}
		out = append(out, ft)
	}
	return out, 0
}

// TopicPartition names a partition in DeleteOffsets.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// DeleteOffsets serves OffsetDelete (KIP-496): it removes the group's
// committed offsets of parts, except for topics the group consumes
// (GROUP_SUBSCRIBED_TO_TOPIC). Offsets of open transactions for those
// partitions go too (the tombstone is written for them as well, and a
// later commit of the transaction no longer brings them back), as Kafka's
// OffsetMetadataManager.deleteOffsets. It returns the group error and one
// code per partition.
func (c *Coordinator) DeleteOffsets(groupID string, parts []TopicPartition) (int16, []int16) {
	codes := make([]int16, len(parts))
	g, err := c.lookup(groupID, false)
	if err != nil {
		return codeOf(err), codes
	}
	if g == nil {
		return kerr.GroupIDNotFound.Code, codes
	}
	defer g.mu.Unlock()
	consumer := g.protocolType != nil && *g.protocolType == "consumer"
	if g.state != Empty && !consumer {
		return kerr.NonEmptyGroup.Code, codes
	}
	var recs []kv
	var del []topicPartition
	for i, p := range parts {
		if (g.state != Empty && g.isSubscribed(p.Topic)) || g.consumerSubscribed(p.Topic) {
			codes[i] = kerr.GroupSubscribedToTopic.Code
			continue
		}
		tp := topicPartition{p.Topic, p.Partition}
		if _, ok := g.offsets[tp]; ok || g.hasTxnOffset(tp) {
			recs = append(recs, kv{offsetKey(g.id, tp), nil})
			del = append(del, tp)
		}
	}
	if len(recs) > 0 {
		if err := g.write(recs); err != nil {
			return kerr.CoordinatorNotAvailable.Code, codes
		}
	}
	for _, tp := range del {
		g.dropOffset(tp)
	}
	return 0, codes
}

// DescribeGroup serves one group of DescribeGroups v0-5. An unknown group is
// described as Dead with no members, as Kafka.
func (c *Coordinator) DescribeGroup(groupID string) kmsg.DescribeGroupsResponseGroup {
	d := kmsg.NewDescribeGroupsResponseGroup()
	d.Group, d.AuthorizedOperations = groupID, -2147483648
	g, err := c.lookup(groupID, false)
	if err != nil {
		d.ErrorCode = codeOf(err)
		return d
	}
	if g == nil || g.cg != nil {
		// A consumer group is not a classic group: Kafka 3.9 describes
		// it as it describes an unknown group.
		if g != nil {
			g.mu.Unlock()
		}
		d.State = Dead.String()
		return d
	}
	defer g.mu.Unlock()
	d.State = g.state.String()
	if g.protocolType != nil {
		d.ProtocolType = *g.protocolType
	}
	stable := g.state == Stable
	if stable && g.protocol != nil {
		d.Protocol = *g.protocol
	}
	for _, m := range g.sortedMembers() {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		if stable && g.protocol != nil {
			dm.ProtocolMetadata = m.metadataFor(*g.protocol)
			dm.MemberAssignment = m.assignment
		}
		d.Members = append(d.Members, dm)
	}
	return d
}

// Listing is one group in ListGroups.
type Listing struct {
	Group        string
	ProtocolType string
	State        string // the classic or consumer group state's name
	Type         string // "classic" or "consumer" (ListGroups v5)
}

// ListGroups lists every group of the loaded partitions, sorted by id.
func (c *Coordinator) ListGroups() []Listing {
	c.mu.Lock()
	gs := c.groupList()
	c.mu.Unlock()
	var out []Listing
	for _, g := range gs {
		g.mu.Lock()
		if !g.removed {
			l := Listing{Group: g.id, State: g.state.String(), Type: "classic"}
			if g.protocolType != nil {
				l.ProtocolType = *g.protocolType
			}
			if g.cg != nil {
				l.State, l.Type = g.cg.state().String(), "consumer"
			}
			out = append(out, l)
		}
		g.mu.Unlock()
	}
	return out
}

// DeleteGroup serves one group of DeleteGroups: an Empty group's offsets and
// metadata are deleted (tombstones); a group with members is
// NON_EMPTY_GROUP.
func (c *Coordinator) DeleteGroup(groupID string) int16 {
	g, err := c.lookup(groupID, false)
	if err != nil {
		return codeOf(err)
	}
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	defer g.mu.Unlock()
	if g.state != Empty || g.hasMembers() {
		return kerr.NonEmptyGroup.Code
	}
	if err := g.deleteAll(nil); err != nil {
		c.log.Warn("deleting a group failed", "group", g.id, "err", err)
		return kerr.CoordinatorNotAvailable.Code
	}
	c.log.Info("deleted group", "group", g.id)
	return 0
}

// deleteAll writes tombstones for the given offsets (nil: all, with those
// only open transactions hold, as Kafka's OffsetMetadataManager.
// deleteAllOffsets) and the group metadata, then forgets the group. g.mu
// held.
func (g *group) deleteAll(tps []topicPartition) error {
	if tps == nil {
		for tp := range g.offsets {
			tps = append(tps, tp)
		}
		for _, tp := range g.txnOnlyPartitions() {
			tps = append(tps, tp)
		}
	}
	recs := make([]kv, 0, len(tps)+1)
	for _, tp := range tps {
		recs = append(recs, kv{offsetKey(g.id, tp), nil})
	}
	recs = append(recs, kv{groupKey(g.id), nil})
	if err := g.write(recs); err != nil {
		return err
	}
	for _, tp := range tps {
		g.dropOffset(tp)
	}
	for pid := range g.txnOffsets {
		g.c.removeOpenTxn(pid, g.id)
	}
	g.txnOffsets = map[int64]map[topicPartition]offset{}
	g.disarm(&g.joinT)
	g.disarm(&g.syncT)
	for _, pm := range g.pending {
		g.disarm(&pm.t)
	}
	g.pending = map[string]*pendingMember{}
	g.state = Dead
	g.c.forget(g)
	return nil
}

func (c *Coordinator) expireLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.RetentionCheck)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.ExpireOffsets()
		}
	}
}

// ExpireOffsets deletes committed offsets older than offsets.retention.minutes
// as Kafka 2.1+ does (KIP-211): for an Empty group, counted from when it
// became empty; for a group without a protocol type (manual assignment),
// from each commit; for a Stable consumer group, only offsets of topics it
// no longer subscribes to. An Empty group left without offsets is deleted.
// As Kafka's OffsetMetadataManager.cleanupExpiredOffsets, an offset of a
// partition that an open transaction also commits does not expire, and a
// group with an open transaction's offsets is kept.
func (c *Coordinator) ExpireOffsets() {
	c.mu.Lock()
	gs := c.groupList()
	c.mu.Unlock()
	now := c.now()
	retention := c.cfg.OffsetsRetention.Milliseconds()
	var total, groups int
	for _, g := range gs {
		g.mu.Lock()
		if g.removed {
			g.mu.Unlock()
			continue
		}
		if g.cg != nil && len(g.cg.members) > 0 {
			// A consumer group with members keeps its offsets.
			g.mu.Unlock()
			continue
		}
		var expired []topicPartition
		for tp, o := range g.offsets {
			if g.hasTxnOffset(tp) {
				continue
			}
			var base int64
			switch {
			case g.protocolType == nil:
				base = o.commitTs
			case g.state == Empty:
				base = g.stateTs
			case *g.protocolType == "consumer" && g.subscribed != nil && g.state == Stable && !g.subscribed[tp.topic]:
				base = o.commitTs
			default:
				continue
			}
			if (o.expireTs >= 0 && now >= o.expireTs) || (o.expireTs < 0 && now-base >= retention) {
				expired = append(expired, tp)
			}
		}
		switch {
		case g.state == Empty && len(g.members) == 0 && len(g.pending) == 0 && len(expired) == len(g.offsets) && len(g.txnOffsets) == 0:
			if err := g.deleteAll(expired); err != nil {
				c.log.Warn("expiring a group failed", "group", g.id, "err", err)
			} else {
				total += len(expired)
				groups++
			}
		case len(expired) > 0:
			recs := make([]kv, len(expired))
			for i, tp := range expired {
				recs[i] = kv{offsetKey(g.id, tp), nil}
			}
			if err := g.write(recs); err != nil {
				c.log.Warn("expiring offsets failed", "group", g.id, "err", err)
			} else {
				for _, tp := range expired {
					g.dropOffset(tp) // none of an open transaction: those were skipped
				}
				total += len(expired)
			}
		}
		g.mu.Unlock()
	}
	if total > 0 || groups > 0 {
		c.log.Info("expired committed offsets", "offsets", total, "groups_removed", groups)
	}
}

// DeleteTopicOffsets removes every group's committed offsets for the given
// topics, as Kafka's GroupCoordinator.onPartitionsDeleted does when topics
// are deleted: tombstones are written to __consumer_offsets and the offsets
// are dropped from memory once they are in the log; offsets of open
// transactions for those topics go as well. Groups whose partition
// is not loaded here are skipped. It returns the first write error; the
// other groups are still visited.
func (c *Coordinator) DeleteTopicOffsets(topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	names := make(map[string]bool, len(topics))
	for _, t := range topics {
		names[t] = true
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrNotCoordinator
	}
	gs := c.groupList()
	c.mu.Unlock()
	var first error
	var total int
	for _, g := range gs {
		g.mu.Lock()
		if g.removed {
			g.mu.Unlock()
			continue
		}
		var tps []topicPartition
		for tp := range g.offsets {
			if names[tp.topic] {
				tps = append(tps, tp)
			}
		}
		for _, tp := range g.txnOnlyPartitions() {
			if names[tp.topic] {
				tps = append(tps, tp)
			}
		}
		if len(tps) == 0 {
			g.mu.Unlock()
			continue
		}
		sort.Slice(tps, func(i, j int) bool {
			if tps[i].topic != tps[j].topic {
				return tps[i].topic < tps[j].topic
			}
			return tps[i].partition < tps[j].partition
		})
		recs := make([]kv, len(tps))
		for i, tp := range tps {
			recs[i] = kv{offsetKey(g.id, tp), nil}
		}
		if err := g.write(recs); err != nil {
			c.log.Warn("deleting the offsets of deleted topics failed", "group", g.id, "err", err)
			if first == nil {
				first = err
			}
		} else {
			for _, tp := range tps {
				g.dropOffset(tp)
			}
			total += len(tps)
		}
		g.mu.Unlock()
	}
	if total > 0 {
		c.log.Info("deleted committed offsets of deleted topics", "topics", topics, "offsets", total)
	}
	return first
}
