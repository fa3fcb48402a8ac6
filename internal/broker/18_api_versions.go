package broker

// ApiVersions, versions 0-4.
//
// The response lists every API in the registry (versions.go) with Kafka
// 3.9's ranges. v3 (KIP-511) adds client software name/version, which we
// validate as Kafka does, and makes the request flexible; the response
// header stays v0 for every version so that a client can always parse it.
// A request with a version we do not know is answered as v0 with
// UNSUPPORTED_VERSION and the list (the protocol layer decodes it as v0 and
// keeps the real version in the header). v4 only changes how features may
// be reported; we report none.

import (
	"context"
	"regexp"
	"sort"
	"sync"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ApiVersions, 0, 4, handleAPIVersions) }

// softwareRE is Kafka's rule for client software names and versions.
var softwareRE = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func handleAPIVersions(_ context.Context, b *Broker, c *protocol.Conn, h protocol.RequestHeader, req *kmsg.ApiVersionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if _, max, _ := b.Versions(int16(kmsg.ApiVersions)); h.APIVersion > max {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
	} else if req.Version >= 3 && (!softwareRE.MatchString(req.ClientSoftwareName) || !softwareRE.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	resp.ApiKeys = apiVersionKeys()
	return resp, nil
}

// apiVersionKeys is built from the registry on first use (after every
// handler file's init has registered), sorted by key.
var apiVersionKeys = sync.OnceValue(func() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(apis))
	for k, a := range apis {
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: a.min, MaxVersion: a.max})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
})
