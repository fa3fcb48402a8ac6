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
// A v2 embedded format (binary, json; later avro, jsonschema, protobuf
// through the schema registry) is a Format: it turns the JSON embedded in a
// request into record bytes and record bytes back into JSON for a response.
// v3 records name their type per key and value (BINARY, JSON, STRING).
//
// # Errors
//
// Every HTTP error, including unknown paths, wrong methods and oversized
// bodies, is a JSON body {"error_code":N,"message":"..."}: v2 uses the
// reference's five-digit codes (40401 topic not found, 40403 consumer
// instance not found, ...), v3 the HTTP status. Request bodies are limited to
// Config.MaxRequestBytes; the v3 streaming produce applies the limit to each
// record instead of the whole stream.
package restproxy
