package broker

// DescribeConfigs, versions 0-4.
//
// TOPIC resources report every topic config (or the named ones; unknown
// names are left out, as Kafka does) with its effective value and source:
// TOPIC_CONFIG for an override, STATIC_BROKER_CONFIG when a broker synonym is
// set (e.g. log.retention.hours for retention.ms), DEFAULT_CONFIG otherwise.
// BROKER resources (name = our node id, or "" for cluster-wide defaults)
// report every broker config; passwords are null and sensitive. v1+ adds
// sources and, on request, synonyms in Kafka's precedence order (KIP-226);
// v3+ types and, on request, documentation (KIP-569). v0 reports IsDefault
// instead of a source. BROKER_LOGGER is not supported (INVALID_REQUEST).

import (
	"context"
	"strconv"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeConfigs, 0, 4, handleDescribeConfigs) }

func handleDescribeConfigs(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DescribeConfigsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var entries []config.Entry
		var err error
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t := b.meta.Image().Topic(rr.ResourceName)
			if t == nil {
				err = reqErr(kerr.UnknownTopicOrPartition, "Topic '%s' does not exist.", rr.ResourceName)
				break
			}
			entries = b.cfg.DescribeTopic(t.Configs, rr.ConfigNames)
		case kmsg.ConfigResourceTypeBroker:
			if err = b.checkBrokerResource(rr.ResourceName); err == nil {
				entries = b.cfg.DescribeBroker(rr.ConfigNames)
			}
		default:
			err = reqErr(kerr.InvalidRequest, "Resource type %s is not supported.", rr.ResourceType)
		}
		sr.ErrorCode, sr.ErrorMessage = codeAndMessage(err)
		for _, e := range entries {
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.ReadOnly, c.IsSensitive = e.Name, e.Value, e.ReadOnly, e.Sensitive
			c.Source = kmsg.ConfigSource(e.Source)
			c.IsDefault = e.Source == int8(kmsg.ConfigSourceDefaultConfig)
			if req.IncludeSynonyms {
				for _, s := range e.Synonyms {
					c.ConfigSynonyms = append(c.ConfigSynonyms, kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{
						Name: s.Name, Value: s.Value, Source: kmsg.ConfigSource(s.Source)})
				}
			}
			c.ConfigType = kmsg.ConfigType(e.Type)
			if req.IncludeDocumentation && e.Documentation != "" {
				doc := e.Documentation
				c.Documentation = &doc
			}
			sr.Configs = append(sr.Configs, c)
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

// checkBrokerResource accepts our node id or "" (cluster default), as Kafka.
func (b *Broker) checkBrokerResource(name string) error {
	if name == "" || name == strconv.Itoa(int(b.nodeID)) {
		return nil
	}
	return reqErr(kerr.InvalidRequest, "Unexpected broker id, expected %d or empty string, but received %s", b.nodeID, name)
}
