// Package storage is the per-partition log on disk: what Kafka calls
// UnifiedLog, LocalLog, LogSegment, OffsetIndex, TimeIndex,
// ProducerStateManager, LeaderEpochFileCache and (for one entry of log.dirs)
// LogManager. The byte-level file formats are in docs/format/log.md.
//
// # Pieces
//
//   - [Dir] is one log dir. It finds partition folders "<topic>-<partition>",
//     opens [Log]s, deletes them, and owns the dir-wide files:
//     recovery-point-offset-checkpoint, log-start-offset-checkpoint,
//     cleaner-offset-checkpoint and the
//     clean-shutdown marker ".kafka_cleanshutdown". meta.properties belongs to
//     the broker.
//   - [Log] is one partition: an ordered list of segments, the last of which is
//     active (appended to). It also holds the leader epoch cache
//     (leader-epoch-checkpoint), the idempotent producer state (*.snapshot) and
//     partition.metadata.
//   - A segment is a .log file of record batches exactly as on the wire, a
//     sparse .index (offset -> file position) and a .timeindex
//     (timestamp -> offset), all named by the segment's 20-digit base offset.
//     Index files are preallocated to segment.index.bytes, memory mapped, and
//     trimmed to their entries when the segment stops being active. A
//     segment holding ABORT transaction markers also has a .txnindex of
//     the aborted transactions (txn_index.go), kept in memory for fetches.
//   - Transactions (log_txn.go): the producer state tracks each producer's
//     open transaction; [Log.FirstUnstableOffset] is the oldest one's first
//     offset (never below the log start offset), [Log.AppendMarker] writes
//     a COMMIT/ABORT control batch and [Log.AbortedTransactions] answers
//     read_committed fetches.
//   - The cleaner (cleaner.go, cleaner_txn.go) follows Kafka's rules for
//     transactions: it never cleans from the segment holding the oldest
//     open transaction on; it discards the records of aborted
//     transactions (known from the .txnindex entries) and never lets them
//     supersede anything, while committed records are deduplicated like
//     plain ones; a COMMIT or ABORT marker stays while a batch of its
//     transaction may be in the log, then gets a delete horizon
//     (delete.retention.ms, stamped as for tombstones) and goes after it;
//     each producer's last batch stays, emptied if need be (or, when its
//     last write was a marker, its markers of the current epoch), so its
//     sequence and epoch survive; a cleaned segment's .txnindex keeps the
//     aborted transactions whose markers stayed because their data might.
//
// # Goroutines and locking
//
// Storage starts no long-lived goroutines. The caller (the replica manager)
// owns time: it calls [Log.MaybeFlush], [Log.EnforceRetention],
// [Dir.Checkpoint] and, for compacted logs, [Log.Clean] periodically. A
// cleaning pass (cleaner.go) reads and writes without the append lock and
// takes it only to swap each cleaned segment group in; passes on one log are
// serialized by Log.cleanMu, which is taken before Log.mu. Short-lived goroutines, all waited for by
// Close, flush a segment after a roll, remove deleted segment files after
// file.delete.delay.ms, and remove deleted partition folders.
//
// Each Log has one mutex, the append lock. It serializes appends, rolls,
// truncation, retention, flushes of the recovery point and config changes.
// Readers never take it: the segment list is an immutable slice swapped
// through an atomic pointer, the log end offset, log start offset and each
// segment's size are atomics published after the bytes they cover are written,
// and index lookups take only the index's own read lock (held against remaps,
// never across file I/O). So [Log.Read], [Log.LogEndOffset] and
// [Log.LogStartOffset] run concurrently with appends and never wait for them.
// A segment deleted under a reader is renamed *.deleted and kept open for
// file.delete.delay.ms, as Kafka does, so the reader finishes or retries.
//
// Lock order: Log.cleanMu before Dir.mu before Log.mu before index locks. Log never calls back
// into Dir while holding Log.mu except through the log start offset hook,
// which takes only Dir.mu.
//
// # What callers must do
//
//   - Validate batches (CRC, record framing, sizes) before AppendAsLeader; the
//     log trusts them and only assigns offsets and the leader epoch in place.
//   - Bound reads with the high watermark (maxOffset); storage does not know it.
//   - Call Dir.Close on shutdown. Without the clean-shutdown marker the next
//     open scans every segment after the recovery point, truncates the first
//     damaged batch and everything after it, and rebuilds indexes.
//   - Treat an I/O error from an append or flush as fatal for the log dir: the
//     in-memory state of that log is no longer trustworthy.
package storage
