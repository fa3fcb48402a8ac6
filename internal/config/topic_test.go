package config

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func mustBroker(t *testing.T, props map[string]string) *Broker {
	t.Helper()
	b, err := NewBroker(props)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestResolveTopicDefaults(t *testing.T) {
	got := mustBroker(t, nil).ResolveTopic(nil)
	want := Topic{
		CleanupPolicy: []string{"delete"}, CompressionType: "producer",
		CompressionGzipLevel: -1, CompressionLz4Level: 9, CompressionZstdLevel: 3,
		DeleteRetentionMs: 86400000, FileDeleteDelayMs: 60000,
		FlushMessages: math.MaxInt64, FlushMs: math.MaxInt64,
		FollowerReplicationThrottled: []string{}, LeaderReplicationThrottled: []string{},
		IndexIntervalBytes: 4096, LocalRetentionBytes: -2, LocalRetentionMs: -2,
		MaxCompactionLagMs: math.MaxInt64, MaxMessageBytes: 1048588,
		MessageDownconversionEnable: true, MessageFormatVersion: "3.0-IV1",
		MessageTimestampAfterMaxMs: math.MaxInt64, MessageTimestampBeforeMaxMs: math.MaxInt64,
		MessageTimestampDifferenceMaxMs: math.MaxInt64, MessageTimestampType: "CreateTime",
		MinCleanableDirtyRatio: 0.5, MinInsyncReplicas: 1, RetentionBytes: -1, RetentionMs: 604800000,
		SegmentBytes: 1073741824, SegmentIndexBytes: 10485760, SegmentMs: 604800000,
		ConfluentKeySubjectStrategy:   "io.confluent.kafka.serializers.subject.TopicNameStrategy",
		ConfluentValueSubjectStrategy: "io.confluent.kafka.serializers.subject.TopicNameStrategy",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestResolveTopicPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name      string
		broker    map[string]string
		overrides map[string]string
		want      int64
	}{
		{"default", nil, nil, 7 * 24 * hourMs},
		{"log.retention.hours", map[string]string{"log.retention.hours": "1"}, nil, hourMs},
		{"minutes beat hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "30"}, nil, 30 * minuteMs},
		{"ms beats minutes", map[string]string{"log.retention.minutes": "30", "log.retention.ms": "1234"}, nil, 1234},
		{"negative broker retention is -1", map[string]string{"log.retention.hours": "-5"}, nil, -1},
		{"override beats broker", map[string]string{"log.retention.hours": "1"}, map[string]string{"retention.ms": "1000"}, 1000},
		{"override -1", map[string]string{"log.retention.ms": "1000"}, map[string]string{"retention.ms": "-1"}, -1},
		{"invalid override falls back", map[string]string{"log.retention.hours": "2"}, map[string]string{"retention.ms": "soon"}, 2 * hourMs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustBroker(t, tc.broker).ResolveTopic(tc.overrides).RetentionMs; got != tc.want {
				t.Errorf("retention.ms = %d, want %d", got, tc.want)
			}
		})
	}

	b := mustBroker(t, map[string]string{
		"log.roll.hours": "2", "log.segment.bytes": "1048576", "message.max.bytes": "2000000",
		"log.cleanup.policy": "compact", "compression.type": "zstd", "log.message.timestamp.type": "LogAppendTime",
		"log.flush.scheduler.interval.ms": "1000", "unclean.leader.election.enable": "true",
	})
	got := b.ResolveTopic(map[string]string{"max.message.bytes": "500", "cleanup.policy": "compact,delete"})
	if got.SegmentMs != 2*hourMs || got.SegmentBytes != 1048576 || got.MaxMessageBytes != 500 ||
		!reflect.DeepEqual(got.CleanupPolicy, []string{"compact", "delete"}) || got.CompressionType != "zstd" ||
		got.MessageTimestampType != "LogAppendTime" || got.FlushMs != 1000 || !got.UncleanLeaderElectionEnable {
		t.Errorf("resolved %+v", got)
	}
	if !got.Compacted() || !got.Deletes() {
		t.Errorf("compacted %v deletes %v", got.Compacted(), got.Deletes())
	}
}

func TestValidateTopicOverrides(t *testing.T) {
	for _, tc := range []struct {
		overrides map[string]string
		key, want string
	}{
		{map[string]string{"retention.ms": "abc"}, "retention.ms", `invalid value "abc" for "retention.ms": not an integer`},
		{map[string]string{"retention.ms": "-2"}, "retention.ms", `invalid value "-2" for "retention.ms": must be at least -1`},
		{map[string]string{"segment.bytes": "13"}, "segment.bytes", `invalid value "13" for "segment.bytes": must be at least 14`},
		{map[string]string{"cleanup.policy": "compact,archive"}, "cleanup.policy", `invalid value "compact,archive" for "cleanup.policy": "archive" is not one of: compact, delete`},
		{map[string]string{"compression.type": "none"}, "compression.type", `invalid value "none" for "compression.type": must be one of: uncompressed, zstd, lz4, snappy, gzip, producer`},
		{map[string]string{"message.timestamp.type": "createtime"}, "message.timestamp.type", `invalid value "createtime" for "message.timestamp.type": must be one of: CreateTime, LogAppendTime`},
		{map[string]string{"min.cleanable.dirty.ratio": "2"}, "min.cleanable.dirty.ratio", `invalid value "2" for "min.cleanable.dirty.ratio": must be between 0.0 and 1.0`},
		{map[string]string{"min.insync.replicas": "0"}, "min.insync.replicas", `invalid value "0" for "min.insync.replicas": must be at least 1`},
		{map[string]string{"compression.zstd.level": "23"}, "compression.zstd.level", `invalid value "23" for "compression.zstd.level": must be between -131072 and 22`},
		{map[string]string{"preallocate": "1"}, "preallocate", `invalid value "1" for "preallocate": not a boolean (true or false)`},
		{map[string]string{"leader.replication.throttled.replicas": "0:1,x"}, "leader.replication.throttled.replicas", `invalid value "0:1,x" for "leader.replication.throttled.replicas": must be * or a list of partition:broker pairs such as 0:101,1:102`},
		{map[string]string{"retention.mss": "1"}, "retention.mss", `unknown config key "retention.mss" (did you mean "retention.ms"?)`},
		{map[string]string{"log.retention.hours": "1"}, "log.retention.hours", `unknown config key "log.retention.hours" ("log.retention.hours" is a broker config; the topic config is "retention.ms")`},
		{map[string]string{"whatever": "1"}, "whatever", `unknown config key "whatever"`},
		{map[string]string{"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"}, "min.compaction.lag.ms", `invalid value "10" for "min.compaction.lag.ms": must not be greater than max.compaction.lag.ms (5)`},
		{map[string]string{"a.first": "1", "retention.ms": "x"}, "a.first", `unknown config key "a.first"`},
	} {
		err := ValidateTopicOverrides(tc.overrides)
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%v: got %v, want an *Error", tc.overrides, err)
			continue
		}
		if ce.Key != tc.key || ce.Msg != tc.want || err.Error() != tc.want {
			t.Errorf("%v: got key %q msg %q, want key %q msg %q", tc.overrides, ce.Key, ce.Msg, tc.key, tc.want)
		}
	}
	ok := map[string]string{
		"retention.ms": "-1", "cleanup.policy": "compact, delete", "compression.type": "lz4", "segment.bytes": "14",
		"min.cleanable.dirty.ratio": "0.1", "leader.replication.throttled.replicas": "*",
		"follower.replication.throttled.replicas": "0:1,1:2", "message.format.version": "2.8", "compression.gzip.level": "-1",
	}
	if err := ValidateTopicOverrides(ok); err != nil {
		t.Errorf("valid overrides rejected: %v", err)
	}

	b := mustBroker(t, map[string]string{"log.cleaner.max.compaction.lag.ms": "100"})
	err := b.ValidateTopicOverrides(map[string]string{"min.compaction.lag.ms": "1000"})
	if err == nil || err.Error() != `invalid value "1000" for "min.compaction.lag.ms": must not be greater than max.compaction.lag.ms (100)` {
		t.Errorf("broker-level check: %v", err)
	}
}

func TestIsTopicKey(t *testing.T) {
	if !IsTopicKey("retention.ms") || IsTopicKey("log.retention.ms") || IsTopicKey("nope") {
		t.Error("IsTopicKey")
	}
	if !IsBrokerKey("log.retention.ms") || !IsBrokerKey("listener.name.internal.ssl.keystore.location") ||
		!IsBrokerKey("listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config") || IsBrokerKey("listener.name.x.nope") {
		t.Error("IsBrokerKey")
	}
	if typ, ok := TopicKeyType("cleanup.policy"); !ok || typ != TypeList {
		t.Errorf("TopicKeyType(cleanup.policy) = %v, %v", typ, ok)
	}
}
