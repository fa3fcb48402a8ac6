package broker

// BenchmarkSchemaValidation measures schemaIDs.check, the per-batch cost of
// confluent.value.schema.validation once the ids are known, on a batch of
// 1000 records with 100-byte values (docs/benchmarks.md has the numbers):
//
//	go test ./internal/broker -run '^$' -bench SchemaValidation -benchmem

import (
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

func schemaRecord(t testing.TB, s *schemaIDs, subject string, version, id int, tombstone bool) {
	t.Helper()
	key := []byte(`{"keytype":"SCHEMA","subject":"` + subject + `","version":` + itoa(version) + `,"magic":1}`)
	var value []byte
	if !tombstone {
		value = []byte(`{"subject":"` + subject + `","version":` + itoa(version) + `,"id":` + itoa(id) + `,"schema":"\"string\"","deleted":false}`)
	}
	s.apply(key, value)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// The registry's rules: a lost race for a subject/version is ignored, an id
// stays while any subject/version holds it, a tombstone removes one.
func TestSchemaIDsApply(t *testing.T) {
	s := newSchemaIDs(slog.New(slog.DiscardHandler))
	schemaRecord(t, s, "a", 1, 1, false)
	schemaRecord(t, s, "a", 1, 2, false) // lost the version to id 1
	schemaRecord(t, s, "b", 1, 1, false) // the same schema in another subject
	s.apply([]byte(`{"keytype":"CONFIG","subject":null,"magic":0}`), []byte(`{"compatibilityLevel":"NONE"}`))
	s.apply([]byte(`not json`), []byte(`{}`))
	if _, ok := s.refs[2]; ok || s.refs[1] != 2 {
		t.Fatalf("refs %v", s.refs)
	}
	schemaRecord(t, s, "a", 1, 0, true)
	if s.refs[1] != 1 {
		t.Fatalf("after one tombstone refs %v", s.refs)
	}
	schemaRecord(t, s, "b", 1, 0, true)
	schemaRecord(t, s, "b", 1, 0, true) // again: no effect
	if len(s.refs) != 0 || len(s.byKey) != 0 {
		t.Fatalf("after both tombstones refs %v keys %v", s.refs, s.byKey)
	}
}

func benchSchemaBatch(b *testing.B, codec int8, ids int) record.Header {
	var bl record.Builder
	bl.Reset(record.NonIdempotent)
	v := make([]byte, 100)
	for i := range 1000 {
		binary.BigEndian.PutUint32(v[1:], uint32(1+i%ids))
		bl.Append(1, nil, v, nil)
	}
	h, err := bl.Finish(codec, 0)
	if err != nil {
		b.Fatal(err)
	}
	return append(record.Header(nil), h...)
}

func BenchmarkSchemaValidation(b *testing.B) {
	s := newSchemaIDs(slog.New(slog.DiscardHandler))
	for id := 1; id <= 10; id++ {
		schemaRecord(b, s, "t-value", id, id, false)
	}
	for _, bc := range []struct {
		name  string
		codec int8
		ids   int
	}{
		{"uncompressed/one-id", record.CodecNone, 1},
		{"uncompressed/10-ids", record.CodecNone, 10},
		{"lz4/one-id", record.CodecLZ4, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := benchSchemaBatch(b, bc.codec, bc.ids)
			c := schemaCheck{value: true}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.check("t", c, h, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
		})
	}
}

// Record names as Confluent's ParsedSchema.name() gives them, and for
// Protobuf the message the indexes name.
func TestSchemaRecordNames(t *testing.T) {
	fd := &descriptorpb.FileDescriptorProto{Name: proto.String("x.proto"), Package: proto.String("p.q"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("A")},
			{Name: proto.String("B"), NestedType: []*descriptorpb.DescriptorProto{{Name: proto.String("C")}}}}}
	raw, err := proto.Marshal(fd)
	if err != nil {
		t.Fatal(err)
	}
	idx := func(index ...int) []byte {
		b, _ := new(sr.ConfluentHeader).AppendEncode(nil, 1, index)
		return append(b[5:], "data"...)
	}
	for _, tc := range []struct {
		typ, text string
		payload   []byte
		name      string
		used      int
		problem   string
	}{
		{"", `{"type":"record","name":"R","namespace":"n.s","fields":[]}`, nil, "n.s.R", 0, ""},
		{"AVRO", `{"type":"record","name":"a.b.R","namespace":"ignored","fields":[]}`, nil, "a.b.R", 0, ""},
		{"AVRO", `{"type":"error","name":"E","fields":[]}`, nil, "E", 0, ""},
		{"AVRO", `{"type":"enum","name":"E","symbols":["X"]}`, nil, "", 0, "an Avro schema that is not a record"},
		{"AVRO", `["null","string"]`, nil, "", 0, "an Avro schema that is not a record"},
		{"JSON", `{"title":"T","type":"object"}`, nil, "T", 0, ""},
		{"JSON", `{"title":5}`, nil, "", 0, "a JSON schema without a title"},
		{"JSON", `true`, nil, "", 0, "a JSON schema without a title"},
		{"PROTOBUF", `syntax = "proto3"; message M { message N {} } message O {}`, idx(0, 0), "M.N", 3, ""},
		{"PROTOBUF", `syntax = "proto3"; package k; message M {} message O {}`, idx(1), "k.O", 2, ""},
		{"PROTOBUF", `syntax = "proto3"; package k; message M {}`, idx(0), "k.M", 1, ""},
		{"PROTOBUF", `syntax = "proto3"; package k; message M {}`, idx(1), "", 0, "Protobuf message indexes [1] name no message of the schema"},
		{"PROTOBUF", `syntax = "proto3"; package k; message M {`, idx(0), "", 0,
			"a Protobuf schema that does not parse: schema.proto:1:42: syntax error: unexpected $end"},
		{"PROTOBUF", base64.StdEncoding.EncodeToString(raw), idx(1, 0), "p.q.B.C", 3, ""},
		{"PROTOBUF", base64.StdEncoding.EncodeToString(raw), []byte{}, "", 0, "bad Protobuf message indexes after the schema id"},
		{"XML", `<x/>`, nil, "", 0, "a schema of unknown type XML"},
	} {
		name, used, problem := parseSchemaNames(schemaText{tc.typ, tc.text}).recordName(tc.payload)
		if name != tc.name || used != tc.used || problem != tc.problem {
			t.Errorf("%s %s: got %q, %d, %q; want %q, %d, %q", tc.typ, tc.text, name, used, problem, tc.name, tc.used, tc.problem)
		}
	}
}
