// Package schemaregistry is a Confluent Schema Registry compatible service
// (REST API v1) that keeps its state in the compacted Kafka topic _schemas,
// the same topic and key/value layout Confluent uses, so a registry cluster
// built from several samsa instances (or one pointed at Apache Kafka) agrees
// on every id.
//
// # A client of the cluster
//
// The registry reaches the broker only through franz-go (kgo for reading and
// writing _schemas, kadm for creating it). It runs inside `samsa server` or
// alone as `samsa schema-registry`; both use New, Start, Handler and Close.
//
// # State and goroutines
//
// One reader goroutine (Registry.readLoop), started by Start and stopped by
// Close, consumes partition 0 of _schemas from the log start offset and
// applies every record, in log order, to the in-memory state (state.go):
// subjects and their versions, schemas by id, the global and per-subject
// compatibility level and mode. The state sits behind Registry.mu; the
// reader is its only writer, HTTP handlers take read locks. After applying
// the records of a fetch the reader publishes the next offset it expects
// (Registry.applied) and wakes waiters.
//
// HTTP handlers never change the state themselves: a change is a record
// produced to _schemas (acks=all, idempotent), and the handler waits until
// the reader has applied the offset the broker gave that record before it
// answers. A handler that writes first "catches up": it asks the broker for
// the end offset of _schemas and waits until the reader has applied
// everything below it, so it decides on the newest state any instance has
// written. Reads are served from the local state (a cache, like Confluent's);
// an instance that has just written has read its own write.
//
// # Records (Confluent's layout, JSON key and value)
//
//	SCHEMA  {"keytype":"SCHEMA","subject":s,"version":v,"magic":1}
//	        → {"subject","version","id","schema","schemaType"?,"references"?,"deleted"}
//	        a null value permanently deletes that version.
//	CONFIG  {"keytype":"CONFIG","subject":s|null,"magic":0}
//	        → {"compatibilityLevel"?:L,"normalize"?:bool} | null
//	MODE    {"keytype":"MODE","subject":s|null,"magic":0} → {"mode":M} | null
//	NOOP    {"keytype":"NOOP","magic":0} (ignored)
//
// Other key types (DELETE_SUBJECT, CLEAR_SUBJECT, written by Confluent) are
// read and ignored: soft deletes are written as SCHEMA records with
// deleted=true, which carries the same information.
//
// # Stored text and normalization
//
// A schema is stored as its type's canonical text, and two registrations
// are the same schema when type, stored text and references are equal.
// Avro and JSON Schema are stored compacted; Protobuf as the .proto text
// printProto writes from the compiled file, whether the schema came as
// text or as a base64 FileDescriptorProto (protoprint.go). With
// ?normalize=true, or normalize=true in the config in effect (subject
// fields over global ones), register, lookup and compatibility first apply
// the reference's normalization of the type (normalizeAvro, sorted JSON
// keys, sorted Protobuf elements) and sort the references; a lookup then
// also matches a stored version whose normalized form is the same.
//
// # Unique ids with several instances: the topic decides
//
// Confluent elects a single writer through a consumer group. We let the log
// order of _schemas decide instead, which needs no election, no forwarding
// between instances and no extra protocol: every instance applies the same
// records in the same order with the same deterministic rules, so they end
// in the same state.
//
// A registration picks id = highest id seen + 1 (or reuses the id of an
// identical schema) and version = highest version of the subject + 1, writes
// one SCHEMA record and waits to apply it. The reader accepts a SCHEMA record
// only if
//
//   - its subject/version is free, or already holds the same id (a soft
//     delete or an undelete of that version), and
//   - its id is free, or already names the very same schema (same type,
//     text and references: an identical schema registered in a second subject).
//
// Otherwise the record lost a race to an earlier record in log order and is
// ignored by every instance. The writer sees that its record was not
// accepted and retries from the new state (a bounded number of times).
//
// Compaction keeps only the last record per key, so a losing record must
// never be the last one for its key: the loser's next write is always to
// the same key — either the winner's value again (when it lost the version)
// or its retry at the same version with a new id (when it lost the id).
//
// # Known gap: a loser that stops before its next write
//
// That next write can fail to happen: the instance crashes or is closed,
// the produce fails, the request's timeout expires (register returns the
// error without a further write), or the id retries run out (20 attempts).
// The losing record is then the newest for its key, and:
//
//   - Lost version (another record took subject/version first): once the
//     cleaner has compacted the winner's record away, an instance reading
//     _schemas from the start applies the loser's record for that
//     subject/version, which now wins. It disagrees with instances that
//     read the topic before compaction about which schema that version and
//     the loser's id name.
//   - Lost id (the id already named another schema): the loser's record is
//     still refused on replay while the record that took the id comes
//     before it in the log. When that earlier record's key gets a newer
//     record (a soft delete, or a permanent delete) and compaction drops
//     the old one, the loser's record comes first and takes the id, and
//     the other schema's versions lose it.
//
// Related: the rewrite of the winner is not conditional either. If another
// instance soft-deletes the winning version between the loss and the
// rewrite, the rewrite (in log order after the delete) makes the version
// live again, in every instance.
//
// Why it stays open: the window is one produce round trip and needs two
// instances racing for the same id or subject/version. A repair by any
// instance (rewriting or tombstoning each key whose newest record was
// refused) is not simple to make safe: the broker has no conditional
// write, so a repair can land after a newer, legitimate registration or
// delete of the same key by another instance and undo it. Closing it takes
// records that are never refused — a single elected writer, as the
// reference elects one through a consumer group — or records the reader
// can apply conditionally; one instance alone never writes a losing record.
//
// In IMPORT mode the caller chooses ids and versions; the same rules refuse an
// id that already names a different schema (42205).
package schemaregistry
