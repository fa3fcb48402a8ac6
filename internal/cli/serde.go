package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// Schema-aware produce and consume, like Confluent's
// kafka-avro-console-producer and -consumer: produce reads one JSON document
// per line, checks and encodes it with a registered schema and writes it in
// Confluent's wire format (byte 0, the schema id as a 4-byte big-endian
// number, for Protobuf the message indexes, then the encoded data); consume
// reads the id of each record, fetches that schema from the registry (once)
// and prints the record as JSON again.

// Data formats of --key-format and --value-format.
const (
	formatString     = "string"
	formatAvro       = "avro"
	formatJSONSchema = "json-schema"
	formatProtobuf   = "protobuf"
)

// schemaCodec converts between JSON and one schema's encoding. encode
// returns what follows the 5-byte header (for Protobuf, the message indexes
// too); decode is given the same and returns compact JSON.
type schemaCodec interface {
	encode(doc []byte) ([]byte, error)
	decode(b []byte) ([]byte, error)
}

// sideFlags are the flags of the key or of the value.
type sideFlags struct {
	name     string // "key" or "value"
	format   string
	schema   string // produce: schema file
	schemaID int    // produce: registered schema id
	refsText string // produce: --X-refs, JSON
	message  string // produce: --X-message, the Protobuf message to write

	refs []sr.SchemaReference // refsText parsed by check
}

// serdeFlags are the schema flags of produce (withSchema) and consume.
type serdeFlags struct {
	registry   string
	key, value sideFlags
}

func (f *serdeFlags) register(fs *pflag.FlagSet, withSchema bool) {
	def := defaultRegistry
	if env := strings.TrimSpace(os.Getenv("SCHEMA_REGISTRY_URL")); env != "" {
		def = env
	}
	fs.StringVar(&f.registry, "registry", def, "Schema Registry URL for --key-format and --value-format (env SCHEMA_REGISTRY_URL)")
	f.key.name, f.value.name = "key", "value"
	for _, s := range []*sideFlags{&f.key, &f.value} {
		fs.StringVar(&s.format, s.name+"-format", formatString,
			s.name+" format: string, avro, json-schema or protobuf (the last three: JSON in Confluent's wire format)")
		if withSchema {
			fs.StringVar(&s.schema, s.name+"-schema", "", "schema file for --"+s.name+"-format, registered under TOPIC-"+s.name+" if it is not yet")
			fs.IntVar(&s.schemaID, s.name+"-schema-id", 0, "id of a registered schema for --"+s.name+"-format")
			fs.StringVar(&s.refsText, s.name+"-refs", "",
				"references of --"+s.name+`-schema to registered schemas, as JSON: [{"name":"N","subject":"S","version":V}] (V -1 or left out: latest)`)
			fs.StringVar(&s.message, s.name+"-message", "",
				"--"+s.name+"-format protobuf: the message to write, by full (shop.Order.Line) or simple name (default: the schema's first message)")
		}
	}
}

// check validates the flags of one side.
func (s *sideFlags) check(withSchema bool) error {
	switch s.format {
	case formatString, formatAvro, formatJSONSchema, formatProtobuf:
	default:
		return usagef("--%s-format %q: want string, avro, json-schema or protobuf", s.name, s.format)
	}
	if !withSchema {
		return nil
	}
	switch {
	case s.schemaID < 0:
		return usagef("--%s-schema-id must be positive, got %d", s.name, s.schemaID)
	case s.format == formatString && (s.schema != "" || s.schemaID != 0):
		return usagef("--%s-schema and --%s-schema-id need --%s-format avro, json-schema or protobuf", s.name, s.name, s.name)
	case s.format != formatString && s.schema != "" && s.schemaID != 0:
		return usagef("--%s-schema and --%s-schema-id exclude each other", s.name, s.name)
	case s.format != formatString && s.schema == "" && s.schemaID == 0:
		return usagef("--%s-format %s needs --%s-schema FILE or --%s-schema-id N", s.name, s.format, s.name, s.name)
	case s.refsText != "" && s.schema == "":
		return usagef("--%s-refs needs --%s-schema FILE (a registered schema has its references)", s.name, s.name)
	case s.message != "" && s.format != formatProtobuf:
		return usagef("--%s-message needs --%s-format protobuf", s.name, s.name)
	}
	var err error
	s.refs, err = parseRefs(s.name+"-refs", s.refsText)
	return err
}

// active reports whether any side has a schema format.
func (f *serdeFlags) active() bool {
	return f.key.format != formatString || f.value.format != formatString
}

// client is the registry client; requests time out after timeout.
func (f *serdeFlags) client(timeout time.Duration) (*sr.Client, *registryFlags, error) {
	rf := &registryFlags{url: f.registry, timeout: timeout}
	cl, err := rf.client()
	return cl, rf, err
}

// srType is the registry's name for a format.
func srType(format string) sr.SchemaType {
	switch format {
	case formatJSONSchema:
		return sr.TypeJSON
	case formatProtobuf:
		return sr.TypeProtobuf
	}
	return sr.TypeAvro
}

// serializer encodes one side of produced records.
type serializer struct {
	name  string
	id    int
	codec schemaCodec
}

// serializers resolves the schemas of produce: a schema file is looked up
// under TOPIC-key or TOPIC-value and registered there if it is not yet
// (TopicNameStrategy); an id is fetched. Nil for a string side.
func (f *serdeFlags) serializers(ctx context.Context, topic string, timeout time.Duration) (key, value *serializer, err error) {
	for _, s := range []*sideFlags{&f.key, &f.value} {
		if err := s.check(true); err != nil {
			return nil, nil, err
		}
	}
	if !f.active() {
		return nil, nil, nil
	}
	cl, rf, err := f.client(timeout)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*serializer, 2)
	for i, s := range []*sideFlags{&f.key, &f.value} {
		if s.format == formatString {
			continue
		}
		var sch sr.Schema
		var id int
		var c schemaCodec
		if s.schema != "" {
			if sch, err = schemaFromFile(ctx, cl, rf, s); err != nil {
				return nil, nil, err
			}
			if s.message != "" {
				// An unknown message is refused before the schema is
				// registered under TOPIC-key or TOPIC-value.
				if c, err = s.codec(ctx, cl, rf, sch, "--"+s.name+"-schema "+s.schema); err != nil {
					return nil, nil, err
				}
			}
			subject := topic + "-" + s.name
			ss, err := registerIfNew(ctx, cl, subject, sch)
			if err != nil {
				return nil, nil, fmt.Errorf("--%s-schema %s: subject %s: %w", s.name, s.schema, subject, rf.err(err))
			}
			id = ss.ID
		} else {
			id = s.schemaID
			if sch, err = cl.SchemaByID(ctx, id); err != nil {
				return nil, nil, fmt.Errorf("--%s-schema-id %d: %w", s.name, id, rf.err(err))
			}
			if sch.Type != srType(s.format) {
				return nil, nil, fmt.Errorf("--%s-schema-id %d is a schema of type %s, not %s", s.name, id, sch.Type, s.format)
			}
		}
		if c == nil {
			if c, err = s.codec(ctx, cl, rf, sch, s.name+" schema (id "+strconv.Itoa(id)+")"); err != nil {
				return nil, nil, err
			}
		}
		out[i] = &serializer{name: s.name, id: id, codec: c}
	}
	return out[0], out[1], nil
}

// codec builds the codec of sch, writing --X-message if given; what names
// the schema in errors.
func (s *sideFlags) codec(ctx context.Context, cl *sr.Client, rf *registryFlags, sch sr.Schema, what string) (schemaCodec, error) {
	c, err := newCodec(ctx, cl, rf, sch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if s.message != "" {
		if err := c.(*protobufCodec).useMessage(s.message); err != nil {
			return nil, fmt.Errorf("--%s-message %s: %w", s.name, s.message, err)
		}
	}
	return c, nil
}

// encode turns one JSON document into a record key or value in wire format.
func (s *serializer) encode(doc []byte) ([]byte, error) {
	payload, err := s.codec.encode(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	b, _ := new(sr.ConfluentHeader).AppendEncode(make([]byte, 0, 5+len(payload)), s.id, nil)
	return append(b, payload...), nil
}

// encodeRecord encodes the key and value of r in place; a null key stays null.
func encodeRecord(key, value *serializer, r *kgo.Record) error {
	var err error
	if key != nil && r.Key != nil {
		if r.Key, err = key.encode(r.Key); err != nil {
			return err
		}
	}
	if value != nil {
		if r.Value, err = value.encode(r.Value); err != nil {
			return err
		}
	}
	return nil
}

// deserializer decodes records by the schema id each one carries, with the
// schemas cached by id.
type deserializer struct {
	cl         *sr.Client
	rf         *registryFlags
	key, value string // formats
	codecs     map[int]schemaCodec
}

func (f *serdeFlags) deserializer(timeout time.Duration) (*deserializer, error) {
	for _, s := range []*sideFlags{&f.key, &f.value} {
		if err := s.check(false); err != nil {
			return nil, err
		}
	}
	if !f.active() {
		return nil, nil
	}
	cl, rf, err := f.client(timeout)
	if err != nil {
		return nil, err
	}
	return &deserializer{cl: cl, rf: rf, key: f.key.format, value: f.value.format, codecs: map[int]schemaCodec{}}, nil
}

// decodeRecord replaces the key and value of r by their JSON; a null stays
// null. The error names the offset.
func (d *deserializer) decodeRecord(ctx context.Context, r *kgo.Record) error {
	var err error
	if d.key != formatString && r.Key != nil {
		if r.Key, err = d.decode(ctx, d.key, r.Key); err != nil {
			return fmt.Errorf("partition %d offset %d: key: %w", r.Partition, r.Offset, err)
		}
	}
	if d.value != formatString && r.Value != nil {
		if r.Value, err = d.decode(ctx, d.value, r.Value); err != nil {
			return fmt.Errorf("partition %d offset %d: value: %w", r.Partition, r.Offset, err)
		}
	}
	return nil
}

func (d *deserializer) decode(ctx context.Context, format string, b []byte) ([]byte, error) {
	id, rest, err := new(sr.ConfluentHeader).DecodeID(b)
	if err != nil {
		if len(b) < 5 {
			return nil, fmt.Errorf("not in the schema registry wire format (%d bytes, shorter than the 5-byte header)", len(b))
		}
		return nil, fmt.Errorf("not in the schema registry wire format (first byte 0x%02x, not the magic byte 0)", b[0])
	}
	c, ok := d.codecs[id]
	if !ok {
		sch, err := d.cl.SchemaByID(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("schema id %d: %w", id, d.rf.err(err))
		}
		if sch.Type != srType(format) {
			return nil, fmt.Errorf("schema id %d is a schema of type %s, not %s", id, sch.Type, format)
		}
		if c, err = newCodec(ctx, d.cl, d.rf, sch); err != nil {
			return nil, fmt.Errorf("schema id %d: %w", id, err)
		}
		d.codecs[id] = c
	}
	out, err := c.decode(rest)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	return out, nil
}

// schemaRef is a referenced schema: its name (as the referencing schema
// imports or names it) and text.
type schemaRef struct {
	name, text string
}

// references fetches the schemas s references, transitively, dependencies
// first.
func references(ctx context.Context, cl *sr.Client, rf *registryFlags, s sr.Schema) ([]schemaRef, error) {
	var (
		out  []schemaRef
		seen = map[string]bool{}
		walk func(refs []sr.SchemaReference, depth int) error
	)
	walk = func(refs []sr.SchemaReference, depth int) error {
		if depth > 32 {
			return errors.New("references nested too deeply")
		}
		for _, r := range refs {
			if seen[r.Name] {
				continue
			}
			seen[r.Name] = true
			ss, err := cl.SchemaByVersion(ctx, r.Subject, r.Version)
			if err != nil {
				return fmt.Errorf("reference %s (%s version %d): %w", r.Name, r.Subject, r.Version, rf.err(err))
			}
			if err := walk(ss.References, depth+1); err != nil {
				return err
			}
			out = append(out, schemaRef{r.Name, ss.Schema.Schema})
		}
		return nil
	}
	return out, walk(s.References, 0)
}

// newCodec builds the codec of a registered schema.
func newCodec(ctx context.Context, cl *sr.Client, rf *registryFlags, s sr.Schema) (schemaCodec, error) {
	refs, err := references(ctx, cl, rf, s)
	if err != nil {
		return nil, err
	}
	switch s.Type {
	case sr.TypeAvro:
		return newAvroCodec(s.Schema, refs)
	case sr.TypeJSON:
		return newJSONSchemaCodec(s.Schema, refs)
	case sr.TypeProtobuf:
		return newProtobufCodec(s.Schema, refs)
	}
	return nil, fmt.Errorf("schema type %s is not supported", s.Type)
}
