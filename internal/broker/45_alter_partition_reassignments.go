package broker

// AlterPartitionReassignments, version 0 (KIP-455), and
// ListPartitionReassignments, version 0.
//
// In a cluster both go to the active controller, which starts, changes or
// cancels (null replicas) each partition's reassignment and lists those in
// progress (internal/controller/reassign.go describes the steps). Kafka's
// codes: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (an empty
// list, a broker named twice, a broker that is not registered),
// NO_REASSIGNMENT_IN_PROGRESS for a cancel with nothing to cancel. A
// single node can only "reassign" a partition to itself, which changes
// nothing, and never has a reassignment in progress.

import (
	"context"
	"fmt"

	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(kmsg.AlterPartitionAssignments, 0, 0, handleAlterPartitionReassignments)
	register(kmsg.ListPartitionReassignments, 0, 0, handleListPartitionReassignments)
}

func handleAlterPartitionReassignments(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.AlterPartitionAssignmentsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	if b.cluster != nil {
		fwd := *req
		r, err := b.cluster.request(&fwd)
		if err != nil {
			resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
			return resp, nil
		}
		cr := r.(*kmsg.AlterPartitionAssignmentsResponse)
		resp.ErrorCode, resp.ErrorMessage, resp.Topics = cr.ErrorCode, cr.ErrorMessage, cr.Topics
		return resp, nil
	}
	im := b.meta.Image()
	for _, rt := range req.Topics {
		st := kmsg.AlterPartitionAssignmentsResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			err := b.reassignLocal(im, rt.Topic, rp.Partition, rp.Replicas)
			st.Partitions = append(st.Partitions, kmsg.AlterPartitionAssignmentsResponseTopicPartition{
				Partition: rp.Partition, ErrorCode: controller.Code(err), ErrorMessage: errorMessage(err)})
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// reassignLocal checks a reassignment on a single node: only [this broker]
// is a valid target, and it is where the partition is already.
func (b *Broker) reassignLocal(im *metadata.Image, topic string, p int32, replicas []int32) error {
	t := im.Topic(topic)
	if t == nil || p < 0 || p >= t.Partitions {
		return fmt.Errorf("%w: unable to find partition %s-%d", controller.ErrUnknownTopicOrPart, topic, p)
	}
	switch {
	case replicas == nil:
		return fmt.Errorf("%w: %s-%d", controller.ErrNoReassignment, topic, p)
	case len(replicas) == 0:
		return fmt.Errorf("%w: the manual partition assignment includes an empty replica list", controller.ErrInvalidAssignment)
	}
	for i, r := range replicas {
		if r != b.nodeID {
			return fmt.Errorf("%w: the manual partition assignment includes broker %d, but no such broker is registered", controller.ErrInvalidAssignment, r)
		}
		if i > 0 {
			return fmt.Errorf("%w: the manual partition assignment includes broker %d more than once", controller.ErrInvalidAssignment, r)
		}
	}
	return nil
}

func handleListPartitionReassignments(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.ListPartitionReassignmentsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if b.cluster == nil {
		return resp, nil
	}
	fwd := *req
	r, err := b.cluster.request(&fwd)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
		return resp, nil
	}
	cr := r.(*kmsg.ListPartitionReassignmentsResponse)
	resp.ErrorCode, resp.ErrorMessage, resp.Topics = cr.ErrorCode, cr.ErrorMessage, cr.Topics
	return resp, nil
}
