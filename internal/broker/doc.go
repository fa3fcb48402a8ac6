// Package broker wires samsa's broker together and serves the Kafka APIs:
// one handler file per API key, numbered like the key (00_produce.go,
// 01_fetch.go, ...). Each file opens with the versions served, the KIPs behind
// the version steps that change behaviour, and how we differ from Kafka, and
// registers its range once; ApiVersions is built from that registry
// (versions.go), so advertising and serving cannot drift apart.
//
// # Shape
//
//	protocol.Server ──Handle──► Broker.Handle ──► handler for the key
//	                                                 │
//	                 metadata.Store (topics, ids, configs, producer id blocks)
//	                 replica.Manager (partitions ─► storage logs)
//	                 fetchSessions (KIP-227 incremental fetch sessions)
//
// Handlers run on connection reader goroutines, concurrently across
// connections. They share no mutable state except through those components,
// each of which guards its own: the metadata Store publishes immutable images,
// partitions are safe for concurrent use, the fetch session cache has one
// mutex. Handlers put client-caused failures in the response as Kafka error
// codes (errors.go maps our sentinel errors to codes in one table); a Go
// error from a handler means the connection must close.
//
// # Lifecycle
//
// New checks and locks the log dirs (meta.properties, .lock), loads the
// metadata image and opens every partition's log, recovering after an
// unclean stop. Start opens the listeners. Close stops the listeners,
// finishes requests in flight, then flushes and closes the logs and writes
// the clean-shutdown marker.
package broker
