package broker

// DescribeCluster, versions 0-1 (KIP-700; v1 KIP-919 adds EndpointType).
//
// Lists the live brokers (a single node: this one) at the advertised address of the
// listener the client used, the cluster id and the controller. Asking for
// controller endpoints (EndpointType 2) on a broker listener is
// UNSUPPORTED_ENDPOINT_TYPE, as in Kafka. Authorized operations are
// reported as "not requested" until ACLs exist.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeCluster, 0, 1, handleDescribeCluster) }

func handleDescribeCluster(_ context.Context, b *Broker, c *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DescribeClusterRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = 1
	if req.Version >= 1 && req.EndpointType != 1 {
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		msg := "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
		resp.ErrorMessage = &msg
		resp.EndpointType = req.EndpointType
		return resp, nil
	}
	ep := b.endpointFor(c)
	resp.ClusterID = b.ClusterID()
	resp.ControllerID = b.nodeID
	resp.ClusterAuthorizedOperations = authorizedOperationsOmitted
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{{NodeID: b.nodeID, Host: ep.host, Port: ep.port, Rack: b.rack()}}
	if b.cluster != nil {
		brokers, controller := b.cluster.metadataBrokers(c.Listener)
		resp.ControllerID = controller
		resp.Brokers = resp.Brokers[:0]
		for _, mb := range brokers {
			resp.Brokers = append(resp.Brokers, kmsg.DescribeClusterResponseBroker{NodeID: mb.NodeID, Host: mb.Host, Port: mb.Port, Rack: mb.Rack})
		}
	}
	return resp, nil
}
