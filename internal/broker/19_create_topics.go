package broker

// CreateTopics, versions 0-7.
//
// Validates like Kafka's ControllerManager: a legal name (Topic.validate
// rules, and no '.'/'_' collision with an existing topic), NumPartitions
// and ReplicationFactor (-1 means the broker default, v4+ KIP-464) or an
// explicit ReplicaAssignment but not both, assignments naming only live
// brokers (here, this one), and every config known with a valid value. A
// replication factor above the number of brokers is
// INVALID_REPLICATION_FACTOR with Kafka's message. A name that appears twice
// in one request fails every copy with INVALID_REQUEST. ValidateOnly (v1+)
// checks everything and creates nothing. More than 10000 partitions in one
// request fails every topic with POLICY_VIOLATION, as in Kafka. v5+ (KIP-525) returns the
// partition count, replication factor and every topic config with its value
// and source; v7+ the topic id (KIP-516).

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.CreateTopics, 0, 7, handleCreateTopics) }

// maxPartitionsPerRequest is Kafka's MAX_PARTITIONS_PER_BATCH: a CreateTopics
// asking for more partitions in total fails every topic with
// POLICY_VIOLATION (ReplicationControlManager.validateTotalNumberOfPartitions).
// CreatePartitions is held to the same bound.
const maxPartitionsPerRequest = 10_000

// requestError is a client error with a specific Kafka code and message.
type requestError struct {
	code *kerr.Error
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func reqErr(code *kerr.Error, format string, a ...any) error {
	return &requestError{code: code, msg: fmt.Sprintf(format, a...)}
}

// codeAndMessage turns an error into a Kafka code and message.
func codeAndMessage(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	var re *requestError
	if errors.As(err, &re) {
		return re.code.Code, &re.msg
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		msg := ce.Error()
		return kerr.InvalidConfig.Code, &msg
	}
	return errorCode(err), errorMessage(err)
}

func handleCreateTopics(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.CreateTopicsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	total := int64(0)
	for _, t := range req.Topics {
		seen[t.Topic]++
		switch {
		case len(t.ReplicaAssignment) > 0:
			total += int64(len(t.ReplicaAssignment))
		case t.NumPartitions == -1:
			total += int64(b.cfg.NumPartitions)
		case t.NumPartitions > 0:
			total += int64(t.NumPartitions)
		}
	}
	tooMany := total > maxPartitionsPerRequest
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		var err error
		if tooMany {
			err = reqErr(kerr.PolicyViolation, "Excessively large number of partitions per request.")
		} else if seen[rt.Topic] > 1 {
			err = reqErr(kerr.InvalidRequest, "Create topics request from client `%s` contains multiple entries for the topic %s.", h.ClientID, rt.Topic)
		} else {
			var t *metadata.Topic
			var spec topicSpec
			spec, err = b.checkCreateTopic(rt)
			partitions, configs := spec.Partitions, spec.Configs
			if err == nil && !req.ValidateOnly {
				if b.cluster != nil {
					t, err = b.cluster.CreateTopicSpec(spec)
				} else {
					t, err = b.createTopic(rt.Topic, partitions, configs)
				}
				if err == nil {
					b.log.Info("created topic", "topic", t.Name, "topic_id", t.ID.String(), "partitions", t.Partitions, "client_id", h.ClientID)
				}
			}
			if err == nil {
				st.NumPartitions, st.ReplicationFactor = partitions, spec.ReplicationFactor
				if t != nil {
					st.TopicID = t.ID
				}
				if req.Version >= 5 {
					for _, e := range b.cfg.DescribeTopic(configs, nil) {
						st.Configs = append(st.Configs, kmsg.CreateTopicsResponseTopicConfig{
							Name: e.Name, Value: e.Value, ReadOnly: e.ReadOnly, Source: e.Source, IsSensitive: e.Sensitive})
					}
				}
			}
		}
		st.ErrorCode, st.ErrorMessage = codeAndMessage(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// topicSpec is a validated CreateTopics entry.
type topicSpec = controller.TopicSpec

// checkCreateTopic validates one topic of a CreateTopics request: partition
// count, replication factor (or explicit assignments, checked against the
// registered brokers) and config overrides.
func (b *Broker) checkCreateTopic(rt kmsg.CreateTopicsRequestTopic) (topicSpec, error) {
	spec, err := b.checkCreateTopic1(rt)
	spec.Name = rt.Topic
	return spec, err
}

// brokerIDs returns the registered brokers and how many are live (a single
// node: itself).
func (b *Broker) brokerIDs() (registered map[int32]bool, live int) {
	if b.cluster == nil {
		return map[int32]bool{b.nodeID: true}, 1
	}
	im := b.meta.Image()
	registered = map[int32]bool{}
	for id := range im.Brokers {
		registered[id] = true
	}
	return registered, len(im.LiveBrokers())
}

func (b *Broker) checkCreateTopic1(rt kmsg.CreateTopicsRequestTopic) (topicSpec, error) {
	var spec topicSpec
	if err := metadata.ValidateTopicName(rt.Topic); err != nil {
		return spec, err
	}
	if b.meta.Image().Topic(rt.Topic) != nil {
		return spec, reqErr(kerr.TopicAlreadyExists, "Topic '%s' already exists.", rt.Topic)
	}
	registered, live := b.brokerIDs()
	partitions := rt.NumPartitions
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return spec, reqErr(kerr.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
		}
		parts := make([]int, 0, len(rt.ReplicaAssignment))
		for _, a := range rt.ReplicaAssignment {
			parts = append(parts, int(a.Partition))
			if len(a.Replicas) == 0 {
				return spec, reqErr(kerr.InvalidReplicaAssignment, "Partition %d of topic %s has no replicas.", a.Partition, rt.Topic)
			}
			seen := map[int32]bool{}
			for _, r := range a.Replicas {
				if !registered[r] {
					return spec, reqErr(kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker %d, but no such broker is registered.", r)
				}
				if seen[r] {
					return spec, reqErr(kerr.InvalidReplicaAssignment, "The manual partition assignment for partition %d includes broker %d more than once.", a.Partition, r)
				}
				seen[r] = true
			}
			if len(a.Replicas) != len(rt.ReplicaAssignment[0].Replicas) {
				return spec, reqErr(kerr.InvalidReplicaAssignment, "All partitions should have the same number of replicas, but partition %d has %d and partition %d has %d.",
					rt.ReplicaAssignment[0].Partition, len(rt.ReplicaAssignment[0].Replicas), a.Partition, len(a.Replicas))
			}
		}
		sort.Ints(parts)
		for i, p := range parts {
			if p != i {
				return spec, reqErr(kerr.InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence, but got %v.", parts)
			}
		}
		partitions = int32(len(parts))
		spec.Assignments = make([][]int32, len(parts))
		for _, a := range rt.ReplicaAssignment {
			spec.Assignments[a.Partition] = a.Replicas
		}
		spec.ReplicationFactor = int16(len(rt.ReplicaAssignment[0].Replicas))
	} else {
		if partitions == -1 {
			partitions = b.cfg.NumPartitions
		}
		if partitions <= 0 {
			return spec, reqErr(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
		}
		rf := rt.ReplicationFactor
		if rf == -1 {
			rf = b.cfg.DefaultReplicationFactor
		}
		if rf <= 0 {
			return spec, reqErr(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
		}
		if int(rf) > live {
			return spec, reqErr(kerr.InvalidReplicationFactor, "Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.", rf, rf, live)
		}
		spec.ReplicationFactor = rf
	}
	configs := map[string]string{}
	for _, c := range rt.Configs {
		if c.Value == nil {
			return spec, reqErr(kerr.InvalidConfig, "Null value not supported for topic configs: %s", c.Name)
		}
		configs[c.Name] = *c.Value
	}
	if err := config.ValidateTopicOverrides(configs); err != nil {
		return spec, err
	}
	spec.Partitions, spec.Configs = partitions, configs
	return spec, nil
}
