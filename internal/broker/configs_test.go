package broker_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describedConfig is one entry of a DescribeConfigs answer.
type describedConfig struct {
	value    string // "<null>" for null
	source   kmsg.ConfigSource
	synonyms string // "name=value/SOURCE,..."
}

func describeTopicConfigs(t *testing.T, r *rawConn, topic string, names ...string) map[string]describedConfig {
	t.Helper()
	return describeConfigs(t, r, kmsg.ConfigResourceTypeTopic, topic, names...)
}

func describeConfigs(t *testing.T, r *rawConn, typ kmsg.ConfigResourceType, name string, names ...string) map[string]describedConfig {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.SetVersion(4)
	req.IncludeSynonyms = true
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = typ, name
	rr.ConfigNames = names
	req.Resources = append(req.Resources, rr)
	resp := do[*kmsg.DescribeConfigsResponse](t, r, req)
	if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != 0 {
		t.Fatalf("describe %v %q: %+v", typ, name, resp.Resources)
	}
	out := map[string]describedConfig{}
	for _, c := range resp.Resources[0].Configs {
		d := describedConfig{value: "<null>", source: c.Source}
		if c.Value != nil {
			d.value = *c.Value
		}
		var syns []string
		for _, s := range c.ConfigSynonyms {
			v := "<null>"
			if s.Value != nil {
				v = *s.Value
			}
			syns = append(syns, fmt.Sprintf("%s=%s/%s", s.Name, v, s.Source))
		}
		d.synonyms = strings.Join(syns, ",")
		out[c.Name] = d
	}
	return out
}

func expectConfig(t *testing.T, got map[string]describedConfig, name, value string, source kmsg.ConfigSource) {
	t.Helper()
	c, ok := got[name]
	if !ok {
		t.Fatalf("%s not described", name)
	}
	if c.value != value || c.source != source {
		t.Fatalf("%s = %s (%s), want %s (%s); synonyms %s", name, c.value, c.source, value, source, c.synonyms)
	}
}

func legacyAlter(t *testing.T, r *rawConn, topic string, validateOnly bool, kv ...string) kmsg.AlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrAlterConfigsRequest()
	req.SetVersion(2)
	req.ValidateOnly = validateOnly
	rr := kmsg.NewAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	for i := 0; i < len(kv); i += 2 {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = kv[i], sp(kv[i+1])
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	return do[*kmsg.AlterConfigsResponse](t, r, req).Resources[0]
}

type incOp struct {
	name  string
	op    kmsg.IncrementalAlterConfigOp
	value *string
}

func incAlter(t *testing.T, r *rawConn, typ kmsg.ConfigResourceType, name string, validateOnly bool, ops ...incOp) kmsg.IncrementalAlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.SetVersion(1)
	req.ValidateOnly = validateOnly
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = typ, name
	for _, o := range ops {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = o.name, o.op, o.value
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	return do[*kmsg.IncrementalAlterConfigsResponse](t, r, req).Resources[0]
}

func TestConfigsRoundTrip(t *testing.T) {
	b := kafkatest.Start(t, "log.segment.bytes=2000000")
	createTopic(t, b, "cfg", 1, map[string]*string{"retention.ms": sp("12345"), "cleanup.policy": sp("compact"),
		"segment.bytes": sp("4096")})
	r := dialRaw(t, b.Addr)
	top := t

	t.Run("describeAfterCreate", func(t *testing.T) {
		got := describeTopicConfigs(t, r, "cfg")
		expectConfig(t, got, "retention.ms", "12345", kmsg.ConfigSourceDynamicTopicConfig)
		expectConfig(t, got, "cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig)
		expectConfig(t, got, "segment.bytes", "4096", kmsg.ConfigSourceDynamicTopicConfig)
		expectConfig(t, got, "max.message.bytes", "1048588", kmsg.ConfigSourceDefaultConfig)
		if s := got["segment.bytes"].synonyms; s != "segment.bytes=4096/DYNAMIC_TOPIC_CONFIG,log.segment.bytes=2000000/STATIC_BROKER_CONFIG,log.segment.bytes=1073741824/DEFAULT_CONFIG" {
			t.Errorf("segment.bytes synonyms: %s", s)
		}
		if s := got["retention.ms"].synonyms; !strings.HasPrefix(s, "retention.ms=12345/DYNAMIC_TOPIC_CONFIG") {
			t.Errorf("retention.ms synonyms: %s", s)
		}
		if s := got["max.message.bytes"].synonyms; s != "message.max.bytes=1048588/DEFAULT_CONFIG" {
			t.Errorf("max.message.bytes synonyms: %s", s)
		}
		// Only the named configs; unknown names are left out.
		if got := describeTopicConfigs(t, r, "cfg", "retention.ms", "no.such.config"); len(got) != 1 {
			t.Errorf("describing 2 names (one unknown) returned %d entries", len(got))
		}
	})

	t.Run("describeInheritedFromBroker", func(t *testing.T) {
		createTopic(t, b, "cfg-plain", 1, nil)
		got := describeTopicConfigs(t, r, "cfg-plain", "segment.bytes", "cleanup.policy")
		expectConfig(t, got, "segment.bytes", "2000000", kmsg.ConfigSourceStaticBrokerConfig)
		expectConfig(t, got, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)
	})

	t.Run("legacyAlterReplacesAll", func(t *testing.T) {
		if sr := legacyAlter(t, r, "cfg", false, "segment.bytes", "8192", "max.message.bytes", "5000"); sr.ErrorCode != 0 {
			t.Fatalf("alter: %d %v", sr.ErrorCode, sr.ErrorMessage)
		}
		got := describeTopicConfigs(t, r, "cfg")
		expectConfig(t, got, "segment.bytes", "8192", kmsg.ConfigSourceDynamicTopicConfig)
		expectConfig(t, got, "max.message.bytes", "5000", kmsg.ConfigSourceDynamicTopicConfig)
		expectConfig(t, got, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
		expectConfig(t, got, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)
	})

	t.Run("incremental", func(t *testing.T) {
		steps := []struct {
			op   incOp
			want string
			src  kmsg.ConfigSource
		}{
			{incOp{"cleanup.policy", kmsg.IncrementalAlterConfigOpSet, sp("compact")}, "compact", kmsg.ConfigSourceDynamicTopicConfig},
			{incOp{"cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, sp("delete")}, "compact,delete", kmsg.ConfigSourceDynamicTopicConfig},
			{incOp{"cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, sp("delete")}, "compact,delete", kmsg.ConfigSourceDynamicTopicConfig},
			{incOp{"cleanup.policy", kmsg.IncrementalAlterConfigOpSubtract, sp("compact")}, "delete", kmsg.ConfigSourceDynamicTopicConfig},
			{incOp{"cleanup.policy", kmsg.IncrementalAlterConfigOpDelete, nil}, "delete", kmsg.ConfigSourceDefaultConfig},
			// APPEND with no override starts from the default ("delete").
			{incOp{"cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, sp("compact")}, "delete,compact", kmsg.ConfigSourceDynamicTopicConfig},
		}
		for i, s := range steps {
			if sr := incAlter(t, r, kmsg.ConfigResourceTypeTopic, "cfg", false, s.op); sr.ErrorCode != 0 {
				t.Fatalf("step %d: error %d %v", i, sr.ErrorCode, sr.ErrorMessage)
			}
			expectConfig(t, describeTopicConfigs(t, r, "cfg", "cleanup.policy"), "cleanup.policy", s.want, s.src)
		}
		// Other overrides are untouched by incremental changes.
		expectConfig(t, describeTopicConfigs(t, r, "cfg", "segment.bytes"), "segment.bytes", "8192", kmsg.ConfigSourceDynamicTopicConfig)
		// APPEND on a non-list config is INVALID_CONFIG.
		if sr := incAlter(t, r, kmsg.ConfigResourceTypeTopic, "cfg", false, incOp{"retention.ms", kmsg.IncrementalAlterConfigOpAppend, sp("5")}); sr.ErrorCode != kerr.InvalidConfig.Code {
			t.Fatalf("append to retention.ms: error %d", sr.ErrorCode)
		}
		// The same key twice is INVALID_REQUEST.
		if sr := incAlter(t, r, kmsg.ConfigResourceTypeTopic, "cfg", false,
			incOp{"retention.ms", kmsg.IncrementalAlterConfigOpSet, sp("5")}, incOp{"retention.ms", kmsg.IncrementalAlterConfigOpDelete, nil}); sr.ErrorCode != kerr.InvalidRequest.Code {
			t.Fatalf("duplicate key: error %d", sr.ErrorCode)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		before := describeTopicConfigs(t, r, "cfg")
		for _, tc := range []struct{ k, v string }{
			{"retention.ms", "abc"}, {"segment.bytes", "1"}, {"cleanup.policy", "shred"}, {"no.such.key", "1"},
			{"log.retention.ms", "1000"}, // a broker key, not a topic key
		} {
			if sr := incAlter(t, r, kmsg.ConfigResourceTypeTopic, "cfg", false, incOp{tc.k, kmsg.IncrementalAlterConfigOpSet, sp(tc.v)}); sr.ErrorCode != kerr.InvalidConfig.Code {
				t.Errorf("incremental %s=%s: error %d, want INVALID_CONFIG", tc.k, tc.v, sr.ErrorCode)
			}
			if sr := legacyAlter(t, r, "cfg", false, tc.k, tc.v); sr.ErrorCode != kerr.InvalidConfig.Code {
				t.Errorf("legacy %s=%s: error %d, want INVALID_CONFIG", tc.k, tc.v, sr.ErrorCode)
			}
		}
		ct := kmsg.NewPtrCreateTopicsRequest()
		ct.SetVersion(7)
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "cfg-bad", 1, 1
		rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: sp("soon")}}
		ct.Topics = append(ct.Topics, rt)
		if st := do[*kmsg.CreateTopicsResponse](t, r, ct).Topics[0]; st.ErrorCode != kerr.InvalidConfig.Code {
			t.Errorf("create with retention.ms=soon: error %d", st.ErrorCode)
		}
		if sr := incAlter(t, r, kmsg.ConfigResourceTypeTopic, "no-such-topic", false, incOp{"retention.ms", kmsg.IncrementalAlterConfigOpSet, sp("5")}); sr.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("unknown topic: error %d", sr.ErrorCode)
		}
		if after := describeTopicConfigs(t, r, "cfg"); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("refused changes changed the configs")
		}
	})

	t.Run("validateOnly", func(t *testing.T) {
		before := describeTopicConfigs(t, r, "cfg")
		if sr := incAlter(t, r, kmsg.ConfigResourceTypeTopic, "cfg", true, incOp{"retention.ms", kmsg.IncrementalAlterConfigOpSet, sp("999")}); sr.ErrorCode != 0 {
			t.Fatalf("validate-only incremental: error %d", sr.ErrorCode)
		}
		if sr := legacyAlter(t, r, "cfg", true, "retention.ms", "999"); sr.ErrorCode != 0 {
			t.Fatalf("validate-only legacy: error %d", sr.ErrorCode)
		}
		if sr := legacyAlter(t, r, "cfg", true, "retention.ms", "x"); sr.ErrorCode != kerr.InvalidConfig.Code {
			t.Fatalf("validate-only legacy with a bad value: error %d", sr.ErrorCode)
		}
		if after := describeTopicConfigs(t, r, "cfg"); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("validate-only changed the configs")
		}
	})

	t.Run("persistsAcrossRestart", func(t *testing.T) {
		if sr := incAlter(t, r, kmsg.ConfigResourceTypeTopic, "cfg", false, incOp{"retention.ms", kmsg.IncrementalAlterConfigOpSet, sp("77777")}); sr.ErrorCode != 0 {
			t.Fatal(sr.ErrorCode)
		}
		before := describeTopicConfigs(t, r, "cfg")
		b = b.Restart(top)
		r = dialRaw(top, b.Addr)
		after := describeTopicConfigs(t, r, "cfg")
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("configs changed across restart:\nbefore %v\nafter  %v", before, after)
		}
		expectConfig(t, after, "retention.ms", "77777", kmsg.ConfigSourceDynamicTopicConfig)
		expectConfig(t, after, "cleanup.policy", "delete,compact", kmsg.ConfigSourceDynamicTopicConfig)
		// The effective config reached the partition too.
		if p := b.Replicas().Partition("cfg", 0); p == nil || p.Config().RetentionMs != 77777 || p.Config().SegmentBytes != 8192 {
			t.Fatalf("partition config after restart: %+v", p.Config())
		}
	})

	t.Run("broker", func(t *testing.T) {
		got := describeConfigs(t, r, kmsg.ConfigResourceTypeBroker, "1")
		expectConfig(t, got, "log.segment.bytes", "2000000", kmsg.ConfigSourceStaticBrokerConfig)
		expectConfig(t, got, "num.partitions", "1", kmsg.ConfigSourceDefaultConfig)
		expectConfig(t, got, "log.dirs", b.Dir, kmsg.ConfigSourceStaticBrokerConfig)
		if len(got) < 50 {
			t.Errorf("broker describe returned %d configs", len(got))
		}
		if got := describeConfigs(t, r, kmsg.ConfigResourceTypeBroker, ""); len(got) == 0 {
			t.Errorf("cluster-default broker resource returned nothing")
		}
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.SetVersion(4)
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, "2"
		req.Resources = append(req.Resources, rr)
		if e := do[*kmsg.DescribeConfigsResponse](t, r, req).Resources[0].ErrorCode; e != kerr.InvalidRequest.Code {
			t.Errorf("broker 2: error %d", e)
		}
		// v0 reports IsDefault instead of sources.
		req = kmsg.NewPtrDescribeConfigsRequest()
		req.SetVersion(0)
		rr = kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "cfg"
		rr.ConfigNames = []string{"retention.ms", "flush.ms"}
		req.Resources = append(req.Resources, rr)
		cs := do[*kmsg.DescribeConfigsResponse](t, r, req).Resources[0].Configs
		if len(cs) != 2 || cs[0].Name != "flush.ms" || !cs[0].IsDefault || cs[1].IsDefault {
			t.Errorf("v0 describe: %+v", cs)
		}
		// Dynamic broker changes are refused.
		if sr := incAlter(t, r, kmsg.ConfigResourceTypeBroker, "1", false, incOp{"log.retention.ms", kmsg.IncrementalAlterConfigOpSet, sp("5")}); sr.ErrorCode != kerr.InvalidConfig.Code {
			t.Errorf("broker incremental alter: error %d", sr.ErrorCode)
		}
	})
}
