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
			var partitions int32
			var configs map[string]string
			partitions, configs, err = b.checkCreateTopic(rt)
			if err == nil && !req.ValidateOnly {
				t, err = b.createTopic(rt.Topic, partitions, configs)
				if err == nil {
					b.log.Info("created topic", "topic", t.Name, "topic_id", t.ID.String(), "partitions", t.Partitions, "client_id", h.ClientID)
				}
			}
			if err == nil {
				st.NumPartitions, st.ReplicationFactor = partitions, 1
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

// checkCreateTopic validates one topic of a CreateTopics request and returns
// its partition count and config overrides.
func (b *Broker) checkCreateTopic(rt kmsg.CreateTopicsRequestTopic) (int32, map[string]string, error) {
	if err := metadata.ValidateTopicName(rt.Topic); err != nil {
		return 0, nil, err
	}
	if b.meta.Image().Topic(rt.Topic) != nil {
		return 0, nil, reqErr(kerr.TopicAlreadyExists, "Topic '%s' already exists.", rt.Topic)
	}
	partitions := rt.NumPartitions
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return 0, nil, reqErr(kerr.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
		}
		parts := make([]int, 0, len(rt.ReplicaAssignment))
		for _, a := range rt.ReplicaAssignment {
			parts = append(parts, int(a.Partition))
			if len(a.Replicas) == 0 {
				return 0, nil, reqErr(kerr.InvalidReplicaAssignment, "Partition %d of topic %s has no replicas.", a.Partition, rt.Topic)
			}
			for i, r := range a.Replicas {
				if r != b.nodeID {
					return 0, nil, reqErr(kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker %d, but no such broker is registered.", r)
				}
				if i > 0 {
					return 0, nil, reqErr(kerr.InvalidReplicaAssignment, "The manual partition assignment for partition %d includes broker %d more than once.", a.Partition, r)
				}
			}
		}
		sort.Ints(parts)
		for i, p := range parts {
			if p != i {
				return 0, nil, reqErr(kerr.InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence, but got %v.", parts)
			}
		}
		partitions = int32(len(parts))
	} else {
		if partitions == -1 {
			partitions = b.cfg.NumPartitions
		}
		if partitions <= 0 {
			return 0, nil, reqErr(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
		}
		rf := rt.ReplicationFactor
		if rf == -1 {
			rf = b.cfg.DefaultReplicationFactor
		}
		if rf <= 0 {
			return 0, nil, reqErr(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
		}
		if rf > 1 {
			return 0, nil, reqErr(kerr.InvalidReplicationFactor, "Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only 1 broker(s) are registered.", rf, rf)
		}
	}
	configs := map[string]string{}
	for _, c := range rt.Configs {
		if c.Value == nil {
			return 0, nil, reqErr(kerr.InvalidConfig, "Null value not supported for topic configs: %s", c.Name)
		}
		configs[c.Name] = *c.Value
	}
	if err := config.ValidateTopicOverrides(configs); err != nil {
		return 0, nil, err
	}
	return partitions, configs, nil
}
