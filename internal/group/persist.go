package group

import (
	"fmt"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record layouts written to __consumer_offsets, the versions Kafka 3.9
// writes (docs/format/consumer_offsets.md).
const (
	offsetKeyVersion         = 1 // OffsetCommitKey
	offsetValueVersion       = 3 // OffsetCommitValue; 1 when an expire timestamp is set
	offsetValueExpireVersion = 1
	groupKeyVersion          = 2 // GroupMetadataKey
	groupValueVersion        = 3 // GroupMetadataValue
)

type kv struct{ key, value []byte }

func offsetKey(group string, tp topicPartition) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic, k.Partition = offsetKeyVersion, group, tp.topic, tp.partition
	return k.AppendTo(nil)
}

func offsetValue(o offset) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	if o.expireTs >= 0 {
		v.Version = offsetValueExpireVersion
	}
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp, v.ExpireTimestamp = o.offset, o.leaderEpoch, o.metadata, o.commitTs, o.expireTs
	return v.AppendTo(nil)
}

func groupKey(group string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version, k.Group = groupKeyVersion, group
	return k.AppendTo(nil)
}

// groupValue encodes the group's membership as GroupMetadataValue v3. g.mu held.
func (g *group) groupValue() []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	if g.protocolType != nil {
		v.ProtocolType = *g.protocolType
	}
	v.Generation, v.Protocol = g.generation, g.protocol
	if g.leader != "" {
		l := g.leader
		v.Leader = &l
	}
	v.CurrentStateTimestamp = g.stateTs
	for _, m := range g.sortedMembers() {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.InstanceID, vm.ClientID, vm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		vm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		if g.protocol != nil {
			vm.Subscription = m.metadataFor(*g.protocol)
		}
		if vm.Subscription == nil {
			vm.Subscription = []byte{}
		}
		vm.Assignment = m.assignment
		if vm.Assignment == nil {
			vm.Assignment = []byte{}
		}
		v.Members = append(v.Members, vm)
	}
	return v.AppendTo(nil)
}

// storeGroup appends the group's metadata record. g.mu held.
func (g *group) storeGroup() error {
	return g.write([]kv{{groupKey(g.id), g.groupValue()}})
}

// write appends records as one batch to the group's partition and returns
// once they are in the log. g.mu held, which orders one group's records.
func (g *group) write(recs []kv) error {
	_, err := g.append(record.NonIdempotent, recs)
	return err
}

// append appends records as one batch with the given header fields (a
// transactional offset commit names its producer) and returns the offset
// of the first record: record i is at that offset + i. g.mu held.
func (g *group) append(fields record.BatchFields, recs []kv) (int64, error) {
	if g.closed {
		return 0, ErrNotCoordinator
	}
	var b record.Builder
	b.Reset(fields)
	now := g.c.now()
	for _, r := range recs {
		b.Append(now, r.key, r.value, nil)
	}
	batch, err := b.Finish(g.c.cfg.Codec, 0)
	if err != nil {
		return 0, err
	}
	base, err := g.c.store.Append(g.partition, batch)
	if err != nil {
		return 0, fmt.Errorf("append to %s-%d: %w", Topic, g.partition, err)
	}
	return base, nil
}

// replay reads partition p from its start and rebuilds its groups. The
// records of a transactional batch become offsets of the producer's open
// transaction (group.txnOffsets) until a marker of that producer commits or
// drops them, as at run time (txn.go); those without a marker yet stay
// open, for CompleteTxn to end.
func (c *Coordinator) replay(p int32) (map[string]*group, int, error) {
	gs := map[string]*group{}
	hasMeta := map[string]bool{}
	get := func(id string) *group {
		g := gs[id]
		if g == nil {
			g = newGroup(c, id, p)
			gs[id] = g
		}
		return g
	}
	txnGroups := map[int64]map[string]bool{} // producer id -> groups with its offsets
	var off int64
	for {
		data, err := c.store.Read(p, off, c.cfg.LoadBufferSize)
		if err != nil {
			return nil, 0, err
		}
		if len(data) == 0 {
			break
		}
		for len(data) > 0 {
			h, rest, err := record.Next(data)
			if err != nil {
				return nil, 0, err
			}
			data = rest
			off = h.NextOffset()
			pid := int64(-1)
			if h.Transactional() {
				pid = h.ProducerID()
			}
			if h.Control() {
				commit, ok, err := parseMarker(h)
				if err != nil {
					return nil, 0, fmt.Errorf("offset %d: %w", h.BaseOffset(), err)
				}
				if !ok || pid < 0 {
					continue
				}
				for id := range txnGroups[pid] {
					gs[id].endTxn(pid, commit, h.BaseOffset())
				}
				delete(txnGroups, pid)
				continue
			}
			err = record.ForEachRecord(h, func(r *record.Record) error {
				g, err := c.replayRecord(get, hasMeta, h.BaseOffset()+int64(r.OffsetDelta), pid, r.Key, r.Value)
				if g != nil && pid >= 0 {
					if txnGroups[pid] == nil {
						txnGroups[pid] = map[string]bool{}
					}
					txnGroups[pid][g.id] = true
				}
				return err
			})
			if err != nil {
				return nil, 0, fmt.Errorf("offset %d: %w", h.BaseOffset(), err)
			}
		}
	}
	offsets := 0
	for id, g := range gs {
		if !hasMeta[id] && len(g.offsets) == 0 && len(g.txnOffsets) == 0 {
			delete(gs, id)
			continue
		}
		offsets += len(g.offsets)
	}
	return gs, offsets, nil
}

// parseMarker reads the control record of a control batch: ok when it is a
// transaction marker (Kafka's ControlRecordType ABORT or COMMIT), and then
// whether it commits. Other control records (such as KRaft's) are skipped.
func parseMarker(h record.Header) (commit, ok bool, err error) {
	err = record.ForEachRecord(h, func(r *record.Record) error {
		var k kmsg.ControlRecordKey
		if err := k.ReadFrom(r.Key); err != nil {
			return fmt.Errorf("control record key: %w", err)
		}
		switch k.Type {
		case kmsg.ControlRecordKeyTypeAbort:
			ok = true
		case kmsg.ControlRecordKeyTypeCommit:
			commit, ok = true, true
		}
		return nil
	})
	return commit, ok, err
}

// replayRecord applies the record at offset at; pid is the producer of a
// transactional batch, -1 for any other. It returns the group when the
// record is an offset of pid's open transaction, else nil.
func (c *Coordinator) replayRecord(get func(string) *group, hasMeta map[string]bool, at, pid int64, key, value []byte) (*group, error) {
	if len(key) < 2 {
		return nil, fmt.Errorf("record key of %d bytes", len(key))
	}
	switch version := int16(key[0])<<8 | int16(key[1]); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return nil, fmt.Errorf("offset commit key: %w", err)
		}
		g := get(k.Group)
		tp := topicPartition{k.Topic, k.Partition}
		if value == nil {
			g.dropOffset(tp)
			return nil, nil
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(value); err != nil {
			return nil, fmt.Errorf("offset commit value: %w", err)
		}
		o := offset{offset: v.Offset, leaderEpoch: -1, metadata: v.Metadata, commitTs: v.CommitTimestamp, expireTs: -1, recordOffset: at}
		if v.Version >= 3 {
			o.leaderEpoch = v.LeaderEpoch
		}
		if v.Version == 1 {
			o.expireTs = v.ExpireTimestamp
		}
		if pid >= 0 {
			g.addTxnOffset(pid, tp, o)
			return g, nil
		}
		g.offsets[tp] = o
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return nil, fmt.Errorf("group metadata key: %w", err)
		}
		g := get(k.Group)
		g.members, g.static = map[string]*member{}, map[string]string{}
		g.generation, g.protocolType, g.protocol, g.leader = 0, nil, nil, ""
		g.state, g.stateTs = Empty, c.now()
		if value == nil {
			hasMeta[k.Group] = false
			return nil, nil
		}
		var v kmsg.GroupMetadataValue
		if err := v.ReadFrom(value); err != nil {
			return nil, fmt.Errorf("group metadata value: %w", err)
		}
		hasMeta[k.Group] = true
		pt := v.ProtocolType
		g.protocolType, g.generation, g.protocol = &pt, v.Generation, v.Protocol
		if v.Leader != nil {
			g.leader = *v.Leader
		}
		if v.Version >= 2 && v.CurrentStateTimestamp > 0 {
			g.stateTs = v.CurrentStateTimestamp
		}
		for _, vm := range v.Members {
			m := &member{id: vm.MemberID, instanceID: vm.InstanceID, clientID: vm.ClientID, clientHost: vm.ClientHost,
				sessionTimeout: ms(vm.SessionTimeoutMillis), rebalanceTimeout: ms(vm.RebalanceTimeoutMillis),
				protocolType: pt, assignment: append([]byte{}, vm.Assignment...)}
			if v.Version == 0 {
				m.rebalanceTimeout = m.sessionTimeout
			}
			if g.protocol != nil {
				m.protocols = []protocol{{name: *g.protocol, metadata: append([]byte{}, vm.Subscription...)}}
			}
			g.members[m.id] = m
			if m.instanceID != nil {
				g.static[*m.instanceID] = m.id
			}
		}
		if len(g.members) > 0 {
			g.state = Stable
		}
	default:
		// Records of the consumer (KIP-848) and share group protocols:
		// not written by samsa (consumer group membership is kept in
		// memory only, see doc.go); skipped.
	}
	return nil, nil
}
