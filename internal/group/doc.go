// Package group is the group coordinator of Apache Kafka 3.9: it runs the
// classic JoinGroup/SyncGroup/Heartbeat/LeaveGroup rebalance protocol for
// consumer groups (and any other protocol type, such as Connect's), the
// consumer group protocol of KIP-848 (ConsumerGroupHeartbeat), keeps
// committed offsets, and stores both in the compacted internal topic
// __consumer_offsets, whose partition p holds the groups with
// abs(javaHashCode(groupID)) % partitions == p (PartitionFor).
//
// # Who owns what
//
// The Coordinator owns a map of groups guarded by Coordinator.mu. Each group
// owns its state (members, generation, protocol, assignments, offsets) and
// guards all of it with its own mutex, group.mu. Every operation on a group,
// whether a request or a timer firing, runs with group.mu held from start
// to finish, so one group's state machine is sequential, as if driven by a
// single goroutine; different groups run in parallel. We chose a mutex per
// group over a goroutine per group (franz-go kfake's manage loop) because
// every transition is short and synchronous: the only things that wait are
// a JoinGroup or SyncGroup for the rest of the group, and those wait
// outside the lock on a buffered channel the state machine fills
// (member.joinCh, member.syncCh), so no goroutine is needed to hold them.
//
// Lock order: group.mu, then Coordinator.mu. Never take a group's mutex
// while holding Coordinator.mu; code that visits many groups copies the
// list under Coordinator.mu, releases it, then locks the groups one by one.
// The package calls out only to its Store (and nothing else) while holding
// either, so callers may hold locks of their own that rank above ours: the
// transaction coordinator (internal/txn) holds a transaction's lock while
// it calls CompleteTxn.
//
// Timers (session expiry, rebalance timeout, the initial rebalance delay,
// pending-member and pending-sync expiry) are time.AfterFunc callbacks that
// lock the group and check a sequence number, so a timer that was replaced
// or stopped while its callback was already on its way does nothing. The
// durations come from Config, so tests run with short ones.
//
// Goroutines: the Coordinator starts one, the offset-expiry loop
// (offsets.retention.check.interval.ms), and Close stops and waits for it.
// Close also stops every group's timers and answers every waiting JoinGroup
// and SyncGroup with NOT_COORDINATOR; a timer callback that runs after
// Close finds its group closed and returns.
//
// # How state reaches disk
//
// Every change that Kafka persists is appended to the group's
// __consumer_offsets partition while group.mu is held, so the log order of
// one group's records is the order of its state changes, and the change is
// applied to memory only after the append succeeded: an acknowledged offset
// commit is in the log. Records use Kafka's layouts (docs/format/
// consumer_offsets.md): OffsetCommitKey v1 with OffsetCommitValue v3 (v1 when
// the commit carries an expire timestamp), GroupMetadataKey v2 with
// GroupMetadataValue v3, and a null value deletes. LoadPartition replays a
// partition from its start to rebuild the groups it holds; UnloadPartition
// forgets them (a later multi-broker issue moves partitions between brokers
// this way).
//
// # Transactional offset commits (KIP-98, KIP-447)
//
// TxnCommitOffsets (txn.go) appends a transaction's offsets to the group's
// partition as one transactional batch of the producer (producer id and
// epoch, no sequence; the partition checks the epoch, so a fenced producer
// gets INVALID_PRODUCER_EPOCH) and keeps them, after the append, in the
// group's txnOffsets, by producer id: owned by the group and guarded by
// group.mu like its committed offsets, and not visible to OffsetFetch
// (require_stable answers UNSTABLE_OFFSET_COMMIT for their partitions).
// Every offset remembers the log offset of its record. The Coordinator
// keeps an index, openTxns (guarded by Coordinator.mu), from a producer id
// to the groups that may hold its offsets; a group enters it before its
// batch is appended.
//
// The transaction coordinator ends the transaction with CompleteTxn on each
// __consumer_offsets partition the transaction added (AddOffsetsToTxn): it
// writes the COMMIT or ABORT marker through the Store with no lock held,
// then reads the index (Coordinator.mu) and locks each group in turn
// (group.mu, then Coordinator.mu to update the index). Only offsets whose
// records precede the marker end, so an offset appended after the marker
// (the producer's next transaction) stays open, exactly as a replay of the
// log has it; on commit an offset replaces the committed one only if its
// record is the later (a plain commit appended after the transactional one
// wins), as Kafka's OffsetMetadataManager.replayEndTransactionMarker.
//
// Replay (persist.go) applies the same rules in log order: a transactional
// batch's offsets open, a marker of the producer commits or drops them, and
// those without a marker yet are open again after a restart, for the
// transaction coordinator's recovery to complete. A tombstone of a
// partition (OffsetDelete, DeleteGroups, a deleted topic) removes open
// transactions' offsets of it too; offset expiry skips partitions with one
// and keeps their groups, as Kafka 3.9.
//
// # The consumer group protocol (KIP-848)
//
// A group is either classic (cg == nil) or a consumer group of KIP-848
// (cg != nil, consumer_group.go), served through ConsumerGroupHeartbeat v0
// and ConsumerGroupDescribe v0 as Kafka 3.9 serves them. A member's
// heartbeat updates its subscription; a new member, a changed subscription
// or assignor, a member leaving or fenced, or a change in the subscribed
// topics (created, deleted, more partitions) moves the group epoch, and
// the target assignment is recomputed at once by the server-side assignor
// most members ask for ("uniform", the default, or "range"; assignor.go).
// Each member is then reconciled towards its target as Kafka's
// CurrentAssignmentBuilder does: partitions it must give up are revoked
// first, and it keeps its epoch until a heartbeat no longer reports them
// (or its rebalance timeout fences it); partitions still held or being
// revoked by another member are withheld until released. Sessions last
// group.consumer.session.timeout.ms from the last heartbeat; expiry fences
// the member. A static member's temporary leave (epoch -2) keeps its
// partitions for a member with the same instance id until the session
// expires.
//
// The two protocols do not mix (group.consumer.migration.policy=disabled):
// a classic JoinGroup on a consumer group with members is
// INCONSISTENT_GROUP_PROTOCOL, a consumer heartbeat on a classic group with
// members is GROUP_ID_NOT_FOUND; an empty group of either kind converts,
// keeping its committed offsets. Consumer groups commit and fetch offsets
// with their member epoch as the generation (STALE_MEMBER_EPOCH,
// UNKNOWN_MEMBER_ID; OffsetCommit v9 required for members).
//
// Persistence: only committed offsets (plain and transactional) of
// consumer groups reach __consumer_offsets. Their membership, epochs and assignments
// (Kafka's ConsumerGroupMetadata, ConsumerGroupMemberMetadata,
// ConsumerGroupTargetAssignment* and ConsumerGroupCurrentMemberAssignment
// records) are kept in memory only. After a restart (or unload) the group
// exists only by its offsets; a member's heartbeat gets UNKNOWN_MEMBER_ID
// and it rejoins with epoch 0, and the group is rebuilt from heartbeats,
// resuming from the committed offsets.
//
// # What callers must do
//
// The broker creates __consumer_offsets, calls LoadPartition for every
// partition it leads before serving group requests, checks that topics and
// partitions named in offset commits exist, and calls Close before closing
// the partitions. Markers on __consumer_offsets must be written through
// CompleteTxn (the transaction coordinator, and WriteTxnMarkers for such a
// partition), never straight to the partition: memory would then keep the
// transaction's offsets open, and the producer's next marker there would
// end them by its own outcome, unlike a replay of the log. Request methods may block (JoinGroup and SyncGroup until
// the rebalance completes); they return early when ctx is done.
package group
