package config

import (
	"fmt"
	"reflect"
	"strconv"
)

// Topic is a topic's effective configuration: for each key the topic
// override, else the first broker synonym that has a value (set or default),
// else Kafka's topic default.
type Topic struct {
	CleanupPolicy                   []string `config:"cleanup.policy"`
	CompressionType                 string   `config:"compression.type"`
	CompressionGzipLevel            int      `config:"compression.gzip.level"`
	CompressionLz4Level             int      `config:"compression.lz4.level"`
	CompressionZstdLevel            int      `config:"compression.zstd.level"`
	ConfluentKeySchemaValidation    bool     `config:"confluent.key.schema.validation"`   // samsa extension, Confluent Server's name
	ConfluentValueSchemaValidation  bool     `config:"confluent.value.schema.validation"` // samsa extension, Confluent Server's name
	ConfluentKeySubjectStrategy     string   `config:"confluent.key.subject.name.strategy"`
	ConfluentValueSubjectStrategy   string   `config:"confluent.value.subject.name.strategy"`
	DeleteRetentionMs               int64    `config:"delete.retention.ms"`
	FileDeleteDelayMs               int64    `config:"file.delete.delay.ms"`
	FlushMessages                   int64    `config:"flush.messages"`
	FlushMs                         int64    `config:"flush.ms"`
	FollowerReplicationThrottled    []string `config:"follower.replication.throttled.replicas"`
	IndexIntervalBytes              int32    `config:"index.interval.bytes"`
	LeaderReplicationThrottled      []string `config:"leader.replication.throttled.replicas"`
	LocalRetentionBytes             int64    `config:"local.retention.bytes"`
	LocalRetentionMs                int64    `config:"local.retention.ms"`
	MaxCompactionLagMs              int64    `config:"max.compaction.lag.ms"`
	MaxMessageBytes                 int32    `config:"max.message.bytes"`
	MessageDownconversionEnable     bool     `config:"message.downconversion.enable"`
	MessageFormatVersion            string   `config:"message.format.version"`
	MessageTimestampAfterMaxMs      int64    `config:"message.timestamp.after.max.ms"`
	MessageTimestampBeforeMaxMs     int64    `config:"message.timestamp.before.max.ms"`
	MessageTimestampDifferenceMaxMs int64    `config:"message.timestamp.difference.max.ms"`
	MessageTimestampType            string   `config:"message.timestamp.type"` // "CreateTime" or "LogAppendTime"
	MinCleanableDirtyRatio          float64  `config:"min.cleanable.dirty.ratio"`
	MinCompactionLagMs              int64    `config:"min.compaction.lag.ms"`
	MinInsyncReplicas               int32    `config:"min.insync.replicas"`
	Preallocate                     bool     `config:"preallocate"`
	RemoteLogCopyDisable            bool     `config:"remote.log.copy.disable"`
	RemoteLogDeleteOnDisable        bool     `config:"remote.log.delete.on.disable"`
	RemoteStorageEnable             bool     `config:"remote.storage.enable"`
	RetentionBytes                  int64    `config:"retention.bytes"`
	RetentionMs                     int64    `config:"retention.ms"`
	SegmentBytes                    int32    `config:"segment.bytes"`
	SegmentIndexBytes               int32    `config:"segment.index.bytes"`
	SegmentJitterMs                 int64    `config:"segment.jitter.ms"`
	SegmentMs                       int64    `config:"segment.ms"`
	UncleanLeaderElectionEnable     bool     `config:"unclean.leader.election.enable"`
}

// Compacted reports whether cleanup.policy includes compact.
func (t *Topic) Compacted() bool { return contains(t.CleanupPolicy, "compact") }

// Deletes reports whether cleanup.policy includes delete.
func (t *Topic) Deletes() bool { return contains(t.CleanupPolicy, "delete") }

func init() {
	rt := reflect.TypeOf(Topic{})
	for i := 0; i < rt.NumField(); i++ {
		if key := rt.Field(i).Tag.Get("config"); topicIndex[key] == nil {
			panic("config: Topic field " + rt.Field(i).Name + " names unknown key " + key)
		}
	}
}

// ValidateTopicOverrides checks topic-level overrides as given to CreateTopics
// or AlterConfigs. It returns the first problem, in key order, as an *Error
// whose Msg the broker sends back with INVALID_CONFIG. It checks the
// overrides against Kafka's topic defaults; Broker.ValidateTopicOverrides
// also checks them against the broker's values.
func ValidateTopicOverrides(overrides map[string]string) error {
	for _, key := range sortedKeys(overrides) {
		raw := overrides[key]
		k := topicIndex[key]
		if k == nil {
			return unknownTopicKey(key)
		}
		val, reason := parse(k.Type, raw)
		if reason == "" && k.Check != nil {
			reason = k.Check(val)
		}
		if reason != "" {
			return invalid(key, raw, reason)
		}
	}
	return checkCompactionLag(func(key string) string {
		if raw, ok := overrides[key]; ok {
			return raw
		}
		return *topicIndex[key].Default
	})
}

// ValidateTopicOverrides is the package-level ValidateTopicOverrides, plus
// the checks Kafka makes against the values the topic would inherit from
// this broker.
func (b *Broker) ValidateTopicOverrides(overrides map[string]string) error {
	if err := ValidateTopicOverrides(overrides); err != nil {
		return err
	}
	return checkCompactionLag(func(key string) string {
		return b.topicValue(topicIndex[key], overrides)
	})
}

// checkCompactionLag is LogConfig.validateValues: min.compaction.lag.ms may
// not exceed max.compaction.lag.ms.
func checkCompactionLag(get func(string) string) error {
	minRaw, maxRaw := get("min.compaction.lag.ms"), get("max.compaction.lag.ms")
	minLag, err1 := strconv.ParseInt(minRaw, 10, 64)
	maxLag, err2 := strconv.ParseInt(maxRaw, 10, 64)
	if err1 == nil && err2 == nil && minLag > maxLag {
		return invalid("min.compaction.lag.ms", minRaw, fmt.Sprintf("must not be greater than max.compaction.lag.ms (%d)", maxLag))
	}
	return nil
}

func unknownTopicKey(key string) *Error {
	for _, k := range topicKeys {
		for _, s := range k.Synonyms {
			if s.Name == key && s.Name != k.Name {
				return &Error{Key: key, Msg: fmt.Sprintf("unknown config key %q (%q is a broker config; the topic config is %q)", key, key, k.Name)}
			}
		}
	}
	return unknown(key, names(topicKeys))
}

// ResolveTopic returns the effective configuration of a topic with the given
// overrides. Overrides should have passed ValidateTopicOverrides; one that
// does not parse is skipped.
func (b *Broker) ResolveTopic(overrides map[string]string) Topic {
	var t Topic
	rv := reflect.ValueOf(&t).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		k := topicIndex[rt.Field(i).Tag.Get("config")]
		s := b.topicValue(k, overrides)
		val, reason := parse(k.Type, s)
		if reason != "" {
			continue
		}
		setField(rv.Field(i), val)
	}
	return t
}

// topicValue resolves one topic key to its canonical string: the valid
// topic override, else the first broker synonym with a value (set or
// default), else the topic default. This is how Kafka builds a LogConfig
// from KafkaConfig.extractLogConfigMap plus the topic's overrides.
func (b *Broker) topicValue(k *keyDef, overrides map[string]string) string {
	if raw, ok := overrides[k.Name]; ok {
		if val, reason := parse(k.Type, raw); reason == "" && (k.Check == nil || k.Check(val) == "") {
			return format(val)
		}
	}
	for _, s := range k.Synonyms {
		bv := b.values[s.Name]
		if bv == nil {
			continue
		}
		if s.Scale == 1 && k.Name != "retention.ms" {
			return canonical(k.Type, *bv)
		}
		n, err := strconv.ParseInt(*bv, 10, 64)
		if err != nil {
			continue
		}
		// KafkaConfig.logRetentionTimeMillis: any negative retention means
		// unlimited, reported as -1.
		if k.Name == "retention.ms" && n < 0 {
			return "-1"
		}
		return strconv.FormatInt(n*s.Scale, 10)
	}
	if k.Default == nil {
		return ""
	}
	return *k.Default
}

// setField stores a parsed value into a struct field of a matching kind.
func setField(f reflect.Value, val any) {
	switch f.Kind() {
	case reflect.Bool:
		f.SetBool(val.(bool))
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
		f.SetInt(val.(int64))
	case reflect.Float64:
		f.SetFloat(val.(float64))
	case reflect.String:
		f.SetString(val.(string))
	case reflect.Slice:
		f.Set(reflect.ValueOf(val.([]string)))
	default:
		panic("config: unsupported field kind " + f.Kind().String())
	}
}
