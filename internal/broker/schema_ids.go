package broker

// Broker-side schema validation (samsa's take on Confluent Server's
// confluent.value.schema.validation / confluent.key.schema.validation).
//
// A topic with confluent.value.schema.validation=true (or the key variant)
// accepts only records whose value (key) is null or in the Schema Registry
// wire format, magic byte 0x00 then a 4-byte big-endian schema id, with an
// id registered under the subject that the topic's
// confluent.value.subject.name.strategy (key variant) derives, as Confluent
// Server does:
//
//   - TopicNameStrategy (the default): TOPIC-value (TOPIC-key);
//   - RecordNameStrategy: the record's fully qualified name, taken from the
//     id's schema (schema_ids_names.go);
//   - TopicRecordNameStrategy: TOPIC-<fully qualified name>.
//
// Any version of the subject counts, a soft-deleted one too (as its id stays
// resolvable); a permanently deleted one does not. Null keys and values pass,
// as Confluent Server lets tombstones through. Anything else refuses the
// whole batch with INVALID_RECORD (87), per-record errors and an error
// message (Produce v8+, KIP-467), as the batch validation in internal/record
// reports its errors.
//
// # Where the ids come from: our own _schemas partition, never HTTP
//
// The produce path does not call the registry. samsa's registry
// (internal/schemaregistry) keeps its whole state in the compacted topic
// _schemas, and this broker hosts that topic's partition, so schemaIDs
// follows the partition directly: it reads it with ReadInternal from where
// it left off, parses the keys and values of SCHEMA records, and keeps the
// set of live ids, the subjects holding each and each id's schema text (for
// record names, worked out on first use). The rules are the registry's
// (state.apply): a SCHEMA record whose subject/version already holds another
// id lost a race and is ignored; a soft delete (deleted=true) keeps its id
// resolvable, as GET /schemas/ids/{id} keeps answering it; a tombstone (null
// value) permanently deletes that subject/version, and its id goes once no
// other subject/version holds it.
//
// There is no background goroutine: nothing is read until a topic with
// validation on is produced to. Every validated batch first catches up
// with the partition when its log end offset moved (one atomic load
// otherwise), so an id the registry acknowledged, whose record the broker
// therefore has in its log, is accepted by the next produce, and a
// permanently deleted id is refused right after. A catch-up reads at most up
// to the log end offset seen when it started (bounded). When _schemas is
// deleted and recreated the set starts over; when it does not exist every id
// is unknown and the message says there is no schema registry data.
//
// The topic name is Confluent's default kafkastore.topic, _schemas; a
// registry configured with another store topic is not followed. This relies
// on the broker hosting _schemas, as a single samsa node hosts every
// partition. Only the default context is followed (subjects without a
// ":.context:" prefix), Confluent Server's limitation too. The set is built
// lazily, by the first validated produce after a start, reading _schemas
// from its log start under the write lock.
//
// Cost: with ids all known, the check walks the batch's records once (after
// decompressing, when compressed) and does two map lookups (id, then
// subject and id) per change of id; see BenchmarkSchemaValidation
// (docs/benchmarks.md). Memory: one copy of the text of each live schema.
//
// Order with the other checks: the batch is checked for the schema ids
// before record.Validate runs in AppendRecords; a batch this check cannot
// parse (bad framing, CRC, compression) is left to AppendRecords, which
// reports the real problem.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/replica"
)

// schemasTopic is the registry's store topic (Confluent's default
// kafkastore.topic).
const schemasTopic = "_schemas"

// schemaKey is a subject/version of _schemas.
type schemaKey struct {
	subject string
	version int
}

// schemaIDs is the set of schema ids registered in the local _schemas
// partition, with the subjects holding each and each one's schema text.
// Safe for concurrent use: lookups take mu for reading, catching up takes
// it for writing.
type schemaIDs struct {
	log *slog.Logger

	mu      sync.RWMutex
	part    *replica.Partition // the partition followed; a new one starts over
	next    int64              // next offset to read
	byKey   map[schemaKey]int32
	refs    map[int32]int            // id → subject/versions holding it
	held    map[string]map[int32]int // subject → id → versions of the subject holding it
	schemas map[int32]schemaText     // id → its schema, for record names

	// names caches the record names of schemas (schema_ids_names.go),
	// filled under mu held for reading, so guarded by namesMu too.
	namesMu sync.Mutex
	names   map[int32]*schemaNames
}

func newSchemaIDs(log *slog.Logger) *schemaIDs {
	return &schemaIDs{log: log, byKey: map[schemaKey]int32{}, refs: map[int32]int{},
		held: map[string]map[int32]int{}, schemas: map[int32]schemaText{}, names: map[int32]*schemaNames{}}
}

// catchUp brings the set up to date with p (nil: _schemas does not exist).
func (s *schemaIDs) catchUp(p *replica.Partition) {
	s.mu.RLock()
	fresh := s.part == p && (p == nil || s.next >= p.LogEndOffset())
	s.mu.RUnlock()
	if fresh {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.part != p {
		s.part, s.next = p, 0
		clear(s.byKey)
		clear(s.refs)
		clear(s.held)
		clear(s.schemas)
		clear(s.names)
	}
	if p == nil {
		return
	}
	end := p.LogEndOffset()
	for s.next < end {
		data, err := p.ReadInternal(s.next, 1<<20)
		if err != nil {
			s.log.Warn("reading _schemas for schema validation", "offset", s.next, "err", err)
			return
		}
		if len(data) == 0 {
			return
		}
		for len(data) > 0 {
			var h record.Header
			if h, data, err = record.Next(data); err != nil {
				s.log.Warn("reading _schemas for schema validation", "offset", s.next, "err", err)
				return
			}
			if h.NextOffset() <= s.next {
				continue
			}
			if !h.Control() {
				base := h.BaseOffset()
				err := record.ForEachRecord(h, func(r *record.Record) error {
					if base+int64(r.OffsetDelta) >= s.next {
						s.apply(r.Key, r.Value)
					}
					return nil
				})
				if err != nil {
					s.log.Warn("reading _schemas for schema validation", "offset", base, "err", err)
				}
			}
			s.next = h.NextOffset()
		}
	}
}

// apply applies one _schemas record; only SCHEMA records matter. Called
// with mu held for writing.
func (s *schemaIDs) apply(key, value []byte) {
	var k struct {
		KeyType string  `json:"keytype"`
		Subject *string `json:"subject"`
		Version int     `json:"version"`
	}
	if json.Unmarshal(key, &k) != nil || k.KeyType != "SCHEMA" {
		return
	}
	if value == nil {
		sk := schemaKey{version: k.Version}
		if k.Subject != nil {
			sk.subject = *k.Subject
		}
		if id, ok := s.byKey[sk]; ok {
			delete(s.byKey, sk)
			if ids := s.held[sk.subject]; ids[id] <= 1 {
				delete(ids, id)
				if len(ids) == 0 {
					delete(s.held, sk.subject)
				}
			} else {
				ids[id]--
			}
			if s.refs[id]--; s.refs[id] <= 0 {
				delete(s.refs, id)
				delete(s.schemas, id)
				delete(s.names, id)
			}
		}
		return
	}
	var v struct {
		Subject    string `json:"subject"`
		Version    int    `json:"version"`
		ID         int64  `json:"id"`
		SchemaType string `json:"schemaType"`
		Schema     string `json:"schema"`
	}
	if json.Unmarshal(value, &v) != nil || v.ID <= 0 || v.ID > 1<<31-1 || v.Version <= 0 {
		return
	}
	sk := schemaKey{v.Subject, v.Version}
	if _, ok := s.byKey[sk]; ok {
		return // same id again (a soft delete or undelete), or a lost race
	}
	id := int32(v.ID)
	s.byKey[sk] = id
	ids := s.held[v.Subject]
	if ids == nil {
		ids = map[int32]int{}
		s.held[v.Subject] = ids
	}
	ids[id]++
	if s.refs[id]++; s.refs[id] == 1 {
		s.schemas[id] = schemaText{typ: v.SchemaType, text: v.Schema}
	}
}

// namesOf returns the record names of id's schema, parsing it on first
// use. Called with mu held for reading.
func (s *schemaIDs) namesOf(id int32) *schemaNames {
	s.namesMu.Lock()
	defer s.namesMu.Unlock()
	n := s.names[id]
	if n == nil {
		n = parseSchemaNames(s.schemas[id])
		s.names[id] = n
	}
	return n
}

// schemaCheck says which parts of a record must carry a registered id,
// and under which subject name strategy.
type schemaCheck struct {
	key, value                 bool
	keyStrategy, valueStrategy subjectStrategy
}

func schemaCheckFor(cfg *config.Topic) schemaCheck {
	c := schemaCheck{key: cfg.ConfluentKeySchemaValidation, value: cfg.ConfluentValueSchemaValidation}
	if c.key {
		c.keyStrategy = parseSubjectStrategy(cfg.ConfluentKeySubjectStrategy)
	}
	if c.value {
		c.valueStrategy = parseSubjectStrategy(cfg.ConfluentValueSubjectStrategy)
	}
	return c
}

func (c schemaCheck) on() bool { return c.key || c.value }

// checkSchemaIDs checks every record of the produce batch records for
// topic. It returns nil when all pass or when the batch cannot be parsed
// (AppendRecords then reports why), else a *record.ValidationError wrapping
// record.ErrInvalidRecord.
func (b *Broker) checkSchemaIDs(topic string, c schemaCheck, records []byte) error {
	h, rest, err := record.Next(records)
	if err != nil || len(rest) != 0 || len(h) < record.HeaderSize || !h.ValidCRC() || h.Control() {
		return nil
	}
	p := b.replicas.Partition(schemasTopic, 0)
	b.schemaIDs.catchUp(p)
	return b.schemaIDs.check(topic, c, h, p != nil)
}

// sideCheck checks the keys or the values of one batch.
type sideCheck struct {
	what     string // "key" or "value"
	topic    string
	strategy subjectStrategy
	subject  string        // with TopicNameStrategy: TOPIC-key or TOPIC-value
	ids      map[int32]int // with TopicNameStrategy: the ids under subject, set under s.mu

	// The last id (with its Protobuf message indexes under a record
	// strategy) that passed, to skip repeated lookups.
	ok    bool
	okID  int32
	okIdx []byte
}

func newSideCheck(what, topic string, strategy subjectStrategy) *sideCheck {
	return &sideCheck{what: what, topic: topic, strategy: strategy, subject: topic + "-" + what}
}

// check returns why data fails, or "". Called with s.mu held for reading.
func (c *sideCheck) check(s *schemaIDs, data []byte, haveSchemas bool) string {
	switch {
	case data == nil:
		return "" // Confluent Server lets null keys and values (tombstones) through
	case len(data) > 0 && data[0] != 0:
		return fmt.Sprintf("%s has no schema id (magic byte 0x%02x, want 0x00)", c.what, data[0])
	case len(data) < 5:
		return fmt.Sprintf("%s is %d bytes, too short for the schema registry wire format (magic byte 0x00 and a 4-byte schema id)", c.what, len(data))
	}
	id := int32(binary.BigEndian.Uint32(data[1:5]))
	payload := data[5:]
	if c.ok && id == c.okID && bytes.HasPrefix(payload, c.okIdx) {
		return ""
	}
	subject, used := c.subject, 0
	if c.strategy == topicNameStrategy {
		// One lookup in the common case: held implies registered.
		if _, ok := c.ids[id]; ok {
			c.ok, c.okID, c.okIdx = true, id, c.okIdx[:0]
			return ""
		}
	}
	if _, ok := s.refs[id]; !ok {
		if !haveSchemas {
			return fmt.Sprintf("%s schema id %d is not registered (no schema registry data: topic %s does not exist)", c.what, id, schemasTopic)
		}
		return fmt.Sprintf("%s schema id %d is not registered", c.what, id)
	}
	if c.strategy != topicNameStrategy {
		name, n, problem := s.namesOf(id).recordName(payload)
		if problem != "" {
			return fmt.Sprintf("%s schema id %d has no record name for %s: %s", c.what, id, c.strategy, problem)
		}
		subject, used = name, n
		if c.strategy == topicRecordNameStrategy {
			subject = c.topic + "-" + name
		}
	}
	if _, ok := s.held[subject][id]; !ok {
		return fmt.Sprintf("%s schema id %d is not registered under subject %s (%s)", c.what, id, subject, c.strategy)
	}
	c.ok, c.okID, c.okIdx = true, id, append(c.okIdx[:0], payload[:used]...)
	return ""
}

// check checks the records of h against the ids known now; haveSchemas
// says whether _schemas exists.
func (s *schemaIDs) check(topic string, c schemaCheck, h record.Header, haveSchemas bool) error {
	var errs []record.RecordError
	var i int32
	var keys, values *sideCheck
	if c.key {
		keys = newSideCheck("key", topic, c.keyStrategy)
	}
	if c.value {
		values = newSideCheck("value", topic, c.valueStrategy)
	}
	s.mu.RLock()
	for _, sc := range []*sideCheck{keys, values} {
		if sc != nil && sc.strategy == topicNameStrategy {
			sc.ids = s.held[sc.subject]
		}
	}
	err := record.ForEachRecord(h, func(r *record.Record) error {
		var km, vm string
		if keys != nil {
			km = keys.check(s, r.Key, haveSchemas)
		}
		if values != nil {
			vm = values.check(s, r.Value, haveSchemas)
		}
		if km != "" || vm != "" {
			msg := fmt.Sprintf("record %d: %s", i, km)
			if km != "" && vm != "" {
				msg += "; "
			}
			errs = append(errs, record.RecordError{Index: i, Message: msg + vm})
		}
		i++
		return nil
	})
	s.mu.RUnlock()
	if err != nil || len(errs) == 0 {
		return nil
	}
	var sb strings.Builder
	var what []string
	if c.key {
		what = append(what, "confluent.key.schema.validation")
	}
	if c.value {
		what = append(what, "confluent.value.schema.validation")
	}
	fmt.Fprintf(&sb, "%d of %d records failed schema validation (topic %s has %s=true); the first: %s",
		len(errs), i, topic, strings.Join(what, "=true and "), errs[0].Message)
	return &record.ValidationError{Err: record.ErrInvalidRecord, RecordErrors: errs, Message: sb.String()}
}
