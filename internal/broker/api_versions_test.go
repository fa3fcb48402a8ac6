package broker_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

func apiVersions(t *testing.T, r *rawConn) []kmsg.ApiVersionsResponseApiKey {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(4)
	req.ClientSoftwareName, req.ClientSoftwareVersion = "samsa-test", "1.0"
	resp := do[*kmsg.ApiVersionsResponse](t, r, req)
	if resp.ErrorCode != 0 {
		t.Fatalf("ApiVersions: error %d", resp.ErrorCode)
	}
	return resp.ApiKeys
}

// TestApiVersionsMatchKafka39 checks every advertised range against Apache
// Kafka 3.9's (franz-go's kversion table has the maxima; every 3.9 minimum
// is 0). DescribeTopicPartitions (75) is served 0-0 as in 3.9 but is not in
// that table.
func TestApiVersionsMatchKafka39(t *testing.T) {
	b := kafkatest.Start(t)
	keys := apiVersions(t, dialRaw(t, b.Addr))
	v39 := kversion.V3_9_0()
	seen := map[int16]bool{}
	for i, k := range keys {
		if i > 0 && keys[i-1].ApiKey >= k.ApiKey {
			t.Errorf("api keys not sorted/unique at %d", k.ApiKey)
		}
		seen[k.ApiKey] = true
		name := kmsg.NameForKey(k.ApiKey)
		if k.MinVersion != 0 {
			t.Errorf("%s: min version %d, Kafka 3.9 has 0", name, k.MinVersion)
		}
		if k.ApiKey == int16(kmsg.DescribeTopicPartitions) {
			if k.MaxVersion != 0 {
				t.Errorf("%s: max %d, want 0", name, k.MaxVersion)
			}
			continue
		}
		if k.ApiKey == int16(kmsg.DescribeQuorum) {
			// Kafka 3.9 brokers forward DescribeQuorum 0-2 (kversion lists
			// it as controller-only); v2 (KIP-853 voter endpoints) is not
			// served yet.
			if k.MaxVersion != 1 {
				t.Errorf("%s: max %d, want 1", name, k.MaxVersion)
			}
			continue
		}
		if k.ApiKey == int16(kmsg.UnregisterBroker) {
			// Kafka 3.9 brokers forward UnregisterBroker v0 to the
			// controller (listeners broker and controller in its message
			// definition); kversion lists it as controller-only.
			if k.MaxVersion != 0 {
				t.Errorf("%s: max %d, want 0", name, k.MaxVersion)
			}
			continue
		}
		max, ok := v39.LookupMaxKeyVersion(k.ApiKey)
		if !ok {
			t.Errorf("%s (%d) is advertised but not in Kafka 3.9", name, k.ApiKey)
			continue
		}
		if k.MaxVersion != max {
			t.Errorf("%s: max version %d, Kafka 3.9 has %d", name, k.MaxVersion, max)
		}
	}
	// The APIs every client needs are there.
	for _, k := range []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.ListOffsets, kmsg.Metadata, kmsg.ApiVersions,
		kmsg.CreateTopics, kmsg.DeleteTopics, kmsg.InitProducerID, kmsg.DescribeConfigs} {
		if !seen[int16(k)] {
			t.Errorf("%s is not advertised", k.Name())
		}
	}
}

// TestEveryAdvertisedVersionDecodes sends a default request of every
// advertised version of every API and checks the connection stays open, the
// response decodes at that version, and re-encodes to the same bytes (so
// the response header and the body agree on flexible vs classic encoding).
func TestEveryAdvertisedVersionDecodes(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "any", 1, nil)
	keys := apiVersions(t, dialRaw(t, b.Addr))
	for _, k := range keys {
		t.Run(kmsg.NameForKey(k.ApiKey), func(t *testing.T) {
			r := dialRaw(t, b.Addr)
			for v := k.MinVersion; v <= k.MaxVersion; v++ {
				req := kmsg.RequestForKey(k.ApiKey)
				req.SetVersion(v)
				switch req := req.(type) {
				case *kmsg.ProduceRequest:
					req.Acks = -1 // the default, 0, gets no response
				case *kmsg.ApiVersionsRequest:
					req.ClientSoftwareName, req.ClientSoftwareVersion = "samsa-test", "1.0"
				case *kmsg.DescribeClusterRequest:
					req.EndpointType = 1
				}
				corr, err := r.send(req)
				if err != nil {
					t.Fatalf("v%d: write: %v (connection closed by an earlier version?)", v, err)
				}
				resp, body, err := r.recv(req, corr, 10*time.Second)
				if err != nil {
					t.Fatalf("v%d: %v", v, err)
				}
				if re := resp.AppendTo(nil); !bytes.Equal(re, body) {
					t.Fatalf("v%d: response re-encodes to %d bytes, received %d", v, len(re), len(body))
				}
			}
		})
	}
}
