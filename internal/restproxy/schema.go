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
	"strings"
	"sync"

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

// v2 error codes of the reference for schema problems.
const (
	codeKeySchemaMissing   = 42201
	codeValueSchemaMissing = 42202
	codeConversion         = 42203
	codeInvalidSchema      = 42205
	codeSchemaRegistry     = 40801
)

// schemaTypes maps a format name (v2) or type (v3) to its registry type.
var schemaTypes = map[string]sr.SchemaType{
	"avro": sr.TypeAvro, "jsonschema": sr.TypeJSON, "protobuf": sr.TypeProtobuf,
	"AVRO": sr.TypeAvro, "JSONSCHEMA": sr.TypeJSON, "PROTOBUF": sr.TypeProtobuf,
}

// registry is the proxy's schema registry client with parsed schemas
// cached by id (an id always names the same schema).
type registry struct {
	cl *sr.Client

	mu   sync.Mutex
	byID map[int]*codec
}

func newRegistry(url string) (*registry, error) {
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		return nil, err
	}
	return &registry{cl: cl, byID: map[int]*codec{}}, nil
}

// regErr turns an error from the registry into the reference's: a schema
// the registry refuses is 42205, anything else (unreachable, 5xx) 40801.
func regErr(what string, err error) *Error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		if re.StatusCode == http.StatusNotFound {
			return errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "%s: %s", what, re.Message)
		}
		if re.StatusCode < 500 {
			return errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "%s: %s (registry error %d)", what, re.Message, re.ErrorCode)
		}
	}
	return errorf(http.StatusRequestTimeout, codeSchemaRegistry, "%s: the schema registry did not answer: %v", what, err)
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

// byIDCodec returns the codec of schema id.
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
	if len(s.References) > 0 {
		return nil, errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "schema %d has references, which this REST proxy does not resolve yet", id)
	}
	c, err = parseSchema(s.Type, s.Schema)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "schema %d: %v", id, err)
	}
	c.id = id
	g.mu.Lock()
	g.byID[id] = c
	g.mu.Unlock()
	return c, nil
}

// register registers text under subject (or finds it there) and returns
// its codec.
func (g *registry) register(ctx context.Context, subject string, typ sr.SchemaType, text string) (*codec, error) {
	c, err := parseSchema(typ, text)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "invalid %s schema: %v", typeName(typ), err)
	}
	ss, err := g.cl.CreateSchema(ctx, subject, sr.Schema{Schema: text, Type: typ})
	if err != nil {
		return nil, regErr("registering the schema under "+subject, err)
	}
	c.id = ss.ID
	g.mu.Lock()
	if old := g.byID[ss.ID]; old != nil {
		c = old
	} else {
		g.byID[ss.ID] = c
	}
	g.mu.Unlock()
	return c, nil
}

func typeName(t sr.SchemaType) string {
	switch t {
	case sr.TypeJSON:
		return "JSON"
	case sr.TypeProtobuf:
		return "PROTOBUF"
	}
	return "AVRO"
}

func parseSchema(typ sr.SchemaType, text string) (*codec, error) {
	c := &codec{typ: typ}
	switch typ {
	case sr.TypeAvro:
		s, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
		if err != nil {
			return nil, err
		}
		c.avro = s
	case sr.TypeJSON:
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
		if err != nil {
			return nil, err
		}
		comp := jsonschema.NewCompiler()
		if err := comp.AddResource("schema.json", doc); err != nil {
			return nil, err
		}
		if c.js, err = comp.Compile("schema.json"); err != nil {
			return nil, err
		}
	case sr.TypeProtobuf:
		const name = "schema.proto"
		comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(map[string]string{name: text}),
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
		b, err := proto.Marshal(m)
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
// values: a schema text or a registered id.
type schemaSide struct {
	text *string
	id   *int
}

// codecFor resolves a request's schema for topic's keys (key) or values.
// It returns nil when the request names none.
func (p *Proxy) codecFor(ctx context.Context, typ sr.SchemaType, topic string, key bool, s schemaSide) (*codec, error) {
	if p.reg == nil {
		return nil, errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "schema formats need the schema registry; this REST proxy has none configured (schema.registry.url)")
	}
	subject := topic + "-value"
	if key {
		subject = topic + "-key"
	}
	var c *codec
	var err error
	switch {
	case s.id != nil:
		if c, err = p.reg.codecByID(ctx, *s.id); err != nil {
			return nil, err
		}
		if c.typ != typ {
			return nil, errorf(http.StatusUnprocessableEntity, codeInvalidSchema, "schema %d is a %s schema, not %s", *s.id, typeName(c.typ), typeName(typ))
		}
	case s.text != nil:
		if c, err = p.reg.register(ctx, subject, typ, *s.text); err != nil {
			return nil, err
		}
	}
	return c, nil
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
		return nil, err
	}
	if c.typ != f.typ {
		return nil, fmt.Errorf("schema %d is a %s schema", id, typeName(c.typ))
	}
	return c.decode(payload)
}
