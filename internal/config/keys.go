package config

import (
	"sort"
	"strings"
)

// keyDef is one row of the config tables.
type keyDef struct {
	Name    string
	Type    Type
	Default *string // canonical string; nil is Kafka's null default
	Check   check   // nil accepts any value of Type
	Doc     string
	// Dynamic marks broker keys Kafka can change at runtime
	// (DynamicBrokerConfig.AllDynamicConfigs); DescribeConfigs reports the
	// others as read-only. Topic keys are never read-only.
	Dynamic bool
	// Synonyms are, for topic keys, the broker keys that supply the value
	// when the topic has no override, highest precedence first
	// (ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS).
	Synonyms []synonym
}

// synonym is a broker key standing in for a topic key. Scale converts the
// broker value to the topic's unit (hours and minutes to milliseconds).
type synonym struct {
	Name  string
	Scale int64
}

func v(s string) *string { return &s }

const (
	maxLong   = "9223372036854775807"
	maxInt    = "2147483647"
	maxDouble = "1.7976931348623157E308"
	hourMs    = 60 * 60 * 1000
	minuteMs  = 60 * 1000
)

var (
	compressionTypes  = oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
	cleanupPolicies   = listOf("compact", "delete")
	timestampTypes    = oneOf("CreateTime", "LogAppendTime")
	securityProtocols = oneOf("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
	// The subject name strategies of Confluent's serializers, by class name
	// (confluent.key.subject.name.strategy and the value variant).
	subjectNameStrategies = oneOf(topicNameStrategy, subjectStrategyPackage+"RecordNameStrategy", subjectStrategyPackage+"TopicRecordNameStrategy")
)

// RackAwareReplicaSelector is the only replica.selector.class served:
// Kafka's rack-aware ReplicaSelector (KIP-392).
const RackAwareReplicaSelector = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

const (
	subjectStrategyPackage = "io.confluent.kafka.serializers.subject."
	topicNameStrategy      = subjectStrategyPackage + "TopicNameStrategy"
)

func syn(names ...string) []synonym {
	out := make([]synonym, len(names))
	for i, n := range names {
		out[i] = synonym{Name: n, Scale: 1}
	}
	return out
}

// topicKeys are the topic-level configs of Kafka 3.9 (LogConfig), with
// Kafka's defaults and validators.
//
// NOTE: a topic key with a broker synonym needs that synonym in brokerKeys.
var topicKeys = []keyDef{
	{Name: "cleanup.policy", Type: TypeList, Default: v("delete"), Check: cleanupPolicies, Synonyms: syn("log.cleanup.policy"), Doc: "How old segments are handled: \"delete\" removes them after retention, \"compact\" keeps the latest record per key; both may be listed."},
	{Name: "compression.gzip.level", Type: TypeInt, Default: v("-1"), Check: gzipLevel, Synonyms: syn("compression.gzip.level"), Doc: "Level used when compression.type is gzip (-1 means the codec default)."},
	{Name: "compression.lz4.level", Type: TypeInt, Default: v("9"), Check: between(1, 17), Synonyms: syn("compression.lz4.level"), Doc: "Level used when compression.type is lz4."},
	{Name: "compression.type", Type: TypeString, Default: v("producer"), Check: compressionTypes, Synonyms: syn("compression.type"), Doc: "Codec the broker stores batches with; \"producer\" keeps whatever the producer used, \"uncompressed\" stores them uncompressed."},
	{Name: "compression.zstd.level", Type: TypeInt, Default: v("3"), Check: between(-131072, 22), Synonyms: syn("compression.zstd.level"), Doc: "Level used when compression.type is zstd."},
	{Name: "confluent.key.schema.validation", Type: TypeBoolean, Default: v("false"), Doc: "Confluent Server's name: reject produced records whose key is not in the Schema Registry wire format (magic byte 0, then a 4-byte schema id) with an id registered in _schemas (samsa's broker-side schema validation)."},
	{Name: "confluent.key.subject.name.strategy", Type: TypeString, Default: v(topicNameStrategy), Check: subjectNameStrategies, Doc: "Confluent Server's name: with confluent.key.schema.validation, the subject a key's schema id must be registered under: TopicNameStrategy (TOPIC-key), RecordNameStrategy (the record's fully qualified name) or TopicRecordNameStrategy (TOPIC-name), given as io.confluent.kafka.serializers.subject.<strategy>."},
	{Name: "confluent.value.schema.validation", Type: TypeBoolean, Default: v("false"), Doc: "Confluent Server's name: reject produced records whose value is not in the Schema Registry wire format (magic byte 0, then a 4-byte schema id) with an id registered in _schemas (samsa's broker-side schema validation)."},
	{Name: "confluent.value.subject.name.strategy", Type: TypeString, Default: v(topicNameStrategy), Check: subjectNameStrategies, Doc: "Confluent Server's name: with confluent.value.schema.validation, the subject a value's schema id must be registered under: TopicNameStrategy (TOPIC-value), RecordNameStrategy (the record's fully qualified name) or TopicRecordNameStrategy (TOPIC-name), given as io.confluent.kafka.serializers.subject.<strategy>."},
	{Name: "delete.retention.ms", Type: TypeLong, Default: v("86400000"), Check: atLeast(0), Synonyms: syn("log.cleaner.delete.retention.ms"), Doc: "How long tombstones stay readable in a compacted topic, so consumers can see the delete."},
	{Name: "file.delete.delay.ms", Type: TypeLong, Default: v("60000"), Check: atLeast(0), Synonyms: syn("log.segment.delete.delay.ms"), Doc: "Time between marking a segment file deleted and removing it from disk."},
	{Name: "flush.messages", Type: TypeLong, Default: v(maxLong), Check: atLeast(1), Synonyms: syn("log.flush.interval.messages"), Doc: "Force an fsync after this many messages; the default leaves flushing to the OS and relies on replication."},
	{Name: "flush.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(0), Synonyms: syn("log.flush.interval.ms", "log.flush.scheduler.interval.ms"), Doc: "Force an fsync when unflushed data is older than this; the default leaves flushing to the OS."},
	{Name: "follower.replication.throttled.replicas", Type: TypeList, Default: v(""), Check: throttledReplicas, Doc: "Replicas (partition:broker pairs, or *) whose follower-side replication is throttled."},
	{Name: "index.interval.bytes", Type: TypeInt, Default: v("4096"), Check: atLeast(0), Synonyms: syn("log.index.interval.bytes"), Doc: "Bytes of log between two offset index entries."},
	{Name: "leader.replication.throttled.replicas", Type: TypeList, Default: v(""), Check: throttledReplicas, Doc: "Replicas (partition:broker pairs, or *) whose leader-side replication is throttled."},
	{Name: "local.retention.bytes", Type: TypeLong, Default: v("-2"), Check: atLeast(-2), Synonyms: syn("log.local.retention.bytes"), Doc: "With tiered storage, bytes kept on local disk per partition; -2 means retention.bytes."},
	{Name: "local.retention.ms", Type: TypeLong, Default: v("-2"), Check: atLeast(-2), Synonyms: syn("log.local.retention.ms"), Doc: "With tiered storage, how long segments stay on local disk; -2 means retention.ms."},
	{Name: "max.compaction.lag.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(1), Synonyms: syn("log.cleaner.max.compaction.lag.ms"), Doc: "Longest time a record may stay uncompacted in a compacted topic."},
	{Name: "max.message.bytes", Type: TypeInt, Default: v("1048588"), Check: atLeast(0), Synonyms: syn("message.max.bytes"), Doc: "Largest record batch the topic accepts, after compression."},
	{Name: "message.downconversion.enable", Type: TypeBoolean, Default: v("true"), Synonyms: syn("log.message.downconversion.enable"), Doc: "Whether fetches from old clients may have batches converted to an older message format."},
	{Name: "message.format.version", Type: TypeString, Default: v("3.0-IV1"), Check: metadataVersion, Synonyms: syn("log.message.format.version"), Doc: "Deprecated: message format for the topic; ignored since inter.broker.protocol.version 3.0."},
	{Name: "message.timestamp.after.max.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(0), Synonyms: syn("log.message.timestamp.after.max.ms"), Doc: "With CreateTime, how far in the future of the broker clock a record timestamp may be."},
	{Name: "message.timestamp.before.max.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(0), Synonyms: syn("log.message.timestamp.before.max.ms"), Doc: "With CreateTime, how far in the past of the broker clock a record timestamp may be."},
	{Name: "message.timestamp.difference.max.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(0), Synonyms: syn("log.message.timestamp.difference.max.ms"), Doc: "Deprecated: largest allowed difference between a record timestamp and the broker clock, with CreateTime."},
	{Name: "message.timestamp.type", Type: TypeString, Default: v("CreateTime"), Check: timestampTypes, Synonyms: syn("log.message.timestamp.type"), Doc: "Whether record timestamps are the producer's (CreateTime) or set by the broker on append (LogAppendTime)."},
	{Name: "min.cleanable.dirty.ratio", Type: TypeDouble, Default: v("0.5"), Check: betweenFloat(0, 1), Synonyms: syn("log.cleaner.min.cleanable.ratio"), Doc: "Share of a compacted log that must be uncompacted before the cleaner works on it."},
	{Name: "min.compaction.lag.ms", Type: TypeLong, Default: v("0"), Check: atLeast(0), Synonyms: syn("log.cleaner.min.compaction.lag.ms"), Doc: "Shortest time a record stays uncompacted in a compacted topic."},
	{Name: "min.insync.replicas", Type: TypeInt, Default: v("1"), Check: atLeast(1), Synonyms: syn("min.insync.replicas"), Doc: "With acks=all, how many in-sync replicas must have a write before it is acknowledged."},
	{Name: "preallocate", Type: TypeBoolean, Default: v("false"), Synonyms: syn("log.preallocate"), Doc: "Whether new segment files are preallocated on disk."},
	{Name: "remote.log.copy.disable", Type: TypeBoolean, Default: v("false"), Doc: "With tiered storage, stop copying segments to remote storage while keeping what is there readable."},
	{Name: "remote.log.delete.on.disable", Type: TypeBoolean, Default: v("false"), Doc: "With tiered storage, delete remote data when remote storage is turned off for the topic."},
	{Name: "remote.storage.enable", Type: TypeBoolean, Default: v("false"), Doc: "Whether the topic uses tiered storage."},
	{Name: "retention.bytes", Type: TypeLong, Default: v("-1"), Synonyms: syn("log.retention.bytes"), Doc: "Largest size a partition may grow to before old segments are deleted; -1 means no size limit."},
	{Name: "retention.ms", Type: TypeLong, Default: v("604800000"), Check: atLeast(-1), Synonyms: []synonym{{"log.retention.ms", 1}, {"log.retention.minutes", minuteMs}, {"log.retention.hours", hourMs}}, Doc: "How long records are kept before their segment is deleted; -1 means no time limit."},
	{Name: "segment.bytes", Type: TypeInt, Default: v("1073741824"), Check: atLeast(14), Synonyms: syn("log.segment.bytes"), Doc: "Size at which a new segment file is rolled."},
	{Name: "segment.index.bytes", Type: TypeInt, Default: v("10485760"), Check: atLeast(4), Synonyms: syn("log.index.size.max.bytes"), Doc: "Size of the offset and time index files preallocated for each segment."},
	{Name: "segment.jitter.ms", Type: TypeLong, Default: v("0"), Check: atLeast(0), Synonyms: []synonym{{"log.roll.jitter.ms", 1}, {"log.roll.jitter.hours", hourMs}}, Doc: "Largest random amount subtracted from segment.ms, so partitions do not all roll together."},
	{Name: "segment.ms", Type: TypeLong, Default: v("604800000"), Check: atLeast(1), Synonyms: []synonym{{"log.roll.ms", 1}, {"log.roll.hours", hourMs}}, Doc: "Age at which a segment is rolled even if it is not full, so retention and compaction can act on it."},
	{Name: "unclean.leader.election.enable", Type: TypeBoolean, Default: v("false"), Synonyms: syn("unclean.leader.election.enable"), Doc: "Whether a replica outside the ISR may become leader as a last resort, at the cost of losing data."},
}

// brokerKeys are the broker configs of Kafka 3.9 (KafkaConfig) that a user
// may plausibly set, with Kafka's defaults except where the package doc says
// samsa differs.
var brokerKeys = []keyDef{
	// Node identity and KRaft (KRaftConfigs, ServerConfigs).
	{Name: "node.id", Type: TypeInt, Default: v("1"), Check: atLeast(0), Doc: "Id of this node in the cluster (samsa defaults to 1 for a single node; Kafka has no default)."},
	{Name: "broker.id", Type: TypeInt, Default: v("1"), Doc: "Older name of node.id; when both are set they must agree (samsa's default follows node.id; Kafka's is -1)."},
	{Name: "broker.id.generation.enable", Type: TypeBoolean, Default: v("true"), Doc: "ZooKeeper mode only: generate broker ids automatically."},
	{Name: "reserved.broker.max.id", Type: TypeInt, Default: v("1000"), Check: atLeast(0), Doc: "ZooKeeper mode only: highest id that may be configured by hand."},
	{Name: "process.roles", Type: TypeList, Default: v("broker,controller"), Check: all(listOf("broker", "controller"), noDuplicates), Doc: "Roles this node plays: broker, controller or both (samsa defaults to both)."},
	{Name: "controller.listener.names", Type: TypeString, Doc: "Comma-separated names of the listeners the controller uses."},
	{Name: "initial.broker.registration.timeout.ms", Type: TypeInt, Default: v("60000"), Doc: "How long a broker waits for its first registration with the controller before giving up."},
	{Name: "broker.heartbeat.interval.ms", Type: TypeInt, Default: v("2000"), Doc: "Interval between broker heartbeats to the controller."},
	{Name: "broker.session.timeout.ms", Type: TypeInt, Default: v("9000"), Doc: "How long the controller waits without heartbeats before fencing a broker."},
	{Name: "sasl.mechanism.controller.protocol", Type: TypeString, Default: v("GSSAPI"), Doc: "SASL mechanism used to talk to controllers."},
	{Name: "metadata.log.dir", Type: TypeString, Doc: "Directory of the cluster metadata log; defaults to the first log directory."},
	{Name: "metadata.log.segment.bytes", Type: TypeInt, Default: v("1073741824"), Check: atLeast(12), Doc: "Segment size of the metadata log."},
	{Name: "metadata.log.segment.min.bytes", Type: TypeInt, Default: v("8388608"), Check: atLeast(12), Doc: "Smallest allowed segment size of the metadata log (for tests)."},
	{Name: "metadata.log.segment.ms", Type: TypeLong, Default: v("604800000"), Doc: "Age at which a metadata log segment is rolled."},
	{Name: "metadata.max.retention.bytes", Type: TypeLong, Default: v("104857600"), Doc: "Size of metadata log and snapshots kept before old ones are deleted."},
	{Name: "metadata.max.retention.ms", Type: TypeLong, Default: v("604800000"), Doc: "How long metadata log segments and snapshots are kept."},
	{Name: "metadata.max.idle.interval.ms", Type: TypeInt, Default: v("500"), Check: atLeast(0), Doc: "How often the active controller appends a no-op record when idle; 0 disables it."},
	{Name: "metadata.log.max.record.bytes.between.snapshots", Type: TypeLong, Default: v("20971520"), Check: atLeast(1), Doc: "Bytes of new metadata records after which a snapshot is written."},
	{Name: "metadata.log.max.snapshot.interval.ms", Type: TypeLong, Default: v("3600000"), Check: atLeast(0), Doc: "Longest time between metadata snapshots when there are new records; 0 disables the time trigger."},
	{Name: "server.max.startup.time.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(0), Doc: "How long the broker may take to catch up with metadata at start up."},
	{Name: "eligible.leader.replicas.enable", Type: TypeBoolean, Default: v("false"), Doc: "Enable eligible leader replicas (KIP-966)."},
	{Name: "zookeeper.metadata.migration.enable", Type: TypeBoolean, Default: v("false"), Doc: "ZooKeeper to KRaft migration mode; not used by samsa."},
	{Name: "zookeeper.connect", Type: TypeString, Doc: "ZooKeeper connection string; samsa runs in KRaft mode only and ignores it."},
	{Name: "zookeeper.session.timeout.ms", Type: TypeInt, Default: v("18000"), Doc: "ZooKeeper session timeout; not used by samsa."},
	{Name: "zookeeper.connection.timeout.ms", Type: TypeInt, Doc: "ZooKeeper connection timeout; not used by samsa."},
	{Name: "zookeeper.set.acl", Type: TypeBoolean, Default: v("false"), Doc: "Use secure ZooKeeper ACLs; not used by samsa."},
	{Name: "zookeeper.max.in.flight.requests", Type: TypeInt, Default: v("10"), Check: atLeast(1), Doc: "ZooKeeper pipelining limit; not used by samsa."},

	// Controller quorum (QuorumConfig).
	{Name: "controller.quorum.voters", Type: TypeList, Default: v(""), Check: quorumVoters, Doc: "Static controller quorum as id@host:port entries."},
	{Name: "controller.quorum.bootstrap.servers", Type: TypeList, Default: v(""), Check: hostPorts, Doc: "host:port of controllers used to discover the quorum (KIP-853)."},
	{Name: "controller.quorum.election.timeout.ms", Type: TypeInt, Default: v("1000"), Doc: "Time without a leader before a voter starts an election."},
	{Name: "controller.quorum.fetch.timeout.ms", Type: TypeInt, Default: v("2000"), Doc: "Time without a successful fetch from the leader before a voter starts an election."},
	{Name: "controller.quorum.election.backoff.max.ms", Type: TypeInt, Default: v("1000"), Doc: "Longest backoff before starting a new election."},
	{Name: "controller.quorum.append.linger.ms", Type: TypeInt, Default: v("25"), Doc: "How long the leader waits to batch writes before flushing them."},
	{Name: "controller.quorum.request.timeout.ms", Type: TypeInt, Default: v("2000"), Doc: "Timeout of requests between quorum members."},
	{Name: "controller.quorum.retry.backoff.ms", Type: TypeInt, Default: v("20"), Doc: "Backoff before retrying a failed quorum request."},

	// Listeners and sockets (SocketServerConfigs).
	{Name: "listeners", Type: TypeString, Default: v("PLAINTEXT://127.0.0.1:9092"), Dynamic: true, Doc: "Comma-separated NAME://host:port listeners; an empty host binds all interfaces (samsa defaults to loopback)."},

	// samsa's companion services in the same process (not Kafka keys).
	{Name: "schema.registry.listeners", Type: TypeString, Default: v("http://127.0.0.1:8081"), Doc: "samsa: where `samsa server` serves the built-in Schema Registry (http://host:port); empty turns it off."},
	{Name: "rest.proxy.listeners", Type: TypeString, Default: v("http://127.0.0.1:8082"), Doc: "samsa: where `samsa server` serves the built-in REST Proxy (http://host:port); empty turns it off."},
	{Name: "advertised.listeners", Type: TypeString, Dynamic: true, Doc: "Listeners published to clients, if different from listeners."},
	{Name: "listener.security.protocol.map", Type: TypeString, Default: v("SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"), Dynamic: true, Doc: "Security protocol of each listener name, as NAME:PROTOCOL pairs."},
	{Name: "control.plane.listener.name", Type: TypeString, Doc: "ZooKeeper mode only: listener for controller-to-broker traffic."},
	{Name: "early.start.listeners", Type: TypeString, Doc: "Listeners started before authorizer data is loaded."},
	{Name: "socket.send.buffer.bytes", Type: TypeInt, Default: v("102400"), Doc: "SO_SNDBUF of accepted sockets; -1 uses the OS default."},
	{Name: "socket.receive.buffer.bytes", Type: TypeInt, Default: v("102400"), Doc: "SO_RCVBUF of accepted sockets; -1 uses the OS default."},
	{Name: "socket.request.max.bytes", Type: TypeInt, Default: v("104857600"), Check: atLeast(1), Doc: "Largest request the broker reads; bigger requests close the connection."},
	{Name: "socket.listen.backlog.size", Type: TypeInt, Default: v("50"), Check: atLeast(1), Doc: "Listen backlog of each listener socket."},
	{Name: "max.connections.per.ip", Type: TypeInt, Default: v(maxInt), Check: atLeast(0), Dynamic: true, Doc: "Most connections allowed from one IP address."},
	{Name: "max.connections.per.ip.overrides", Type: TypeString, Default: v(""), Dynamic: true, Doc: "Per-IP or per-host overrides of max.connections.per.ip, as host:count pairs."},
	{Name: "max.connections", Type: TypeInt, Default: v(maxInt), Check: atLeast(0), Dynamic: true, Doc: "Most connections the broker accepts at any time."},
	{Name: "max.connection.creation.rate", Type: TypeInt, Default: v(maxInt), Check: atLeast(0), Dynamic: true, Doc: "Most new connections accepted per second."},
	{Name: "connections.max.idle.ms", Type: TypeLong, Default: v("600000"), Doc: "Idle time after which the broker closes a connection."},
	{Name: "connection.failed.authentication.delay.ms", Type: TypeInt, Default: v("100"), Check: atLeast(0), Doc: "Delay before closing a connection that failed authentication."},
	{Name: "queued.max.requests", Type: TypeInt, Default: v("500"), Check: atLeast(1), Doc: "Requests that may wait for processing before the network stops reading."},
	{Name: "queued.max.request.bytes", Type: TypeLong, Default: v("-1"), Doc: "Bytes of requests that may wait for processing; -1 means no limit."},
	{Name: "num.network.threads", Type: TypeInt, Default: v("3"), Check: atLeast(1), Dynamic: true, Doc: "Kafka's network thread count; accepted for compatibility (samsa uses goroutines)."},
	{Name: "num.io.threads", Type: TypeInt, Default: v("8"), Check: atLeast(1), Dynamic: true, Doc: "Kafka's request handler thread count; accepted for compatibility."},
	{Name: "background.threads", Type: TypeInt, Default: v("10"), Check: atLeast(1), Dynamic: true, Doc: "Kafka's background thread count; accepted for compatibility."},
	{Name: "request.timeout.ms", Type: TypeInt, Default: v("30000"), Doc: "Timeout of requests the broker sends."},
	{Name: "socket.connection.setup.timeout.ms", Type: TypeLong, Default: v("10000"), Doc: "Time the broker waits for an outgoing connection to be set up."},
	{Name: "socket.connection.setup.timeout.max.ms", Type: TypeLong, Default: v("30000"), Doc: "Upper bound of the exponential connection setup timeout."},

	// Server (ServerConfigs).
	{Name: "message.max.bytes", Type: TypeInt, Default: v("1048588"), Check: atLeast(0), Dynamic: true, Doc: "Largest record batch the broker accepts; topic override max.message.bytes."},
	{Name: "delete.topic.enable", Type: TypeBoolean, Default: v("true"), Doc: "Whether topics may be deleted."},
	{Name: "compression.type", Type: TypeString, Default: v("producer"), Check: compressionTypes, Dynamic: true, Doc: "Default codec batches are stored with; topic override compression.type."},
	{Name: "compression.gzip.level", Type: TypeInt, Default: v("-1"), Check: gzipLevel, Dynamic: true, Doc: "Default gzip level; topic override compression.gzip.level."},
	{Name: "compression.lz4.level", Type: TypeInt, Default: v("9"), Check: between(1, 17), Dynamic: true, Doc: "Default lz4 level; topic override compression.lz4.level."},
	{Name: "compression.zstd.level", Type: TypeInt, Default: v("3"), Check: between(-131072, 22), Dynamic: true, Doc: "Default zstd level; topic override compression.zstd.level."},
	{Name: "broker.rack", Type: TypeString, Doc: "Rack of this broker, used for rack-aware replica placement and fetching from followers."},
	{Name: "num.replica.alter.log.dirs.threads", Type: TypeInt, Doc: "Threads moving replicas between log directories; defaults to the number of log directories."},
	{Name: "authorizer.class.name", Type: TypeString, Default: v(""), Doc: "Authorizer implementation; empty means no authorization."},
	{Name: "super.users", Type: TypeString, Doc: "Semicolon-separated principals (User:name) that bypass ACLs."},
	{Name: "allow.everyone.if.no.acl.found", Type: TypeBoolean, Default: v("false"), Doc: "Whether a resource without ACLs is open to everyone."},
	{Name: "controlled.shutdown.enable", Type: TypeBoolean, Default: v("true"), Doc: "Move leadership away before shutting down."},
	{Name: "controlled.shutdown.max.retries", Type: TypeInt, Default: v("3"), Doc: "ZooKeeper mode only: controlled shutdown attempts."},
	{Name: "controlled.shutdown.retry.backoff.ms", Type: TypeLong, Default: v("5000"), Doc: "ZooKeeper mode only: backoff between controlled shutdown attempts."},
	{Name: "max.incremental.fetch.session.cache.slots", Type: TypeInt, Default: v("1000"), Check: atLeast(0), Doc: "Most incremental fetch sessions (KIP-227) the broker keeps."},
	{Name: "fetch.max.bytes", Type: TypeInt, Default: v("57671680"), Check: atLeast(1024), Doc: "Largest fetch response the broker returns."},
	{Name: "max.request.partition.size.limit", Type: TypeInt, Default: v("2000"), Check: atLeast(1), Doc: "Most partitions a share fetch request may name."},
	{Name: "unstable.api.versions.enable", Type: TypeBoolean, Default: v("false"), Doc: "Advertise API versions that are still in development."},
	{Name: "unstable.feature.versions.enable", Type: TypeBoolean, Default: v("false"), Doc: "Allow feature versions that are still in development."},

	// Log (ServerLogConfigs, LogConfig.SERVER_CONFIG_DEF).
	{Name: "log.dir", Type: TypeString, Default: v("./samsa-data"), Doc: "Directory of the log data when log.dirs is not set (samsa defaults to ./samsa-data)."},
	{Name: "log.dirs", Type: TypeString, Doc: "Comma-separated directories of the log data; if not set, log.dir is used."},
	{Name: "num.partitions", Type: TypeInt, Default: v("1"), Check: atLeast(1), Doc: "Partitions of an auto-created topic, or of a created topic that does not say."},
	{Name: "auto.create.topics.enable", Type: TypeBoolean, Default: v("true"), Doc: "Whether Metadata requests for a missing topic create it."},
	{Name: "min.insync.replicas", Type: TypeInt, Default: v("1"), Check: atLeast(1), Dynamic: true, Doc: "Default min.insync.replicas of topics."},
	{Name: "log.segment.bytes", Type: TypeInt, Default: v("1073741824"), Check: atLeast(14), Dynamic: true, Doc: "Default segment.bytes of topics."},
	{Name: "log.roll.ms", Type: TypeLong, Dynamic: true, Doc: "Default segment.ms of topics; if not set, log.roll.hours is used."},
	{Name: "log.roll.hours", Type: TypeInt, Default: v("168"), Check: atLeast(1), Doc: "Default segment.ms of topics in hours, below log.roll.ms."},
	{Name: "log.roll.jitter.ms", Type: TypeLong, Dynamic: true, Doc: "Default segment.jitter.ms of topics; if not set, log.roll.jitter.hours is used."},
	{Name: "log.roll.jitter.hours", Type: TypeInt, Default: v("0"), Check: atLeast(0), Doc: "Default segment.jitter.ms of topics in hours, below log.roll.jitter.ms."},
	{Name: "log.retention.ms", Type: TypeLong, Dynamic: true, Doc: "Default retention.ms of topics; if not set, log.retention.minutes is used; -1 means no limit."},
	{Name: "log.retention.minutes", Type: TypeInt, Doc: "Default retention.ms of topics in minutes, below log.retention.ms; if not set, log.retention.hours is used."},
	{Name: "log.retention.hours", Type: TypeInt, Default: v("168"), Doc: "Default retention.ms of topics in hours, below log.retention.ms and log.retention.minutes."},
	{Name: "log.retention.bytes", Type: TypeLong, Default: v("-1"), Dynamic: true, Doc: "Default retention.bytes of topics."},
	{Name: "log.retention.check.interval.ms", Type: TypeLong, Default: v("300000"), Check: atLeast(1), Doc: "How often the broker looks for segments to delete under retention."},
	{Name: "log.cleanup.policy", Type: TypeList, Default: v("delete"), Check: cleanupPolicies, Dynamic: true, Doc: "Default cleanup.policy of topics."},
	{Name: "log.index.size.max.bytes", Type: TypeInt, Default: v("10485760"), Check: atLeast(4), Dynamic: true, Doc: "Default segment.index.bytes of topics."},
	{Name: "log.index.interval.bytes", Type: TypeInt, Default: v("4096"), Check: atLeast(0), Dynamic: true, Doc: "Default index.interval.bytes of topics."},
	{Name: "log.flush.interval.messages", Type: TypeLong, Default: v(maxLong), Check: atLeast(1), Dynamic: true, Doc: "Default flush.messages of topics."},
	{Name: "log.flush.interval.ms", Type: TypeLong, Dynamic: true, Doc: "Default flush.ms of topics; if not set, log.flush.scheduler.interval.ms is used."},
	{Name: "log.flush.scheduler.interval.ms", Type: TypeLong, Default: v(maxLong), Doc: "How often the broker checks whether any log needs an fsync."},
	{Name: "log.flush.offset.checkpoint.interval.ms", Type: TypeInt, Default: v("60000"), Check: atLeast(0), Doc: "How often the recovery point checkpoint is written."},
	{Name: "log.flush.start.offset.checkpoint.interval.ms", Type: TypeInt, Default: v("60000"), Check: atLeast(0), Doc: "How often the log start offset checkpoint is written."},
	{Name: "log.segment.delete.delay.ms", Type: TypeLong, Default: v("60000"), Check: atLeast(0), Dynamic: true, Doc: "Default file.delete.delay.ms of topics."},
	{Name: "log.preallocate", Type: TypeBoolean, Default: v("false"), Dynamic: true, Doc: "Default preallocate of topics."},
	{Name: "log.message.format.version", Type: TypeString, Default: v("3.0-IV1"), Check: metadataVersion, Doc: "Deprecated default message.format.version of topics."},
	{Name: "log.message.timestamp.type", Type: TypeString, Default: v("CreateTime"), Check: timestampTypes, Dynamic: true, Doc: "Default message.timestamp.type of topics."},
	{Name: "log.message.timestamp.difference.max.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(0), Dynamic: true, Doc: "Deprecated default message.timestamp.difference.max.ms of topics."},
	{Name: "log.message.timestamp.before.max.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(0), Dynamic: true, Doc: "Default message.timestamp.before.max.ms of topics."},
	{Name: "log.message.timestamp.after.max.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(0), Dynamic: true, Doc: "Default message.timestamp.after.max.ms of topics."},
	{Name: "log.message.downconversion.enable", Type: TypeBoolean, Default: v("true"), Dynamic: true, Doc: "Default message.downconversion.enable of topics."},
	{Name: "log.local.retention.ms", Type: TypeLong, Default: v("-2"), Check: atLeast(-2), Dynamic: true, Doc: "Default local.retention.ms of topics."},
	{Name: "log.local.retention.bytes", Type: TypeLong, Default: v("-2"), Check: atLeast(-2), Dynamic: true, Doc: "Default local.retention.bytes of topics."},
	{Name: "log.dir.failure.timeout.ms", Type: TypeLong, Default: v("30000"), Check: atLeast(1), Doc: "How long a broker keeps running after failing to report a failed log directory to the controller."},
	{Name: "log.initial.task.delay.ms", Type: TypeLong, Default: v("30000"), Check: atLeast(0), Doc: "Delay before the first retention and flush tasks run (for tests)."},
	{Name: "num.recovery.threads.per.data.dir", Type: TypeInt, Default: v("1"), Check: atLeast(1), Dynamic: true, Doc: "Threads per log directory used for recovery at start up and flushing at shutdown."},
	{Name: "create.topic.policy.class.name", Type: TypeClass, Doc: "Class validating CreateTopics requests."},
	{Name: "alter.config.policy.class.name", Type: TypeClass, Doc: "Class validating AlterConfigs requests."},
	{Name: "remote.log.storage.system.enable", Type: TypeBoolean, Default: v("false"), Doc: "Enable tiered storage on this broker."},

	// Log cleaner (CleanerConfig).
	{Name: "log.cleaner.enable", Type: TypeBoolean, Default: v("true"), Doc: "Run the log cleaner, which compacts topics with cleanup.policy=compact."},
	{Name: "log.cleaner.threads", Type: TypeInt, Default: v("1"), Check: atLeast(0), Dynamic: true, Doc: "Log cleaner threads."},
	{Name: "log.cleaner.io.max.bytes.per.second", Type: TypeDouble, Default: v(maxDouble), Dynamic: true, Doc: "Throttle of log cleaner reads plus writes."},
	{Name: "log.cleaner.dedupe.buffer.size", Type: TypeLong, Default: v("134217728"), Dynamic: true, Doc: "Memory for deduplicating keys, across all cleaner threads."},
	{Name: "log.cleaner.io.buffer.size", Type: TypeInt, Default: v("524288"), Check: atLeast(0), Dynamic: true, Doc: "Memory for cleaner I/O buffers, across all cleaner threads."},
	{Name: "log.cleaner.io.buffer.load.factor", Type: TypeDouble, Default: v("0.9"), Dynamic: true, Doc: "Fill ratio of the deduplication buffer."},
	{Name: "log.cleaner.backoff.ms", Type: TypeLong, Default: v("15000"), Check: atLeast(0), Dynamic: true, Doc: "Sleep of the cleaner when there is nothing to clean."},
	{Name: "log.cleaner.min.cleanable.ratio", Type: TypeDouble, Default: v("0.5"), Check: betweenFloat(0, 1), Dynamic: true, Doc: "Default min.cleanable.dirty.ratio of topics."},
	{Name: "log.cleaner.delete.retention.ms", Type: TypeLong, Default: v("86400000"), Check: atLeast(0), Dynamic: true, Doc: "Default delete.retention.ms of topics."},
	{Name: "log.cleaner.min.compaction.lag.ms", Type: TypeLong, Default: v("0"), Check: atLeast(0), Dynamic: true, Doc: "Default min.compaction.lag.ms of topics."},
	{Name: "log.cleaner.max.compaction.lag.ms", Type: TypeLong, Default: v(maxLong), Check: atLeast(1), Dynamic: true, Doc: "Default max.compaction.lag.ms of topics."},

	// Replication (ReplicationConfigs).
	{Name: "default.replication.factor", Type: TypeInt, Default: v("1"), Doc: "Replication factor of auto-created topics and of created topics that do not say."},
	{Name: "unclean.leader.election.enable", Type: TypeBoolean, Default: v("false"), Dynamic: true, Doc: "Default unclean.leader.election.enable of topics."},
	{Name: "replica.lag.time.max.ms", Type: TypeLong, Default: v("30000"), Doc: "A follower that has not caught up to the leader's end for this long leaves the ISR."},
	{Name: "replica.socket.timeout.ms", Type: TypeInt, Default: v("30000"), Doc: "Socket timeout of follower fetches."},
	{Name: "replica.socket.receive.buffer.bytes", Type: TypeInt, Default: v("65536"), Doc: "SO_RCVBUF of follower fetch connections."},
	{Name: "replica.fetch.max.bytes", Type: TypeInt, Default: v("1048576"), Check: atLeast(0), Doc: "Bytes a follower asks for per partition."},
	{Name: "replica.fetch.wait.max.ms", Type: TypeInt, Default: v("500"), Doc: "Longest wait of a follower fetch; keep it below replica.lag.time.max.ms."},
	{Name: "replica.fetch.min.bytes", Type: TypeInt, Default: v("1"), Doc: "Bytes a follower fetch waits for."},
	{Name: "replica.fetch.backoff.ms", Type: TypeInt, Default: v("1000"), Check: atLeast(0), Doc: "Sleep of a follower after a fetch error."},
	{Name: "replica.fetch.response.max.bytes", Type: TypeInt, Default: v("10485760"), Check: atLeast(0), Doc: "Bytes a follower asks for per fetch."},
	{Name: "num.replica.fetchers", Type: TypeInt, Default: v("1"), Dynamic: true, Doc: "Fetcher threads per source broker."},
	{Name: "replica.high.watermark.checkpoint.interval.ms", Type: TypeLong, Default: v("5000"), Doc: "How often high watermarks are written to disk."},
	{Name: "replica.selector.class", Type: TypeClass, Check: oneOf(RackAwareReplicaSelector), Doc: "ReplicaSelector that lets consumers fetch from followers (KIP-392): unset, the leader serves every consumer; " + RackAwareReplicaSelector + " sends a consumer whose client.rack matches an in-sync follower's broker.rack (and not the leader's) to that follower."},
	{Name: "fetch.purgatory.purge.interval.requests", Type: TypeInt, Default: v("1000"), Doc: "Kafka's fetch purgatory purge interval; accepted for compatibility."},
	{Name: "producer.purgatory.purge.interval.requests", Type: TypeInt, Default: v("1000"), Doc: "Kafka's produce purgatory purge interval; accepted for compatibility."},
	{Name: "delete.records.purgatory.purge.interval.requests", Type: TypeInt, Default: v("1"), Doc: "Kafka's delete-records purgatory purge interval; accepted for compatibility."},
	{Name: "auto.leader.rebalance.enable", Type: TypeBoolean, Default: v("true"), Doc: "Move leadership back to preferred replicas in the background."},
	{Name: "leader.imbalance.per.broker.percentage", Type: TypeInt, Default: v("10"), Doc: "Leader imbalance per broker that triggers a rebalance."},
	{Name: "leader.imbalance.check.interval.seconds", Type: TypeLong, Default: v("300"), Check: atLeast(1), Doc: "How often leader imbalance is checked."},
	{Name: "unclean.leader.election.interval.ms", Type: TypeLong, Default: v("300000"), Check: atLeast(1), Doc: "How often the controller looks for partitions needing an unclean election."},
	{Name: "controller.socket.timeout.ms", Type: TypeInt, Default: v("30000"), Doc: "Socket timeout of controller-to-broker channels."},
	{Name: "security.inter.broker.protocol", Type: TypeString, Default: v("PLAINTEXT"), Check: securityProtocols, Doc: "Security protocol between brokers; excludes inter.broker.listener.name."},
	{Name: "inter.broker.listener.name", Type: TypeString, Doc: "Listener used between brokers; excludes security.inter.broker.protocol."},
	{Name: "inter.broker.protocol.version", Type: TypeString, Default: v("3.9-IV0"), Check: metadataVersion, Doc: "ZooKeeper mode only: inter-broker protocol version; KRaft uses metadata.version."},

	// Groups and offsets (GroupCoordinatorConfig).
	{Name: "group.min.session.timeout.ms", Type: TypeInt, Default: v("6000"), Doc: "Smallest session timeout a classic group member may ask for."},
	{Name: "group.max.session.timeout.ms", Type: TypeInt, Default: v("1800000"), Doc: "Largest session timeout a classic group member may ask for."},
	{Name: "group.initial.rebalance.delay.ms", Type: TypeInt, Default: v("3000"), Doc: "How long a new classic group waits for more members before its first rebalance."},
	{Name: "group.max.size", Type: TypeInt, Default: v(maxInt), Check: atLeast(1), Doc: "Most members of a classic group."},
	{Name: "group.coordinator.rebalance.protocols", Type: TypeList, Default: v("classic"), Check: listOf("classic", "consumer", "share"), Doc: "Rebalance protocols the group coordinator accepts."},
	{Name: "group.coordinator.threads", Type: TypeInt, Default: v("1"), Check: atLeast(1), Doc: "Kafka's group coordinator thread count; accepted for compatibility."},
	{Name: "group.coordinator.append.linger.ms", Type: TypeInt, Default: v("10"), Check: atLeast(0), Doc: "How long the coordinator batches writes to __consumer_offsets."},
	{Name: "group.coordinator.new.enable", Type: TypeBoolean, Default: v("false"), Doc: "Kafka's switch to the new group coordinator; accepted for compatibility."},
	{Name: "group.consumer.session.timeout.ms", Type: TypeInt, Default: v("45000"), Check: atLeast(1), Doc: "Session timeout of consumer-protocol (KIP-848) group members."},
	{Name: "group.consumer.min.session.timeout.ms", Type: TypeInt, Default: v("45000"), Check: atLeast(1), Doc: "Smallest session timeout of consumer-protocol group members."},
	{Name: "group.consumer.max.session.timeout.ms", Type: TypeInt, Default: v("60000"), Check: atLeast(1), Doc: "Largest session timeout of consumer-protocol group members."},
	{Name: "group.consumer.heartbeat.interval.ms", Type: TypeInt, Default: v("5000"), Check: atLeast(1), Doc: "Heartbeat interval of consumer-protocol group members."},
	{Name: "group.consumer.min.heartbeat.interval.ms", Type: TypeInt, Default: v("5000"), Check: atLeast(1), Doc: "Smallest heartbeat interval of consumer-protocol group members."},
	{Name: "group.consumer.max.heartbeat.interval.ms", Type: TypeInt, Default: v("15000"), Check: atLeast(1), Doc: "Largest heartbeat interval of consumer-protocol group members."},
	{Name: "group.consumer.max.size", Type: TypeInt, Default: v(maxInt), Check: atLeast(1), Doc: "Most members of a consumer-protocol group."},
	{Name: "group.consumer.assignors", Type: TypeList, Default: v("org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor"), Doc: "Server-side assignors of consumer-protocol groups; the first is the default."},
	{Name: "group.consumer.migration.policy", Type: TypeString, Default: v("disabled"), Check: oneOfFold("bidirectional", "upgrade", "downgrade", "disabled"), Doc: "Whether groups may convert between the classic and consumer protocols."},
	{Name: "offset.metadata.max.bytes", Type: TypeInt, Default: v("4096"), Doc: "Largest metadata string of a committed offset."},
	{Name: "offsets.load.buffer.size", Type: TypeInt, Default: v("5242880"), Check: atLeast(1), Doc: "Read batch size when loading __consumer_offsets."},
	{Name: "offsets.topic.replication.factor", Type: TypeShort, Default: v("3"), Check: atLeast(1), Doc: "Replication factor of __consumer_offsets."},
	{Name: "offsets.topic.num.partitions", Type: TypeInt, Default: v("50"), Check: atLeast(1), Doc: "Partitions of __consumer_offsets; do not change after deployment."},
	{Name: "offsets.topic.segment.bytes", Type: TypeInt, Default: v("104857600"), Check: atLeast(1), Doc: "Segment size of __consumer_offsets."},
	{Name: "offsets.topic.compression.codec", Type: TypeInt, Default: v("0"), Doc: "Codec id of batches written to __consumer_offsets (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)."},
	{Name: "offsets.retention.minutes", Type: TypeInt, Default: v("10080"), Check: atLeast(1), Doc: "How long committed offsets of an empty group are kept."},
	{Name: "offsets.retention.check.interval.ms", Type: TypeLong, Default: v("600000"), Check: atLeast(1), Doc: "How often stale committed offsets are looked for."},
	{Name: "offsets.commit.timeout.ms", Type: TypeInt, Default: v("5000"), Check: atLeast(1), Doc: "How long an offset commit waits for replication of __consumer_offsets."},
	{Name: "offsets.commit.required.acks", Type: TypeShort, Default: v("-1"), Doc: "Deprecated acks of offset commits."},

	// Transactions and producer ids (TransactionLogConfigs, TransactionStateManagerConfigs).
	{Name: "transaction.state.log.num.partitions", Type: TypeInt, Default: v("50"), Check: atLeast(1), Doc: "Partitions of __transaction_state; do not change after deployment."},
	{Name: "transaction.state.log.replication.factor", Type: TypeShort, Default: v("3"), Check: atLeast(1), Doc: "Replication factor of __transaction_state."},
	{Name: "transaction.state.log.min.isr", Type: TypeInt, Default: v("2"), Check: atLeast(1), Doc: "min.insync.replicas of __transaction_state."},
	{Name: "transaction.state.log.segment.bytes", Type: TypeInt, Default: v("104857600"), Check: atLeast(1), Doc: "Segment size of __transaction_state."},
	{Name: "transaction.state.log.load.buffer.size", Type: TypeInt, Default: v("5242880"), Check: atLeast(1), Doc: "Read batch size when loading __transaction_state."},
	{Name: "transaction.partition.verification.enable", Type: TypeBoolean, Default: v("true"), Dynamic: true, Doc: "Check that a transactional produce goes to a partition already added to the transaction (KIP-890)."},
	{Name: "transaction.max.timeout.ms", Type: TypeInt, Default: v("900000"), Check: atLeast(1), Doc: "Largest transaction timeout a producer may ask for."},
	{Name: "transactional.id.expiration.ms", Type: TypeInt, Default: v("604800000"), Check: atLeast(1), Doc: "Idle time after which a transactional id's state is removed."},
	{Name: "transaction.abort.timed.out.transaction.cleanup.interval.ms", Type: TypeInt, Default: v("10000"), Check: atLeast(1), Doc: "How often timed-out transactions are looked for and aborted."},
	{Name: "transaction.remove.expired.transaction.cleanup.interval.ms", Type: TypeInt, Default: v("3600000"), Check: atLeast(1), Doc: "How often expired transactional ids are looked for."},
	{Name: "producer.id.expiration.ms", Type: TypeInt, Default: v("86400000"), Check: atLeast(1), Dynamic: true, Doc: "Idle time after which a producer id's state is removed from a partition."},
	{Name: "producer.id.expiration.check.interval.ms", Type: TypeInt, Default: v("600000"), Check: atLeast(1), Doc: "How often expired producer ids are looked for."},

	// Quotas (QuotaConfigs).
	{Name: "quota.window.num", Type: TypeInt, Default: v("11"), Check: atLeast(1), Doc: "Samples kept for client quotas."},
	{Name: "quota.window.size.seconds", Type: TypeInt, Default: v("1"), Check: atLeast(1), Doc: "Sample length for client quotas."},
	{Name: "replication.quota.window.num", Type: TypeInt, Default: v("11"), Check: atLeast(1), Doc: "Samples kept for replication quotas."},
	{Name: "replication.quota.window.size.seconds", Type: TypeInt, Default: v("1"), Check: atLeast(1), Doc: "Sample length for replication quotas."},
	{Name: "alter.log.dirs.replication.quota.window.num", Type: TypeInt, Default: v("11"), Check: atLeast(1), Doc: "Samples kept for log directory move quotas."},
	{Name: "alter.log.dirs.replication.quota.window.size.seconds", Type: TypeInt, Default: v("1"), Check: atLeast(1), Doc: "Sample length for log directory move quotas."},
	{Name: "controller.quota.window.num", Type: TypeInt, Default: v("11"), Check: atLeast(1), Doc: "Samples kept for controller mutation quotas."},
	{Name: "controller.quota.window.size.seconds", Type: TypeInt, Default: v("1"), Check: atLeast(1), Doc: "Sample length for controller mutation quotas."},
	{Name: "client.quota.callback.class", Type: TypeClass, Doc: "Custom client quota callback."},

	// Metrics (MetricConfigs).
	{Name: "metric.reporters", Type: TypeList, Default: v(""), Dynamic: true, Doc: "Java metrics reporter classes; accepted for compatibility (samsa exports Prometheus metrics)."},
	{Name: "metrics.num.samples", Type: TypeInt, Default: v("2"), Check: atLeast(1), Doc: "Samples kept to compute metrics."},
	{Name: "metrics.sample.window.ms", Type: TypeLong, Default: v("30000"), Check: atLeast(1), Doc: "Window of a metrics sample."},
	{Name: "metrics.recording.level", Type: TypeString, Default: v("INFO"), Doc: "Highest recording level of metrics."},
	{Name: "auto.include.jmx.reporter", Type: TypeBoolean, Default: v("true"), Doc: "Deprecated: add the JMX reporter to metric.reporters."},
	{Name: "kafka.metrics.reporters", Type: TypeList, Default: v(""), Doc: "Yammer metrics reporter classes; accepted for compatibility."},
	{Name: "kafka.metrics.polling.interval.secs", Type: TypeInt, Default: v("10"), Check: atLeast(1), Doc: "Polling interval of kafka.metrics.reporters."},
	{Name: "telemetry.max.bytes", Type: TypeInt, Default: v("1048576"), Check: atLeast(1), Doc: "Largest client telemetry payload (KIP-714)."},

	// Security (BrokerSecurityConfigs, SslConfigs, SaslConfigs).
	{Name: "security.providers", Type: TypeString, Doc: "Java security provider creators."},
	{Name: "principal.builder.class", Type: TypeClass, Default: v("org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"), Dynamic: true, Doc: "Builds the principal of an authenticated connection."},
	{Name: "connections.max.reauth.ms", Type: TypeLong, Default: v("0"), Doc: "Largest session lifetime before a SASL client must re-authenticate (KIP-368); 0 disables it."},
	{Name: "sasl.server.max.receive.size", Type: TypeInt, Default: v("524288"), Doc: "Largest SASL message accepted before authentication."},
	{Name: "ssl.client.auth", Type: TypeString, Default: v("none"), Check: oneOf("required", "requested", "none"), Dynamic: true, Doc: "Whether TLS clients must (required), may (requested) or do not (none) present a certificate."},
	{Name: "ssl.principal.mapping.rules", Type: TypeString, Default: v("DEFAULT"), Doc: "Rules mapping a certificate's distinguished name to a short name."},
	{Name: "ssl.allow.dn.changes", Type: TypeBoolean, Default: v("false"), Doc: "Allow a reloaded keystore to change the certificate's distinguished name."},
	{Name: "ssl.allow.san.changes", Type: TypeBoolean, Default: v("false"), Doc: "Allow a reloaded keystore to change the certificate's subject alternative names."},
	{Name: "ssl.protocol", Type: TypeString, Default: v("TLSv1.3"), Dynamic: true, Doc: "TLS protocol used to build the TLS context."},
	{Name: "ssl.provider", Type: TypeString, Dynamic: true, Doc: "Java security provider for TLS."},
	{Name: "ssl.enabled.protocols", Type: TypeList, Default: v("TLSv1.2,TLSv1.3"), Dynamic: true, Doc: "TLS versions accepted."},
	{Name: "ssl.cipher.suites", Type: TypeList, Default: v(""), Dynamic: true, Doc: "TLS cipher suites accepted; empty means the defaults."},
	{Name: "ssl.keystore.type", Type: TypeString, Default: v("JKS"), Dynamic: true, Doc: "Format of the keystore: JKS, PKCS12 or PEM."},
	{Name: "ssl.keystore.location", Type: TypeString, Dynamic: true, Doc: "Path of the keystore."},
	{Name: "ssl.keystore.password", Type: TypePassword, Dynamic: true, Doc: "Password of the keystore."},
	{Name: "ssl.key.password", Type: TypePassword, Dynamic: true, Doc: "Password of the private key in the keystore."},
	{Name: "ssl.keystore.key", Type: TypePassword, Dynamic: true, Doc: "PEM private key, inline."},
	{Name: "ssl.keystore.certificate.chain", Type: TypePassword, Dynamic: true, Doc: "PEM certificate chain, inline."},
	{Name: "ssl.truststore.type", Type: TypeString, Default: v("JKS"), Dynamic: true, Doc: "Format of the truststore: JKS, PKCS12 or PEM."},
	{Name: "ssl.truststore.location", Type: TypeString, Dynamic: true, Doc: "Path of the truststore."},
	{Name: "ssl.truststore.password", Type: TypePassword, Dynamic: true, Doc: "Password of the truststore."},
	{Name: "ssl.truststore.certificates", Type: TypePassword, Dynamic: true, Doc: "PEM trusted certificates, inline."},
	{Name: "ssl.keymanager.algorithm", Type: TypeString, Default: v("SunX509"), Dynamic: true, Doc: "Java key manager factory algorithm."},
	{Name: "ssl.trustmanager.algorithm", Type: TypeString, Default: v("PKIX"), Dynamic: true, Doc: "Java trust manager factory algorithm."},
	{Name: "ssl.endpoint.identification.algorithm", Type: TypeString, Default: v("https"), Dynamic: true, Doc: "Host name verification of peers; empty disables it."},
	{Name: "ssl.secure.random.implementation", Type: TypeString, Dynamic: true, Doc: "Java SecureRandom implementation for TLS."},
	{Name: "ssl.engine.factory.class", Type: TypeClass, Dynamic: true, Doc: "Custom Java SSLEngine factory."},
	{Name: "sasl.enabled.mechanisms", Type: TypeList, Default: v("GSSAPI"), Dynamic: true, Doc: "SASL mechanisms the broker offers."},
	{Name: "sasl.mechanism.inter.broker.protocol", Type: TypeString, Default: v("GSSAPI"), Dynamic: true, Doc: "SASL mechanism between brokers."},
	{Name: "sasl.jaas.config", Type: TypePassword, Dynamic: true, Doc: "JAAS login module settings, inline; usually set per listener and mechanism."},
	{Name: "sasl.server.callback.handler.class", Type: TypeClass, Doc: "Server callback handler of SASL mechanisms."},
	{Name: "sasl.client.callback.handler.class", Type: TypeClass, Doc: "Client callback handler of SASL mechanisms."},
	{Name: "sasl.login.class", Type: TypeClass, Doc: "Login implementation of SASL mechanisms."},
	{Name: "sasl.login.callback.handler.class", Type: TypeClass, Doc: "Login callback handler of SASL mechanisms."},
	{Name: "sasl.kerberos.service.name", Type: TypeString, Dynamic: true, Doc: "Kerberos principal name Kafka runs as."},
	{Name: "sasl.kerberos.kinit.cmd", Type: TypeString, Default: v("/usr/bin/kinit"), Dynamic: true, Doc: "Kerberos kinit command path."},
	{Name: "sasl.kerberos.ticket.renew.window.factor", Type: TypeDouble, Default: v("0.8"), Dynamic: true, Doc: "Share of ticket lifetime after which the ticket is renewed."},
	{Name: "sasl.kerberos.ticket.renew.jitter", Type: TypeDouble, Default: v("0.05"), Dynamic: true, Doc: "Random jitter added to the renewal time."},
	{Name: "sasl.kerberos.min.time.before.relogin", Type: TypeLong, Default: v("60000"), Dynamic: true, Doc: "Sleep between Kerberos refresh attempts."},
	{Name: "sasl.kerberos.principal.to.local.rules", Type: TypeList, Default: v("DEFAULT"), Dynamic: true, Doc: "Rules mapping Kerberos principals to short names."},
	{Name: "sasl.login.refresh.window.factor", Type: TypeDouble, Default: v("0.8"), Dynamic: true, Doc: "Share of credential lifetime after which it is refreshed (OAUTHBEARER)."},
	{Name: "sasl.login.refresh.window.jitter", Type: TypeDouble, Default: v("0.05"), Dynamic: true, Doc: "Random jitter added to the refresh time (OAUTHBEARER)."},
	{Name: "sasl.login.refresh.min.period.seconds", Type: TypeShort, Default: v("60"), Dynamic: true, Doc: "Shortest time between credential refreshes (OAUTHBEARER)."},
	{Name: "sasl.login.refresh.buffer.seconds", Type: TypeShort, Default: v("300"), Dynamic: true, Doc: "Time before expiry at which a credential is refreshed (OAUTHBEARER)."},
	{Name: "sasl.login.connect.timeout.ms", Type: TypeInt, Doc: "Connect timeout of the external login provider (OAUTHBEARER)."},
	{Name: "sasl.login.read.timeout.ms", Type: TypeInt, Doc: "Read timeout of the external login provider (OAUTHBEARER)."},
	{Name: "sasl.login.retry.backoff.ms", Type: TypeLong, Default: v("100"), Doc: "First backoff between login attempts (OAUTHBEARER)."},
	{Name: "sasl.login.retry.backoff.max.ms", Type: TypeLong, Default: v("10000"), Doc: "Longest backoff between login attempts (OAUTHBEARER)."},
	{Name: "sasl.oauthbearer.scope.claim.name", Type: TypeString, Default: v("scope"), Doc: "JWT claim holding the scopes."},
	{Name: "sasl.oauthbearer.sub.claim.name", Type: TypeString, Default: v("sub"), Doc: "JWT claim holding the subject."},
	{Name: "sasl.oauthbearer.token.endpoint.url", Type: TypeString, Doc: "URL or file of the OAuth token endpoint."},
	{Name: "sasl.oauthbearer.jwks.endpoint.url", Type: TypeString, Doc: "URL or file of the JWKS used to verify tokens."},
	{Name: "sasl.oauthbearer.jwks.endpoint.refresh.ms", Type: TypeLong, Default: v("3600000"), Doc: "How often the JWKS is refreshed."},
	{Name: "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", Type: TypeLong, Default: v("100"), Doc: "First backoff between JWKS fetch attempts."},
	{Name: "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", Type: TypeLong, Default: v("10000"), Doc: "Longest backoff between JWKS fetch attempts."},
	{Name: "sasl.oauthbearer.clock.skew.seconds", Type: TypeInt, Default: v("30"), Doc: "Clock skew tolerated when checking token times."},
	{Name: "sasl.oauthbearer.expected.audience", Type: TypeList, Doc: "Audiences a token must name."},
	{Name: "sasl.oauthbearer.expected.issuer", Type: TypeString, Doc: "Issuer a token must name."},

	// Delegation tokens and the password encoder.
	{Name: "delegation.token.secret.key", Type: TypePassword, Doc: "Secret used to sign delegation tokens."},
	{Name: "delegation.token.master.key", Type: TypePassword, Doc: "Deprecated name of delegation.token.secret.key."},
	{Name: "delegation.token.max.lifetime.ms", Type: TypeLong, Default: v("604800000"), Check: atLeast(1), Doc: "Longest lifetime of a delegation token."},
	{Name: "delegation.token.expiry.time.ms", Type: TypeLong, Default: v("86400000"), Check: atLeast(1), Doc: "Validity of a delegation token before it must be renewed."},
	{Name: "delegation.token.expiry.check.interval.ms", Type: TypeLong, Default: v("3600000"), Check: atLeast(1), Doc: "How often expired delegation tokens are removed."},
	{Name: "password.encoder.secret", Type: TypePassword, Doc: "Secret used to encode dynamically set passwords."},
	{Name: "password.encoder.old.secret", Type: TypePassword, Doc: "Previous password.encoder.secret, for rotation."},
	{Name: "password.encoder.keyfactory.algorithm", Type: TypeString, Doc: "Key factory algorithm of the password encoder."},
	{Name: "password.encoder.cipher.algorithm", Type: TypeString, Default: v("AES/CBC/PKCS5Padding"), Doc: "Cipher of the password encoder."},
	{Name: "password.encoder.key.length", Type: TypeInt, Default: v("128"), Check: atLeast(8), Doc: "Key length of the password encoder."},
	{Name: "password.encoder.iterations", Type: TypeInt, Default: v("4096"), Check: atLeast(1024), Doc: "Iterations of the password encoder."},
}

// listenerMechanismKeys may be set per listener and SASL mechanism, as
// listener.name.<listener>.<mechanism>.<key>.
var listenerMechanismKeys = []string{
	"sasl.jaas.config", "sasl.server.callback.handler.class", "sasl.login.class",
	"sasl.login.callback.handler.class", "connections.max.reauth.ms", "sasl.server.max.receive.size",
}

var (
	brokerIndex = index(brokerKeys)
	topicIndex  = index(topicKeys)
	// synonymGroups maps each broker key that shares a topic key with other
	// broker keys to the whole group, highest precedence first
	// (DynamicBrokerConfig.brokerConfigSynonyms).
	synonymGroups = groups()
)

func index(keys []keyDef) map[string]*keyDef {
	m := make(map[string]*keyDef, len(keys))
	for i := range keys {
		if _, dup := m[keys[i].Name]; dup {
			panic("config: key listed twice: " + keys[i].Name)
		}
		m[keys[i].Name] = &keys[i]
	}
	return m
}

func groups() map[string][]string {
	m := map[string][]string{}
	for _, k := range topicKeys {
		for _, s := range k.Synonyms {
			if brokerIndex[s.Name] == nil {
				panic("config: topic key " + k.Name + " has unknown broker synonym " + s.Name)
			}
		}
		if len(k.Synonyms) < 2 {
			continue
		}
		names := make([]string, len(k.Synonyms))
		for i, s := range k.Synonyms {
			names[i] = s.Name
		}
		for _, n := range names {
			m[n] = names
		}
	}
	return m
}

// brokerSynonyms is the list of broker keys Kafka consults for name, highest
// precedence first; name itself is in it.
func brokerSynonyms(name string) []string {
	if g, ok := synonymGroups[name]; ok {
		return g
	}
	if base, _, ok := splitListenerKey(name); ok {
		return []string{name, base}
	}
	return []string{name}
}

// splitListenerKey splits listener.name.<listener>.<key> and
// listener.name.<listener>.<mechanism>.<key> into the base key and listener
// name. ok is false unless the base key is a known broker key.
func splitListenerKey(name string) (base, listener string, ok bool) {
	rest, found := strings.CutPrefix(name, "listener.name.")
	if !found {
		return "", "", false
	}
	listener, rest, found = strings.Cut(rest, ".")
	if !found || listener == "" {
		return "", "", false
	}
	if brokerIndex[rest] != nil {
		return rest, listener, true
	}
	for _, k := range listenerMechanismKeys {
		if mech, found := strings.CutSuffix(rest, "."+k); found && mech != "" && !strings.Contains(mech, ".") {
			return k, listener, true
		}
	}
	return "", "", false
}

// IsTopicKey reports whether key is a topic-level config.
func IsTopicKey(key string) bool { return topicIndex[key] != nil }

// IsBrokerKey reports whether key is a broker config samsa accepts, including
// listener.name.<listener>. prefixed forms.
func IsBrokerKey(key string) bool {
	if brokerIndex[key] != nil {
		return true
	}
	_, _, ok := splitListenerKey(key)
	return ok
}

// TopicKeys returns every topic config name, sorted.
func TopicKeys() []string { return names(topicKeys) }

// BrokerKeys returns every broker config name, sorted.
func BrokerKeys() []string { return names(brokerKeys) }

// TopicKeyType returns the type of a topic config, for IncrementalAlterConfigs
// APPEND and SUBTRACT, which apply only to lists.
func TopicKeyType(key string) (Type, bool) {
	if k := topicIndex[key]; k != nil {
		return k.Type, true
	}
	return TypeUnknown, false
}

func names(keys []keyDef) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	sort.Strings(out)
	return out
}
