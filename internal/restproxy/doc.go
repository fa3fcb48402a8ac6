// Package restproxy is samsa's REST Proxy: Confluent REST Proxy API v2
// (produce and consume through consumer instances, embedded formats) and v3
// (cluster, topic, partition, config, consumer group and record resources)
// over HTTP, so that applications which cannot speak the Kafka protocol can
// still produce and consume.
//
// Like every companion service it is a client of the cluster: it reaches the
// brokers only over the Kafka protocol through franz-go, even when it runs
// inside `samsa server`, so it can also run as its own process
// (`samsa rest-proxy`) against any node.
//
// # State and goroutines
//
//   - One shared kgo client (Proxy.cl) produces every record of every
//     request (acks=all, idempotent) and, wrapped in a kadm client, answers
//     every metadata and admin request. Requests use it concurrently; kgo is
//     safe for that. Its partitioner honours an explicit partition chosen by
//     the request and otherwise hashes the key as Kafka's Java producer does
//     (murmur2), keyless records going to a sticky partition.
//   - Consumer instances (v2 `POST /consumers/{group}`) live in Proxy.instances
//     under Proxy.mu. Each instance owns its own kgo consumer client, created
//     when it subscribes (group mode) or is assigned partitions (direct mode)
//     and closed when it unsubscribes, is re-assigned, deleted or expires.
//     An instance serves one request at a time (instance.mu, held for the
//     whole request, including a records poll that waits up to its timeout);
//     records fetched beyond a request's max_bytes wait in the instance for
//     the next request.
//   - One janitor goroutine, started by New and stopped by Close, closes
//     instances idle for longer than Config.ConsumerInstanceTimeout
//     (consumer.instance.timeout.ms, default 5 minutes). An instance in use
//     is never expired; its idle time counts from the end of its last request.
//
// Lock order: Proxy.mu may be taken while holding instance.mu, never the
// other way round; neither is held across a network call except instance.mu.
//
// # Formats
//
// A v2 embedded format (binary, json) is a Format: it turns the JSON
// embedded in a request into record bytes and record bytes back into JSON
// for a response. The schema formats avro, jsonschema and protobuf (and
// the v3 types AVRO, JSONSCHEMA, PROTOBUF) go through the schema registry
// at Config.SchemaRegistryURL with franz-go's sr client (schema.go): a
// request's key_schema/value_schema is registered under TOPIC-key or
// TOPIC-value (TopicNameStrategy), a *_schema_id is looked up and must be
// registered under that subject, as in the reference; v3 records may also
// name a subject or subject_name_strategy (TOPIC_NAME, RECORD_NAME,
// TOPIC_RECORD_NAME) and a schema_version, and a record without a type
// takes the type of the schema it names, or the subject's latest schema
// (JSON when the subject does not exist). A schema's references are
// fetched from the registry and resolved when it is parsed (Avro named
// types, JSON Schema $refs, .proto imports). Records are written in
// Confluent's wire format (byte 0, 4-byte id, for protobuf the message
// indexes, payload); the first message of a .proto is the one written.
// Consumer instances in those formats decode by the id each record
// carries. Parsed schemas are cached by id in registry.byID, the subject
// versions of ids and subjects' latest versions beside it (one mutex,
// never held across a network call). Avro data uses Avro's JSON encoding
// (a non-null union value names its branch).
//
// # Errors
//
// Every HTTP error, including unknown paths, wrong methods and oversized
// bodies, is a JSON body {"error_code":N,"message":"..."}: v2 uses the
// reference's five-digit codes (40401 topic not found, 40403 consumer
// instance not found, 42201/42202 key/value schema missing, 42205 a schema
// that does not parse, 42206 schema formats without a registry, 42207 a
// registry lookup or registration that failed, 40801 a record being read
// whose schema cannot be fetched, ...), v3 the HTTP status (with the
// five-digit code in the message, as the reference's produce does). Data
// that does not match its schema is a 400 in both. Request bodies are
// limited to Config.MaxRequestBytes; the v3 streaming produce applies the
// limit to each record instead of the whole stream.
package restproxy
