package broker

// DeleteTopics, versions 0-6.
//
// v0-5 name topics; v6 (KIP-516) may name them by id instead (setting both is
// INVALID_REQUEST; an unknown id is UNKNOWN_TOPIC_ID). The topic leaves the
// metadata first, then its partition logs are closed and renamed to
// "<topic>-<partition>.<id>-delete" for removal, so a crash in between leaves
// only folders that the next start deletes. delete.topic.enable=false answers
// TOPIC_DELETION_DISABLED.

import (
	"context"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteTopics, 0, 6, handleDeleteTopics) }

func handleDeleteTopics(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.DeleteTopicsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	topics := req.Topics
	if req.Version < 6 {
		topics = nil
		for _, n := range req.TopicNames {
			topics = append(topics, kmsg.DeleteTopicsRequestTopic{Topic: &n})
		}
	}
	for _, rt := range topics {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		var err error
		switch {
		case rt.Topic != nil && rt.TopicID != [16]byte{}:
			err = reqErr(kerr.InvalidRequest, "Topic name and topic id cannot both be set.")
		case !b.cfg.DeleteTopicEnable:
			err = reqErr(kerr.TopicDeletionDisabled, "Topic deletion is disabled (delete.topic.enable=false).")
		case rt.Topic == nil:
			t := b.meta.Image().TopicByID(rt.TopicID)
			if t == nil {
				err = reqErr(kerr.UnknownTopicID, "Topic id %s does not exist.", metadata.UUID(rt.TopicID))
				break
			}
			name := t.Name
			st.Topic = &name
			err = b.deleteTopic(name, h.ClientID)
		default:
			if t := b.meta.Image().Topic(*rt.Topic); t != nil {
				st.TopicID = t.ID
			}
			err = b.deleteTopic(*rt.Topic, h.ClientID)
		}
		st.ErrorCode, st.ErrorMessage = codeAndMessage(err)
		if req.Version < 5 {
			st.ErrorMessage = nil
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func (b *Broker) deleteTopic(name, clientID string) error {
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	t, err := b.meta.DeleteTopic(name)
	if err != nil {
		return err
	}
	tps := make([]replica.TopicPartition, t.Partitions)
	for i := range tps {
		tps[i] = replica.TopicPartition{Topic: name, Partition: int32(i)}
	}
	b.log.Info("deleted topic", "topic", name, "topic_id", t.ID.String(), "client_id", clientID)
	// Every group's committed offsets for the topic go with it, as Kafka's
	// GroupCoordinator.onPartitionsDeleted, so a topic created again under
	// the same name does not inherit them.
	if c := b.groups.Load(); c != nil && name != group.Topic {
		if err := c.DeleteTopicOffsets([]string{name}); err != nil {
			b.log.Error("deleting the committed offsets of a deleted topic failed", "topic", name, "err", err)
		}
	}
	if err := b.replicas.DeletePartitions(tps); err != nil {
		// The topic is gone from the metadata; leftover folders are removed
		// on the next start.
		b.log.Error("deleting partition logs failed; they will be removed at the next start", "topic", name, "err", err)
	}
	return nil
}
