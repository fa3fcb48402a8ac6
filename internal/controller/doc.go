// Package controller is samsa's KRaft replacement: the metadata quorum and
// the active controller of a cluster.
//
// # Shape
//
//	            controller.quorum.voters (static, id@host:port)
//	                           │
//	┌──────────── Quorum (one per node; voters and non-voters) ──────┐
//	│ hashicorp/raft ── FSM.Apply(Batch) ──► metadata.Image (atomic) │
//	│   │  log + stable store: raft.db (bbolt) ┐ in metadata.log.dir/│
//	│   │  snapshots: JSON images             ┘ __cluster_metadata-0 │
//	│   └─ transport: TCP on the CONTROLLER listener (a broker-only │
//	│      node: its inter-broker listener), told apart from Kafka  │
//	│      requests by a "RAFT" preamble (mux.go)                   │
//	│ observers: the leader makes each registered broker that is    │
//	│   not a voter a Raft non-voter (AddNonvoter)                  │
//	│                                                               │
//	│ Controller (active only while this node leads Raft)            │
//	│   one goroutine runs every change: reads the image, computes a │
//	│   metadata.Batch, raft.Apply, waits until applied              │
//	│   - broker registrations, heartbeats, fencing on session loss  │
//	│   - topic create/delete, partitions, configs, producer ids     │
//	│   - leader election, AlterPartition (ISR), controlled shutdown │
//	│                                                               │
//	│ Handler: Kafka APIs on the CONTROLLER listener (BrokerRegistra-│
//	│   tion, BrokerHeartbeat, AlterPartition, CreateTopics, ...,    │
//	│   DescribeQuorum); non-leaders answer NOT_CONTROLLER           │
//	│ Client: a broker's requests to the active controller; before   │
//	│   it knows the leader it tries each voter in turn              │
//	└───────────────────────────────────────────────────────────────┘
//
// # Process roles
//
// process.roles picks what a node runs, as in KRaft:
//
//   - broker,controller (combined): a voter, the controller, and a broker.
//   - controller: a voter and the controller, nothing else. It has only
//     controller listeners, never registers as a broker, so it is in no
//     Metadata or DescribeCluster answer and holds no replicas. Brokers
//     name one of themselves as the controller in Metadata (KIP-590):
//     they forward admin changes anyway.
//   - broker: not a voter (its node.id must not be in
//     controller.quorum.voters) but it still needs the metadata image, so
//     it is a Raft non-voter, the hashicorp/raft counterpart of a KRaft
//     observer: it gets every entry and snapshot, never votes and never
//     counts for a commit, so brokers coming and going cannot cost the
//     quorum its majority.
//
// A broker-only node keeps its Raft log, stable store and snapshots in
// raft.db and the snapshot folder under metadata.log.dir, like a voter:
// hashicorp/raft needs a log and stable store on every member, and a
// restarted broker then only fetches what it missed. Its Raft transport
// shares its inter-broker listener through the same "RAFT"-preamble Mux
// as a voter's CONTROLLER listener, so it needs no extra port; its Raft
// address is its advertised inter-broker endpoint.
//
// Joining: Raft membership changes can only be made by the leader, so the
// broker cannot add itself. It registers (BrokerRegistration) like any
// broker, sending the request to the voters in turn, since it knows no
// leader yet and NOT_CONTROLLER names none (Client). The active
// controller's Quorum watches the image: every registered broker that is
// not a voter gets AddNonvoter at the endpoint of its registration named
// by inter.broker.listener.name (which every node must therefore agree
// on, as in Kafka), and a broker that is no longer registered is removed
// with RemoveServer, but only once the leader has applied every entry up
// to the latest configuration change, so a new leader cannot remove a
// broker whose registration it has not applied yet. The broker then
// receives the log, sees its own registration applied and starts. A
// restarted broker is still in the configuration, so the leader resumes
// sending to it at once; a new address is updated on re-registration.
// After a leader change the non-voter learns the new leader from its
// first AppendEntries; until then (its heartbeat timer has cleared the
// old one) its client tries the voters again.
//
// Why hashicorp/raft: it brings the whole of Raft (elections with pre-vote,
// log replication, snapshots and log compaction, membership changes, a
// pluggable TCP transport) with a simple FSM interface, is used in
// production by Consul, Nomad and Vault, and its bbolt log store is
// crash-safe. docs/dependencies.md records the choice.
//
// # Records and the image
//
// The metadata log holds metadata.Batch entries (JSON). Each node applies
// them in order to an immutable metadata.Image and publishes it through an
// atomic pointer; subscribers are woken after each apply (the broker then
// reconciles its partitions: leader, follower, deleted). Snapshots are the
// encoded image. The active controller computes every batch from the image
// it has applied itself: it runs a raft.Barrier when it gains leadership,
// and runs changes one at a time, each waiting for its own apply, so no two
// changes are computed from the same image.
//
// # Broker lifecycle
//
// A broker registers (BrokerRegistration) with its listeners, rack and a
// new incarnation id; its broker epoch is the Raft index of the
// registration. It starts fenced. Its heartbeats (every
// broker.heartbeat.interval.ms) carry the metadata offset it has applied;
// once that reaches its registration, the controller unfences it and it may
// lead and join ISRs. A broker whose heartbeats stop for
// broker.session.timeout.ms is fenced: it leaves every ISR it was in
// (unless it is the last member, which Kafka keeps so the partition can come
// back with it) and new leaders are elected for what it led. A heartbeat
// asking to shut down makes the controller move its leaderships first
// (controlled shutdown) and answer ShouldShutDown once it leads nothing.
// Heartbeat deadlines are the active controller's memory only: a new
// controller gives every broker a fresh session.
//
// # Leader election
//
// The new leader is the first replica, in replica order, that is in the ISR
// and live (registered, unfenced, not shutting down). With no such replica
// the partition is leaderless (-1) unless unclean.leader.election.enable is
// true for its topic, in which case any live replica leads with itself as
// the only ISR member. Every leader change bumps the leader epoch; every
// change bumps the partition epoch. A change of a topic's configs runs the
// election again for its leaderless partitions, so enabling unclean
// election gives them a leader at once.
package controller
