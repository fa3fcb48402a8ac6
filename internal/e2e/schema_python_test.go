package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// confluent-kafka-python 1.7.0's schema registry package needs more than the
// client: requests for SchemaRegistryClient, jsonschema for the JSON
// serializers and protobuf for the Protobuf ones. Its Avro serializer needs
// fastavro, which Debian does not package, so Avro schemas are registered
// and checked through the client here but not serialized.
var schemaModules = [][2]string{
	{"confluent_kafka", "python3-confluent-kafka"},
	{"requests", "python3-requests"},
	{"jsonschema", "python3-jsonschema"},
	{"google.protobuf", "python3-protobuf"},
}

// needSchemaClient fails the test (it never skips) unless every module
// schema_client.py imports is there, naming the Debian packages missing.
func needSchemaClient(t *testing.T) {
	t.Helper()
	var missing []string
	for _, m := range schemaModules {
		if err := exec.Command(python, "-c", "import "+m[0]).Run(); err != nil {
			missing = append(missing, m[1])
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%s cannot import what testdata/schema_client.py needs: missing Debian packages %s (./scripts/test.sh installs them)",
			python, strings.Join(missing, ", "))
	}
}

// srErr is a SchemaRegistryError as schema_client.py prints it.
type srErr struct {
	Status  int    `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// srStep is one line of schema_client.py's registry story.
type srStep struct {
	Step       string          `json:"step"`
	Error      *srErr          `json:"error"`
	ID         int             `json:"id"`
	Subject    string          `json:"subject"`
	Version    int             `json:"version"`
	Schema     string          `json:"schema"`
	Type       string          `json:"type"`
	Compatible *bool           `json:"compatible"`
	Level      string          `json:"level"`
	Result     json.RawMessage `json:"result"`
	Versions   []int           `json:"versions"`
	Subjects   []string        `json:"subjects"`
}

// The schemas of the story as the registry stores them (Avro and JSON in
// compact form, Protobuf as the text the registry prints).
const (
	pyAvroV1  = `{"type":"record","name":"User","namespace":"e2e","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}`
	pyJSON    = `{"$schema":"http://json-schema.org/draft-07/schema#","title":"Payment","type":"object","properties":{"id":{"type":"string"},"amount":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}}},"required":["id","amount"]}`
	pyProtoV1 = "syntax = \"proto3\";\npackage e2e.txt;\n\nmessage Ping {\n  string id = 1;\n  int32 n = 2;\n}\n"
)

// TestSchemaPython drives confluent-kafka-python's SchemaRegistryClient and
// its JSON and Protobuf serializers against `samsa server` with its built-in
// registry: registration, lookups, compatibility checks and levels, the
// errors of bad input; then records produced with SerializingProducer
// through the broker, read back with DeserializingConsumer, checked byte by
// byte from Go (magic byte, schema id, payload) and against franz-go's sr
// client.
func TestSchemaPython(t *testing.T) {
	needSchemaClient(t)
	t.Parallel()
	srAddr := kafkatest.FreePort(t)
	url := "http://" + srAddr
	p := kafkatest.StartProcess(t, "", "schema.registry.listeners="+url)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("registry", func(t *testing.T) {
		steps := map[string]srStep{}
		var order []string
		for _, l := range runPy(t, "", "schema_client.py", "registry", url) {
			s := decode[srStep](t, l)
			steps[s.Step] = s
			order = append(order, s.Step)
		}
		wantOrder := []string{"avro-register", "avro-register-again", "avro-latest", "avro-compat-v2",
			"avro-compat-no-default", "avro-register-v2", "avro-version-1", "avro-versions", "avro-lookup-v1",
			"avro-by-id", "global-compat", "avro-set-compat", "avro-compat", "global-compat-after",
			"avro-full-no-default", "avro-register-incompatible", "avro-register-invalid",
			"avro-lookup-unregistered", "unknown-subject", "unknown-id", "avro-set-compat-invalid",
			"json-register", "json-latest", "json-compat-wider", "json-compat-open-added", "json-compat-bad-type",
			"json-register-incompatible", "json-register-invalid", "proto-register", "proto-lookup",
			"proto-compat-v2", "proto-compat-bad", "proto-register-incompatible", "proto-register-invalid", "subjects"}
		if !slices.Equal(order, wantOrder) {
			t.Fatalf("steps %v\nwant %v", order, wantOrder)
		}
		ok := func(name string) srStep {
			t.Helper()
			s := steps[name]
			if s.Error != nil {
				t.Fatalf("%s: %+v", name, *s.Error)
			}
			return s
		}
		fails := func(name string, status, code int, msg string) {
			t.Helper()
			s := steps[name]
			if s.Error == nil || s.Error.Status != status || s.Error.Code != code || !strings.Contains(s.Error.Message, msg) {
				t.Errorf("%s: want SchemaRegistryError %d/%d containing %q, got %+v", name, status, code, msg, s.Error)
			}
		}
		compatible := func(name string, want bool) {
			t.Helper()
			if s := ok(name); s.Compatible == nil || *s.Compatible != want {
				t.Errorf("%s: is_compatible %v, want %v", name, s.Compatible, want)
			}
		}
		registered := func(name string, id int, subject string, version int, schema, typ string) {
			t.Helper()
			s := ok(name)
			if s.ID != id || s.Subject != subject || s.Version != version || s.Schema != schema || s.Type != typ {
				t.Errorf("%s: got id %d %s v%d %s %q\nwant id %d %s v%d %s %q", name, s.ID, s.Subject, s.Version, s.Type, s.Schema,
					id, subject, version, typ, schema)
			}
		}

		// Avro: ids, versions, lookups, compatibility and levels.
		for name, id := range map[string]int{"avro-register": 1, "avro-register-again": 1, "avro-register-v2": 2,
			"json-register": 3, "proto-register": 4} {
			if s := ok(name); s.ID != id {
				t.Errorf("%s: id %d, want %d", name, s.ID, id)
			}
		}
		registered("avro-latest", 1, "py-avro-value", 1, pyAvroV1, "AVRO")
		registered("avro-version-1", 1, "py-avro-value", 1, pyAvroV1, "AVRO")
		registered("avro-lookup-v1", 1, "py-avro-value", 1, pyAvroV1, "AVRO")
		if s := ok("avro-versions"); !slices.Equal(s.Versions, []int{1, 2}) {
			t.Errorf("versions %v", s.Versions)
		}
		if s := ok("avro-by-id"); s.Type != "AVRO" || !strings.Contains(s.Schema, `"email"`) {
			t.Errorf("schema by id: %+v", s)
		}
		compatible("avro-compat-v2", true)
		compatible("avro-compat-no-default", false)
		compatible("avro-full-no-default", false)
		if s := ok("global-compat"); s.Level != "BACKWARD" {
			t.Errorf("global level %q", s.Level)
		}
		if s := ok("avro-set-compat"); string(s.Result) != `{"compatibility": "FULL"}` {
			t.Errorf("set_compatibility returned %s", s.Result)
		}
		if s := ok("avro-compat"); s.Level != "FULL" {
			t.Errorf("subject level %q", s.Level)
		}
		if s := ok("global-compat-after"); s.Level != "BACKWARD" {
			t.Errorf("global level after a subject's was set: %q", s.Level)
		}
		// Bad input through the client: the registry's status and code.
		fails("avro-register-incompatible", 409, 409, "incompatible")
		fails("avro-register-invalid", 422, 42201, "nope")
		fails("avro-lookup-unregistered", 404, 40403, "Schema not found")
		fails("unknown-subject", 404, 40401, "py-nope-value")
		fails("unknown-id", 404, 40403, "99999")
		fails("avro-set-compat-invalid", 422, 42203, "SOMETIMES")

		registered("json-latest", 3, "py-jsonschema-value", 1, pyJSON, "JSON")
		compatible("json-compat-wider", true)
		compatible("json-compat-open-added", false)
		compatible("json-compat-bad-type", false)
		fails("json-register-incompatible", 409, 409, "amount")
		fails("json-register-invalid", 422, 42201, "JSON")

		registered("proto-lookup", 4, "py-proto-value", 1, pyProtoV1, "PROTOBUF")
		compatible("proto-compat-v2", true)
		compatible("proto-compat-bad", false)
		fails("proto-register-incompatible", 409, 409, "field 2")
		fails("proto-register-invalid", 422, 42201, ":3:3")
		if s := ok("subjects"); !slices.Equal(s.Subjects, []string{"py-avro-value", "py-jsonschema-value", "py-proto-value"}) {
			t.Errorf("subjects %v", s.Subjects)
		}

		// franz-go's client sees the same ids, versions and levels.
		for _, w := range []struct {
			subject     string
			version, id int
			typ         sr.SchemaType
		}{{"py-avro-value", 1, 1, sr.TypeAvro}, {"py-avro-value", 2, 2, sr.TypeAvro},
			{"py-jsonschema-value", 1, 3, sr.TypeJSON}, {"py-proto-value", 1, 4, sr.TypeProtobuf}} {
			got, err := cl.SchemaByVersion(ctx, w.subject, w.version)
			if err != nil || got.ID != w.id || got.Type != w.typ {
				t.Errorf("franz-go %s v%d: %+v %v; want id %d type %v", w.subject, w.version, got, err, w.id, w.typ)
			}
		}
		if got, err := cl.SchemaByID(ctx, 1); err != nil || got.Schema != pyAvroV1 {
			t.Errorf("franz-go id 1: %+v %v", got, err)
		}
		levels := cl.Compatibility(ctx, "py-avro-value")
		if len(levels) != 1 || levels[0].Err != nil || levels[0].Level != sr.CompatFull {
			t.Errorf("franz-go level of py-avro-value: %+v", levels)
		}
	})

	t.Run("json", func(t *testing.T) {
		const topic = "py-payments"
		createTopic(t, p.Addr, topic, 1)
		// As Python's json.dumps writes them, so the payload bytes are these.
		values := []string{
			`{"id": "p-1", "amount": 12.5, "tags": ["a", "\u03b6"]}`,
			`{"id": "p-2", "amount": -3}`,
			`{"id": "p-3", "amount": 0, "tags": []}`,
		}
		id := serializerRoundTrip(t, ctx, cl, p.Addr, url, topic, "json", values, func(t *testing.T, i int, payload []byte) {
			if string(payload) != values[i] {
				t.Errorf("record %d: payload %q, want %q", i, payload, values[i])
			}
		})
		// The serializer registered the schema the story registered under
		// another subject: the same schema gets the same id.
		if id != 3 {
			t.Errorf("%s-value has id %d, want 3 (the id of the same schema under py-jsonschema-value)", topic, id)
		}
	})

	t.Run("protobuf", func(t *testing.T) {
		const topic = "py-orders"
		createTopic(t, p.Addr, topic, 1)
		values := []string{
			`{"id": "o-1", "qty": "3", "tags": ["x", "y"], "line": {"sku": "s-9", "price": 2.5}, "at": "2024-05-01T10:00:00Z"}`,
			`{"id": "o-2"}`,
			`{"id": "o-3", "qty": "-9000000000", "line": {"sku": "\u00e9"}}`,
		}
		var order *dynamicpb.Message
		id := serializerRoundTrip(t, ctx, cl, p.Addr, url, topic, "protobuf", values, func(t *testing.T, i int, payload []byte) {
			if order == nil {
				order = orderType(t, ctx, cl, topic+"-value")
			}
			// Message index [0] (the first message of the file) is one 0.
			if len(payload) == 0 || payload[0] != 0 {
				t.Fatalf("record %d: message index % x, want 00", i, payload[:min(len(payload), 1)])
			}
			got, want := order.New().Interface(), order.New().Interface()
			if err := proto.Unmarshal(payload[1:], got); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if err := protojson.Unmarshal([]byte(values[i]), want); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("record %d: decoded %v, want %v", i, got, want)
			}
		})
		// The file's import is registered under its own name and referenced.
		ts, err := cl.SchemaByVersion(ctx, "google/protobuf/timestamp.proto", -1)
		if err != nil || ts.Type != sr.TypeProtobuf || ts.Version != 1 {
			t.Fatalf("google/protobuf/timestamp.proto: %+v %v", ts, err)
		}
		main, err := cl.SchemaByVersion(ctx, topic+"-value", -1)
		if err != nil || main.ID != id || main.Version != 1 || len(main.References) != 1 ||
			main.References[0] != (sr.SchemaReference{Name: "google/protobuf/timestamp.proto", Subject: "google/protobuf/timestamp.proto", Version: 1}) {
			t.Fatalf("%s-value: %+v %v", topic, main, err)
		}
		if id != ts.ID+1 || ts.ID != 5 {
			t.Errorf("ids: timestamp.proto %d, %s-value %d; want 5 and 6", ts.ID, topic, id)
		}
	})
}

// serializerRoundTrip produces values with schema_client.py's serializer of
// format, checks the acks, reads the records back with franz-go (each
// payload: magic byte 0, then the big-endian id franz-go's sr client gives
// as the latest of TOPIC-value, then check's bytes) and with
// schema_client.py's deserializer (the exact values), and returns the id.
func serializerRoundTrip(t *testing.T, ctx context.Context, cl *sr.Client, addr, url, topic, format string, values []string,
	check func(t *testing.T, i int, payload []byte)) int {
	t.Helper()
	lines := runPy(t, strings.Join(values, "\n")+"\n", "schema_client.py", "produce", addr, url, topic, format)
	if len(lines) != len(values) {
		t.Fatalf("produce: %d acks for %d values: %s", len(lines), len(values), lines)
	}
	for i, l := range lines {
		a := decode[struct {
			Key       string  `json:"key"`
			Partition int32   `json:"partition"`
			Offset    int64   `json:"offset"`
			Error     *string `json:"error"`
		}](t, l)
		if a.Error != nil || a.Key != keyOf(i) || a.Partition != 0 || a.Offset != int64(i) {
			t.Fatalf("produce record %d: ack %s", i, l)
		}
	}
	latest, err := cl.SchemaByVersion(ctx, topic+"-value", -1)
	if err != nil || latest.Version != 1 {
		t.Fatalf("franz-go: %s-value: %+v %v", topic, latest, err)
	}
	recs := readAll(t, addr, topic)[0]
	if len(recs) != len(values) {
		t.Fatalf("franz-go read %d records, want %d", len(recs), len(values))
	}
	for i, r := range recs {
		if string(r.Key) != keyOf(i) || len(r.Value) < 5 || r.Value[0] != 0 {
			t.Fatalf("record %d: key %q value % x", i, r.Key, r.Value)
		}
		if id := int(binary.BigEndian.Uint32(r.Value[1:5])); id != latest.ID {
			t.Fatalf("record %d: schema id %d in the wire format, franz-go says %s-value is id %d", i, id, topic, latest.ID)
		}
		check(t, i, r.Value[5:])
	}
	got := runPy(t, "", "schema_client.py", "consume", addr, topic, format, fmt.Sprint(len(values)))
	if len(got) != len(values) {
		t.Fatalf("consume: %d records for %d: %s", len(got), len(values), got)
	}
	for i, l := range got {
		g := decode[struct {
			Key    string `json:"key"`
			Offset int64  `json:"offset"`
			Value  any    `json:"value"`
		}](t, l)
		var want any
		if err := json.Unmarshal([]byte(values[i]), &want); err != nil {
			t.Fatal(err)
		}
		if g.Key != keyOf(i) || g.Offset != int64(i) || !reflect.DeepEqual(g.Value, want) {
			t.Errorf("deserialized record %d: %s\nwant key %s value %s", i, l, keyOf(i), values[i])
		}
	}
	return latest.ID
}

func keyOf(i int) string { return fmt.Sprintf("k%d", i) }

// orderText is e2e.shop.Order's file as the registry stores it: the
// ProtobufSerializer registered a base64 FileDescriptorProto, which the
// registry turns into .proto text, as the reference does.
const orderText = `syntax = "proto3";
package e2e.shop;

import "google/protobuf/timestamp.proto";

message Order {
  string id = 1;
  int64 qty = 2;
  repeated string tags = 3;
  .e2e.shop.Line line = 4;
  .google.protobuf.Timestamp at = 5;
}
message Line {
  string sku = 1;
  double price = 2;
}
`

// orderType builds the message type e2e.shop.Order from the schema the
// registry returns for subject, which must be orderText.
func orderType(t *testing.T, ctx context.Context, cl *sr.Client, subject string) *dynamicpb.Message {
	t.Helper()
	s, err := cl.SchemaByVersion(ctx, subject, -1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Schema.Schema != orderText {
		t.Fatalf("%s: the registry returned\n%s\nwant\n%s", subject, s.Schema.Schema, orderText)
	}
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		if path != "e2e/shop/order.proto" {
			return protocompile.SearchResult{}, fmt.Errorf("%s: not found", path)
		}
		return protocompile.SearchResult{Source: strings.NewReader(s.Schema.Schema)}, nil
	}))}
	files, err := c.Compile(ctx, "e2e/shop/order.proto")
	if err != nil {
		t.Fatal(err)
	}
	return dynamicpb.NewMessage(files[0].Messages().ByName("Order"))
}
