package config

import "sort"

// Config sources, numbered as Kafka's DescribeConfigs reports them
// (ConfigEntry.ConfigSource).
const (
	SourceUnknown              int8 = 0
	SourceTopic                int8 = 1 // TOPIC_CONFIG
	SourceDynamicBroker        int8 = 2 // DYNAMIC_BROKER_CONFIG
	SourceDynamicDefaultBroker int8 = 3 // DYNAMIC_DEFAULT_BROKER_CONFIG
	SourceStaticBroker         int8 = 4 // STATIC_BROKER_CONFIG
	SourceDefault              int8 = 5 // DEFAULT_CONFIG
)

// Entry is one config of a DescribeConfigs response.
type Entry struct {
	Name          string
	Value         *string // nil for a null value and for every password
	Source        int8
	ReadOnly      bool
	Sensitive     bool
	Type          int8 // a Type
	Documentation string
	Synonyms      []Synonym
}

// Synonym is one entry of a DescribeConfigs synonym list.
type Synonym struct {
	Name   string
	Value  *string
	Source int8
}

// DescribeTopic describes a topic with the given overrides: every topic key,
// or only those in keys if keys is non-nil (unknown names are left out).
// Entries are sorted by name.
//
// Synonyms follow Kafka 3.9's ConfigHelper exactly: the topic override if
// any, then the values of the topic key's first broker synonym and its group
// (log.retention.ms, log.retention.minutes, log.retention.hours), those set
// in the broker's config first and the defaults after, dropping entries
// until the first one named after the first broker synonym. So retention.ms
// reports no broker synonyms unless log.retention.ms itself is set, as
// Kafka does, while segment.bytes reports log.segment.bytes (set, then
// default). Source is that of the first synonym, or DEFAULT_CONFIG.
func (b *Broker) DescribeTopic(overrides map[string]string, keys []string) []Entry {
	var out []Entry
	for _, k := range selectKeys(topicKeys, topicIndex, keys) {
		value := b.topicValue(k, overrides)
		var syns []Synonym
		if raw, ok := overrides[k.Name]; ok {
			syns = append(syns, Synonym{Name: k.Name, Value: strp(canonical(k.Type, raw)), Source: SourceTopic})
		}
		if len(k.Synonyms) > 0 {
			first := k.Synonyms[0].Name
			syns = append(syns, b.configSynonyms(first, brokerSynonyms(first), false)...)
		}
		e := Entry{
			Name:          k.Name,
			Value:         strp(value),
			Source:        SourceDefault,
			Type:          int8(k.Type),
			Documentation: k.Doc,
			Synonyms:      syns,
		}
		if k.Default == nil && value == "" {
			e.Value = nil
		}
		if len(syns) > 0 {
			e.Source = syns[0].Source
		}
		out = append(out, e)
	}
	return out
}

// DescribeBroker describes this broker (a BROKER resource named by its id):
// every broker key, or only those in keys if keys is non-nil, plus any
// listener.name. keys that were set. Keys set in the file or with --set are
// STATIC_BROKER_CONFIG, others DEFAULT_CONFIG; passwords are null and
// sensitive. Entries are sorted by name.
func (b *Broker) DescribeBroker(keys []string) []Entry {
	var out []Entry
	for _, k := range selectKeys(brokerKeys, brokerIndex, keys) {
		out = append(out, b.brokerEntry(k.Name, k, clone(b.values[k.Name])))
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	for _, name := range sortedKeys(b.set) {
		if base, _, ok := splitListenerKey(name); ok && (keys == nil || want[name]) {
			raw := b.set[name]
			out = append(out, b.brokerEntry(name, brokerIndex[base], strp(canonical(brokerIndex[base].Type, raw))))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (b *Broker) brokerEntry(name string, k *keyDef, value *string) Entry {
	sensitive := k.Type == TypePassword
	if sensitive {
		value = nil
	}
	syns := b.configSynonyms(name, brokerSynonyms(name), sensitive)
	e := Entry{
		Name:          name,
		Value:         value,
		Source:        SourceDefault,
		ReadOnly:      !k.Dynamic,
		Sensitive:     sensitive,
		Type:          int8(k.Type),
		Documentation: k.Doc,
		Synonyms:      syns,
	}
	if len(syns) > 0 {
		e.Source = syns[0].Source
	}
	return e
}

// configSynonyms is Kafka's ConfigHelper.configSynonyms without the dynamic
// layers: the static settings of group in order, then their defaults, then
// everything before the first entry called name is dropped.
func (b *Broker) configSynonyms(name string, group []string, sensitive bool) []Synonym {
	var syns []Synonym
	for _, g := range group {
		if raw, ok := b.originals[g]; ok {
			syns = append(syns, Synonym{Name: g, Value: hide(strp(raw), sensitive), Source: SourceStaticBroker})
		}
	}
	for _, g := range group {
		if k := brokerIndex[g]; k != nil && k.Default != nil {
			syns = append(syns, Synonym{Name: g, Value: hide(clone(k.Default), sensitive), Source: SourceDefault})
		}
	}
	for len(syns) > 0 && syns[0].Name != name {
		syns = syns[1:]
	}
	if len(syns) == 0 {
		return nil
	}
	return syns
}

func selectKeys(all []keyDef, idx map[string]*keyDef, keys []string) []*keyDef {
	var out []*keyDef
	if keys == nil {
		for i := range all {
			out = append(out, &all[i])
		}
	} else {
		seen := map[string]bool{}
		for _, n := range keys {
			if k := idx[n]; k != nil && !seen[n] {
				seen[n] = true
				out = append(out, k)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func strp(s string) *string { return &s }

// clone copies a table string so callers cannot change the tables through
// an Entry.
func clone(s *string) *string {
	if s == nil {
		return nil
	}
	return strp(*s)
}

func hide(s *string, sensitive bool) *string {
	if sensitive {
		return nil
	}
	return s
}
