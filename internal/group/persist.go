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
	if g.closed {
		return ErrNotCoordinator
	}
	var b record.Builder
	b.Reset(record.NonIdempotent)
	now := g.c.now()
	for _, r := range recs {
		b.Append(now, r.key, r.value, nil)
	}
	batch, err := b.Finish(g.c.cfg.Codec, 0)
	if err != nil {
		return err
	}
	if err := g.c.store.Append(g.partition, batch); err != nil {
		return fmt.Errorf("append to %s-%d: %w", Topic, g.partition, err)
	}
	return nil
}

// replay reads partition p from its start and rebuilds its groups.
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
			if h.Control() {
				continue
			}
			err = record.ForEachRecord(h, func(r *record.Record) error {
				return c.replayRecord(get, hasMeta, r.Key, r.Value)
			})
			if err != nil {
				return nil, 0, fmt.Errorf("offset %d: %w", h.BaseOffset(), err)
			}
		}
	}
	offsets := 0
	for id, g := range gs {
		if !hasMeta[id] && len(g.offsets) == 0 {
			delete(gs, id)
			continue
		}
		offsets += len(g.offsets)
	}
	return gs, offsets, nil
}

func (c *Coordinator) replayRecord(get func(string) *group, hasMeta map[string]bool, key, value []byte) error {
	if len(key) < 2 {
		return fmt.Errorf("record key of %d bytes", len(key))
	}
	switch version := int16(key[0])<<8 | int16(key[1]); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return fmt.Errorf("offset commit key: %w", err)
		}
		g := get(k.Group)
		tp := topicPartition{k.Topic, k.Partition}
		if value == nil {
			delete(g.offsets, tp)
			return nil
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(value); err != nil {
			return fmt.Errorf("offset commit value: %w", err)
		}
		o := offset{offset: v.Offset, leaderEpoch: -1, metadata: v.Metadata, commitTs: v.CommitTimestamp, expireTs: -1}
		if v.Version >= 3 {
			o.leaderEpoch = v.LeaderEpoch
		}
		if v.Version == 1 {
			o.expireTs = v.ExpireTimestamp
		}
		g.offsets[tp] = o
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return fmt.Errorf("group metadata key: %w", err)
		}
		g := get(k.Group)
		g.members, g.static = map[string]*member{}, map[string]string{}
		g.generation, g.protocolType, g.protocol, g.leader = 0, nil, nil, ""
		g.state, g.stateTs = Empty, c.now()
		if value == nil {
			hasMeta[k.Group] = false
			return nil
		}
		var v kmsg.GroupMetadataValue
		if err := v.ReadFrom(value); err != nil {
			return fmt.Errorf("group metadata value: %w", err)
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
	return nil
}
