package cli

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
)

// rawRecords reads every record of partition 0 of topic.
func rawRecords(t *testing.T, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("fetch %s: %v (have %d of %d records)", topic, err, len(recs), n)
		}
		recs = append(recs, fs.Records()...)
	}
	return recs
}

// checkHeader checks that b is in wire format with schema id id.
func checkHeader(t *testing.T, what string, b []byte, id int) {
	t.Helper()
	if len(b) < 5 || b[0] != 0 || int(binary.BigEndian.Uint32(b[1:5])) != id {
		t.Errorf("%s %x: want magic byte 0 and schema id %d", what, b, id)
	}
}

// subjectID is the id of the latest version of subject.
func subjectID(t *testing.T, reg, subject string) int {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(reg))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cl.SchemaByVersion(context.Background(), subject, -1)
	if err != nil {
		t.Fatalf("subject %s: %v", subject, err)
	}
	return s.ID
}

func TestSerdeAvro(t *testing.T) {
	addr, reg := startTestBrokerRegistry(t)
	dir := writeFiles(t, map[string]string{
		"order.avsc": `{"type":"record","name":"Order","namespace":"shop","fields":[
			{"name":"id","type":"long"},
			{"name":"item","type":"string"},
			{"name":"price","type":"double"},
			{"name":"note","type":["null","string"],"default":null},
			{"name":"tags","type":{"type":"array","items":"string"}},
			{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
			{"name":"extra","type":["null","int",{"type":"map","values":"long"}]},
			{"name":"raw","type":"bytes"},
			{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"key.avsc": `"string"`,
	})
	for _, topic := range []string{"orders", "keyed", "byid", "bad"} {
		mustRun(t, "", "topic", "create", topic, "-b", addr)
	}
	lines := []string{
		`{"id":1,"item":"pen","price":1.5,"note":null,"tags":[],"status":"NEW","extra":null,"raw":"","ts":1700000000000}`,
		`{"id":2,"item":"ink \"blue\" <&>","price":20,"note":{"string":"gift"},"tags":["a","b"],"status":"PAID","extra":{"int":7},"raw":"\u0000ÿ","ts":0}`,
		`{"id":-3,"item":"","price":-0.25,"note":null,"tags":["x"],"status":"NEW","extra":{"map":{"a":1,"b":-2}},"raw":"abc","ts":1}`,
	}
	input := strings.Join(lines, "\n") + "\n"
	avro := func(topic string, extra ...string) []string {
		return append([]string{"--registry", reg, "-b", addr, topic}, extra...)
	}
	mustRun(t, input, append([]string{"produce"}, avro("orders", "--value-format", "avro", "--value-schema", dir+"/order.avsc")...)...)
	id := subjectID(t, reg, "orders-value")
	recs := rawRecords(t, addr, "orders", 3)
	for i, r := range recs {
		checkHeader(t, "value "+strconv.Itoa(i), r.Value, id)
	}
	// Consumed back: the same JSON, line for line. The 20 comes back as
	// 20 (a double is written the shortest way that reads back the same).
	out := mustRun(t, "", append([]string{"consume"}, avro("orders", "--from-beginning", "-c", "3", "--value-format", "avro")...)...)
	if want := input; out != want {
		t.Errorf("consumed\n%s\nwant\n%s", out, want)
	}
	// A field with a default may be left out.
	mustRun(t, `{"id":4,"item":"cup","price":2,"tags":[],"status":"NEW","extra":null,"raw":"","ts":5}`+"\n",
		append([]string{"produce"}, avro("orders", "--value-format", "avro", "--value-schema", dir+"/order.avsc")...)...)
	out = mustRun(t, "", append([]string{"consume"}, avro("orders", "--offset", "3", "-c", "1", "--value-format", "avro")...)...)
	if want := `{"id":4,"item":"cup","price":2,"note":null,"tags":[],"status":"NEW","extra":null,"raw":"","ts":5}` + "\n"; out != want {
		t.Errorf("default: consumed %q, want %q", out, want)
	}
	if again := subjectID(t, reg, "orders-value"); again != id {
		t.Errorf("the same schema file registered again: id %d, was %d", again, id)
	}

	// Key and value together; --value-schema-id with the existing id.
	mustRun(t, "\"k1\"|"+lines[0]+"\n\"k2\"|"+lines[1]+"\n",
		append([]string{"produce"}, avro("keyed", "-K", "|", "--key-format", "avro", "--key-schema", dir+"/key.avsc",
			"--value-format", "avro", "--value-schema-id", strconv.Itoa(id))...)...)
	keyID := subjectID(t, reg, "keyed-key")
	recs = rawRecords(t, addr, "keyed", 2)
	for i, r := range recs {
		checkHeader(t, "key "+strconv.Itoa(i), r.Key, keyID)
		checkHeader(t, "value "+strconv.Itoa(i), r.Value, id)
	}
	out = mustRun(t, "", append([]string{"consume"}, avro("keyed", "--from-beginning", "-c", "2", "--print-key", "--key-separator", "|",
		"--key-format", "avro", "--value-format", "avro")...)...)
	if want := "\"k1\"|" + lines[0] + "\n\"k2\"|" + lines[1] + "\n"; out != want {
		t.Errorf("keyed: consumed\n%s\nwant\n%s", out, want)
	}
	// --format json embeds the decoded key and value.
	out = mustRun(t, "", append([]string{"consume"}, avro("keyed", "--from-beginning", "-c", "1", "-o", "json",
		"--key-format", "avro", "--value-format", "avro")...)...)
	var jr struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(out), &jr); err != nil || jr.Key != "k1" || string(jr.Value) != lines[0] {
		t.Errorf("json output %s: %v", out, err)
	}
	// The key decoded, the value left as it is: string format.
	out = mustRun(t, "", append([]string{"consume"}, avro("keyed", "--from-beginning", "-c", "1", "-o", "json", "--key-format", "avro")...)...)
	if !strings.Contains(out, `"key":"k1"`) || !strings.Contains(out, `"value_encoding":"base64"`) {
		t.Errorf("key only: %s", out)
	}

	// A line that does not match: exit 1, a one-line message naming the
	// line and the problem; the lines before it are sent, nothing after.
	for _, tc := range []struct{ line, msg string }{
		{`{"id":"x"}`, `line 2: value: at .id: want an long, got a string`},
		{`{"id":1,"item":"a","price":1,"note":"plain","tags":[],"status":"NEW","extra":null,"raw":"","ts":0}`,
			`line 2: value: at .note: a union value is null or an object with one member naming its type (one of null, string), got a string`},
		{`{"id":1,"item":"a","price":1,"tags":[],"status":"LOST","extra":null,"raw":"","ts":0}`,
			`line 2: value: at .status: "LOST" is not a symbol of enum shop.Status (NEW, PAID)`},
		{`{"id":1}`, `line 2: value: missing field "item" (it has no default)`},
		{`{"id":1,"item":"a","price":1,"tags":[],"status":"NEW","extra":null,"raw":"","ts":0,"more":1}`,
			`line 2: value: unknown field "more" (record shop.Order has no such field)`},
		{`not json`, `line 2: value: not JSON: invalid character 'o' in literal null (expecting 'u')`},
	} {
		_, stderr, err := runCLI(t, lines[0]+"\n"+tc.line+"\n"+lines[1]+"\n",
			append([]string{"produce"}, avro("bad", "--value-format", "avro", "--value-schema-id", strconv.Itoa(id))...)...)
		if exitCode(err) != 1 || err.Error() != tc.msg {
			t.Errorf("%s: err %v, want %q", tc.line, err, tc.msg)
		}
		if !strings.Contains(stderr, "produced 1 record ") {
			t.Errorf("%s: stderr %q, want 1 record produced", tc.line, stderr)
		}
	}
	out = mustRun(t, "", append([]string{"consume"}, avro("bad", "--from-beginning", "--idle-exit", "1s", "--value-format", "avro")...)...)
	if want := strings.Repeat(lines[0]+"\n", 6); out != want {
		t.Errorf("bad: consumed\n%s\nwant\n%s", out, want)
	}

	// Flag errors.
	for _, args := range [][]string{
		{"--value-format", "xml", "--value-schema-id", "1"},
		{"--value-format", "avro"},
		{"--value-schema-id", "1"},
		{"--value-format", "avro", "--value-schema-id", "1", "--value-schema", "x.avsc"},
		{"--key-format", "avro", "--key-schema-id", "1"}, // no --key-separator
	} {
		_, _, err := runCLI(t, "{}\n", append([]string{"produce"}, avro("bad", args...)...)...)
		if exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	_, _, err := runCLI(t, "{}\n", append([]string{"produce"}, avro("bad", "--value-format", "avro", "--value-schema-id", "999")...)...)
	if err == nil || !strings.Contains(err.Error(), "--value-schema-id 999: ") {
		t.Errorf("unknown id: %v", err)
	}
}

// Consume fails, as kafka-avro-console-consumer does, at a record that is
// not in the wire format or names an unknown schema.
func TestSerdeConsumeBadRecords(t *testing.T) {
	addr, reg := startTestBrokerRegistry(t)
	dir := writeFiles(t, map[string]string{"v.avsc": `"int"`})
	mustRun(t, "", "topic", "create", "mixed", "-b", addr)
	mustRun(t, "7\n", "produce", "mixed", "-b", addr, "--registry", reg, "--value-format", "avro", "--value-schema", dir+"/v.avsc")
	mustRun(t, "plain text\n", "produce", "mixed", "-b", addr)
	mustRun(t, "\x00\x00\x00\x03\x39\x02\n", "produce", "mixed", "-b", addr) // id 0x339
	for _, tc := range []struct {
		offset, out, msg string
	}{
		{"0", "7\n", "partition 0 offset 1: value: not in the schema registry wire format (first byte 0x70, not the magic byte 0)"},
		{"2", "", "partition 0 offset 2: value: schema id 825: Schema 825 not found (40403)"},
	} {
		out, _, err := runCLI(t, "", "consume", "mixed", "-b", addr, "--registry", reg, "--offset", tc.offset, "--idle-exit", "1s", "--value-format", "avro")
		if out != tc.out || exitCode(err) != 1 || err.Error() != tc.msg {
			t.Errorf("offset %s: out %q, err %v; want %q, %q", tc.offset, out, err, tc.out, tc.msg)
		}
	}
}

func TestSerdeJSONSchema(t *testing.T) {
	addr, reg := startTestBrokerRegistry(t)
	dir := writeFiles(t, map[string]string{
		"order.json": `{"type":"object","properties":{
			"id":{"type":"integer"},
			"item":{"type":"string","minLength":1},
			"tags":{"type":"array","items":{"type":"string"}}},
			"required":["id","item"],"additionalProperties":false}`,
		"key.json": `{"type":"string"}`,
	})
	for _, topic := range []string{"orders", "keyed", "bad"} {
		mustRun(t, "", "topic", "create", topic, "-b", addr)
	}
	lines := []string{
		`{"id":1,"item":"pen"}`,
		`{"id":2,"item":"ink <&>","tags":["a","b"]}`,
		`{"item":"x","id":1e3}`,
	}
	input := strings.Join(lines, "\n") + "\n"
	args := func(cmd, topic string, extra ...string) []string {
		return append([]string{cmd, "--registry", reg, "-b", addr, topic}, extra...)
	}
	// Spaces in the input are not kept: the payload is compact JSON.
	mustRun(t, "{ \"id\": 1, \"item\": \"pen\" }\n"+strings.Join(lines[1:], "\n")+"\n",
		args("produce", "orders", "--value-format", "json-schema", "--value-schema", dir+"/order.json")...)
	id := subjectID(t, reg, "orders-value")
	for i, r := range rawRecords(t, addr, "orders", 3) {
		checkHeader(t, "value "+strconv.Itoa(i), r.Value, id)
		if string(r.Value[5:]) != lines[i] {
			t.Errorf("payload %d: %q, want %q", i, r.Value[5:], lines[i])
		}
	}
	out := mustRun(t, "", args("consume", "orders", "--from-beginning", "-c", "3", "--value-format", "json-schema")...)
	if out != input {
		t.Errorf("consumed\n%s\nwant\n%s", out, input)
	}

	mustRun(t, "\"k1\"\t"+lines[0]+"\n", args("produce", "keyed", "-K", "\t", "--key-format", "json-schema", "--key-schema", dir+"/key.json",
		"--value-format", "json-schema", "--value-schema-id", strconv.Itoa(id))...)
	r := rawRecords(t, addr, "keyed", 1)[0]
	checkHeader(t, "key", r.Key, subjectID(t, reg, "keyed-key"))
	checkHeader(t, "value", r.Value, id)
	out = mustRun(t, "", args("consume", "keyed", "--from-beginning", "-c", "1", "--print-key",
		"--key-format", "json-schema", "--value-format", "json-schema")...)
	if want := "\"k1\"\t" + lines[0] + "\n"; out != want {
		t.Errorf("keyed: consumed %q, want %q", out, want)
	}

	for _, tc := range []struct{ line, msg string }{
		{`{"id":"x","item":"a"}`, `line 2: value: does not match the schema: at '/id': got string, want integer`},
		{`{"id":1}`, `line 2: value: does not match the schema: at '': missing property 'item'`},
		{`{"id":1,"item":"","more":true}`, `line 2: value: does not match the schema: at '': additional properties 'more' not allowed; at '/item': minLength: got 0, want 1`},
		{`{"id":1,"item":"a"} {}`, `line 2: value: not JSON: more than one value`},
	} {
		_, stderr, err := runCLI(t, lines[0]+"\n"+tc.line+"\n"+lines[1]+"\n",
			args("produce", "bad", "--value-format", "json-schema", "--value-schema-id", strconv.Itoa(id))...)
		if exitCode(err) != 1 || err.Error() != tc.msg {
			t.Errorf("%s: err %v, want %q", tc.line, err, tc.msg)
		}
		if !strings.Contains(stderr, "produced 1 record ") {
			t.Errorf("%s: stderr %q, want 1 record produced", tc.line, stderr)
		}
	}
	// An Avro id for --value-format json-schema is refused.
	avsc := writeFiles(t, map[string]string{"v.avsc": `"int"`})
	mustRun(t, "1\n", args("produce", "bad", "--value-format", "avro", "--value-schema", avsc+"/v.avsc")...)
	avroID := subjectID(t, reg, "bad-value")
	_, _, err := runCLI(t, "{}\n", args("produce", "bad", "--value-format", "json-schema", "--value-schema-id", strconv.Itoa(avroID))...)
	if want := "--value-schema-id " + strconv.Itoa(avroID) + " is a schema of type AVRO, not json-schema"; err == nil || err.Error() != want {
		t.Errorf("avro id as json-schema: %v, want %q", err, want)
	}
}

func TestSerdeProtobuf(t *testing.T) {
	addr, reg := startTestBrokerRegistry(t)
	dir := writeFiles(t, map[string]string{
		"order.proto": `syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Order {
  int64 id = 1;
  string item_name = 2;
  repeated string tags = 3;
  Status status = 4;
  Line line = 5;
  google.protobuf.Timestamp at = 6;
  message Line { int32 qty = 1; }
}
enum Status { NEW = 0; PAID = 1; }
message Ref { string name = 1; }
`,
	})
	for _, topic := range []string{"orders", "bad"} {
		mustRun(t, "", "topic", "create", topic, "-b", addr)
	}
	// Lines as protojson prints them: int64 as strings, lowerCamelCase
	// names, default values left out.
	lines := []string{
		`{"id":"1","itemName":"pen"}`,
		`{"id":"2","itemName":"ink <&>","tags":["a","b"],"status":"PAID","line":{"qty":3},"at":"2024-05-01T12:00:00Z"}`,
		`{}`,
	}
	input := strings.Join(lines, "\n") + "\n"
	args := func(cmd, topic string, extra ...string) []string {
		return append([]string{cmd, "--registry", reg, "-b", addr, topic}, extra...)
	}
	// The proto names and numbers as strings are read too.
	mustRun(t, `{"id":1,"item_name":"pen"}`+"\n"+strings.Join(lines[1:], "\n")+"\n",
		args("produce", "orders", "-K", "|", "--key-format", "protobuf", "--key-schema", dir+"/order.proto",
			"--value-format", "protobuf", "--value-schema", dir+"/order.proto")...)
	id := subjectID(t, reg, "orders-value")
	for i, r := range rawRecords(t, addr, "orders", 3) {
		checkHeader(t, "value "+strconv.Itoa(i), r.Value, id)
		if len(r.Value) < 6 || r.Value[5] != 0 {
			t.Errorf("value %d %x: want message index 0 as a single 0 byte", i, r.Value)
		}
		if r.Key != nil { // no separator in the line: a null key, not encoded
			t.Errorf("key %d: %x, want null", i, r.Key)
		}
	}
	// A record of the third message (index [1] is Ref: enums do not count),
	// written by hand: the indexes are followed.
	ref, _ := new(sr.ConfluentHeader).AppendEncode(nil, id, []int{1})
	ref = append(ref, 0x0a, 2, 'a', 'b') // field 1, "ab"
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: ref}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	out := mustRun(t, "", args("consume", "orders", "--from-beginning", "-c", "4", "--value-format", "protobuf")...)
	if want := input + `{"name":"ab"}` + "\n"; out != want {
		t.Errorf("consumed\n%s\nwant\n%s", out, want)
	}
	mustRun(t, "\"x\"|"+lines[1]+"\n", args("produce", "bad", "-K", "|", "--key-format", "json-schema",
		"--key-schema", writeFiles(t, map[string]string{"k.json": `{"type":"string"}`})+"/k.json",
		"--value-format", "protobuf", "--value-schema-id", strconv.Itoa(id))...)
	out = mustRun(t, "", args("consume", "bad", "--from-beginning", "-c", "1", "--print-key", "--key-separator", "|",
		"--key-format", "json-schema", "--value-format", "protobuf")...)
	if want := "\"x\"|" + lines[1] + "\n"; out != want {
		t.Errorf("keyed: consumed %q, want %q", out, want)
	}

	// A schema registered as a base64 FileDescriptorProto without json
	// names, as confluent-kafka-python registers it, works the same.
	text, err := os.ReadFile(dir + "/order.proto")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := newProtobufCodec(string(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	fdp := protodesc.ToFileDescriptorProto(pc.file)
	for _, m := range append(fdp.MessageType, fdp.MessageType[0].NestedType...) {
		for _, f := range m.Field {
			f.JsonName = nil
		}
	}
	raw, err := proto.Marshal(fdp)
	if err != nil {
		t.Fatal(err)
	}
	src, err := sr.NewClient(sr.URLs(reg))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := src.CreateSchema(context.Background(), "desc-value",
		sr.Schema{Schema: base64.StdEncoding.EncodeToString(raw), Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "topic", "create", "desc", "-b", addr)
	mustRun(t, lines[1]+"\n", args("produce", "desc", "--value-format", "protobuf", "--value-schema-id", strconv.Itoa(ss.ID))...)
	out = mustRun(t, "", args("consume", "desc", "--from-beginning", "-c", "1", "--value-format", "protobuf")...)
	if out != lines[1]+"\n" {
		t.Errorf("descriptor schema: consumed %q, want %q", out, lines[1]+"\n")
	}

	for _, tc := range []struct{ line, msg string }{
		{`{"id":"x"}`, `line 2: value: does not match message shop.Order: (line 1:7): invalid value for int64 field id: "x"`},
		{`{"nope":1}`, `line 2: value: does not match message shop.Order: (line 1:2): unknown field "nope"`},
		{`[]`, `line 2: value: does not match message shop.Order: syntax error (line 1:1): unexpected token [`},
	} {
		_, stderr, err := runCLI(t, lines[0]+"\n"+tc.line+"\n"+lines[1]+"\n",
			args("produce", "bad", "--value-format", "protobuf", "--value-schema-id", strconv.Itoa(id))...)
		if exitCode(err) != 1 || err.Error() != tc.msg {
			t.Errorf("%s: err %v, want %q", tc.line, err, tc.msg)
		}
		if !strings.Contains(stderr, "produced 1 record ") {
			t.Errorf("%s: stderr %q, want 1 record produced", tc.line, stderr)
		}
	}
}

// Avro's JSON encoding round-trips through hamba/avro for logical types,
// fixed, bytes, non-finite numbers and unions of every shape (hamba/avro
// decodes some unions to bare values, others to {name: value}).
func TestAvroJSONRoundTrip(t *testing.T) {
	c, err := newAvroCodec(`{"type":"record","name":"R","namespace":"n","fields":[
	{"name":"d","type":{"type":"int","logicalType":"date"}},
	{"name":"tm","type":{"type":"int","logicalType":"time-millis"}},
	{"name":"tu","type":{"type":"long","logicalType":"time-micros"}},
	{"name":"ts","type":{"type":"long","logicalType":"timestamp-micros"}},
	{"name":"lts","type":{"type":"long","logicalType":"local-timestamp-millis"}},
	{"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
	{"name":"fdec","type":{"type":"fixed","name":"FD","size":4,"logicalType":"decimal","precision":9,"scale":2}},
	{"name":"fx","type":{"type":"fixed","name":"F","size":2}},
	{"name":"u","type":{"type":"string","logicalType":"uuid"}},
	{"name":"un","type":["null",{"type":"long","logicalType":"timestamp-millis"},"string"]},
	{"name":"il","type":["int","long"]},
	{"name":"rec","type":["null",{"type":"record","name":"S","fields":[{"name":"x","type":["null","S"]}]}]},
	{"name":"en","type":["null",{"type":"enum","name":"E","symbols":["A","B"]}],"default":null},
	{"name":"arr","type":["null",{"type":"array","items":"int"}]},
	{"name":"f","type":"float"},
	{"name":"nan","type":"double"}
	]}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		`{"d":-1,"tm":1234,"tu":5,"ts":-1,"lts":77,"dec":"\u0001\u0000","fdec":"ÿÿÿ\u0000","fx":"ab","u":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","un":{"long":5},"il":{"int":1},"rec":{"n.S":{"x":{"n.S":{"x":null}}}},"en":{"n.E":"B"},"arr":{"array":[1,2]},"f":1.5,"nan":"NaN"}`,
		`{"d":19000,"tm":0,"tu":0,"ts":1700000000000001,"lts":0,"dec":"ÿ","fdec":"\u0000\u0000\u0000\u0001","fx":"\u0000\u0001","u":"x","un":{"string":"x"},"il":{"long":-5},"rec":null,"en":null,"arr":null,"f":0.1,"nan":"-Infinity"}`,
		`{"d":0,"tm":0,"tu":0,"ts":0,"lts":0,"dec":"\u0000","fdec":"\u0000\u0000\u0000\u0000","fx":"  ","u":"","un":null,"il":{"int":0},"rec":null,"en":null,"arr":{"array":[]},"f":-2,"nan":"Infinity"}`,
	} {
		b, err := c.encode([]byte(in))
		if err != nil {
			t.Errorf("encode %s: %v", in, err)
			continue
		}
		out, err := c.decode(b)
		if err != nil || string(out) != in {
			t.Errorf("round trip:\n got %s (%v)\nwant %s", out, err, in)
		}
	}
}
