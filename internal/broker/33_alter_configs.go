package broker

// AlterConfigs, versions 0-2 (the legacy, whole-set API; KIP-339 added the
// incremental one).
//
// For a TOPIC it replaces the topic's entire set of overrides with the ones
// given: keys left out return to their defaults. Every key must be a topic
// config and every value valid (INVALID_CONFIG naming the key otherwise); a
// null value is INVALID_REQUEST. ValidateOnly checks without changing.
// BROKER resources: samsa does not yet keep dynamic broker configs, so
// changes are refused with INVALID_CONFIG and a message pointing at
// server.properties.

import (
	"context"
	"maps"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.AlterConfigs, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.AlterConfigsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	dup := duplicateResources(len(req.Resources), func(i int) (kmsg.ConfigResourceType, string) {
		return req.Resources[i].ResourceType, req.Resources[i].ResourceName
	})
	for _, rr := range req.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var err error
		switch {
		case dup[resourceKey{rr.ResourceType, rr.ResourceName}]:
			err = reqErr(kerr.InvalidRequest, "Duplicate resource in request.")
		case rr.ResourceType == kmsg.ConfigResourceTypeTopic:
			configs := map[string]string{}
			for _, c := range rr.Configs {
				if c.Value == nil {
					err = reqErr(kerr.InvalidRequest, "Null value not supported for : %s", c.Name)
					break
				}
				configs[c.Name] = *c.Value
			}
			if err == nil {
				b.topicMu.Lock()
				err = b.setTopicConfigs(rr.ResourceName, configs, req.ValidateOnly, h.ClientID)
				b.topicMu.Unlock()
			}
		case rr.ResourceType == kmsg.ConfigResourceTypeBroker:
			if err = b.checkBrokerResource(rr.ResourceName); err == nil {
				err = brokerConfigsNotDynamic(rr.Configs)
			}
		default:
			err = reqErr(kerr.InvalidRequest, "Resource type %s is not supported.", rr.ResourceType)
		}
		sr.ErrorCode, sr.ErrorMessage = codeAndMessage(err)
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func brokerConfigsNotDynamic(cs []kmsg.AlterConfigsRequestResourceConfig) error {
	if len(cs) == 0 {
		return nil
	}
	return reqErr(kerr.InvalidConfig, "Broker config %s cannot be changed while the broker runs in this version of samsa; set it in server.properties (or --set) and restart.", cs[0].Name)
}

// setTopicConfigs validates and stores a topic's complete override set and
// applies it to the topic's partitions. The caller holds b.topicMu.
func (b *Broker) setTopicConfigs(topic string, configs map[string]string, validateOnly bool, clientID string) error {
	t := b.meta.Image().Topic(topic)
	if t == nil {
		return reqErr(kerr.UnknownTopicOrPartition, "Topic '%s' does not exist.", topic)
	}
	if err := config.ValidateTopicOverrides(configs); err != nil {
		return err
	}
	if validateOnly || maps.Equal(configs, t.Configs) {
		return nil
	}
	nt, err := b.meta.SetTopicConfigs(topic, configs)
	if err != nil {
		return err
	}
	cfg := b.cfg.ResolveTopic(nt.Configs)
	b.replicas.SetTopicConfig(topic, &cfg)
	b.log.Info("changed topic configs", "topic", topic, "configs", configs, "client_id", clientID)
	return nil
}

type resourceKey struct {
	typ  kmsg.ConfigResourceType
	name string
}

// duplicateResources returns the config resources named more than once in a
// request; Kafka fails every copy of such a resource with INVALID_REQUEST.
func duplicateResources(n int, at func(i int) (kmsg.ConfigResourceType, string)) map[resourceKey]bool {
	seen := make(map[resourceKey]int, n)
	for i := 0; i < n; i++ {
		t, name := at(i)
		seen[resourceKey{t, name}]++
	}
	dup := map[resourceKey]bool{}
	for k, c := range seen {
		if c > 1 {
			dup[k] = true
		}
	}
	return dup
}
