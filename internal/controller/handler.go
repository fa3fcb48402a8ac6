package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handler serves the Kafka APIs of the CONTROLLER listener. Brokers send
// their registrations, heartbeats, ISR changes and forwarded admin changes
// here; tools may ask DescribeQuorum. A node that is not the active
// controller answers NOT_CONTROLLER and the sender looks for the leader.
type Handler struct {
	q   *Quorum
	c   *Controller
	log *slog.Logger
}

// NewHandler returns the controller listener's handler for a voter's
// controller; only voters run one (broker-only nodes have none).
func NewHandler(q *Quorum, c *Controller, log *slog.Logger) *Handler {
	return &Handler{q: q, c: c, log: log.With("component", "controller-api")}
}

var served = map[int16][2]int16{
	kmsg.ApiVersions.Int16():                {0, 4},
	kmsg.CreateTopics.Int16():               {2, 7},
	kmsg.DeleteTopics.Int16():               {1, 6},
	kmsg.AlterConfigs.Int16():               {0, 2},
	kmsg.CreatePartitions.Int16():           {0, 3},
	kmsg.DescribeQuorum.Int16():             {0, 1},
	kmsg.AlterPartition.Int16():             {2, 3},
	kmsg.BrokerRegistration.Int16():         {0, 3},
	kmsg.BrokerHeartbeat.Int16():            {0, 1},
	kmsg.AllocateProducerIDs.Int16():        {0, 0},
	kmsg.ElectLeaders.Int16():               {0, 2},
	kmsg.AlterPartitionAssignments.Int16():  {0, 0},
	kmsg.ListPartitionReassignments.Int16(): {0, 0},
	kmsg.UnregisterBroker.Int16():           {0, 0},
}

// Versions reports the versions served for key.
func (h *Handler) Versions(key int16) (int16, int16, bool) {
	v, ok := served[key]
	return v[0], v[1], ok
}

// Handle serves one request from the listener.
func (h *Handler) Handle(ctx context.Context, _ *protocol.Conn, hdr protocol.RequestHeader, req kmsg.Request) (kmsg.Response, error) {
	if r, ok := req.(*kmsg.ApiVersionsRequest); ok && hdr.APIVersion > served[kmsg.ApiVersions.Int16()][1] {
		// KIP-511: a version we do not speak gets our ranges in a v0
		// answer with UNSUPPORTED_VERSION.
		resp, _ := h.Serve(ctx, r)
		resp.(*kmsg.ApiVersionsResponse).ErrorCode = kerr.UnsupportedVersion.Code
		return resp, nil
	}
	return h.Serve(ctx, req)
}

// Serve answers a request; brokers on this node call it directly.
func (h *Handler) Serve(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	if _, ok := served[req.Key()]; !ok {
		return nil, fmt.Errorf("api key %d is not served on the controller listener", req.Key())
	}
	c := h.c
	switch r := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
		for key, v := range served {
			resp.ApiKeys = append(resp.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: key, MinVersion: v[0], MaxVersion: v[1]})
		}
		return resp, nil
	case *kmsg.DescribeQuorumRequest:
		return h.describeQuorum(r), nil
	case *kmsg.BrokerRegistrationRequest:
		resp := r.ResponseKind().(*kmsg.BrokerRegistrationResponse)
		reg := metadata.BrokerReg{ID: r.BrokerID, Incarn: metadata.UUID(r.IncarnationID).String()}
		if r.Rack != nil {
			reg.Rack = *r.Rack
		}
		for _, l := range r.Listeners {
			reg.Endpoints = append(reg.Endpoints, metadata.Endpoint{Name: l.Name, Host: l.Host, Port: int32(l.Port), Protocol: protocolName(l.SecurityProtocol)})
		}
		epoch, err := c.RegisterBroker(ctx, reg, r.ClusterID)
		resp.ErrorCode, resp.BrokerEpoch = Code(err), epoch
		if errors.Is(err, ErrNotController) {
			// Brokers that know no leader yet try every voter.
			h.log.Debug("refused a broker registration", "broker", r.BrokerID, "err", err)
			resp.BrokerEpoch = -1
		} else if err != nil {
			h.log.Warn("refused a broker registration", "broker", r.BrokerID, "err", err)
			resp.BrokerEpoch = -1
		} else {
			h.log.Info("registered a broker", "broker", r.BrokerID, "epoch", epoch, "rack", reg.Rack)
		}
		return resp, nil
	case *kmsg.BrokerHeartbeatRequest:
		resp := r.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
		res, err := c.Heartbeat(ctx, r.BrokerID, r.BrokerEpoch, r.CurrentMetadataOffset, r.WantFence, r.WantShutdown)
		resp.ErrorCode = Code(err)
		resp.IsFenced, resp.IsCaughtUp, resp.ShouldShutdown = res.Fenced, res.CaughtUp, res.ShouldShutdown
		if err != nil {
			resp.IsFenced = true
		}
		return resp, nil
	case *kmsg.AllocateProducerIDsRequest:
		resp := r.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
		const block = 1000
		first, err := c.AllocateProducerIDs(ctx, block)
		resp.ErrorCode = Code(err)
		if err == nil {
			resp.ProducerIDStart, resp.ProducerIDLen = first, block
		}
		return resp, nil
	case *kmsg.AlterPartitionRequest:
		resp := r.ResponseKind().(*kmsg.AlterPartitionResponse)
		for _, rt := range r.Topics {
			st := kmsg.AlterPartitionResponseTopic{TopidID: rt.TopicID}
			for _, rp := range rt.Partitions {
				isr := rp.NewISR
				var epochs map[int32]int64
				if r.Version >= 3 {
					isr, epochs = nil, map[int32]int64{}
					for _, e := range rp.NewEpochISR {
						isr = append(isr, e.BrokerID)
						epochs[e.BrokerID] = e.BrokerEpoch
					}
				}
				ps, err := c.AlterPartition(ctx, r.BrokerID, r.BrokerEpoch, rt.TopicID, rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch, isr, epochs)
				sp := kmsg.AlterPartitionResponseTopicPartition{Partition: rp.Partition, ErrorCode: Code(err)}
				if err == nil || errors.Is(err, ErrInvalidUpdateVersion) {
					sp.LeaderID, sp.LeaderEpoch, sp.ISR, sp.PartitionEpoch = ps.Leader, ps.LeaderEpoch, ps.ISR, ps.PartitionEpoch
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil
	case *kmsg.CreateTopicsRequest:
		resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, rt := range r.Topics {
			spec := TopicSpec{Name: rt.Topic, Partitions: rt.NumPartitions, ReplicationFactor: rt.ReplicationFactor, Configs: map[string]string{}}
			for _, a := range rt.ReplicaAssignment {
				for int(a.Partition) >= len(spec.Assignments) {
					spec.Assignments = append(spec.Assignments, nil)
				}
				spec.Assignments[a.Partition] = a.Replicas
			}
			for _, cf := range rt.Configs {
				if cf.Value != nil {
					spec.Configs[cf.Name] = *cf.Value
				}
			}
			st := kmsg.NewCreateTopicsResponseTopic()
			st.Topic = rt.Topic
			var t *metadata.Topic
			err := config.ValidateTopicOverrides(spec.Configs)
			if err == nil {
				t, err = c.CreateTopic(ctx, spec, r.ValidateOnly)
			}
			st.ErrorCode, st.ErrorMessage = Code(err), message(err)
			if t != nil {
				st.TopicID, st.NumPartitions = t.ID, t.Partitions
				st.ReplicationFactor = int16(len(t.Assignments[0].Replicas))
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil
	case *kmsg.DeleteTopicsRequest:
		resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
		for _, name := range r.TopicNames {
			st := kmsg.NewDeleteTopicsResponseTopic()
			st.Topic = &name
			t, err := c.DeleteTopic(ctx, name)
			st.ErrorCode, st.ErrorMessage = Code(err), message(err)
			if t != nil {
				st.TopicID = t.ID
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil
	case *kmsg.CreatePartitionsRequest:
		resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
		for _, rt := range r.Topics {
			var assign [][]int32
			for _, a := range rt.Assignment {
				assign = append(assign, a.Replicas)
			}
			_, err := c.CreatePartitions(ctx, rt.Topic, rt.Count, assign, r.ValidateOnly)
			resp.Topics = append(resp.Topics, kmsg.CreatePartitionsResponseTopic{Topic: rt.Topic, ErrorCode: Code(err), ErrorMessage: message(err)})
		}
		return resp, nil
	case *kmsg.AlterPartitionAssignmentsRequest:
		return h.alterReassignments(ctx, r), nil
	case *kmsg.ListPartitionReassignmentsRequest:
		return ListReassignmentsResponse(h.q.Image(), r), nil
	case *kmsg.ElectLeadersRequest:
		return h.electLeaders(ctx, r), nil
	case *kmsg.UnregisterBrokerRequest:
		resp := r.ResponseKind().(*kmsg.UnregisterBrokerResponse)
		err := c.UnregisterBroker(ctx, r.BrokerID)
		resp.ErrorCode, resp.ErrorMessage = Code(err), message(err)
		if err == nil {
			h.log.Info("unregistered a broker", "broker", r.BrokerID)
		}
		return resp, nil
	case *kmsg.AlterConfigsRequest:
		resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
		for _, rr := range r.Resources {
			configs := map[string]string{}
			for _, cf := range rr.Configs {
				if cf.Value != nil {
					configs[cf.Name] = *cf.Value
				}
			}
			var err error
			if rr.ResourceType != kmsg.ConfigResourceTypeTopic {
				err = fmt.Errorf("%w: the controller only changes topic configs", errInvalidRequest)
			} else if err = config.ValidateTopicOverrides(configs); err == nil && !r.ValidateOnly {
				_, err = c.SetTopicConfigs(ctx, rr.ResourceName, configs)
			}
			resp.Resources = append(resp.Resources, kmsg.AlterConfigsResponseResource{ResourceType: rr.ResourceType,
				ResourceName: rr.ResourceName, ErrorCode: Code(err), ErrorMessage: message(err)})
		}
		return resp, nil
	}
	return nil, fmt.Errorf("api key %d is not served on the controller listener", req.Key())
}

func (h *Handler) alterReassignments(ctx context.Context, r *kmsg.AlterPartitionAssignmentsRequest) *kmsg.AlterPartitionAssignmentsResponse {
	resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	var reqs []Reassignment
	for _, rt := range r.Topics {
		for _, rp := range rt.Partitions {
			reqs = append(reqs, Reassignment{Topic: rt.Topic, Partition: rp.Partition, Replicas: rp.Replicas})
		}
	}
	errs, err := h.c.Reassign(ctx, reqs)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = Code(err), message(err)
		return resp
	}
	i := 0
	for _, rt := range r.Topics {
		st := kmsg.AlterPartitionAssignmentsResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			st.Partitions = append(st.Partitions, kmsg.AlterPartitionAssignmentsResponseTopicPartition{
				Partition: rp.Partition, ErrorCode: Code(errs[i]), ErrorMessage: message(errs[i])})
			i++
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// ListReassignmentsResponse answers ListPartitionReassignments from an
// image (any node's applied image will do: brokers answer it themselves).
func ListReassignmentsResponse(im *metadata.Image, r *kmsg.ListPartitionReassignmentsRequest) *kmsg.ListPartitionReassignmentsResponse {
	resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	var want map[string][]int32
	if r.Topics != nil {
		want = map[string][]int32{}
		for _, t := range r.Topics {
			want[t.Topic] = append(want[t.Topic], t.Partitions...)
		}
	}
	got := ListReassignments(im, want)
	for _, name := range slices.Sorted(maps.Keys(got)) {
		st := kmsg.ListPartitionReassignmentsResponseTopic{Topic: name}
		for _, p := range slices.Sorted(maps.Keys(got[name])) {
			ps := got[name][p]
			st.Partitions = append(st.Partitions, kmsg.ListPartitionReassignmentsResponseTopicPartition{Partition: p,
				Replicas: ps.Replicas, AddingReplicas: nonNil(ps.AddingReplicas), RemovingReplicas: nonNil(ps.RemovingReplicas)})
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

func (h *Handler) electLeaders(ctx context.Context, r *kmsg.ElectLeadersRequest) *kmsg.ElectLeadersResponse {
	resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
	var parts map[string][]int32
	if r.Topics != nil {
		parts = map[string][]int32{}
		for _, t := range r.Topics {
			parts[t.Topic] = append(parts[t.Topic], t.Partitions...)
		}
	}
	res, err := h.c.ElectLeaders(ctx, r.ElectionType, parts)
	if err != nil {
		resp.ErrorCode = Code(err)
		return resp
	}
	return ElectLeadersResponse(resp, res)
}

// ElectLeadersResponse fills resp with results, grouped by topic in their
// order.
func ElectLeadersResponse(resp *kmsg.ElectLeadersResponse, res []ElectionResult) *kmsg.ElectLeadersResponse {
	for _, e := range res {
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != e.Topic {
			resp.Topics = append(resp.Topics, kmsg.ElectLeadersResponseTopic{Topic: e.Topic})
		}
		t := &resp.Topics[len(resp.Topics)-1]
		t.Partitions = append(t.Partitions, kmsg.ElectLeadersResponseTopicPartition{Partition: e.Partition, ErrorCode: Code(e.Err), ErrorMessage: message(e.Err)})
	}
	return resp
}

func (h *Handler) describeQuorum(r *kmsg.DescribeQuorumRequest) *kmsg.DescribeQuorumResponse {
	resp := r.ResponseKind().(*kmsg.DescribeQuorumResponse)
	st := h.q.State()
	p := kmsg.DescribeQuorumResponseTopicPartition{Partition: 0, LeaderID: st.LeaderID, LeaderEpoch: int32(st.Term), HighWatermark: st.HighIndex}
	if !h.q.IsLeader() {
		p.ErrorCode = kerr.NotLeaderForPartition.Code
	}
	for _, m := range st.Members {
		rs := kmsg.DescribeQuorumResponseTopicPartitionReplicaState{ReplicaID: m.ID, LogEndOffset: m.LogEndIndex, LastFetchTimestamp: -1, LastCaughtUpTimestamp: -1}
		if m.LogEndIndex < 0 && h.c != nil {
			if off, at, ok := h.c.Progress(m.ID); ok {
				rs.LogEndOffset, m.LastContact = off, at
			}
		}
		if !m.LastContact.IsZero() {
			rs.LastFetchTimestamp = m.LastContact.UnixMilli()
			rs.LastCaughtUpTimestamp = m.LastContact.UnixMilli()
		}
		if m.Voter {
			p.CurrentVoters = append(p.CurrentVoters, rs)
		} else {
			p.Observers = append(p.Observers, rs)
		}
	}
	resp.Topics = []kmsg.DescribeQuorumResponseTopic{{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumResponseTopicPartition{p}}}
	return resp
}

func protocolName(p int16) string {
	switch p {
	case 1:
		return "SSL"
	case 2:
		return "SASL_PLAINTEXT"
	case 3:
		return "SASL_SSL"
	}
	return "PLAINTEXT"
}

// ProtocolID is the security protocol id of a name (registration).
func ProtocolID(name string) int16 {
	switch name {
	case "SSL":
		return 1
	case "SASL_PLAINTEXT":
		return 2
	case "SASL_SSL":
		return 3
	}
	return 0
}

var errInvalidRequest = errors.New("invalid request")

// Code maps a controller error to its Kafka error code.
func Code(err error) int16 {
	var ce *config.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return kerr.InvalidConfig.Code
	case errors.Is(err, errInvalidRequest):
		return kerr.InvalidRequest.Code
	case errors.Is(err, ErrNotController), errors.Is(err, context.Canceled):
		return kerr.NotController.Code
	case errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut.Code
	case errors.Is(err, ErrStaleBrokerEpoch):
		return kerr.StaleBrokerEpoch.Code
	case errors.Is(err, ErrUnknownBroker):
		return kerr.BrokerIDNotRegistered.Code
	case errors.Is(err, ErrDuplicateBroker):
		return kerr.DuplicateBrokerRegistration.Code
	case errors.Is(err, ErrInconsistentCluster):
		return kerr.InconsistentClusterID.Code
	case errors.Is(err, ErrFencedLeaderEpoch):
		return kerr.FencedLeaderEpoch.Code
	case errors.Is(err, ErrInvalidUpdateVersion):
		return kerr.InvalidUpdateVersion.Code
	case errors.Is(err, ErrNotLeader):
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, ErrIneligibleReplica):
		return kerr.IneligibleReplica.Code
	case errors.Is(err, ErrInvalidReplication):
		return kerr.InvalidReplicationFactor.Code
	case errors.Is(err, ErrInvalidAssignment):
		return kerr.InvalidReplicaAssignment.Code
	case errors.Is(err, ErrUnknownTopicOrPart), errors.Is(err, metadata.ErrUnknownTopic):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, metadata.ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, metadata.ErrInvalidTopic):
		return kerr.InvalidTopicException.Code
	case errors.Is(err, metadata.ErrInvalidPartitions):
		return kerr.InvalidPartitions.Code
	case errors.Is(err, ErrElectionNotNeeded):
		return kerr.ElectionNotNeeded.Code
	case errors.Is(err, ErrPreferredNotAvailable):
		return kerr.PreferredLeaderNotAvailable.Code
	case errors.Is(err, ErrEligibleLeaders):
		return kerr.EligibleLeadersNotAvailable.Code
	case errors.Is(err, ErrNoReassignment):
		return kerr.NoReassignmentInProgress.Code
	}
	return kerr.UnknownServerError.Code
}

func message(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
