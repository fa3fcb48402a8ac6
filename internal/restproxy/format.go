package restproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Format is a v2 embedded format: how keys and values are carried in the
// JSON of produce requests and records responses.
//
// NOTE: a new format needs an entry in formats, or in schemaFormats and
// schemaTypes if it uses schemas (produceV2 encodes those with a codec).
type Format interface {
	// Name is the format's name in content types and consumer configs.
	Name() string
	// Encode turns an embedded key or value into record bytes; JSON null
	// (or an absent field) is a nil key or value.
	Encode(data json.RawMessage) ([]byte, error)
	// Decode turns record bytes into the embedded JSON; nil is null.
	Decode(b []byte) (json.RawMessage, error)
}

// formats are the embedded formats without schemas. avro, jsonschema and
// protobuf are schemaFormats (schema.go), served when the proxy has a
// schema registry.
var formats = map[string]Format{
	"binary": binaryFormat{},
	"json":   jsonFormat{},
}

// schemaFormats are the formats that need the schema registry.
var schemaFormats = map[string]bool{"avro": true, "jsonschema": true, "protobuf": true}

func isNull(data json.RawMessage) bool {
	d := bytes.TrimSpace(data)
	return len(d) == 0 || string(d) == "null"
}

// binaryFormat carries bytes as base64 strings.
type binaryFormat struct{}

func (binaryFormat) Name() string { return "binary" }

func (binaryFormat) Encode(data json.RawMessage) ([]byte, error) {
	if isNull(data) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("binary data must be a base64 string")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("binary data is not valid base64: %v", err)
	}
	return b, nil
}

func (binaryFormat) Decode(b []byte) (json.RawMessage, error) {
	if b == nil {
		return json.RawMessage("null"), nil
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// jsonFormat carries any JSON value as itself; the record holds its
// compact encoding.
type jsonFormat struct{}

func (jsonFormat) Name() string { return "json" }

func (jsonFormat) Encode(data json.RawMessage) ([]byte, error) {
	if isNull(data) {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (jsonFormat) Decode(b []byte) (json.RawMessage, error) {
	if b == nil {
		return json.RawMessage("null"), nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("record is not valid JSON")
	}
	return json.RawMessage(b), nil
}

// formatOf parses a v2 content type of the form
// application/vnd.kafka.{format}.v2+json and returns its format; ok is
// false when mt carries no embedded format.
func formatOf(mt string) (name string, ok bool) {
	rest, found := strings.CutPrefix(mt, "application/vnd.kafka.")
	if !found {
		return "", false
	}
	name, ver, found := strings.Cut(rest, ".")
	if !found || (ver != "v2+json" && ver != "v1+json") {
		return "", false
	}
	return name, true
}

// lookupFormat returns the format named name or an error in the reference's
// terms: schema formats need the schema registry, others are unknown.
func (p *Proxy) lookupFormat(name string, status, code int) (Format, error) {
	if f, ok := formats[name]; ok {
		return f, nil
	}
	if schemaFormats[name] {
		if p.reg == nil {
			return nil, errorf(status, code, "embedded format %q needs the schema registry, and this REST proxy has none configured (schema.registry.url)", name)
		}
		return schemaFormat{name: name, typ: schemaTypes[name], reg: p.reg, p: p}, nil
	}
	return nil, errorf(status, code, "unknown embedded format %q (want binary, json, avro, jsonschema or protobuf)", name)
}

// produceFormat is the format of a v2 produce request's Content-Type.
func (p *Proxy) produceFormat(r *http.Request) (Format, error) {
	name, ok := formatOf(mediaType(r))
	if !ok {
		return nil, unsupportedMedia(r)
	}
	if schemaFormats[name] && p.reg == nil {
		return nil, noRegistry()
	}
	f, err := p.lookupFormat(name, http.StatusUnsupportedMediaType, http.StatusUnsupportedMediaType)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// requestPartitioner places a record on the partition its request named
// (marked with explicitPartition in its context) and otherwise as Kafka's
// default partitioner does (base).
type requestPartitioner struct{ base kgo.Partitioner }

func (p requestPartitioner) ForTopic(t string) kgo.TopicPartitioner {
	return &requestTopicPartitioner{p.base.ForTopic(t)}
}

type requestTopicPartitioner struct{ base kgo.TopicPartitioner }

// explicitPartition is the context key marking a record whose Partition
// field was chosen by the request.
type explicitPartition struct{}

func explicit(r *kgo.Record) bool {
	return r.Context != nil && r.Context.Value(explicitPartition{}) != nil
}

func (p *requestTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return explicit(r) || p.base.RequiresConsistency(r)
}

func (p *requestTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if explicit(r) {
		return int(r.Partition)
	}
	return p.base.Partition(r, n)
}

func (p *requestTopicPartitioner) OnNewBatch() {
	if nb, ok := p.base.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}
