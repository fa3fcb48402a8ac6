// Package replica holds the partitions this broker hosts: Kafka's Partition
// and ReplicaManager. A Partition puts a record batch through validation
// (internal/record) and appends it to its log (internal/storage), keeps the
// high watermark, and wakes fetches waiting for data (Kafka's delayed-fetch
// purgatory).
//
// In this single-node version every partition is led by this broker and its
// ISR is itself, so the high watermark equals the log end offset after each
// append; the leader epoch starts at 0. Replication (a later issue) moves the
// high watermark only when the ISR has the data.
//
// # Concurrency
//
// Partition methods are safe for concurrent use. Appends to one partition
// are serialized by its log; reads never wait for appends. The partition's
// topic config is an immutable *config.Topic swapped through an atomic
// pointer. Waiters register with a partition under its small mutex and are
// notified (non-blocking, one-slot channel) after every append.
//
// The Manager owns the partition map (guarded by its RWMutex) and one
// background goroutine that runs retention, time-based flushes and
// checkpoints on Kafka's intervals; Close stops it and closes every log.
package replica
