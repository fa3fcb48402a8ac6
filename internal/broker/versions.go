package broker

import (
	"context"
	"fmt"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handler serves one request; see protocol.Handler for the contract.
type handler func(ctx context.Context, b *Broker, c *protocol.Conn, h protocol.RequestHeader, req kmsg.Request) (kmsg.Response, error)

type api struct {
	min, max int16
	serve    handler
}

// apis is the registry of served APIs, filled by each handler file's init.
// ApiVersions advertises exactly these ranges. The ranges are Apache Kafka
// 3.9's (a KRaft broker), which clients such as librdkafka 2.0 and
// kafka-python 2.0 use to infer features and releases.
var apis = map[int16]api{}

// register records that key is served for versions [min, max].
func register[Req kmsg.Request](key kmsg.Key, min, max int16, fn func(ctx context.Context, b *Broker, c *protocol.Conn, h protocol.RequestHeader, req Req) (kmsg.Response, error)) {
	if _, dup := apis[int16(key)]; dup {
		panic(fmt.Sprintf("api %s registered twice", key.Name()))
	}
	if r := kmsg.RequestForKey(int16(key)); r == nil || r.MaxVersion() < max {
		panic(fmt.Sprintf("api %s v%d is beyond what kmsg can decode", key.Name(), max))
	}
	apis[int16(key)] = api{min: min, max: max, serve: func(ctx context.Context, b *Broker, c *protocol.Conn, h protocol.RequestHeader, req kmsg.Request) (kmsg.Response, error) {
		return fn(ctx, b, c, h, req.(Req))
	}}
}

// Versions implements protocol.Handler.
func (b *Broker) Versions(key int16) (int16, int16, bool) {
	a, ok := apis[key]
	return a.min, a.max, ok
}

// Handle implements protocol.Handler.
func (b *Broker) Handle(ctx context.Context, c *protocol.Conn, h protocol.RequestHeader, req kmsg.Request) (kmsg.Response, error) {
	a, ok := apis[h.APIKey]
	if !ok {
		return nil, fmt.Errorf("api key %d is not served", h.APIKey)
	}
	return a.serve(ctx, b, c, h, req)
}
