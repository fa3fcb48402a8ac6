// Package metadata holds the cluster metadata image: the cluster id, topics
// with their ids, partition counts and config overrides, as every broker
// needs it to answer Metadata and route requests.
//
// In this single-node version the Store is the whole controller: it applies
// each change under its lock, persists the new image (metadata.json in the
// first log dir, written to a temporary file, fsynced and renamed, so a crash
// leaves either the old or the new image), and then publishes it. Readers
// take the current *Image through an atomic pointer; an Image is never
// modified after it is published, so readers need no lock. The byte-level
// format is in docs/format/metadata.md.
//
// When the Raft metadata quorum arrives (a later issue), the same Image is
// built by applying replicated records instead.
package metadata
