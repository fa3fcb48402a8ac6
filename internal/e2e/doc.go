// Package e2e holds end-to-end tests of the samsa binary and of samsa driven
// by third-party Kafka clients: kcat (librdkafka), kafka-python,
// confluent-kafka-python, and kafkajs with @kafkajs/confluent-schema-registry
// (node). Clients run as child processes against brokers started by
// internal/kafkatest on loopback ports; the Python and node drivers live in
// testdata/ (the node project, pinned by its package-lock.json, in
// testdata/kafkajs, installed by the test with npm ci) and print one JSON
// object per line for the Go test to parse.
//
// The tests skip when a client is not installed, except when CI or
// SAMSA_REQUIRE_TOOLS is set (scripts/test.sh sets it), where a missing
// client fails the test. The schema client tests (TestSchemaPython,
// TestSchemaKafkajs) always fail when theirs is missing.
package e2e
