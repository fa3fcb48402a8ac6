package restproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// v3Report is a v3 delivery report with its schema descriptions.
type v3Report struct {
	ErrorCode int    `json:"error_code"`
	Offset    int64  `json:"offset"`
	Partition int32  `json:"partition_id"`
	Key       *v3Out `json:"key"`
	Value     *v3Out `json:"value"`
}

type v3Out struct {
	Type          string  `json:"type"`
	Subject       *string `json:"subject"`
	SchemaID      *int    `json:"schema_id"`
	SchemaVersion *int    `json:"schema_version"`
	Size          int     `json:"size"`
}

func (o *v3Out) String() string {
	if o == nil {
		return "<none>"
	}
	s := fmt.Sprintf("%s size %d", o.Type, o.Size)
	if o.Subject != nil && o.SchemaID != nil && o.SchemaVersion != nil {
		s += fmt.Sprintf(" %s id %d v%d", *o.Subject, *o.SchemaID, *o.SchemaVersion)
	}
	return s
}

// produceV3 posts one record and returns its delivery report.
func (e *env) produceV3(t *testing.T, topic, body string) v3Report {
	t.Helper()
	b := e.want(t, "POST", "/v3/clusters/"+e.b.ClusterID()+"/topics/"+topic+"/records", ctJSON, body, 200, "*")
	var r v3Report
	if err := json.Unmarshal([]byte(b), &r); err != nil || r.ErrorCode != 200 {
		t.Fatalf("v3 produce %s: %s (%v)", body, b, err)
	}
	return r
}

// v3 records of type JSONSCHEMA and PROTOBUF: by schema (TopicNameStrategy,
// RECORD_NAME, TOPIC_RECORD_NAME), by schema_id and schema_version without
// a type, and by the subject's latest schema; the delivery reports name
// subject, id and version; the records hold the exact wire-format bytes
// and consumer instances decode them back.
func TestSchemaV3JSONSchemaAndProtobuf(t *testing.T) {
	e, _ := startWithRegistry(t)
	e.createTopic(t, "v3j", 1)
	e.createTopic(t, "v3p", 1)
	const ts = `"timestamp":"2024-01-02T03:04:05.006Z"`

	js, _ := jsonString(`{"type":"object","properties":{"n":{"type":"integer"},"s":{"type":"string"}},"required":["n"]}`)
	b := e.want(t, "POST", "/v3/clusters/"+e.b.ClusterID()+"/topics/v3j/records", ctJSON,
		fmt.Sprintf(`{"key":{"type":"JSONSCHEMA","schema":"{\"type\":\"string\"}","data":"k1"},"value":{"type":"JSONSCHEMA","schema":%s,"data":{"s":"x","n":1}},%s}`, js, ts), 200, "*")
	// The registry's first two ids: the key's, then the value's.
	if want := fmt.Sprintf(`{"error_code":200,"cluster_id":"%s","topic_name":"v3j","partition_id":0,"offset":0,"timestamp":"2024-01-02T03:04:05.006Z",`+
		`"key":{"type":"JSONSCHEMA","subject":"v3j-key","schema_id":1,"schema_version":1,"size":9},`+
		`"value":{"type":"JSONSCHEMA","subject":"v3j-value","schema_id":2,"schema_version":1,"size":20}}`, e.b.ClusterID()); b != want {
		t.Fatalf("JSONSCHEMA produce:\n got %s\nwant %s", b, want)
	}
	for i, c := range []struct{ body, want string }{
		{`{"value":{"schema_id":2,"data":{"n":-7}}}`, "JSONSCHEMA size 13 v3j-value id 2 v1"},
		{`{"value":{"schema_version":1,"data":{"n":3,"s":""}}}`, "JSONSCHEMA size 19 v3j-value id 2 v1"},
		{`{"value":{"subject":"v3j-value","data":{"n":4}}}`, "JSONSCHEMA size 12 v3j-value id 2 v1"},
		// No type, no schema: the latest schema of v3j-value, as in the reference.
		{`{"value":{"data":{"n":5}}}`, "JSONSCHEMA size 12 v3j-value id 2 v1"},
	} {
		if r := e.produceV3(t, "v3j", c.body); r.Offset != int64(i+1) || r.Value.String() != c.want || r.Key != nil {
			t.Fatalf("%s: offset %d value %s key %s; want offset %d value %s", c.body, r.Offset, r.Value, r.Key, i+1, c.want)
		}
	}
	wantJS := []struct{ key, value string }{
		{`"k1"`, `{"s":"x","n":1}`}, {"", `{"n":-7}`}, {"", `{"n":3,"s":""}`}, {"", `{"n":4}`}, {"", `{"n":5}`},
	}
	for i, r := range rawValues(t, e, "v3j", len(wantJS)) {
		w := wantJS[i]
		var wantKey []byte
		if w.key != "" {
			wantKey = wire(1, []byte(w.key)...)
		}
		if !bytes.Equal(r.Key, wantKey) || !bytes.Equal(r.Value, wire(2, []byte(w.value)...)) {
			t.Fatalf("v3j@%d: key %q value %q; want %q %q", i, r.Key, r.Value, wantKey, wire(2, []byte(w.value)...))
		}
	}

	// PROTOBUF: the first message of the file, message indexes [0] (one
	// byte 0), whatever the subject.
	proto, _ := jsonString("syntax = \"proto3\";\npackage v3;\nmessage Point { sint32 x = 1; string label = 2; repeated int64 ids = 3; }\nmessage Unused { bool b = 1; }\n")
	point := `{"x":-3,"label":"p","ids":["1","300"]}`
	r := e.produceV3(t, "v3p", fmt.Sprintf(`{"value":{"type":"PROTOBUF","schema":%s,"data":%s}}`, proto, point))
	if r.Value == nil || r.Value.SchemaID == nil {
		t.Fatalf("PROTOBUF produce: %+v", r)
	}
	pid := *r.Value.SchemaID
	// x sint32 -3 → zigzag 5; label "p"; ids packed: 1, 300 (ac 02).
	pointBytes := wire(pid, 0, 0x08, 5, 0x12, 1, 'p', 0x1a, 3, 1, 0xac, 0x02)
	for i, c := range []struct{ body, want string }{
		{"", fmt.Sprintf("PROTOBUF size %d v3p-value id %d v1", len(pointBytes), pid)},
		{fmt.Sprintf(`{"value":{"schema_id":%d,"data":%s}}`, pid, point), fmt.Sprintf("PROTOBUF size %d v3p-value id %d v1", len(pointBytes), pid)},
		{fmt.Sprintf(`{"value":{"type":"PROTOBUF","subject_name_strategy":"RECORD_NAME","schema":%s,"data":%s}}`, proto, point),
			fmt.Sprintf("PROTOBUF size %d v3.Point id %d v1", len(pointBytes), pid)},
		{fmt.Sprintf(`{"value":{"type":"PROTOBUF","subject_name_strategy":"TOPIC_RECORD_NAME","schema":%s,"data":%s}}`, proto, point),
			fmt.Sprintf("PROTOBUF size %d v3p-v3.Point id %d v1", len(pointBytes), pid)},
	} {
		if c.body != "" {
			r = e.produceV3(t, "v3p", c.body)
		}
		if r.Offset != int64(i) || r.Value.String() != c.want {
			t.Fatalf("record %d: offset %d value %s, want %s", i, r.Offset, r.Value, c.want)
		}
	}
	for i, rec := range rawValues(t, e, "v3p", 4) {
		if !bytes.Equal(rec.Value, pointBytes) || rec.Key != nil {
			t.Fatalf("v3p@%d: key %q value % x, want % x", i, rec.Key, rec.Value, pointBytes)
		}
	}

	// Consumer instances decode both back.
	for _, c := range []struct {
		topic, format, ct, want string
		n                       int
	}{
		{"v3j", "jsonschema", ctJSONSchema, `{"topic":"v3j","key":"k1","value":{"s":"x","n":1},"partition":0,"offset":0},` +
			`{"topic":"v3j","key":null,"value":{"n":-7},"partition":0,"offset":1},{"topic":"v3j","key":null,"value":{"n":3,"s":""},"partition":0,"offset":2},` +
			`{"topic":"v3j","key":null,"value":{"n":4},"partition":0,"offset":3},{"topic":"v3j","key":null,"value":{"n":5},"partition":0,"offset":4}`, 5},
		{"v3p", "protobuf", ctProtobuf, strings.TrimSuffix(strings.Repeat(`{"topic":"v3p","key":null,"value":{"x":-3,"label":"p","ids":["1","300"]},"partition":0,"offset":N},`, 4), ","), 4},
	} {
		g := "/consumers/g3" + c.topic
		e.want(t, "POST", g, ctV2, fmt.Sprintf(`{"name":"c","format":%q,"auto.offset.reset":"earliest"}`, c.format), 200, "*")
		e.want(t, "POST", g+"/instances/c/subscription", ctV2, fmt.Sprintf(`{"topics":[%q]}`, c.topic), 204, "")
		got := e.pollRecords(t, g+"/instances/c", c.ct, c.n)
		for i := range c.n {
			c.want = strings.Replace(c.want, `"offset":N`, fmt.Sprintf(`"offset":%d`, i), 1)
		}
		if !sameJSON(t, "["+got+"]", "["+c.want+"]") {
			t.Fatalf("%s records:\n got %s\nwant %s", c.topic, got, c.want)
		}
	}
}

// The schema errors of produce, each with the reference's status and
// error_code (v2) or status as error_code and the v2 code named in the
// message (v3), and nothing produced; and a record whose schema cannot be
// fetched answering a consumer instance 408 40801.
func TestSchemaErrorCodes(t *testing.T) {
	e, regURL := startWithRegistry(t)
	cl, err := sr.NewClient(sr.URLs(regURL))
	if err != nil {
		t.Fatal(err)
	}
	e.createTopic(t, "ec", 1)
	e.createTopic(t, "ec2", 1)
	id, _ := registerRef(t, cl, "ec-value", sr.TypeAvro, `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`)
	other, _ := registerRef(t, cl, "elsewhere", sr.TypeAvro, `{"type":"record","name":"S","fields":[{"name":"b","type":"string"}]}`)
	pb, _ := registerRef(t, cl, "ec-key", sr.TypeProtobuf, "syntax = \"proto3\";\nmessage K { string k = 1; }\n")
	incompatible, _ := jsonString(`{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`)

	for _, c := range []struct {
		body         string
		status, code int
	}{
		{fmt.Sprintf(`{"value_schema_id":%d,"records":[{"key":1,"value":{"a":1}}]}`, id), 422, 42201},
		{`{"records":[{"value":{"a":1}}]}`, 422, 42202},
		{`{"value_schema":"{\"type\":\"record\"}","records":[{"value":{"a":1}}]}`, 422, 42205},
		{fmt.Sprintf(`{"key_schema_id":%d,"value_schema_id":%d,"records":[{"value":{"a":1}}]}`, pb, id), 422, 42205}, // a PROTOBUF id for avro
		{`{"value_schema_id":9999,"records":[{"value":{"a":1}}]}`, 422, 42207},                                       // unknown id
		{fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":{"b":"x"}}]}`, other), 422, 42207},                   // not under ec-value
		{fmt.Sprintf(`{"value_schema":%s,"records":[{"value":{"a":"x"}}]}`, incompatible), 422, 42207},               // the registry's 409
		{fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":{"a":"x"}}]}`, id), 400, 400},                        // data not matching
	} {
		e.wantErr(t, "POST", "/topics/ec", ctAvro, c.body, c.status, c.code)
	}

	v3 := "/v3/clusters/" + e.b.ClusterID() + "/topics/ec/records"
	for _, c := range []struct {
		body   string
		status int
		prefix string
	}{
		{`{"value":{"type":"AVRO","schema":"{\"type\":\"record\"}","data":{"a":1}}}`, 422, "Error: 42205 : value: "},
		{`{"value":{"schema_id":9999,"data":{"a":1}}}`, 422, "Error: 42207 : value: "},
		{fmt.Sprintf(`{"value":{"schema_id":%d,"data":{"b":"x"}}}`, other), 422, "Error: 42207 : value: "},
		{`{"value":{"subject":"nope","data":{"a":1}}}`, 422, "Error: 42207 : value: "},
		{fmt.Sprintf(`{"value":{"type":"AVRO","schema":%s,"data":{"a":"x"}}}`, incompatible), 422, "Error: 42207 : value: "},
		{fmt.Sprintf(`{"value":{"schema_id":%d,"data":{"a":"x"}}}`, id), 400, "value: "},
		{`{"value":{"schema_version":7,"data":{"a":1}}}`, 400, "value: "},
		{`{"value":{"schema":"\"int\"","data":1}}`, 400, "value: "},
		{`{"value":{"subject_name_strategy":"RECORD_NAME","schema_version":1,"data":{"a":1}}}`, 400, "value: "},
		{`{"value":{"subject_name_strategy":"NAME_OF_MY_CAT","schema_version":1,"data":{"a":1}}}`, 400, "value: "},
		{`{"value":{"subject":"ec-value","subject_name_strategy":"TOPIC_NAME","schema_version":1,"data":{"a":1}}}`, 400, "value: "},
		{fmt.Sprintf(`{"value":{"type":"BINARY","schema_id":%d,"data":"AA=="}}`, id), 400, "value: "},
		{fmt.Sprintf(`{"key":{"schema_id":%d,"data":{"a":1}},"value":{"schema_id":%d,"data":{"a":1}}}`, id, id), 422, "Error: 42207 : key: "},
	} {
		e.wantErr(t, "POST", v3, ctJSON, c.body, c.status, c.status)
		if _, _, b := e.do(t, "POST", v3, ctJSON, c.body); !strings.Contains(b, `"message":"`+c.prefix) {
			t.Fatalf("%s: %s, want a message starting %q", c.body, b, c.prefix)
		}
	}
	e.want(t, "GET", "/topics/ec/partitions/0/offsets", "", "", 200, `{"beginning_offset":0,"end_offset":0}`)

	// A record naming an unknown schema id, read by an avro consumer
	// instance: the deserializer's error of the reference, 408 40801.
	if err := e.b.Client(t).ProduceSync(t.Context(), &kgo.Record{Topic: "ec2", Value: wire(9999, 2)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	e.want(t, "POST", "/consumers/gec", ctV2, `{"name":"c","format":"avro","auto.offset.reset":"earliest"}`, 200, "*")
	e.want(t, "POST", "/consumers/gec/instances/c/subscription", ctV2, `{"topics":["ec2"]}`, 204, "")
	kafkatest.Eventually(t, 15*time.Second, func() error {
		status, _, b := e.do(t, "GET", "/consumers/gec/instances/c/records?timeout=500", "", "", "Accept", ctAvro)
		if status == http.StatusOK {
			return fmt.Errorf("records: %s", b)
		}
		if status != http.StatusRequestTimeout || !strings.HasPrefix(b, `{"error_code":40801,"message":"record at offset 0 of partition 0 of topic ec2: schema 9999`) {
			t.Fatalf("records: %d %s, want 408 40801", status, b)
		}
		return nil
	})
}

// A protobuf record's fields are written by number, the same bytes every
// time (a dynamic message would otherwise follow map order).
func TestProtobufEncodeFieldOrder(t *testing.T) {
	c, err := parseSchema(sr.TypeProtobuf, "syntax = \"proto3\";\nmessage M { int32 a = 1; int32 b = 2; int32 c = 3; int32 d = 4; int32 e = 5; map<string, int32> m = 6; }\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.id = 7
	want := wire(7, 0, 0x08, 1, 0x10, 2, 0x18, 3, 0x20, 4, 0x28, 5,
		0x32, 5, 0x0a, 1, 'x', 0x10, 1, 0x32, 5, 0x0a, 1, 'y', 0x10, 2)
	for range 50 {
		b, err := c.encode([]byte(`{"e":5,"d":4,"c":3,"b":2,"a":1,"m":{"y":2,"x":1}}`))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("encoded % x\nwant    % x", b, want)
		}
	}
}
