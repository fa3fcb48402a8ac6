package schemaregistry

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// levels are the compatibility levels; value: check against every version
// (transitive), backward, forward.
var levels = map[string]struct{ transitive, backward, forward bool }{
	"NONE":                {},
	"BACKWARD":            {backward: true},
	"BACKWARD_TRANSITIVE": {transitive: true, backward: true},
	"FORWARD":             {forward: true},
	"FORWARD_TRANSITIVE":  {transitive: true, forward: true},
	"FULL":                {backward: true, forward: true},
	"FULL_TRANSITIVE":     {transitive: true, backward: true, forward: true},
}

var modes = []string{"READWRITE", "READONLY", "IMPORT"}

// registerRequest is the body of POST /subjects/{s}/versions and of lookups.
type registerRequest struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	ID         int         `json:"id,omitempty"`
	Version    int         `json:"version,omitempty"`

	normalize bool // ?normalize=true
}

// config returns the config in effect for subject (the global one for
// ""): each field from the subject's config if set there, else from the
// global config, else the default, as the reference merges them.
// Requires r.mu held.
func (r *Registry) config(subject string) configValue {
	c := configValue{CompatibilityLevel: strings.ToUpper(r.cfg.Compatibility)}
	for _, s := range []string{"", subject} {
		v, ok := r.st.config[s]
		if !ok {
			continue
		}
		if v.CompatibilityLevel != "" {
			c.CompatibilityLevel = v.CompatibilityLevel
		}
		if v.Normalize != nil {
			c.Normalize = v.Normalize
		}
	}
	return c
}

// level returns the compatibility level that applies to subject.
// Requires r.mu held.
func (r *Registry) level(subject string) string { return r.config(subject).CompatibilityLevel }

// normalizes tells whether a request on subject normalizes its schema: the
// request asked (?normalize=true) or the config in effect says so.
// Requires r.mu held.
func (r *Registry) normalizes(subject string, asked bool) bool {
	n := r.config(subject).Normalize
	return asked || n != nil && *n
}

// mode returns the mode that applies to subject. Requires r.mu held.
func (r *Registry) mode(subject string) string {
	if m, ok := r.st.mode[subject]; ok {
		return m
	}
	if m, ok := r.st.mode[""]; ok {
		return m
	}
	return "READWRITE"
}

// deps resolves references, dependencies first. Requires r.mu held.
func (r *Registry) deps(refs []Reference, seen map[string]bool) ([]dep, *Error) {
	var out []dep
	for _, ref := range refs {
		v := r.st.subjects[ref.Subject][ref.Version]
		if ref.Version == -1 {
			v = r.st.latest(ref.Subject)
		}
		if v == nil || ref.Name == "" {
			return nil, errInvalidSchema("Invalid schema: reference %q to subject %q version %d not found", ref.Name, ref.Subject, ref.Version)
		}
		key := fmt.Sprintf("%s\x00%d", v.Subject, v.Version)
		if seen[key] {
			continue
		}
		seen[key] = true
		inner, err := r.deps(v.References, seen)
		if err != nil {
			return nil, err
		}
		out = append(append(out, inner...), dep{name: ref.Name, text: v.Schema})
	}
	return out, nil
}

// parse parses a schema of the request's type with its references and
// returns it with the text to store (normalized if normalize).
// Requires r.mu held.
func (r *Registry) parse(typ, text string, refs []Reference, normalize bool) (any, string, *Error) {
	typ = typeOf(strings.ToUpper(typ))
	f, ok := formats[typ]
	if !ok {
		return nil, "", errInvalidSchema("Invalid schema type %s", typ)
	}
	if strings.TrimSpace(text) == "" {
		return nil, "", errInvalidSchema("Empty schema")
	}
	deps, e := r.deps(refs, map[string]bool{})
	if e != nil {
		return nil, "", e
	}
	p, stored, err := f.parse(text, deps, normalize)
	if err != nil {
		return nil, "", errInvalidSchema("Invalid schema %s with refs %v of type %s, details: %v", short(text), refs, typ, err)
	}
	return p, stored, nil
}

// incompatible checks candidate against the given versions of subject under
// level and returns the reasons it fails. Requires r.mu held.
func (r *Registry) incompatible(level, typ string, candidate any, against []*schemaValue) []string {
	l := levels[level]
	if !l.backward && !l.forward {
		return nil
	}
	if !l.transitive && len(against) > 1 {
		against = against[len(against)-1:]
	}
	f := formats[typeOf(typ)]
	var out []string
	for _, prev := range against {
		if typeOf(prev.SchemaType) != typeOf(typ) {
			out = append(out, fmt.Sprintf("Incompatible because of different schema type: %s and %s (version %d)", typeOf(typ), typeOf(prev.SchemaType), prev.Version))
			continue
		}
		old, _, e := r.parse(prev.SchemaType, prev.Schema, prev.References, false)
		if e != nil {
			continue // stored by another registry, unparsable here
		}
		if l.backward {
			out = append(out, f.incompatible(candidate, old)...)
		}
		if l.forward {
			out = append(out, f.incompatible(old, candidate)...)
		}
		if len(out) > 0 {
			out = append(out, fmt.Sprintf("{oldSchemaVersion: %d}", prev.Version), fmt.Sprintf("{compatibility: '%s'}", level))
			return out
		}
	}
	return out
}

// liveVersions returns the live versions of subject, oldest first.
// Requires r.mu held.
func (r *Registry) liveVersions(subject string) []*schemaValue {
	var out []*schemaValue
	for _, v := range r.st.versionList(subject, false) {
		out = append(out, r.st.subjects[subject][v])
	}
	return out
}

// register adds a schema to subject, or returns the id it already has there.
func (r *Registry) register(ctx context.Context, subject string, req registerRequest) (int, *Error) {
	ctx, done, e := r.beginWrite(ctx)
	if e != nil {
		return 0, e
	}
	defer done()
	for attempt := 0; attempt < 20; attempt++ {
		v, existing, e := r.planRegister(subject, req)
		if e != nil {
			return 0, e
		}
		if existing {
			return v.ID, nil
		}
		if err := r.write(ctx, schemaKey(subject, v.Version), v); err != nil {
			return 0, storeErr(err)
		}
		r.mu.RLock()
		got := r.st.subjects[subject][v.Version]
		won := got != nil && got.ID == v.ID && got.identity() == v.identity()
		var winner schemaValue
		if got != nil && got.ID != v.ID {
			winner = *got
		}
		r.mu.RUnlock()
		if won {
			r.log.Debug("registered schema", "subject", subject, "version", v.Version, "id", v.ID)
			return v.ID, nil
		}
		if winner.ID != 0 {
			// We lost the version: write the winner again so that
			// compaction keeps it (doc.go).
			if err := r.write(ctx, schemaKey(subject, winner.Version), &winner); err != nil {
				return 0, storeErr(err)
			}
		}
		if req.ID > 0 {
			return 0, errNotPermitted("Overwrite new schema with id %d is not permitted.", req.ID)
		}
	}
	return 0, errStore("Error while registering schema: too many concurrent registrations, try again")
}

func schemaKey(subject string, version int) recordKey {
	return recordKey{KeyType: "SCHEMA", Subject: &subject, Version: version, Magic: 1}
}

// planRegister decides, from the current state, the record a registration
// writes, or that the schema is already there.
func (r *Registry) planRegister(subject string, req registerRequest) (*schemaValue, bool, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	mode := r.mode(subject)
	if mode == "READONLY" {
		return nil, false, errNotPermitted("Subject %s is in read-only mode", subject)
	}
	if req.ID > 0 && mode != "IMPORT" {
		return nil, false, errNotPermitted("Overwrite new schema is not permitted: an id can be given only in IMPORT mode")
	}
	v, parsed, e := r.candidate(subject, req)
	if e != nil {
		return nil, false, e
	}
	typ := typeOf(v.SchemaType)
	live := r.liveVersions(subject)
	for _, old := range live {
		if r.same(old, v, r.normalizes(subject, req.normalize)) && (req.ID <= 0 || req.ID == old.ID) {
			return old, true, nil
		}
	}
	if mode == "IMPORT" {
		if req.ID <= 0 {
			return nil, false, errNotPermitted("In IMPORT mode a registration must name its id")
		}
		if first, ok := r.st.byID[req.ID]; ok && first.identity() != v.identity() {
			return nil, false, errNotPermitted("Overwrite new schema with id %d is not permitted.", req.ID)
		}
		v.ID = req.ID
		v.Version = req.Version
		if v.Version <= 0 {
			v.Version = r.st.maxVersion(subject) + 1
		}
		if old, ok := r.st.subjects[subject][v.Version]; ok && old.ID != v.ID {
			return nil, false, errNotPermitted("Overwrite new schema with version %d is not permitted.", v.Version)
		}
		return v, false, nil
	}
	if reasons := r.incompatible(r.level(subject), typ, parsed, live); len(reasons) > 0 {
		return nil, false, errorf(http.StatusConflict, 409,
			"Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s]", subject, strings.Join(reasons, ", "))
	}
	if id, ok := r.st.ids[v.identity()]; ok {
		v.ID = id
	} else {
		v.ID = r.st.maxID + 1
	}
	v.Version = r.st.maxVersion(subject) + 1
	return v, false, nil
}

// candidate parses the schema of a registration or lookup in subject and
// returns the record it would store (no id or version yet) and the parsed
// schema. With normalization the references are sorted by subject and
// version and duplicates dropped, as the reference does. Requires r.mu held.
func (r *Registry) candidate(subject string, req registerRequest) (*schemaValue, any, *Error) {
	normalize := r.normalizes(subject, req.normalize)
	parsed, stored, e := r.parse(req.SchemaType, req.Schema, req.References, normalize)
	if e != nil {
		return nil, nil, e
	}
	v := &schemaValue{Subject: subject, Schema: stored, References: req.References}
	if typ := typeOf(strings.ToUpper(req.SchemaType)); typ != "AVRO" {
		v.SchemaType = typ
	}
	if normalize {
		v.References = sortedRefs(req.References)
	}
	return v, parsed, nil
}

func sortedRefs(refs []Reference) []Reference {
	out := slices.Clone(refs)
	slices.SortStableFunc(out, func(a, b Reference) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Version, b.Version))
	})
	return slices.Compact(out)
}

// same tells whether the stored version old holds the schema of
// candidate v. Without normalization the stored texts must be equal; with
// it, old also matches when its normalized form is v's, so a schema
// registered before normalization was turned on is still found, as the
// reference's lookup finds an equivalent schema. Requires r.mu held.
func (r *Registry) same(old, v *schemaValue, normalize bool) bool {
	if old.identity() == v.identity() {
		return true
	}
	if !normalize || typeOf(old.SchemaType) != typeOf(v.SchemaType) {
		return false
	}
	_, stored, e := r.parse(old.SchemaType, old.Schema, old.References, true)
	if e != nil {
		return false
	}
	n := *old
	n.Schema, n.References = stored, sortedRefs(old.References)
	return n.identity() == v.identity()
}

// lookup finds schema in subject.
func (r *Registry) lookup(subject string, req registerRequest, deleted bool) (*schemaValue, *Error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.st.versionList(subject, deleted)) == 0 {
		return nil, errSubjectNotFound(subject)
	}
	probe, _, e := r.candidate(subject, req)
	if e != nil {
		return nil, e
	}
	for _, ver := range r.st.versionList(subject, deleted) {
		if v := r.st.subjects[subject][ver]; r.same(v, probe, r.normalizes(subject, req.normalize)) {
			return v, nil
		}
	}
	return nil, errSchemaNotFound()
}

// version finds subject's version ("latest", -1 or a number).
// Requires r.mu held.
func (r *Registry) version(subject, ver string, deleted bool) (*schemaValue, *Error) {
	n, e := parseVersion(ver)
	if e != nil {
		return nil, e
	}
	if _, ok := r.st.subjects[subject]; !ok {
		return nil, errSubjectNotFound(subject)
	}
	if n == -1 {
		vs := r.st.versionList(subject, deleted)
		if len(vs) == 0 {
			return nil, errSubjectNotFound(subject)
		}
		return r.st.subjects[subject][vs[len(vs)-1]], nil
	}
	v, ok := r.st.subjects[subject][n]
	if !ok || (v.Deleted && !deleted) {
		return nil, errVersionNotFound(n)
	}
	return v, nil
}

func parseVersion(s string) (int, *Error) {
	if s == "latest" || s == "-1" {
		return -1, nil
	}
	n := 0
	if s == "" || len(s) > 10 {
		return 0, errInvalidVersion(s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errInvalidVersion(s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 1<<31-1 {
		return 0, errInvalidVersion(s)
	}
	return n, nil
}

// deleteVersion soft- or permanently deletes one version.
func (r *Registry) deleteVersion(ctx context.Context, subject, ver string, permanent bool) (int, *Error) {
	ctx, done, e := r.beginWrite(ctx)
	if e != nil {
		return 0, e
	}
	defer done()
	r.mu.RLock()
	v, e := r.version(subject, ver, true)
	if e == nil && ver == "latest" && !permanent {
		v, e = r.version(subject, ver, false)
	}
	var refs []int
	if e == nil {
		refs = r.st.referencedBy(subject, v.Version)
	}
	mode := r.mode(subject)
	r.mu.RUnlock()
	switch {
	case e != nil:
		return 0, e
	case mode == "READONLY":
		return 0, errNotPermitted("Subject %s is in read-only mode", subject)
	case len(refs) > 0:
		return 0, errReferenceExists("One or more references exist to the schema {subject=%s,version=%d}", subject, v.Version)
	case permanent && !v.Deleted:
		return 0, errVersionNotSoftDeleted(subject, v.Version)
	case !permanent && v.Deleted:
		return 0, errVersionSoftDeleted(subject, v.Version)
	}
	var err error
	if permanent {
		err = r.write(ctx, schemaKey(subject, v.Version), nil)
	} else {
		d := *v
		d.Deleted = true
		err = r.write(ctx, schemaKey(subject, v.Version), &d)
	}
	if err != nil {
		return 0, storeErr(err)
	}
	return v.Version, nil
}

// deleteSubject soft- or permanently deletes every version of subject.
func (r *Registry) deleteSubject(ctx context.Context, subject string, permanent bool) ([]int, *Error) {
	ctx, done, e := r.beginWrite(ctx)
	if e != nil {
		return nil, e
	}
	defer done()
	r.mu.RLock()
	all := r.st.versionList(subject, true)
	live := r.st.versionList(subject, false)
	var referenced bool
	for _, v := range live {
		referenced = referenced || len(r.st.referencedBy(subject, v)) > 0
	}
	var vals []schemaValue
	for _, v := range all {
		vals = append(vals, *r.st.subjects[subject][v])
	}
	_, hasConfig := r.st.config[subject]
	_, hasMode := r.st.mode[subject]
	mode := r.mode(subject)
	r.mu.RUnlock()
	switch {
	case len(all) == 0:
		return nil, errSubjectNotFound(subject)
	case mode == "READONLY":
		return nil, errNotPermitted("Subject %s is in read-only mode", subject)
	case referenced:
		return nil, errReferenceExists("One or more references exist to the schema {subject=%s}", subject)
	case permanent && len(live) > 0:
		return nil, errSubjectNotSoftDeleted(subject)
	case !permanent && len(live) == 0:
		return nil, errSubjectSoftDeleted(subject)
	}
	for _, v := range vals {
		var err error
		switch {
		case permanent:
			err = r.write(ctx, schemaKey(subject, v.Version), nil)
		case !v.Deleted:
			v.Deleted = true
			err = r.write(ctx, schemaKey(subject, v.Version), &v)
		}
		if err != nil {
			return nil, storeErr(err)
		}
	}
	if permanent {
		for _, kt := range []struct {
			name string
			has  bool
		}{{"CONFIG", hasConfig}, {"MODE", hasMode}} {
			if kt.has {
				if err := r.write(ctx, recordKey{KeyType: kt.name, Subject: &subject}, nil); err != nil {
					return nil, storeErr(err)
				}
			}
		}
		return all, nil
	}
	return live, nil
}

// setConfig merges update into subject's config (fields update leaves
// unset keep their value, as the reference's ConfigValue.update does) and
// returns the result; a nil update deletes the config.
func (r *Registry) setConfig(ctx context.Context, subject string, update *configValue) (configValue, *Error) {
	if update != nil && update.CompatibilityLevel != "" {
		if _, ok := levels[update.CompatibilityLevel]; !ok {
			return configValue{}, errInvalidCompatibility(update.CompatibilityLevel)
		}
	}
	ctx, done, e := r.beginWrite(ctx)
	if e != nil {
		return configValue{}, e
	}
	defer done()
	key := recordKey{KeyType: "CONFIG", Subject: subjectPtr(subject)}
	if update == nil {
		if err := r.write(ctx, key, nil); err != nil {
			return configValue{}, storeErr(err)
		}
		return configValue{}, nil
	}
	r.mu.RLock()
	c := r.st.config[subject]
	r.mu.RUnlock()
	if update.CompatibilityLevel != "" {
		c.CompatibilityLevel = update.CompatibilityLevel
	}
	if update.Normalize != nil {
		c.Normalize = update.Normalize
	}
	if err := r.write(ctx, key, c); err != nil {
		return configValue{}, storeErr(err)
	}
	return c, nil
}

// setMode writes a mode; "" deletes it.
func (r *Registry) setMode(ctx context.Context, subject, mode string, force bool) *Error {
	if mode != "" && !slices.Contains(modes, mode) {
		return errInvalidMode(mode)
	}
	ctx, done, e := r.beginWrite(ctx)
	if e != nil {
		return e
	}
	defer done()
	if mode == "IMPORT" && !force {
		r.mu.RLock()
		nonEmpty := len(r.st.subjects) > 0
		if subject != "" {
			nonEmpty = len(r.st.subjects[subject]) > 0
		}
		r.mu.RUnlock()
		if nonEmpty {
			return errNotPermitted("Cannot import since found existing subjects")
		}
	}
	key := recordKey{KeyType: "MODE", Subject: subjectPtr(subject)}
	var err error
	if mode == "" {
		err = r.write(ctx, key, nil)
	} else {
		err = r.write(ctx, key, modeValue{Mode: mode})
	}
	if err != nil {
		return storeErr(err)
	}
	return nil
}

func subjectPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
