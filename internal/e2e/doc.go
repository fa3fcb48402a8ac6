// Package e2e holds end-to-end tests of the samsa binary and of samsa driven
// by third-party Kafka clients: kcat (librdkafka), kafka-python and
// confluent-kafka-python. Clients run as child processes against brokers
// started by internal/kafkatest on loopback ports; the Python drivers live
// in testdata/ and print one JSON object per line for the Go test to parse.
//
// The tests skip when a client is not installed, except when CI or
// SAMSA_REQUIRE_TOOLS is set (scripts/test.sh sets it), where a missing
// client fails the test.
package e2e
