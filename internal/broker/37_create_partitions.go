package broker

// CreatePartitions, versions 0-3 (KIP-195).
//
// Grows a topic to Count partitions; shrinking or keeping the count is
// INVALID_PARTITIONS with Kafka's message. An explicit Assignment must list
// one replica set per new partition, each naming only this broker.
// ValidateOnly checks and changes nothing. v2 is flexible; v3 changes
// nothing on the wire (KIP-951 bumps).

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.CreatePartitions, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.CreatePartitionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		st.ErrorCode, st.ErrorMessage = codeAndMessage(b.createPartitions(rt, seen[rt.Topic] > 1, req.ValidateOnly, h.ClientID))
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func (b *Broker) createPartitions(rt kmsg.CreatePartitionsRequestTopic, dup, validateOnly bool, clientID string) error {
	if dup {
		return reqErr(kerr.InvalidRequest, "Duplicate topic in request.")
	}
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	t := b.meta.Image().Topic(rt.Topic)
	if t == nil {
		return reqErr(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", rt.Topic)
	}
	if rt.Count < t.Partitions {
		return reqErr(kerr.InvalidPartitions, "The topic %s currently has %d partition(s); %d would not be an increase.", rt.Topic, t.Partitions, rt.Count)
	}
	if rt.Count == t.Partitions {
		return reqErr(kerr.InvalidPartitions, "Topic already has %d partition(s).", t.Partitions)
	}
	if rt.Count-t.Partitions > maxPartitionsPerRequest {
		return reqErr(kerr.PolicyViolation, "Excessively large number of partitions per request: %d would be added, at most %d may be.", rt.Count-t.Partitions, maxPartitionsPerRequest)
	}
	if rt.Assignment != nil {
		if int32(len(rt.Assignment)) != rt.Count-t.Partitions {
			return reqErr(kerr.InvalidReplicaAssignment, "Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", rt.Count-t.Partitions, len(rt.Assignment))
		}
		for _, a := range rt.Assignment {
			if len(a.Replicas) != 1 || a.Replicas[0] != b.nodeID {
				return reqErr(kerr.InvalidReplicaAssignment, "The manual partition assignment %v names brokers that are not registered (only broker %d is).", a.Replicas, b.nodeID)
			}
		}
	}
	if validateOnly {
		return nil
	}
	nt, err := b.meta.SetPartitions(rt.Topic, rt.Count)
	if err != nil {
		return err
	}
	cfg := b.cfg.ResolveTopic(nt.Configs)
	for i := t.Partitions; i < nt.Partitions; i++ {
		if _, err := b.replicas.OpenPartition(nt.Name, i, nt.ID, &cfg); err != nil {
			return err
		}
	}
	b.log.Info("added partitions", "topic", rt.Topic, "partitions", nt.Partitions, "client_id", clientID)
	return nil
}
