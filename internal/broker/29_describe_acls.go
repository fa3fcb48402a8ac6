package broker

// DescribeAcls, versions 0-3.
//
// There is no authorizer yet, so every request is answered with
// SECURITY_DISABLED, as Kafka does without authorizer.class.name. The API
// is advertised anyway with Kafka's range because kafka-python 2.0 infers
// the broker release from it (DescribeAcls v2 means "2.5 or later").

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeACLs, 0, 3, handleDescribeACLs) }

func handleDescribeACLs(_ context.Context, _ *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DescribeACLsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	resp.ErrorCode = kerr.SecurityDisabled.Code
	msg := "No Authorizer is configured on the broker"
	resp.ErrorMessage = &msg
	return resp, nil
}
