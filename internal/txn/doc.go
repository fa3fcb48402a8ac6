// Package txn is the transaction coordinator of Apache Kafka 3.9 (KIP-98,
// transaction protocol version 1): it maps a transactional.id to a producer
// id and epoch (InitProducerId), fences zombies by bumping the epoch, records
// which partitions a transaction touches (AddPartitionsToTxn,
// AddOffsetsToTxn), decides the outcome (EndTxn) and has the COMMIT or ABORT
// markers written to every one of those partitions. Its state lives in the
// compacted internal topic __transaction_state, whose partition p holds the
// transactional ids with abs(javaHashCode(id)) % partitions == p, keyed by
// TransactionLogKey v0 with TransactionLogValue v0 values (v1 is read too),
// as Kafka 3.9 writes them for clients of transaction version 1
// (docs/format/transaction_state.md).
//
// # Who owns what
//
// The Coordinator owns a map of transactional ids guarded by Coordinator.mu.
// Each id's metadata (txn) is guarded by its own mutex, txn.mu, held for the
// whole of an operation on it: the check, the append to __transaction_state,
// the markers, and the update of memory. One transactional id's state
// machine is therefore sequential, different ids run in parallel. A state
// change is applied to memory only after its record is in the log, so an
// acknowledged InitProducerId, AddPartitionsToTxn or EndTxn survives a crash.
//
// Lock order: txn.mu, then Coordinator.mu; txn.mu, then whatever the
// Markers implementation takes (partition logs, and the group coordinator's
// group.mu for __consumer_offsets). Code that visits many ids copies the
// list under Coordinator.mu and locks them one at a time afterwards. The
// broker calls WithVerified to run a transactional append (every
// transactional Produce batch, a TxnOffsetCommit) under txn.mu, so
// an EndTxn cannot write its markers between the check that the partition is
// part of the transaction and the append.
//
// # Ending a transaction
//
// EndTxn moves an Ongoing transaction to PrepareCommit or PrepareAbort and
// appends that record: from then on the outcome is decided and the request
// succeeds. The markers are then written synchronously (on one node every
// partition is local, so there is no marker queue as in Kafka's
// TransactionMarkerChannelManager), and the CompleteCommit or CompleteAbort
// record follows. If a marker cannot be written (a partition offline after a
// disk failure) the transaction stays in its Prepare state, requests for it
// get CONCURRENT_TRANSACTIONS, and the background loop retries the markers.
// Markers for partitions of deleted topics are dropped, as Kafka does.
//
// InitProducerId on an id whose transaction is Ongoing fences the old
// producer: the epoch is bumped, the transaction aborted with the bumped
// epoch (so the zombie's later appends and markers are refused), and, as in
// Kafka, the caller gets CONCURRENT_TRANSACTIONS and retries, which bumps
// the epoch once more and returns it.
//
// # Goroutines and timers
//
// New starts one goroutine, the loop: every
// transaction.abort.timed.out.transaction.cleanup.interval.ms it aborts
// Ongoing transactions older than their timeout (fencing their producer by
// an epoch bump, as Kafka does) and retries transactions stuck in a Prepare
// state; every transaction.remove.expired.transaction.cleanup.interval.ms it
// removes ids idle (Empty or Complete*) for longer than
// transactional.id.expiration.ms by appending a tombstone. Close stops and
// waits for it.
//
// # Loading
//
// LoadPartition replays a partition of __transaction_state from its start
// (the last record of each id wins, a null value deletes it), then finishes
// what a crash interrupted: transactions found in PrepareCommit or
// PrepareAbort get their markers and their Complete record. Transactions
// found Ongoing stay Ongoing: their producer may still be alive and go on;
// if it is not, the timeout aborts them. The broker loads every partition
// (it leads them all on one node) after the group coordinator, since
// markers on __consumer_offsets go through it.
package txn
