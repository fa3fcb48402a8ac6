// Package config holds samsa's broker and topic configuration under Kafka's
// own names, types, defaults and validation rules, and the data the broker
// needs to answer DescribeConfigs exactly as a Kafka 3.9 broker would.
//
// # Where things live
//
//   - keys.go: the two tables, brokerKeys and topicKeys. Every key samsa knows
//     is one row: name, Kafka type, default, validator, a documentation line,
//     whether Kafka can change it at runtime, and (topic keys) the broker
//     synonyms in Kafka's precedence order (ServerTopicConfigSynonyms).
//     Adding a key is one row there, plus a tagged field on Broker or Topic if
//     the server should read it as a typed value.
//   - types.go: parsing and canonical printing of each Kafka type, validators.
//   - properties.go: LoadFile (Java .properties syntax), ParseSets and Merge.
//   - broker.go: NewBroker, which checks a merged property map against the
//     table and reports every problem at once.
//   - topic.go: ValidateTopicOverrides and ResolveTopic (override, then the
//     broker synonyms, then the default).
//   - describe.go: DescribeTopic and DescribeBroker, which build the
//     DescribeConfigs entries with Kafka's ConfigSource and ConfigType numbers.
//
// # How the server uses it
//
// internal/cli reads the properties file (LoadFile) and the --set flags
// (ParseSets), merges them with --set winning (Merge(file, sets)), and calls
// NewBroker once at start up. The resulting *Broker is immutable and safe for concurrent use by
// any number of goroutines. Topic overrides live in the metadata image; the
// handlers call ValidateTopicOverrides on CreateTopics/AlterConfigs input and
// ResolveTopic/DescribeTopic with the overrides stored for a topic.
//
// Keys that Kafka 3.9 accepts but samsa does not act on yet are accepted so
// that an existing server.properties keeps working; Broker.Ignored lists the
// ones that were set so the server can log them once. Unknown keys are
// errors, with the closest known key suggested.
//
// Dynamic broker configs (DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG)
// are not stored yet: every explicit broker setting is reported as
// STATIC_BROKER_CONFIG.
//
// # Samsa defaults that differ from Kafka's
//
// A bare `samsa server` is a working single node, so node.id defaults to 1,
// process.roles to "broker,controller", listeners to PLAINTEXT://127.0.0.1:9092
// and log.dir to ./samsa-data. Every other default is Kafka 3.9's.
package config
