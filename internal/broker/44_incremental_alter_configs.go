package broker

// IncrementalAlterConfigs, versions 0-1 (KIP-339).
//
// Per config: SET (0) sets an override, DELETE (1) removes it, APPEND (2) and
// SUBTRACT (3) add or remove elements of a LIST config (cleanup.policy),
// starting from the override or, when there is none, the default, as Kafka
// does; on a non-list config they are INVALID_CONFIG. A key named twice in
// one resource, or a resource named twice, is INVALID_REQUEST. Unchanged
// keys keep their overrides. BROKER resources are refused as in AlterConfigs.

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.IncrementalAlterConfigs, 0, 1, handleIncrementalAlterConfigs) }

const configTypeList = 7

func handleIncrementalAlterConfigs(_ context.Context, b *Broker, _ *protocol.Conn, h protocol.RequestHeader, req *kmsg.IncrementalAlterConfigsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	dup := duplicateResources(len(req.Resources), func(i int) (kmsg.ConfigResourceType, string) {
		return req.Resources[i].ResourceType, req.Resources[i].ResourceName
	})
	for _, rr := range req.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var err error
		switch {
		case dup[resourceKey{rr.ResourceType, rr.ResourceName}]:
			err = reqErr(kerr.InvalidRequest, "Duplicate resource in request.")
		case rr.ResourceType == kmsg.ConfigResourceTypeTopic:
			b.topicMu.Lock()
			err = b.incrementalTopicConfigs(rr, req.ValidateOnly, h.ClientID)
			b.topicMu.Unlock()
		case rr.ResourceType == kmsg.ConfigResourceTypeBroker:
			if err = b.checkBrokerResource(rr.ResourceName); err == nil && len(rr.Configs) > 0 {
				err = reqErr(kerr.InvalidConfig, "Broker config %s cannot be changed while the broker runs in this version of samsa; set it in server.properties (or --set) and restart.", rr.Configs[0].Name)
			}
		default:
			err = reqErr(kerr.InvalidRequest, "Resource type %s is not supported.", rr.ResourceType)
		}
		sr.ErrorCode, sr.ErrorMessage = codeAndMessage(err)
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func (b *Broker) incrementalTopicConfigs(rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool, clientID string) error {
	t := b.meta.Image().Topic(rr.ResourceName)
	if t == nil {
		return reqErr(kerr.UnknownTopicOrPartition, "Topic '%s' does not exist.", rr.ResourceName)
	}
	keys := map[string]bool{}
	for _, c := range rr.Configs {
		if keys[c.Name] {
			return reqErr(kerr.InvalidRequest, "Error due to duplicate config keys: %s", c.Name)
		}
		keys[c.Name] = true
	}
	configs := maps.Clone(t.Configs)
	if configs == nil {
		configs = map[string]string{}
	}
	for _, c := range rr.Configs {
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if c.Value == nil {
				return reqErr(kerr.InvalidRequest, "Null value not supported for : %s", c.Name)
			}
			configs[c.Name] = *c.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(configs, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			entries := b.cfg.DescribeTopic(nil, []string{c.Name})
			if len(entries) == 0 {
				return reqErr(kerr.InvalidConfig, "Unknown topic config name: %s", c.Name)
			}
			if entries[0].Type != configTypeList {
				return reqErr(kerr.InvalidConfig, "Config value append is not allowed for config key: %s", c.Name)
			}
			cur, ok := configs[c.Name]
			if !ok && entries[0].Value != nil {
				cur = *entries[0].Value
			}
			list := splitList(cur)
			var vals []string
			if c.Value != nil {
				vals = splitList(*c.Value)
			}
			for _, v := range vals {
				if c.Op == kmsg.IncrementalAlterConfigOpAppend {
					if !slices.Contains(list, v) {
						list = append(list, v)
					}
				} else {
					list = slices.DeleteFunc(list, func(s string) bool { return s == v })
				}
			}
			configs[c.Name] = strings.Join(list, ",")
		default:
			return reqErr(kerr.InvalidRequest, "Unknown alter config operation %d for %s", c.Op, c.Name)
		}
	}
	return b.setTopicConfigs(rr.ResourceName, configs, validateOnly, clientID)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
