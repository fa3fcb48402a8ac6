package broker

// FindCoordinator, versions 0-6.
//
// There is no group or transaction coordinator yet (they arrive with the
// consumer-group and transaction issues), so every key is answered with
// COORDINATOR_NOT_AVAILABLE, which clients treat as "retry later". The API
// is advertised with Kafka 3.9's range anyway: librdkafka 2.0 enables lz4
// only when FindCoordinator v0 is in the advertised range (its feature
// table ties lz4 to the 0.9/0.10 API set), and without it kcat and
// confluent-kafka silently send lz4 topics uncompressed. v4+ (KIP-699)
// batches keys; v1+ adds the key type and an error message.
//
// NOTE: replace this file when the group coordinator lands; registering the
// key twice panics at start.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.FindCoordinator, 0, 6, handleFindCoordinator) }

func handleFindCoordinator(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.FindCoordinatorRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	msg := "samsa has no group or transaction coordinator yet"
	b.log.Debug("find coordinator: none available", "client_id", h.ClientID)
	if req.Version < 4 {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		resp.ErrorMessage = &msg
		resp.NodeID = -1
		return resp, nil
	}
	for _, k := range req.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.ErrorCode = k, -1, kerr.CoordinatorNotAvailable.Code
		m := msg
		c.ErrorMessage = &m
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp, nil
}
