package schemaregistry

import (
	"encoding/json"
	"slices"
	"strings"
)

// Reference names another registered schema that a schema uses (Confluent's
// SchemaReference).
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// recordKey is the JSON key of a _schemas record.
type recordKey struct {
	KeyType string  `json:"keytype"`
	Subject *string `json:"subject,omitempty"`
	Version int     `json:"version,omitempty"`
	Magic   int     `json:"magic"`
}

// schemaValue is the value of a SCHEMA record.
type schemaValue struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Deleted    bool        `json:"deleted"`
}

// configValue is the value of a CONFIG record and the body of GET /config:
// fields left out are not set at that level.
type configValue struct {
	CompatibilityLevel string `json:"compatibilityLevel,omitempty"`
	Normalize          *bool  `json:"normalize,omitempty"`
}

type modeValue struct {
	Mode string `json:"mode"`
}

// schemaIdentity is what makes two registrations the same schema: type,
// stored text and references.
func (v *schemaValue) identity() string {
	var b strings.Builder
	b.WriteString(typeOf(v.SchemaType))
	b.WriteByte(0)
	b.WriteString(v.Schema)
	for _, r := range v.References {
		b.WriteByte(0)
		b.WriteString(r.Name)
		b.WriteByte(0)
		b.WriteString(r.Subject)
		b.WriteByte(0)
		b.WriteString(jsonInt(r.Version))
	}
	return b.String()
}

func jsonInt(i int) string { b, _ := json.Marshal(i); return string(b) }

// typeOf returns the schema type, AVRO when empty.
func typeOf(t string) string {
	if t == "" {
		return "AVRO"
	}
	return t
}

// state is what the records of _schemas say. Only the reader goroutine
// changes it, holding Registry.mu.
type state struct {
	subjects map[string]map[int]*schemaValue // subject → version → schema
	byID     map[int]*schemaValue            // id → the first version registered with it
	ids      map[string]int                  // identity → id
	maxID    int
	config   map[string]configValue // subject ("" = global) → its config
	mode     map[string]string      // subject ("" = global) → mode
}

func newState() *state {
	return &state{
		subjects: map[string]map[int]*schemaValue{},
		byID:     map[int]*schemaValue{},
		ids:      map[string]int{},
		config:   map[string]configValue{},
		mode:     map[string]string{},
	}
}

// apply applies one record. It reports whether a SCHEMA record was accepted
// (see doc.go for the rules); other records are always accepted. Bad
// records are skipped: the topic may hold what other registries wrote.
func (s *state) apply(key, value []byte) bool {
	var k recordKey
	if err := json.Unmarshal(key, &k); err != nil {
		return false
	}
	subject := ""
	if k.Subject != nil {
		subject = *k.Subject
	}
	switch k.KeyType {
	case "SCHEMA":
		if value == nil {
			s.removeVersion(subject, k.Version)
			return true
		}
		var v schemaValue
		if err := json.Unmarshal(value, &v); err != nil || v.ID <= 0 || v.Version <= 0 {
			return false
		}
		return s.addVersion(&v)
	case "CONFIG":
		if value == nil {
			delete(s.config, subject)
			return true
		}
		var v configValue
		if json.Unmarshal(value, &v) == nil && (v.CompatibilityLevel != "" || v.Normalize != nil) {
			v.CompatibilityLevel = strings.ToUpper(v.CompatibilityLevel)
			s.config[subject] = v
		}
	case "MODE":
		if value == nil {
			delete(s.mode, subject)
			return true
		}
		var v modeValue
		if json.Unmarshal(value, &v) == nil && v.Mode != "" {
			s.mode[subject] = strings.ToUpper(v.Mode)
		}
	}
	return true
}

func (s *state) addVersion(v *schemaValue) bool {
	versions := s.subjects[v.Subject]
	if old, ok := versions[v.Version]; ok && old.ID != v.ID {
		return false // the version went to an earlier record
	}
	if first, ok := s.byID[v.ID]; ok && first.identity() != v.identity() {
		return false // the id names another schema
	}
	if versions == nil {
		versions = map[int]*schemaValue{}
		s.subjects[v.Subject] = versions
	}
	versions[v.Version] = v
	if _, ok := s.byID[v.ID]; !ok {
		s.byID[v.ID] = v
		s.ids[v.identity()] = v.ID
	}
	s.maxID = max(s.maxID, v.ID)
	return true
}

func (s *state) removeVersion(subject string, version int) {
	versions := s.subjects[subject]
	v, ok := versions[version]
	if !ok {
		return
	}
	delete(versions, version)
	if len(versions) == 0 {
		delete(s.subjects, subject)
	}
	// The id stays known while another version uses it.
	if first := s.byID[v.ID]; first != nil && first.Subject == subject && first.Version == version {
		delete(s.byID, v.ID)
		delete(s.ids, v.identity())
		if other := s.anyWithID(v.ID); other != nil {
			s.byID[v.ID] = other
			s.ids[other.identity()] = v.ID
		}
	}
}

func (s *state) anyWithID(id int) *schemaValue {
	for _, subj := range s.sortedSubjects() {
		for _, ver := range s.versionList(subj, true) {
			if v := s.subjects[subj][ver]; v.ID == id {
				return v
			}
		}
	}
	return nil
}

func (s *state) sortedSubjects() []string {
	out := make([]string, 0, len(s.subjects))
	for subj := range s.subjects {
		out = append(out, subj)
	}
	slices.Sort(out)
	return out
}

// versionList returns the versions of subject in order, soft-deleted ones
// only if deleted.
func (s *state) versionList(subject string, deleted bool) []int {
	var out []int
	for ver, v := range s.subjects[subject] {
		if deleted || !v.Deleted {
			out = append(out, ver)
		}
	}
	slices.Sort(out)
	return out
}

// latest returns the newest live version of subject, or nil.
func (s *state) latest(subject string) *schemaValue {
	vs := s.versionList(subject, false)
	if len(vs) == 0 {
		return nil
	}
	return s.subjects[subject][vs[len(vs)-1]]
}

// maxVersion is the highest version subject ever had that is still in the
// state, deleted or not.
func (s *state) maxVersion(subject string) int {
	m := 0
	for ver := range s.subjects[subject] {
		m = max(m, ver)
	}
	return m
}

// referencedBy returns the ids of live schemas that reference subject/version.
func (s *state) referencedBy(subject string, version int) []int {
	var out []int
	for _, subj := range s.sortedSubjects() {
		for _, ver := range s.versionList(subj, false) {
			v := s.subjects[subj][ver]
			for _, r := range v.References {
				if r.Subject == subject && r.Version == version && !slices.Contains(out, v.ID) {
					out = append(out, v.ID)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
