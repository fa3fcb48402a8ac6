package broker

// Metadata, versions 0-12.
//
// Answers from the current metadata image: every live broker (here, this
// one) at the advertised address of the listener the client connected on,
// the cluster id (v2+), the controller id (v1+, ourselves in combined mode),
// and per topic its id (v10+), internal flag (v1+) and partitions with
// leader, leader epoch (v7+), replicas and ISR.
//
// v0 asks for all topics with an empty list; v1+ with a null list. Up to v3
// every request may auto-create; v4+ only when AllowAutoTopicCreation is set
// (KIP-204). Auto-creation also needs auto.create.topics.enable and uses
// num.partitions; the topic is usable in the same response, so unlike Kafka
// we answer with its partitions rather than LEADER_NOT_AVAILABLE. v10+ may
// name topics by id (KIP-516); an unknown id is UNKNOWN_TOPIC_ID. Authorized
// operations (v8+) are reported as "not requested" (MinInt32) until ACLs
// exist.

import (
	"context"
	"errors"
	"slices"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Metadata, 0, 12, handleMetadata) }

const authorizedOperationsOmitted = -2147483648

func handleMetadata(_ context.Context, b *Broker, c *protocol.Conn, _ protocol.RequestHeader, req *kmsg.MetadataRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	ep := b.endpointFor(c)
	rack := b.rack()
	resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: b.nodeID, Host: ep.host, Port: ep.port, Rack: rack}}
	clusterID := b.ClusterID()
	resp.ClusterID = &clusterID
	resp.ControllerID = b.nodeID
	if b.cluster != nil {
		resp.Brokers, resp.ControllerID = b.cluster.metadataBrokers(c.Listener)
	}
	resp.AuthorizedOperations = authorizedOperationsOmitted

	im := b.meta.Image()
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, name := range im.TopicNames() {
			resp.Topics = append(resp.Topics, b.metadataTopic(im.Topic(name), req))
		}
		return resp, nil
	}
	autoCreate := b.cfg.AutoCreateTopicsEnable && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		var t *metadata.Topic
		switch {
		case rt.Topic != nil:
			t = im.Topic(*rt.Topic)
			if t == nil && autoCreate {
				var err error
				t, err = b.autoCreateTopic(*rt.Topic)
				if err != nil {
					resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{
						Topic: rt.Topic, ErrorCode: errorCode(err), AuthorizedOperations: authorizedOperationsOmitted})
					continue
				}
			}
			if t == nil {
				resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{Topic: rt.Topic,
					ErrorCode: kerr.UnknownTopicOrPartition.Code, AuthorizedOperations: authorizedOperationsOmitted})
				continue
			}
		default:
			if t = im.TopicByID(rt.TopicID); t == nil {
				resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{TopicID: rt.TopicID,
					ErrorCode: kerr.UnknownTopicID.Code, AuthorizedOperations: authorizedOperationsOmitted})
				continue
			}
		}
		resp.Topics = append(resp.Topics, b.metadataTopic(t, req))
	}
	return resp, nil
}

func (b *Broker) rack() *string {
	if b.cfg.BrokerRack == "" {
		return nil
	}
	r := b.cfg.BrokerRack
	return &r
}

func (b *Broker) metadataTopic(t *metadata.Topic, req *kmsg.MetadataRequest) kmsg.MetadataResponseTopic {
	name := t.Name
	rt := kmsg.MetadataResponseTopic{Topic: &name, TopicID: t.ID, IsInternal: t.Internal(),
		AuthorizedOperations: authorizedOperationsOmitted}
	rt.Partitions = make([]kmsg.MetadataResponseTopicPartition, t.Partitions)
	if t.Assignments != nil {
		im := b.meta.Image()
		for i := range rt.Partitions {
			rt.Partitions[i] = partitionMetadata(im, t, int32(i))
		}
		return rt
	}
	for i := range rt.Partitions {
		p := &rt.Partitions[i]
		p.Partition = int32(i)
		p.Leader = b.nodeID
		p.Replicas = []int32{b.nodeID}
		p.ISR = []int32{b.nodeID}
		p.OfflineReplicas = []int32{}
		if part := b.replicas.Partition(t.Name, int32(i)); part != nil {
			p.LeaderEpoch = part.LeaderEpoch()
		} else {
			p.ErrorCode = kerr.LeaderNotAvailable.Code
			p.Leader = -1
		}
	}
	return rt
}

// autoCreateTopic creates a topic on first use, with broker defaults.
func (b *Broker) autoCreateTopic(name string) (*metadata.Topic, error) {
	t, err := b.createTopic(name, b.cfg.NumPartitions, nil)
	if errors.Is(err, metadata.ErrTopicExists) {
		if t = b.meta.Image().Topic(name); t != nil {
			return t, nil
		}
	}
	if err == nil {
		b.log.Info("auto-created topic", "topic", name, "partitions", t.Partitions)
	}
	return t, err
}

// createTopic records a topic in the metadata and opens its partitions.
// Configs must be validated by the caller.
func (b *Broker) createTopic(name string, partitions int32, configs map[string]string) (*metadata.Topic, error) {
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	t, err := b.meta.CreateTopic(name, partitions, configs)
	if err != nil || b.cluster != nil {
		return t, err // a cluster opens partitions as the image assigns them
	}
	cfg := b.cfg.ResolveTopic(t.Configs)
	for i := int32(0); i < t.Partitions; i++ {
		if _, err := b.replicas.OpenPartition(t.Name, i, t.ID, &cfg); err != nil {
			// Undo, so the client can retry and the next start does not
			// trip over a topic whose partitions cannot open.
			tps := make([]replica.TopicPartition, i)
			for j := range tps {
				tps[j] = replica.TopicPartition{Topic: t.Name, Partition: int32(j)}
			}
			rerr := b.replicas.DeletePartitions(tps)
			if _, derr := b.meta.DeleteTopic(t.Name); derr != nil || rerr != nil {
				b.log.Error("rolling back a failed topic creation failed", "topic", t.Name, "err", errors.Join(derr, rerr))
			}
			return nil, err
		}
	}
	return t, nil
}

// partitionMetadata describes a partition of a cluster from the image:
// replicas that are fenced or unregistered are offline; a partition with
// no leader answers LEADER_NOT_AVAILABLE.
func partitionMetadata(im *metadata.Image, t *metadata.Topic, i int32) kmsg.MetadataResponseTopicPartition {
	st := t.PartitionState(i)
	p := kmsg.MetadataResponseTopicPartition{Partition: i, Leader: st.Leader, LeaderEpoch: st.LeaderEpoch,
		Replicas: slices.Clone(st.Replicas), ISR: slices.Clone(st.ISR), OfflineReplicas: []int32{}}
	for _, r := range st.Replicas {
		if br := im.Brokers[r]; br == nil || br.Fenced {
			p.OfflineReplicas = append(p.OfflineReplicas, r)
		}
	}
	if st.Leader < 0 {
		p.ErrorCode = kerr.LeaderNotAvailable.Code
	}
	return p
}
