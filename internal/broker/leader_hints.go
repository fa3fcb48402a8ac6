package broker

import (
	"maps"
	"slices"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Leader discovery hints (KIP-951): a Produce (v10+) or Fetch (v16+) that
// reached a broker not leading a partition gets, with its
// NOT_LEADER_OR_FOLLOWER (Fetch: or FENCED_LEADER_EPOCH), the partition's
// current leader and leader epoch in CurrentLeader, and that leader's
// endpoint on the client's listener in the response's NodeEndpoints, so the
// client can move the partition without a Metadata round trip (Kafka's
// KafkaApis.getCurrentLeader).

// leaderHints collects the hints of one response.
type leaderHints struct {
	b        *Broker
	im       *metadata.Image
	listener string
	nodes    map[int32]*metadata.BrokerReg
}

func (b *Broker) newLeaderHints(listener string) *leaderHints {
	return &leaderHints{b: b, listener: listener}
}

// leader returns the leader id and epoch of a partition as the metadata
// image has them, (-1, -1) when unknown, and notes the leader's endpoint if
// the leader is alive (registered and unfenced) and has one on the client's
// listener.
func (h *leaderHints) leader(topic string, partition int32) (int32, int32) {
	if h.b.cluster == nil {
		return -1, -1
	}
	if h.im == nil {
		h.im = h.b.cluster.Image()
	}
	t := h.im.Topic(topic)
	if t == nil {
		return -1, -1
	}
	st := t.PartitionState(partition)
	if st == nil {
		return -1, -1
	}
	if br := h.im.Brokers[st.Leader]; br != nil && !br.Fenced {
		if _, ok := br.Endpoint(h.listener); ok {
			if h.nodes == nil {
				h.nodes = map[int32]*metadata.BrokerReg{}
			}
			h.nodes[br.ID] = br
		}
	}
	return st.Leader, st.LeaderEpoch
}

// each calls fn for the noted leaders, by id.
func (h *leaderHints) each(fn func(id int32, host string, port int32, rack *string)) {
	for _, id := range slices.Sorted(maps.Keys(h.nodes)) {
		br := h.nodes[id]
		ep, _ := br.Endpoint(h.listener)
		var rack *string
		if br.Rack != "" {
			r := br.Rack
			rack = &r
		}
		fn(id, ep.Host, ep.Port, rack)
	}
}

// addProduceLeaderHints fills CurrentLeader and NodeEndpoints of a Produce
// v10+ response for its NOT_LEADER_OR_FOLLOWER partitions.
func (b *Broker) addProduceLeaderHints(resp *kmsg.ProduceResponse, listener string) {
	if resp.Version < 10 {
		return
	}
	h := b.newLeaderHints(listener)
	for i := range resp.Topics {
		t := &resp.Topics[i]
		for j := range t.Partitions {
			sp := &t.Partitions[j]
			if sp.ErrorCode == kerr.NotLeaderForPartition.Code {
				sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = h.leader(t.Topic, sp.Partition)
			}
		}
	}
	h.each(func(id int32, host string, port int32, rack *string) {
		resp.Brokers = append(resp.Brokers, kmsg.ProduceResponseBroker{NodeID: id, Host: host, Port: port, Rack: rack})
	})
}

// addFetchLeaderHints fills CurrentLeader and NodeEndpoints of a Fetch v16+
// response for its NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH
// partitions (the response's topic names must be set).
func (b *Broker) addFetchLeaderHints(resp *kmsg.FetchResponse, listener string) {
	if resp.Version < 16 {
		return
	}
	h := b.newLeaderHints(listener)
	for i := range resp.Topics {
		t := &resp.Topics[i]
		for j := range t.Partitions {
			sp := &t.Partitions[j]
			if sp.ErrorCode == kerr.NotLeaderForPartition.Code || sp.ErrorCode == kerr.FencedLeaderEpoch.Code {
				sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = h.leader(t.Topic, sp.Partition)
			}
		}
	}
	h.each(func(id int32, host string, port int32, rack *string) {
		resp.Brokers = append(resp.Brokers, kmsg.FetchResponseBroker{NodeID: id, Host: host, Port: port, Rack: rack})
	})
}
