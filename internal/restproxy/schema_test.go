package restproxy

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/schemaregistry"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// startWithRegistry is start with a real schema registry on the same
// broker, served over HTTP on a loopback port, and the proxy using it.
func startWithRegistry(t *testing.T) (*env, string) {
	t.Helper()
	// No initial rebalance delay: each consumer instance is its group's only member.
	b := kafkatest.Start(t, "num.partitions=1", "group.initial.rebalance.delay.ms=0")
	reg, err := schemaregistry.New(schemaregistry.Config{Seeds: []string{b.Addr}, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: reg.Handler()}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String()
	p, err := New(Config{BootstrapServers: []string{b.Addr}, RequestTimeout: 10 * time.Second, SchemaRegistryURL: url},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	psrv := &http.Server{Handler: p.Handler()}
	go psrv.Serve(pln)
	t.Cleanup(func() {
		psrv.Close()
		p.Close()
		srv.Close()
		reg.Close()
	})
	return &env{b: b, p: p, url: "http://" + pln.Addr().String()}, url
}

const (
	ctAvro       = "application/vnd.kafka.avro.v2+json"
	ctJSONSchema = "application/vnd.kafka.jsonschema.v2+json"
	ctProtobuf   = "application/vnd.kafka.protobuf.v2+json"
)

// rawValues reads n records of topic from the start with franz-go.
func rawValues(t *testing.T, e *env, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := e.b.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var out []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", len(out), n, topic)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func TestSchemaAvro(t *testing.T) {
	e, regURL := startWithRegistry(t)
	e.createTopic(t, "orders", 1)
	schema := `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"note","type":["null","string"],"default":null},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"raw","type":"bytes"}]}`
	v1 := `{"id":1,"note":{"string":"first"},"tags":["a","b"],"raw":"\u0000\u00ff"}`
	v2 := `{"id":2,"note":null,"tags":[],"raw":""}`
	body, _ := jsonString(schema)
	b := e.want(t, "POST", "/topics/orders", ctAvro,
		fmt.Sprintf(`{"value_schema":%s,"records":[{"value":%s}]}`, body, v1), 200, "*")
	var id int
	if _, err := fmt.Sscanf(b, `{"key_schema_id":null,"value_schema_id":%d,"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null}]}`, &id); err != nil {
		t.Fatalf("produce answer %s: %v", b, err)
	}
	e.want(t, "POST", "/topics/orders", ctAvro,
		fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":%s}]}`, id, v2), 200,
		fmt.Sprintf(`{"key_schema_id":null,"value_schema_id":%d,"offsets":[{"partition":0,"offset":1,"error_code":null,"error":null}]}`, id))

	// The id is the one franz-go's sr client sees under orders-value.
	cl, err := sr.NewClient(sr.URLs(regURL))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := cl.SchemaByVersion(context.Background(), "orders-value", -1)
	if err != nil || ss.ID != id {
		t.Fatalf("orders-value latest: %+v %v, want id %d", ss, err, id)
	}
	// The records are in wire format: magic 0, the id, Avro binary.
	for _, r := range rawValues(t, e, "orders", 2) {
		if len(r.Value) < 5 || r.Value[0] != 0 || int(binary.BigEndian.Uint32(r.Value[1:5])) != id {
			t.Fatalf("record %d: % x is not in wire format with id %d", r.Offset, r.Value, id)
		}
		if r.Key != nil {
			t.Fatalf("record %d: key % x, want null", r.Offset, r.Key)
		}
	}
	// id=1 long → zigzag 2; note branch 1 → 2, "first".
	if r := rawValues(t, e, "orders", 1)[0]; string(r.Value[5:8]) != "\x02\x02\x0a" {
		t.Fatalf("Avro payload % x", r.Value[5:])
	}

	// A value that does not match: 422 with a code, nothing produced.
	for _, bad := range []string{`{"id":"x","tags":[],"raw":""}`, `{"id":3,"note":"bare","tags":[],"raw":""}`, `{"tags":[],"raw":""}`} {
		e.wantErr(t, "POST", "/topics/orders", ctAvro, fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":%s}]}`, id, bad), 400, 400)
	}
	e.wantErr(t, "POST", "/topics/orders", ctAvro, `{"records":[{"value":{"id":1}}]}`, 422, codeValueSchemaMissing)
	e.wantErr(t, "POST", "/topics/orders", ctAvro, fmt.Sprintf(`{"value_schema_id":%d,"records":[{"key":"k","value":%s}]}`, id, v2), 422, codeKeySchemaMissing)
	e.wantErr(t, "POST", "/topics/orders", ctAvro, `{"value_schema":"{\"type\":\"nope\"}","records":[{"value":1}]}`, 422, codeInvalidSchema)
	e.wantErr(t, "POST", "/topics/orders", ctAvro, `{"value_schema_id":9999,"records":[{"value":1}]}`, 422, codeSerialization)
	e.want(t, "GET", "/topics/orders/partitions/0/offsets", "", "", 200, `{"beginning_offset":0,"end_offset":2}`)

	// A consumer instance in avro format returns the same JSON.
	e.want(t, "POST", "/consumers/ga", ctV2, `{"name":"c","format":"avro","auto.offset.reset":"earliest"}`, 200, "*")
	inst := "/consumers/ga/instances/c"
	e.want(t, "POST", inst+"/subscription", ctV2, `{"topics":["orders"]}`, 204, "")
	got := e.pollRecords(t, inst, ctAvro, 2)
	want := fmt.Sprintf(`{"topic":"orders","key":null,"value":%s,"partition":0,"offset":0},{"topic":"orders","key":null,"value":%s,"partition":0,"offset":1}`, v1, v2)
	if !sameJSON(t, "["+got+"]", "["+want+"]") {
		t.Fatalf("records:\n got %s\nwant %s", got, want)
	}
	e.wantErr(t, "GET", inst+"/records", "", "", 406, 40601, "Accept", ctBinary)
}

// sameJSON compares two JSON documents as values (object keys unordered).
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("not JSON: %s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("not JSON: %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func jsonString(s string) (string, error) {
	return fmt.Sprintf("%q", s), nil
}

func TestSchemaJSONSchemaAndProtobuf(t *testing.T) {
	e, _ := startWithRegistry(t)
	e.createTopic(t, "js", 1)
	e.createTopic(t, "pb", 1)

	js, _ := jsonString(`{"type":"object","properties":{"n":{"type":"integer"},"s":{"type":"string"}},"required":["n"]}`)
	b := e.want(t, "POST", "/topics/js", ctJSONSchema,
		fmt.Sprintf(`{"key_schema":"{\"type\":\"string\"}","value_schema":%s,"records":[{"key":"k1","value":{"n":1,"s":"x"}}]}`, js), 200, "*")
	if !strings.Contains(b, `"key_schema_id":`) || strings.Contains(b, `"key_schema_id":null`) || strings.Contains(b, `"value_schema_id":null`) {
		t.Fatalf("jsonschema produce: %s", b)
	}
	e.wantErr(t, "POST", "/topics/js", ctJSONSchema, fmt.Sprintf(`{"value_schema":%s,"records":[{"value":{"s":"x"}}]}`, js), 400, 400)

	proto, _ := jsonString("syntax = \"proto3\";\nmessage Point { int32 x = 1; string label = 2; repeated int64 ids = 3; }\n")
	e.want(t, "POST", "/topics/pb", ctProtobuf,
		fmt.Sprintf(`{"value_schema":%s,"records":[{"value":{"x":7,"label":"p","ids":["1","2"]}}]}`, proto), 200, "*")
	e.wantErr(t, "POST", "/topics/pb", ctProtobuf, fmt.Sprintf(`{"value_schema":%s,"records":[{"value":{"nope":1}}]}`, proto), 400, 400)
	r := rawValues(t, e, "pb", 1)[0]
	if r.Value[0] != 0 || r.Value[5] != 0 {
		t.Fatalf("protobuf record % x: want magic 0 and message index byte 0", r.Value)
	}

	for _, c := range []struct{ topic, format, ct, want string }{
		{"js", "jsonschema", ctJSONSchema, `{"topic":"js","key":"k1","value":{"n":1,"s":"x"},"partition":0,"offset":0}`},
		{"pb", "protobuf", ctProtobuf, `{"topic":"pb","key":null,"value":{"x":7,"label":"p","ids":["1","2"]},"partition":0,"offset":0}`},
	} {
		e.want(t, "POST", "/consumers/g"+c.topic, ctV2, fmt.Sprintf(`{"name":"c","format":%q,"auto.offset.reset":"earliest"}`, c.format), 200, "*")
		inst := "/consumers/g" + c.topic + "/instances/c"
		e.want(t, "POST", inst+"/subscription", ctV2, fmt.Sprintf(`{"topics":[%q]}`, c.topic), 204, "")
		if got := e.pollRecords(t, inst, c.ct, 1); !sameJSON(t, got, c.want) {
			t.Fatalf("%s records:\n got %s\nwant %s", c.format, got, c.want)
		}
	}
}

func TestSchemaRegistryUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	e := start(t, func(c *Config) { c.SchemaRegistryURL = dead })
	e.createTopic(t, "t", 1)
	e.wantErr(t, "POST", "/topics/t", ctAvro, `{"value_schema":"\"string\"","records":[{"value":"x"}]}`, 422, codeSerialization)
}

func TestSchemaV3Records(t *testing.T) {
	e, _ := startWithRegistry(t)
	e.createTopic(t, "v3s", 1)
	c := "/v3/clusters/" + e.b.ClusterID()
	schema, _ := jsonString(`{"type":"record","name":"R","fields":[{"name":"n","type":"int"}]}`)
	b := e.want(t, "POST", c+"/topics/v3s/records", ctJSON,
		fmt.Sprintf(`{"key":{"type":"STRING","data":"k"},"value":{"type":"AVRO","schema":%s,"data":{"n":5}}}`, schema), 200, "*")
	var res struct {
		Value struct {
			Type     string `json:"type"`
			SchemaID int    `json:"schema_id"`
		} `json:"value"`
	}
	if err := json.Unmarshal([]byte(b), &res); err != nil || res.Value.Type != "AVRO" || res.Value.SchemaID == 0 {
		t.Fatalf("v3 AVRO produce: %s", b)
	}
	e.want(t, "POST", c+"/topics/v3s/records", ctJSON,
		fmt.Sprintf(`{"value":{"type":"AVRO","schema_id":%d,"data":{"n":6}}}`, res.Value.SchemaID), 200, "*")
	e.wantErr(t, "POST", c+"/topics/v3s/records", ctJSON,
		fmt.Sprintf(`{"value":{"type":"AVRO","schema_id":%d,"data":{"n":"x"}}}`, res.Value.SchemaID), 400, 400)
	e.wantErr(t, "POST", c+"/topics/v3s/records", ctJSON, `{"value":{"type":"AVRO","data":{"n":1}}}`, 400, 400)
	recs := rawValues(t, e, "v3s", 2)
	for i, r := range recs {
		if r.Value[0] != 0 || int(binary.BigEndian.Uint32(r.Value[1:5])) != res.Value.SchemaID || r.Value[5] != byte(2*(5+i)) {
			t.Fatalf("record %d: % x", i, r.Value)
		}
	}
}

// Avro's JSON encoding both ways for every kind of schema, through
// hamba/avro's binary encoding.
func TestAvroJSONRoundTrip(t *testing.T) {
	text := `{"type":"record","name":"All","namespace":"ns","fields":[
		{"name":"b","type":"boolean"},{"name":"i","type":"int"},{"name":"l","type":"long"},
		{"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"s","type":"string"},
		{"name":"by","type":"bytes"},{"name":"fx","type":{"type":"fixed","name":"F","size":2}},
		{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
		{"name":"a","type":{"type":"array","items":"int"}},{"name":"m","type":{"type":"map","values":"string"}},
		{"name":"u","type":["null","int","string","ns.E"]},{"name":"u2","type":["null","F"]},
		{"name":"nested","type":["null",{"type":"record","name":"N","fields":[{"name":"x","type":"long"}]}]},
		{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
		{"name":"dflt","type":"string","default":"dv"}]}`
	c, err := parseSchema(sr.TypeAvro, text, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := `{"b":true,"i":-3,"l":9007199254740993,"f":1.5,"d":2.25,"s":"x","by":"\u0001\u00ff","fx":"ab","e":"B","a":[1,2],"m":{"k":"v"},` +
		`"u":{"ns.E":"A"},"u2":{"ns.F":"zz"},"nested":{"ns.N":{"x":7}},"ts":1700000000123}`
	b, err := c.encode(json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.decode(b[5:])
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(in, "}") + `,"dflt":"dv"}`
	if !sameJSON(t, string(out), want) {
		t.Fatalf("round trip:\n got %s\nwant %s", out, want)
	}
	for _, bad := range []string{
		`{"b":1}`, // wrong type
		strings.Replace(in, `"i":-3`, `"i":3000000000`, 1),  // out of int range
		strings.Replace(in, `"e":"B"`, `"e":"C"`, 1),        // not a symbol
		strings.Replace(in, `"u":{"ns.E":"A"}`, `"u":5`, 1), // union value not wrapped
		strings.Replace(in, `"fx":"ab"`, `"fx":"abc"`, 1),   // fixed size
		strings.Replace(in, `"s":"x"`, `"s":"x","extra":1`, 1),
	} {
		if _, err := c.encode(json.RawMessage(bad)); err == nil {
			t.Errorf("encoded %s", bad)
		}
	}
}

// A protobuf record written by another client for a nested message
// (message indexes [1, 0]) decodes by its indexes.
func TestSchemaProtobufMessageIndexes(t *testing.T) {
	e, regURL := startWithRegistry(t)
	e.createTopic(t, "pbi", 1)
	cl, err := sr.NewClient(sr.URLs(regURL))
	if err != nil {
		t.Fatal(err)
	}
	text := "syntax = \"proto3\";\nmessage A { string a = 1; }\nmessage B { message Inner { int64 n = 1; string s = 2; } Inner i = 1; }\n"
	ss, err := cl.CreateSchema(context.Background(), "pbi-value", sr.Schema{Schema: text, Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	// Inner{n: 5, s: "hi"}: field 1 varint 5, field 2 bytes "hi".
	val := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(val[1:], uint32(ss.ID))
	val = binary.AppendVarint(val, 2) // two indexes
	val = binary.AppendVarint(val, 1)
	val = binary.AppendVarint(val, 0)
	val = append(val, 0x08, 5, 0x12, 2, 'h', 'i')
	if err := e.b.Client(t).ProduceSync(context.Background(), &kgo.Record{Topic: "pbi", Value: val}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	e.want(t, "POST", "/consumers/gpbi", ctV2, `{"name":"c","format":"protobuf","auto.offset.reset":"earliest"}`, 200, "*")
	inst := "/consumers/gpbi/instances/c"
	e.want(t, "POST", inst+"/subscription", ctV2, `{"topics":["pbi"]}`, 204, "")
	if got, want := e.pollRecords(t, inst, ctProtobuf, 1), `{"topic":"pbi","key":null,"value":{"n":"5","s":"hi"},"partition":0,"offset":0}`; !sameJSON(t, got, want) {
		t.Fatalf("records:\n got %s\nwant %s", got, want)
	}
}
