package restproxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Schema formats (avro, jsonschema, protobuf) go through the schema
// registry at Config.SchemaRegistryURL with franz-go's sr client. A record
// is in Confluent's wire format: byte 0, the schema id as 4 big-endian
// bytes, then for protobuf the message indexes (zigzag varints: a count,
// then the path of the message in the file; the single byte 0 for the
// first message) and the payload (Avro binary, compact JSON, protobuf
// binary). Schemas are registered under the TopicNameStrategy subjects
// TOPIC-key and TOPIC-value.

// Error codes of the reference for schema problems (its Errors.java). v2
// answers them as error_code under their status; v3 answers the status
// as error_code and names the code in the message, as the reference's
// produce stream does.
const (
	codeKeySchemaMissing   = 42201 // 422: keys without key_schema(_id)
	codeValueSchemaMissing = 42202 // 422: values without value_schema(_id)
	codeInvalidSchema      = 42205 // 422: a schema that does not parse
	codeNoSchemaRegistry   = 42206 // 422: schema formats without a registry
	codeSerialization      = 42207 // 422: the registry refused or failed a lookup or registration
	codeSchemaRegistry     = 40801 // 408: a record being read whose schema cannot be fetched
)

// Data that does not match its schema is a plain 400 in both APIs, as in
// the reference (whose 42203 is no longer used).

// schemaTypes maps a format name (v2) or type (v3) to its registry type.
var schemaTypes = map[string]sr.SchemaType{
	"avro": sr.TypeAvro, "jsonschema": sr.TypeJSON, "protobuf": sr.TypeProtobuf,
	"AVRO": sr.TypeAvro, "JSONSCHEMA": sr.TypeJSON, "PROTOBUF": sr.TypeProtobuf,
}

// registry is the proxy's schema registry client with parsed schemas
// cached by id (an id always names the same schema), the subject versions
// of ids, and each subject's latest version for latestTTL. mu is never
// held across a network call.
type registry struct {
	cl *sr.Client

	mu        sync.Mutex
	byID      map[int]*codec
	inSubject map[subjectID]int // version of schema id under subject
	latest    map[string]latestEntry
}

type subjectID struct {
	subject string
	id      int
}

// latestTTL is how long a subject's latest version (or its absence) is
// trusted: a v3 record without a type looks it up on every request.
const latestTTL = time.Second

type latestEntry struct {
	res *resolved // nil: the subject does not exist
	at  time.Time
}

func newRegistry(url string) (*registry, error) {
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		return nil, err
	}
	return &registry{cl: cl, byID: map[int]*codec{}, inSubject: map[subjectID]int{}, latest: map[string]latestEntry{}}, nil
}

// regErr turns an error of a registry call into the reference's answer to
// a produce whose schema cannot be resolved: 42207 under 422, whether the
// registry refused (unknown id or subject, incompatible schema) or did not
// answer.
func regErr(what string, err error) *Error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return errorf(http.StatusUnprocessableEntity, codeSerialization, "%s: %s (schema registry error %d)", what, re.Message, re.ErrorCode)
	}
	return errorf(http.StatusUnprocessableEntity, codeSerialization, "%s: the schema registry did not answer: %v", what, err)
}

// notFound reports whether err is the registry's 404.
func notFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// codec is one parsed schema.
type codec struct {
	id   int
	typ  sr.SchemaType
	avro avro.Schema
	js   *jsonschema.Schema
	msg  protoreflect.MessageDescriptor // the first message of the file
	file protoreflect.FileDescriptor
}

// resolved is the schema of one side of a produce request: its codec and,
// when known, the subject and version it is registered under.
type resolved struct {
	c       *codec
	subject string
	version int
}

// dep is a referenced schema: the name the referencing schema uses for it
// (an Avro full name's schema, a JSON Schema $ref URL, a .proto import
// path) and its text.
type dep struct {
	name, text string
}

// deps fetches the schemas refs name, and theirs, dependencies first.
func (g *registry) deps(ctx context.Context, refs []sr.SchemaReference, seen map[subjectID]bool) ([]dep, error) {
	var out []dep
	for _, ref := range refs {
		k := subjectID{ref.Subject, ref.Version}
		if seen[k] {
			continue
		}
		seen[k] = true
		ss, err := g.cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			return nil, regErr(fmt.Sprintf("reference %q (subject %s version %d)", ref.Name, ref.Subject, ref.Version), err)
		}
		inner, err := g.deps(ctx, ss.References, seen)
		if err != nil {
			return nil, err
		}
		out = append(append(out, inner...), dep{name: ref.Name, text: ss.Schema.Schema})
	}
	return out, nil
}

// parseRegistered parses schema id as the registry holds it, resolving its
// references, and caches it.
func (g *registry) parseRegistered(ctx context.Context, id int, s sr.Schema) (*codec, error) {
	g.mu.Lock()
	c := g.byID[id]
	g.mu.Unlock()
	if c != nil {
		return c, nil
	}
	deps, err := g.deps(ctx, s.References, map[subjectID]bool{})
	if err != nil {
		return nil, err
	}
	c, err = parseSchema(s.Type, s.Schema, deps)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "schema %d: %v", id, err)
	}
	c.id = id
	g.mu.Lock()
	if old := g.byID[id]; old != nil {
		c = old
	} else {
		g.byID[id] = c
	}
	g.mu.Unlock()
	return c, nil
}

// codecByID returns the codec of schema id.
func (g *registry) codecByID(ctx context.Context, id int) (*codec, error) {
	g.mu.Lock()
	c := g.byID[id]
	g.mu.Unlock()
	if c != nil {
		return c, nil
	}
	s, err := g.cl.SchemaByID(ctx, id)
	if err != nil {
		return nil, regErr(fmt.Sprintf("schema %d", id), err)
	}
	return g.parseRegistered(ctx, id, s)
}

// versionIn returns the version of schema id under subject; like the
// reference, a produce by id needs the id registered under the subject
// the record is written for.
func (g *registry) versionIn(ctx context.Context, subject string, id int) (int, error) {
	k := subjectID{subject, id}
	g.mu.Lock()
	v, ok := g.inSubject[k]
	g.mu.Unlock()
	if ok {
		return v, nil
	}
	svs, err := g.cl.SchemaVersionsByID(ctx, id)
	if err != nil {
		return 0, regErr(fmt.Sprintf("versions of schema %d", id), err)
	}
	for _, sv := range svs {
		if sv.Subject == subject {
			g.mu.Lock()
			g.inSubject[k] = sv.Version
			g.mu.Unlock()
			return sv.Version, nil
		}
	}
	return 0, errorf(http.StatusUnprocessableEntity, codeSerialization, "schema %d is not registered under subject %s", id, subject)
}

// resolveID resolves schema id for subject.
func (g *registry) resolveID(ctx context.Context, subject string, id int) (*resolved, error) {
	c, err := g.codecByID(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := g.versionIn(ctx, subject, id)
	if err != nil {
		return nil, err
	}
	return &resolved{c: c, subject: subject, version: v}, nil
}

// byVersion resolves version of subject (-1: the latest).
func (g *registry) byVersion(ctx context.Context, subject string, version int) (*resolved, error) {
	ss, err := g.cl.SchemaByVersion(ctx, subject, version)
	if err != nil {
		return nil, err
	}
	c, err := g.parseRegistered(ctx, ss.ID, ss.Schema)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.inSubject[subjectID{ss.Subject, ss.ID}] = ss.Version
	g.mu.Unlock()
	return &resolved{c: c, subject: ss.Subject, version: ss.Version}, nil
}

// latestOf resolves the latest version of subject, nil if the subject does
// not exist, trusting an answer for latestTTL.
func (g *registry) latestOf(ctx context.Context, subject string) (*resolved, error) {
	now := time.Now()
	g.mu.Lock()
	e, ok := g.latest[subject]
	g.mu.Unlock()
	if ok && now.Sub(e.at) < latestTTL {
		return e.res, nil
	}
	res, err := g.byVersion(ctx, subject, -1)
	if err != nil && !notFound(err) {
		var he *Error
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, regErr("latest schema of subject "+subject, err)
	}
	g.mu.Lock()
	if len(g.latest) > 10000 {
		g.latest = map[string]latestEntry{}
	}
	g.latest[subject] = latestEntry{res: res, at: now}
	g.mu.Unlock()
	return res, nil
}

// register registers text under subject (or finds it there).
func (g *registry) register(ctx context.Context, subject string, c *codec, text string) (*resolved, error) {
	ss, err := g.cl.CreateSchema(ctx, subject, sr.Schema{Schema: text, Type: c.typ})
	if err != nil {
		return nil, regErr("registering the schema under subject "+subject, err)
	}
	c.id = ss.ID
	g.mu.Lock()
	if old := g.byID[ss.ID]; old != nil {
		c = old
	} else {
		g.byID[ss.ID] = c
	}
	g.inSubject[subjectID{subject, ss.ID}] = ss.Version
	g.mu.Unlock()
	return &resolved{c: c, subject: subject, version: ss.Version}, nil
}

func typeName(t sr.SchemaType) string {
	switch t {
	case sr.TypeJSON:
		return "JSONSCHEMA"
	case sr.TypeProtobuf:
		return "PROTOBUF"
	}
	return "AVRO"
}

// jsonBase is where JSON Schemas and their references live for the
// compiler: a reference named "address.json" is what a $ref of
// "address.json" finds from the main schema.
const jsonBase = "mem://schemas/"

// parseSchema parses a schema of type typ with the schemas it references,
// dependencies first.
func parseSchema(typ sr.SchemaType, text string, deps []dep) (*codec, error) {
	c := &codec{typ: typ}
	switch typ {
	case sr.TypeAvro:
		// A cache per schema: named types must not leak between schemas.
		cache := &avro.SchemaCache{}
		for _, d := range deps {
			if _, err := avro.ParseWithCache(d.text, "", cache); err != nil {
				return nil, fmt.Errorf("reference %q: %w", d.name, err)
			}
		}
		s, err := avro.ParseWithCache(text, "", cache)
		if err != nil {
			return nil, err
		}
		c.avro = s
	case sr.TypeJSON:
		comp := jsonschema.NewCompiler()
		for _, d := range deps {
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(d.text))
			if err != nil {
				return nil, fmt.Errorf("reference %q: %w", d.name, err)
			}
			if err := comp.AddResource(jsonRefURL(d.name), doc); err != nil {
				return nil, fmt.Errorf("reference %q: %w", d.name, err)
			}
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
		if err != nil {
			return nil, err
		}
		const main = jsonBase + "__subject__.json"
		if err := comp.AddResource(main, doc); err != nil {
			return nil, err
		}
		if c.js, err = comp.Compile(main); err != nil {
			return nil, err
		}
	case sr.TypeProtobuf:
		const name = "__subject__.proto"
		srcs := map[string]string{name: text}
		for _, d := range deps {
			srcs[d.name] = d.text
		}
		comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(srcs),
		})}
		files, err := comp.Compile(context.Background(), name)
		if err != nil {
			return nil, err
		}
		c.file = files[0]
		if c.file.Messages().Len() == 0 {
			return nil, errors.New("the schema defines no message")
		}
		c.msg = c.file.Messages().Get(0)
	default:
		return nil, fmt.Errorf("unknown schema type %v", typ)
	}
	return c, nil
}

// jsonRefURL is where the JSON Schema reference named name is found: an
// absolute URL is itself, anything else is relative to jsonBase.
func jsonRefURL(name string) string {
	if u, err := url.Parse(name); err == nil && u.IsAbs() {
		return name
	}
	return jsonBase + name
}

// recordName is the name RecordNameStrategy gives the schema: an Avro named
// type's full name, the full name of a .proto file's first message.
func (c *codec) recordName() (string, error) {
	switch c.typ {
	case sr.TypeAvro:
		if n, ok := c.avro.(avro.NamedSchema); ok {
			return n.FullName(), nil
		}
		return "", fmt.Errorf("an Avro %s schema has no record name", c.avro.Type())
	case sr.TypeProtobuf:
		return string(c.msg.FullName()), nil
	}
	return "", fmt.Errorf("a %s schema has no record name this proxy derives", typeName(c.typ))
}

// encode turns embedded JSON into a record in wire format.
func (c *codec) encode(data json.RawMessage) ([]byte, error) {
	out := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(c.id))
	switch c.typ {
	case sr.TypeAvro:
		v, err := parseJSONNumbers(data)
		if err != nil {
			return nil, err
		}
		if v, err = avroFromJSON(c.avro, v, ""); err != nil {
			return nil, err
		}
		b, err := avro.Marshal(c.avro, v)
		if err != nil {
			return nil, err
		}
		return append(out, b...), nil
	case sr.TypeJSON:
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if err := c.js.Validate(inst); err != nil {
			return nil, fmt.Errorf("does not match the schema: %v", err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			return nil, err
		}
		return append(out, buf.Bytes()...), nil
	case sr.TypeProtobuf:
		m := dynamicpb.NewMessage(c.msg)
		if err := protojson.Unmarshal(data, m); err != nil {
			return nil, err
		}
		// Deterministic: a dynamic message otherwise writes its fields in
		// map order, different bytes for the same data from one call to
		// the next; this way fields go by number (oneofs last) and map
		// entries by key.
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, 0) // message indexes [0]: the first message
		return append(out, b...), nil
	}
	return nil, fmt.Errorf("unknown schema type %v", c.typ)
}

// splitWire splits a record in wire format into its schema id and the rest.
func splitWire(b []byte) (int, []byte, error) {
	if len(b) < 5 || b[0] != 0 {
		return 0, nil, errors.New("not in the schema registry's wire format (magic byte 0 and a schema id)")
	}
	return int(binary.BigEndian.Uint32(b[1:5])), b[5:], nil
}

// decode turns a payload (after the schema id) back into JSON.
func (c *codec) decode(payload []byte) (json.RawMessage, error) {
	switch c.typ {
	case sr.TypeAvro:
		var v any
		if err := avro.Unmarshal(c.avro, payload, &v); err != nil {
			return nil, err
		}
		j, err := avroToJSON(c.avro, v)
		if err != nil {
			return nil, err
		}
		return json.Marshal(j)
	case sr.TypeJSON:
		if !json.Valid(payload) {
			return nil, errors.New("payload is not valid JSON")
		}
		return json.RawMessage(payload), nil
	case sr.TypeProtobuf:
		rd := bytes.NewReader(payload)
		n, err := binary.ReadVarint(rd)
		if err != nil || n < 0 || n > 64 {
			return nil, errors.New("bad protobuf message indexes")
		}
		idx := []int64{0}
		if n > 0 {
			idx = idx[:0]
			for range n {
				i, err := binary.ReadVarint(rd)
				if err != nil || i < 0 {
					return nil, errors.New("bad protobuf message indexes")
				}
				idx = append(idx, i)
			}
		}
		var md protoreflect.MessageDescriptor
		msgs := c.file.Messages()
		for _, i := range idx {
			if int(i) >= msgs.Len() {
				return nil, fmt.Errorf("message index %v not in schema %d", idx, c.id)
			}
			md = msgs.Get(int(i))
			msgs = md.Messages()
		}
		rest, _ := io.ReadAll(rd)
		m := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(rest, m); err != nil {
			return nil, err
		}
		return protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	}
	return nil, fmt.Errorf("unknown schema type %v", c.typ)
}

// schemaSide is what a request says about the schema of its keys or
// values: v2 a schema text or a registered id; v3 also a subject (or a
// subject name strategy) and a version of it.
type schemaSide struct {
	text     *string
	id       *int
	version  *int
	subject  *string
	strategy *string
}

func (s schemaSide) empty() bool {
	return s.text == nil && s.id == nil && s.version == nil && s.subject == nil && s.strategy == nil
}

// noRegistry is the answer to a schema format or schema field when the
// proxy has no schema registry.
func noRegistry() *Error {
	return errorf(http.StatusUnprocessableEntity, codeNoSchemaRegistry,
		"schemas need the schema registry, and this REST proxy has none configured (schema.registry.url)")
}

// subjectFor is the subject of topic's keys (key) or values under s's
// subject or subject name strategy (TopicNameStrategy when it names
// none); c is the schema, nil when the request names none yet.
func subjectFor(topic string, key bool, s schemaSide, c *codec) (string, error) {
	if s.subject != nil {
		if s.strategy != nil {
			return "", httpErr(http.StatusBadRequest, "subject and subject_name_strategy exclude each other")
		}
		return *s.subject, nil
	}
	strategy := "TOPIC_NAME"
	if s.strategy != nil {
		strategy = strings.ToUpper(*s.strategy)
	}
	side := "-value"
	if key {
		side = "-key"
	}
	switch strategy {
	case "TOPIC_NAME":
		return topic + side, nil
	case "RECORD_NAME", "TOPIC_RECORD_NAME":
		if c == nil {
			return "", httpErr(http.StatusBadRequest, "subject_name_strategy %s needs schema_id or schema", strategy)
		}
		name, err := c.recordName()
		if err != nil {
			return "", httpErr(http.StatusBadRequest, "subject_name_strategy %s: %v", strategy, err)
		}
		if strategy == "TOPIC_RECORD_NAME" {
			return topic + "-" + name, nil
		}
		return name, nil
	}
	return "", httpErr(http.StatusBadRequest, "unknown subject_name_strategy %q (want TOPIC_NAME, RECORD_NAME or TOPIC_RECORD_NAME)", *s.strategy)
}

// codecFor resolves a request's schema for topic's keys (key) or values.
// typ is the schema type the request names; typed is false for a v3
// record without a type, whose schema (and so its type) comes from the
// registry. It returns nil when the request names no schema.
func (p *Proxy) codecFor(ctx context.Context, typ sr.SchemaType, typed bool, topic string, key bool, s schemaSide) (*resolved, error) {
	if p.reg == nil {
		return nil, noRegistry()
	}
	var res *resolved
	switch {
	case s.text != nil:
		if s.id != nil || s.version != nil {
			return nil, httpErr(http.StatusBadRequest, "schema, schema_id and schema_version exclude each other")
		}
		if !typed {
			return nil, httpErr(http.StatusBadRequest, "a schema needs its type (AVRO, JSONSCHEMA or PROTOBUF)")
		}
		c, err := parseSchema(typ, *s.text, nil)
		if err != nil {
			return nil, errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "invalid %s schema: %v", typeName(typ), err)
		}
		subject, err := subjectFor(topic, key, s, c)
		if err != nil {
			return nil, err
		}
		if res, err = p.reg.register(ctx, subject, c, *s.text); err != nil {
			return nil, err
		}
	case s.id != nil:
		if s.version != nil {
			return nil, httpErr(http.StatusBadRequest, "schema_id and schema_version exclude each other")
		}
		c, err := p.reg.codecByID(ctx, *s.id)
		if err != nil {
			return nil, err
		}
		subject, err := subjectFor(topic, key, s, c)
		if err != nil {
			return nil, err
		}
		if res, err = p.reg.resolveID(ctx, subject, *s.id); err != nil {
			return nil, err
		}
	case s.version != nil:
		subject, err := subjectFor(topic, key, s, nil)
		if err != nil {
			return nil, err
		}
		if res, err = p.reg.byVersion(ctx, subject, *s.version); err != nil {
			var he *Error
			if errors.As(err, &he) {
				return nil, he
			}
			if notFound(err) {
				return nil, httpErr(http.StatusBadRequest, "subject %s has no version %d", subject, *s.version)
			}
			return nil, regErr(fmt.Sprintf("version %d of subject %s", *s.version, subject), err)
		}
	case !typed:
		// No type and no schema: the subject's latest schema, as in the
		// reference. Unlike the reference, a topic whose subject does not
		// exist takes the record as JSON (a typeless record's type
		// without a registry), unless the request named the subject.
		subject, err := subjectFor(topic, key, s, nil)
		if err != nil {
			return nil, err
		}
		if res, err = p.reg.latestOf(ctx, subject); err != nil {
			return nil, err
		}
		if res == nil && (s.subject != nil || s.strategy != nil) {
			return nil, errorf(http.StatusUnprocessableEntity, codeSerialization, "subject %s not found in the schema registry", subject)
		}
		return res, nil
	default:
		return nil, nil
	}
	if typed && res.c.typ != typ {
		return nil, errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "schema %d is a %s schema, not %s", res.c.id, typeName(res.c.typ), typeName(typ))
	}
	return res, nil
}

// schemaFormat is a schema format of consumer instances: it decodes
// records by the schema id they carry.
type schemaFormat struct {
	name string
	typ  sr.SchemaType
	reg  *registry
	p    *Proxy
}

func (f schemaFormat) Name() string { return f.name }

func (f schemaFormat) Encode(json.RawMessage) ([]byte, error) {
	return nil, errors.New("schema formats encode through produceV2")
}

func (f schemaFormat) Decode(b []byte) (json.RawMessage, error) {
	if b == nil {
		return json.RawMessage("null"), nil
	}
	id, payload, err := splitWire(b)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.p.cfg.RequestTimeout)
	defer cancel()
	c, err := f.reg.codecByID(ctx, id)
	if err != nil {
		// A record whose schema cannot be had is the reference's 40801
		// (a deserializer's SerializationException).
		return nil, errorf(http.StatusRequestTimeout, codeSchemaRegistry, "%v", err)
	}
	if c.typ != f.typ {
		return nil, fmt.Errorf("schema %d is a %s schema", id, typeName(c.typ))
	}
	return c.decode(payload)
}
