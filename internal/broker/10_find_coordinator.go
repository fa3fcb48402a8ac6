package broker

// FindCoordinator, versions 0-6.
//
// Group keys (key type 0, and every v0 request) are answered with this
// broker, the leader of the group's __consumer_offsets partition
// (abs(javaHashCode(group)) % offsets.topic.num.partitions); the first such
// request creates __consumer_offsets when it does not exist yet.
// Transaction keys (key type 1) likewise, with __transaction_state and
// transaction.state.log.num.partitions. Other key types are INVALID_REQUEST. v1+ adds the key type and an
// error message; v4+ batches keys (KIP-699); v6 is the share-group key type
// in Kafka 4, invalid here as in 3.9.
//
// The API is advertised with Kafka 3.9's full range also because librdkafka
// 2.0 enables lz4 only when FindCoordinator v0 is in it (its feature table
// ties lz4 to the 0.9/0.10 API set).

import (
	"context"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.FindCoordinator, 0, 6, handleFindCoordinator) }

func handleFindCoordinator(_ context.Context, b *Broker, c *protocol.Conn, _ protocol.RequestHeader, req *kmsg.FindCoordinatorRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keyType := req.CoordinatorType
	if req.Version == 0 {
		keyType = 0
	}
	find := func(key string) (nodeID int32, host string, port int32, code int16, msg *string) {
		switch keyType {
		case 0:
			gc, err := b.groupCoordinator()
			if err != nil {
				b.log.Warn("the group coordinator is not available", "err", err)
				return -1, "", -1, kerr.CoordinatorNotAvailable.Code, errorMessage(err)
			}
			if b.cluster != nil {
				return b.cluster.coordinatorFor(group.Topic, group.PartitionFor(key, gc.Partitions()), c.Listener)
			}
			if !gc.Owns(key) {
				return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
			}
			ep := b.endpointFor(c)
			return b.nodeID, ep.host, ep.port, 0, nil
		case 1:
			tc, err := b.txnCoordinator()
			if err != nil {
				b.log.Warn("the transaction coordinator is not available", "err", err)
				return -1, "", -1, kerr.CoordinatorNotAvailable.Code, errorMessage(err)
			}
			if b.cluster != nil {
				return b.cluster.coordinatorFor(txn.Topic, txn.PartitionFor(key, tc.Partitions()), c.Listener)
			}
			if !tc.Owns(key) {
				return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
			}
			ep := b.endpointFor(c)
			return b.nodeID, ep.host, ep.port, 0, nil
		}
		m := "unknown coordinator key type"
		return -1, "", -1, kerr.InvalidRequest.Code, &m
	}
	if req.Version < 4 {
		resp.NodeID, resp.Host, resp.Port, resp.ErrorCode, resp.ErrorMessage = find(req.CoordinatorKey)
		return resp, nil
	}
	for _, k := range req.CoordinatorKeys {
		rc := kmsg.NewFindCoordinatorResponseCoordinator()
		rc.Key = k
		rc.NodeID, rc.Host, rc.Port, rc.ErrorCode, rc.ErrorMessage = find(k)
		resp.Coordinators = append(resp.Coordinators, rc)
	}
	return resp, nil
}
