package config

import (
	"fmt"
	"strings"
	"testing"
)

// show prints an entry compactly, e.g.
// segment.bytes=1000 src=1 ro=false sens=false type=3 [1:segment.bytes=1000 4:log.segment.bytes=2000 5:log.segment.bytes=1073741824]
func show(e Entry) string {
	var syns []string
	for _, s := range e.Synonyms {
		syns = append(syns, fmt.Sprintf("%d:%s=%s", s.Source, s.Name, deref(s.Value)))
	}
	return fmt.Sprintf("%s=%s src=%d ro=%v sens=%v type=%d [%s]", e.Name, deref(e.Value), e.Source, e.ReadOnly, e.Sensitive, e.Type, strings.Join(syns, " "))
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func describeOne(t *testing.T, entries []Entry, name string) Entry {
	t.Helper()
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("%s not described", name)
	return Entry{}
}

func TestDescribeTopic(t *testing.T) {
	b := mustBroker(t, map[string]string{
		"log.segment.bytes":   "2000000",
		"log.retention.hours": "1",
		"log.roll.ms":         "5000",
		"log.roll.hours":      "3",
	})
	overrides := map[string]string{"segment.bytes": "1000000", "cleanup.policy": "compact , delete"}
	all := b.DescribeTopic(overrides, nil)
	if len(all) != len(topicKeys) {
		t.Errorf("described %d keys, want %d", len(all), len(topicKeys))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Name >= all[i].Name {
			t.Errorf("not sorted: %s before %s", all[i-1].Name, all[i].Name)
		}
	}
	for _, want := range []string{
		// Override, then the broker synonym set in the file, then its default.
		"segment.bytes=1000000 src=1 ro=false sens=false type=3 [1:segment.bytes=1000000 4:log.segment.bytes=2000000 5:log.segment.bytes=1073741824]",
		// Lists are reported canonically.
		"cleanup.policy=compact,delete src=1 ro=false sens=false type=7 [1:cleanup.policy=compact,delete 5:log.cleanup.policy=delete]",
		// Kafka lists synonyms only from the first broker synonym on:
		// log.retention.ms is not set, so none are reported and the source
		// is DEFAULT_CONFIG, though the value comes from log.retention.hours.
		"retention.ms=3600000 src=5 ro=false sens=false type=5 []",
		// log.roll.ms is set: it comes first, then log.roll.hours set, then
		// log.roll.hours' default.
		"segment.ms=5000 src=4 ro=false sens=false type=5 [4:log.roll.ms=5000 4:log.roll.hours=3 5:log.roll.hours=168]",
		"compression.type=producer src=5 ro=false sens=false type=2 [5:compression.type=producer]",
		"message.timestamp.type=CreateTime src=5 ro=false sens=false type=2 [5:log.message.timestamp.type=CreateTime]",
		"message.timestamp.after.max.ms=9223372036854775807 src=5 ro=false sens=false type=5 [5:log.message.timestamp.after.max.ms=9223372036854775807]",
		"min.cleanable.dirty.ratio=0.5 src=5 ro=false sens=false type=6 [5:log.cleaner.min.cleanable.ratio=0.5]",
		"max.message.bytes=1048588 src=5 ro=false sens=false type=3 [5:message.max.bytes=1048588]",
		"unclean.leader.election.enable=false src=5 ro=false sens=false type=1 [5:unclean.leader.election.enable=false]",
		"flush.ms=9223372036854775807 src=5 ro=false sens=false type=5 []",
		"remote.storage.enable=false src=5 ro=false sens=false type=1 []",
	} {
		name, _, _ := strings.Cut(want, "=")
		if got := show(describeOne(t, all, name)); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}

	some := b.DescribeTopic(nil, []string{"retention.ms", "nope", "segment.bytes", "retention.ms"})
	if len(some) != 2 || some[0].Name != "retention.ms" || some[1].Name != "segment.bytes" {
		t.Errorf("filtered describe: %v", some)
	}
	if got, want := show(some[1]), "segment.bytes=2000000 src=4 ro=false sens=false type=3 [4:log.segment.bytes=2000000 5:log.segment.bytes=1073741824]"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if some[0].Documentation == "" {
		t.Error("no documentation")
	}

	// With log.retention.ms set, the whole group is reported.
	b = mustBroker(t, map[string]string{"log.retention.ms": "5000", "log.retention.hours": "1"})
	if got, want := show(describeOne(t, b.DescribeTopic(nil, []string{"retention.ms"}), "retention.ms")),
		"retention.ms=5000 src=4 ro=false sens=false type=5 [4:log.retention.ms=5000 4:log.retention.hours=1 5:log.retention.hours=168]"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestDescribeBroker(t *testing.T) {
	b := mustBroker(t, map[string]string{
		"num.partitions":        "3",
		"ssl.keystore.password": "s3cret",
		"log.retention.ms":      "5000",
		"listener.name.sasl_ssl.plain.sasl.jaas.config": "secret stuff",
		"listener.name.internal.ssl.client.auth":        "required",
	})
	all := b.DescribeBroker(nil)
	if len(all) != len(brokerKeys)+2 {
		t.Errorf("described %d keys, want %d", len(all), len(brokerKeys)+2)
	}
	for _, want := range []string{
		"num.partitions=3 src=4 ro=true sens=false type=3 [4:num.partitions=3 5:num.partitions=1]",
		"num.io.threads=8 src=5 ro=false sens=false type=3 [5:num.io.threads=8]",
		"ssl.keystore.password=null src=4 ro=false sens=true type=9 [4:ssl.keystore.password=null]",
		"ssl.key.password=null src=5 ro=false sens=true type=9 []",
		"log.retention.ms=5000 src=4 ro=false sens=false type=5 [4:log.retention.ms=5000 5:log.retention.hours=168]",
		"log.retention.hours=168 src=5 ro=true sens=false type=3 [5:log.retention.hours=168]",
		"log.retention.minutes=null src=5 ro=true sens=false type=3 []",
		"log.dirs=null src=5 ro=true sens=false type=2 []",
		"log.cleaner.io.max.bytes.per.second=1.7976931348623157E308 src=5 ro=false sens=false type=6 [5:log.cleaner.io.max.bytes.per.second=1.7976931348623157E308]",
		"node.id=1 src=5 ro=true sens=false type=3 [5:node.id=1]",
		"listeners=PLAINTEXT://127.0.0.1:9092 src=5 ro=false sens=false type=2 [5:listeners=PLAINTEXT://127.0.0.1:9092]",
		"listener.name.sasl_ssl.plain.sasl.jaas.config=null src=4 ro=false sens=true type=9 [4:listener.name.sasl_ssl.plain.sasl.jaas.config=null]",
		"listener.name.internal.ssl.client.auth=required src=4 ro=false sens=false type=2 [4:listener.name.internal.ssl.client.auth=required 5:ssl.client.auth=none]",
	} {
		name, _, _ := strings.Cut(want, "=")
		if got := show(describeOne(t, all, name)); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}

	// node.id and broker.id are each other's synonyms (populateSynonyms).
	b = mustBroker(t, map[string]string{"node.id": "7"})
	got := b.DescribeBroker([]string{"broker.id", "node.id"})
	if len(got) != 2 || show(got[0]) != "broker.id=7 src=4 ro=true sens=false type=3 [4:broker.id=7 5:broker.id=1]" ||
		show(got[1]) != "node.id=7 src=4 ro=true sens=false type=3 [4:node.id=7 5:node.id=1]" {
		t.Errorf("got %s / %s", show(got[0]), show(got[1]))
	}
}

// Every default in the tables must be valid for its own key, and printed in
// canonical form, since DescribeConfigs reports it as is.
func TestDefaultsCanonical(t *testing.T) {
	for _, table := range [][]keyDef{brokerKeys, topicKeys} {
		for _, k := range table {
			if k.Default == nil {
				continue
			}
			val, reason := parse(k.Type, *k.Default)
			if reason == "" && k.Check != nil {
				reason = k.Check(val)
			}
			if reason != "" {
				t.Errorf("%s: default %q: %s", k.Name, *k.Default, reason)
				continue
			}
			if got := format(val); got != *k.Default {
				t.Errorf("%s: default %q is not canonical (%q)", k.Name, *k.Default, got)
			}
			if k.Doc == "" {
				t.Errorf("%s: no documentation", k.Name)
			}
		}
	}
	// A topic key and its first broker synonym share a default (after unit
	// conversion), so a topic without overrides on a default broker reports
	// Kafka's topic default.
	b := mustBroker(t, nil)
	for _, k := range topicKeys {
		if got := b.topicValue(&k, nil); got != *k.Default {
			t.Errorf("%s resolves to %q on a default broker, want %q", k.Name, got, *k.Default)
		}
	}
}
