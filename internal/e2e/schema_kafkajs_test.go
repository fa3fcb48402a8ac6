package e2e

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// kafkajsDir is the node project of kafkajs and
// @kafkajs/confluent-schema-registry, pinned by its package-lock.json.
var kafkajsDir = filepath.Join("testdata", "kafkajs")

// needKafkajs fails the test (it never skips) unless node and npm are on
// PATH, then installs the project's packages with `npm ci` unless
// node_modules already holds what package-lock.json pins.
func needKafkajs(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH: the kafkajs tests need Node.js and npm (./scripts/test.sh installs the Debian packages nodejs and npm)", tool)
		}
	}
	lock, err := os.ReadFile(filepath.Join(kafkajsDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:]) + "\n"
	// npm ci replaces node_modules; the stamp written after it succeeded
	// says which lockfile it installed.
	stamp := filepath.Join(kafkajsDir, "node_modules", ".samsa-lock-sha256")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// --ignore-scripts: nothing pinned needs an install script (protobufjs's
	// postinstall only checks its own CLI's dependencies).
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = kafkajsDir
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", kafkajsDir, err, out)
	}
	t.Logf("npm ci in %s took %v", kafkajsDir, time.Since(start).Round(time.Millisecond))
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
}

// jsUser is e2e.js.User, the schema sr_avro.js registers.
const jsUserSchema = `{"type":"record","name":"User","namespace":"e2e.js","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null},{"name":"role","type":{"type":"enum","name":"Role","symbols":["ADMIN","MEMBER","GUEST"]}},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"score","type":"double"},{"name":"active","type":"boolean"}]}`

type jsUser struct {
	ID     int64    `avro:"id" json:"id"`
	Name   string   `avro:"name" json:"name"`
	Email  *string  `avro:"email" json:"email"`
	Role   string   `avro:"role" json:"role"`
	Tags   []string `avro:"tags" json:"tags"`
	Score  float64  `avro:"score" json:"score"`
	Active bool     `avro:"active" json:"active"`
}

// The values sr_avro.js encodes, with keys u0, u1, u2.
var jsUsers = []jsUser{
	{ID: 1, Name: "Ada", Email: strp("ada@example.com"), Role: "ADMIN", Tags: []string{"a", "b"}, Score: 9.5, Active: true},
	{ID: -42, Name: "Zoë ζ", Role: "GUEST", Tags: []string{}, Score: -0.25},
	{ID: 1234567890123456, Name: "", Email: strp(""), Role: "MEMBER", Tags: []string{"only"}, Active: true},
}

// goOrder is e2e.go.Order, which the test registers and produces from Go.
const goOrderSchema = `{"type":"record","name":"Order","namespace":"e2e.go","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int"},{"name":"price","type":"double"},{"name":"note","type":["null","string"],"default":null},{"name":"lines","type":{"type":"map","values":"long"}}]}`

type goOrder struct {
	ID    string           `avro:"id" json:"id"`
	Qty   int32            `avro:"qty" json:"qty"`
	Price float64          `avro:"price" json:"price"`
	Note  *string          `avro:"note" json:"note"`
	Lines map[string]int64 `avro:"lines" json:"lines"`
}

var goOrders = []goOrder{
	{ID: "o-1", Qty: 3, Price: 12.75, Note: strp("gift ✓"), Lines: map[string]int64{"sku-1": 2, "sku-2": -1}},
	{ID: "o-2", Qty: -2147483648, Price: 0.5, Lines: map[string]int64{}},
}

// restVisit is e2e.rest.Visit, which the test produces through the REST
// Proxy: v2 registers it (and the key schema "string") from the request,
// v3 once from its schema and once by its id.
const restVisitSchema = `{"type":"record","name":"Visit","namespace":"e2e.rest","fields":[{"name":"id","type":"long"},{"name":"page","type":"string"},{"name":"referrer","type":["null","string"],"default":null},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["VIEW","CLICK"]}},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"ms","type":"double"}]}`

type restVisit struct {
	ID       int64    `json:"id"`
	Page     string   `json:"page"`
	Referrer *string  `json:"referrer"`
	Kind     string   `json:"kind"`
	Tags     []string `json:"tags"`
	Ms       float64  `json:"ms"`
}

// The records of rest-visits, in the order the test produces them: keys,
// partitions and values (in the REST Proxy's Avro JSON, a union branch
// named) and where they land.
type restVisitRecord struct {
	key, avroJSON string
	partition     int32
	offset        int64
	want          restVisit
}

var restVisits = []restVisitRecord{
	{"v0", `{"id":1,"page":"/","referrer":{"string":"https://example.com/ä"},"kind":"VIEW","tags":["a","b"],"ms":12.5}`, 0, 0,
		restVisit{ID: 1, Page: "/", Referrer: strp("https://example.com/ä"), Kind: "VIEW", Tags: []string{"a", "b"}, Ms: 12.5}},
	{"v1", `{"id":-4503599627370496,"page":"","referrer":null,"kind":"CLICK","tags":[],"ms":-0.125}`, 1, 0,
		restVisit{ID: -4503599627370496, Page: "", Kind: "CLICK", Tags: []string{}, Ms: -0.125}},
	{"v2", `{"id":3,"page":"/cart","referrer":{"string":""},"kind":"CLICK","tags":["x"],"ms":0}`, 1, 1,
		restVisit{ID: 3, Page: "/cart", Referrer: strp(""), Kind: "CLICK", Tags: []string{"x"}}},
	{"v3", `{"id":4,"page":"/pay","referrer":null,"kind":"VIEW","tags":["y","z"],"ms":1e3}`, 0, 1,
		restVisit{ID: 4, Page: "/pay", Kind: "VIEW", Tags: []string{"y", "z"}, Ms: 1000}},
}

// restPost posts body to url and returns the status and the body.
func restPost(t *testing.T, url, ct, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, ct, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// produceRestVisits produces restVisits through the REST Proxy at base:
// the first two with v2 (Avro key and value, schemas in the request, ids
// 2 and 3 as go-orders-value has 1), the others with v3 (a STRING key; the
// value by schema, then by schema_id without a type).
func produceRestVisits(t *testing.T, base string) {
	t.Helper()
	schema, _ := json.Marshal(restVisitSchema)
	status, b := restPost(t, base+"/topics/rest-visits", "application/vnd.kafka.avro.v2+json",
		fmt.Sprintf(`{"key_schema":"\"string\"","value_schema":%s,"records":[{"key":%q,"value":%s,"partition":%d},{"key":%q,"value":%s,"partition":%d}]}`,
			schema, restVisits[0].key, restVisits[0].avroJSON, restVisits[0].partition, restVisits[1].key, restVisits[1].avroJSON, restVisits[1].partition))
	if want := `{"key_schema_id":2,"value_schema_id":3,"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null},{"partition":1,"offset":0,"error_code":null,"error":null}]}`; status != 200 || b != want {
		t.Fatalf("REST v2 produce: %d %s\nwant 200 %s", status, b, want)
	}
	var clusters struct {
		Data []struct {
			ClusterID string `json:"cluster_id"`
		} `json:"data"`
	}
	if status, b = restGet(t, base+"/v3/clusters"); status != 200 || json.Unmarshal([]byte(b), &clusters) != nil || len(clusters.Data) != 1 {
		t.Fatalf("GET /v3/clusters: %d %s", status, b)
	}
	cid := clusters.Data[0].ClusterID
	for i, v := range restVisits[2:] {
		value := fmt.Sprintf(`{"type":"AVRO","schema":%s,"data":%s}`, schema, v.avroJSON)
		if i == 1 {
			value = fmt.Sprintf(`{"schema_id":3,"data":%s}`, v.avroJSON)
		}
		status, b = restPost(t, base+"/v3/clusters/"+cid+"/topics/rest-visits/records", "application/json",
			fmt.Sprintf(`{"partition_id":%d,"key":{"type":"STRING","data":%q},"value":%s,"timestamp":"2024-05-06T07:08:09.010Z"}`, v.partition, v.key, value))
		size := 5 + len(visitAvro(t, v.want))
		want := fmt.Sprintf(`{"error_code":200,"cluster_id":"%s","topic_name":"rest-visits","partition_id":%d,"offset":%d,"timestamp":"2024-05-06T07:08:09.010Z",`+
			`"key":{"type":"STRING","size":2},"value":{"type":"AVRO","subject":"rest-visits-value","schema_id":3,"schema_version":1,"size":%d}}`, cid, v.partition, v.offset, size)
		if status != 200 || b != want {
			t.Fatalf("REST v3 produce of %s: %d %s\nwant 200 %s", v.key, status, b, want)
		}
	}
}

// restGet gets url and returns the status and the body.
func restGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// visitAvro is a visit's Avro binary encoding, through hamba/avro from
// the Go value (not the proxy's code).
func visitAvro(t *testing.T, w restVisit) []byte {
	t.Helper()
	type rec struct {
		ID       int64    `avro:"id"`
		Page     string   `avro:"page"`
		Referrer *string  `avro:"referrer"`
		Kind     string   `avro:"kind"`
		Tags     []string `avro:"tags"`
		Ms       float64  `avro:"ms"`
	}
	b, err := avro.Marshal(avro.MustParse(restVisitSchema), rec{w.ID, w.Page, w.Referrer, w.Kind, w.Tags, w.Ms})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsStep is one line of sr_avro.js.
type jsStep struct {
	Step       string          `json:"step"`
	ID         *int            `json:"id"`
	Subject    string          `json:"subject"`
	Topic      string          `json:"topic"`
	Partition  int32           `json:"partition"`
	ErrorCode  int             `json:"errorCode"`
	BaseOffset string          `json:"baseOffset"`
	Offset     string          `json:"offset"`
	Key        *string         `json:"key"`
	KeyID      *int            `json:"keyId"`
	Value      json.RawMessage `json:"value"`
	Encoded    string          `json:"encoded"`
	Error      *struct {
		Name    string     `json:"name"`
		Message string     `json:"message"`
		Paths   [][]string `json:"paths"`
		Status  int        `json:"status"`
		URL     string     `json:"url"`
	} `json:"error"`
}

// TestSchemaKafkajs drives @kafkajs/confluent-schema-registry and kafkajs
// (node) against `samsa server` with its built-in registry: the Avro schema
// the JS client registers, the values it encodes and kafkajs produces,
// consumes and the client decodes; records produced from Go with franz-go's
// sr.Serde decoded by the JS client and the JS client's records decoded by
// the Serde, so both agree on ids and the wire format; and the errors of a
// value the schema does not admit and of an unknown id.
func TestSchemaKafkajs(t *testing.T) {
	needKafkajs(t)
	t.Parallel()
	srAddr := kafkatest.FreePort(t)
	url := "http://" + srAddr
	// No initial rebalance delay: the kafkajs consumer is its group's only
	// member.
	rpAddr := kafkatest.FreePort(t)
	p := kafkatest.StartProcess(t, "", "schema.registry.listeners="+url, "rest.proxy.listeners=http://"+rpAddr, "group.initial.rebalance.delay.ms=0")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	createTopic(t, p.Addr, "js-users", 1)
	createTopic(t, p.Addr, "go-orders", 1)
	createTopic(t, p.Addr, "rest-visits", 2)

	// From Go: register e2e.go.Order and produce goOrders in the wire format.
	orderAvro := avro.MustParse(goOrderSchema)
	ss, err := cl.CreateSchema(ctx, "go-orders-value", sr.Schema{Schema: goOrderSchema})
	if err != nil || ss.ID != 1 {
		t.Fatalf("franz-go: register go-orders-value: %+v %v", ss, err)
	}
	var serde sr.Serde
	serde.Register(ss.ID, goOrder{},
		sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(orderAvro, v) }),
		sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(orderAvro, b, v) }))
	prod := kafkatest.NewClient(t, p.Addr)
	for i, o := range goOrders {
		r := &kgo.Record{Topic: "go-orders", Key: []byte(fmt.Sprintf("o%d", i)), Value: serde.MustEncode(o)}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce go-orders %d: %v", i, err)
		}
	}

	// Through samsa server's REST Proxy: Avro records of v2 and v3.
	produceRestVisits(t, "http://"+rpAddr)

	start := time.Now()
	lines := run(t, "", "node", filepath.Join(kafkajsDir, "sr_avro.js"), p.Addr, url)
	t.Logf("node sr_avro.js took %v", time.Since(start).Round(time.Millisecond))
	var steps []jsStep
	for _, l := range jsonLines(t, lines) {
		steps = append(steps, decode[jsStep](t, l))
	}
	i := 0
	next := func(name string) jsStep {
		t.Helper()
		if i >= len(steps) {
			t.Fatalf("sr_avro.js printed %d lines; want a %q line next\n%s", len(steps), name, lines)
		}
		s := steps[i]
		i++
		if s.Step != name {
			t.Fatalf("line %d is step %q, want %q\n%s", i, s.Step, name, lines)
		}
		return s
	}
	id := func(s jsStep) int {
		t.Helper()
		if s.ID == nil {
			t.Fatalf("%s: no id", s.Step)
		}
		return *s.ID
	}

	// The JS client's registration gets the next id, again the same one;
	// its subject is the record's full name (the client's default).
	const subject = "e2e.js.User"
	if got := id(next("register")); got != 4 {
		t.Fatalf("registry.register: id %d, want 4 (go-orders-value has 1, rest-visits-key 2, rest-visits-value 3)", got)
	}
	if got := id(next("register-again")); got != 4 {
		t.Errorf("registry.register of the same schema reformatted: id %d, want 4", got)
	}
	for _, w := range []struct {
		subject string
		id      int
	}{{subject, 4}, {"go-orders-value", 1}} {
		s := next("latest")
		if s.Subject != w.subject || id(s) != w.id {
			t.Errorf("getLatestSchemaId(%s) = %d, want %d", s.Subject, id(s), w.id)
		}
	}

	// kafkajs's acks: one batch at offset 0 of js-users' only partition.
	if a := next("produced"); a.Topic != "js-users" || a.Partition != 0 || a.ErrorCode != 0 || a.BaseOffset != "0" {
		t.Errorf("producer.send: %+v", a)
	}

	// Consumed and decoded by the JS client: go-orders then js-users, each
	// in offset order, with the exact values.
	consumed := func(topic string, part int32, off int64, key string, keyID *int, wantID int, want any) {
		t.Helper()
		s := next("consumed")
		if s.Topic != topic || s.Partition != part || s.Offset != fmt.Sprint(off) || s.Key == nil || *s.Key != key ||
			!reflect.DeepEqual(s.KeyID, keyID) || s.ID == nil || *s.ID != wantID {
			t.Errorf("consumed %s p%d@%s key %v (id %v) id %v; want %s p%d@%d key %s (id %v) id %d",
				s.Topic, s.Partition, s.Offset, s.Key, s.KeyID, s.ID, topic, part, off, key, keyID, wantID)
		}
		got := reflect.New(reflect.TypeOf(want))
		dec := json.NewDecoder(bytes.NewReader(s.Value))
		dec.DisallowUnknownFields()
		if err := dec.Decode(got.Interface()); err != nil {
			t.Errorf("%s@%d: decoded value %s: %v", topic, off, s.Value, err)
			return
		}
		if !reflect.DeepEqual(got.Elem().Interface(), want) {
			t.Errorf("%s@%d: registry.decode gave %s\nwant %+v", topic, off, s.Value, want)
		}
	}
	for n, o := range goOrders {
		consumed("go-orders", 0, int64(n), fmt.Sprintf("o%d", n), nil, 1, o)
	}
	for n, u := range jsUsers {
		consumed("js-users", 0, int64(n), fmt.Sprintf("u%d", n), nil, 4, u)
	}
	// rest-visits in partition then offset order; the v2 keys are Avro
	// strings of schema 2, the v3 keys plain strings.
	visits := slices.Clone(restVisits)
	slices.SortStableFunc(visits, func(a, b restVisitRecord) int {
		return cmp.Or(cmp.Compare(a.partition, b.partition), cmp.Compare(a.offset, b.offset))
	})
	for _, v := range visits {
		var keyID *int
		if v.key == "v0" || v.key == "v1" {
			keyID = new(int)
			*keyID = 2
		}
		consumed("rest-visits", v.partition, v.offset, v.key, keyID, 3, v.want)
	}

	// The client refuses a value the schema does not admit, naming the bad
	// fields (avsc's message is about the first one).
	if s := next("invalid"); s.Error == nil || s.Error.Name != "ConfluentSchemaRegistryValidationError" ||
		s.Error.Message != `invalid "long": "one"` || !reflect.DeepEqual(s.Error.Paths, [][]string{{"id"}, {"role"}}) {
		t.Errorf("encode of an invalid value: %+v (encoded %q)", s.Error, s.Encoded)
	}
	// An unknown id: the registry's 404 and message, as the client reports it.
	if s := next("unknown-id"); s.Error == nil || s.Error.Name != "ResponseError" || s.Error.Status != 404 ||
		s.Error.Message != "Confluent_Schema_Registry - Schema 999 not found" || s.Error.URL != "get "+url+"/schemas/ids/999" {
		t.Errorf("encode with unknown id 999: %+v", s.Error)
	}
	if i != len(steps) {
		t.Errorf("sr_avro.js printed %d more lines: %v", len(steps)-i, steps[i:])
	}

	// From Go: franz-go's client sees what the JS client registered, and the
	// Serde decodes the records kafkajs produced.
	latest, err := cl.SchemaByVersion(ctx, subject, -1)
	if err != nil || latest.ID != 4 || latest.Version != 1 || latest.Type != sr.TypeAvro || latest.Schema.Schema != jsUserSchema {
		t.Fatalf("franz-go: %s: %+v %v\nwant id 4 version 1 %s", subject, latest, err, jsUserSchema)
	}
	// register() sets the subject's level on its first registration.
	levels := cl.Compatibility(ctx, subject)
	if len(levels) != 1 || levels[0].Err != nil || levels[0].Level != sr.CompatBackward {
		t.Errorf("franz-go: level of %s: %+v", subject, levels)
	}
	userAvro := avro.MustParse(latest.Schema.Schema)
	serde.Register(latest.ID, jsUser{},
		sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(userAvro, b, v) }))
	// The REST Proxy's records, byte for byte: magic 0, schema id, the Avro
	// encoding (keys of v2 too: the Avro string of schema 2).
	visitRecs := readAll(t, p.Addr, "rest-visits")
	for _, v := range restVisits {
		part := visitRecs[v.partition]
		if int64(len(part)) <= v.offset {
			t.Fatalf("rest-visits partition %d has %d records", v.partition, len(part))
		}
		r := part[v.offset]
		wantKey := []byte(v.key)
		if v.key == "v0" || v.key == "v1" {
			wantKey = append([]byte{0, 0, 0, 0, 2, byte(2 * len(v.key))}, v.key...)
		}
		wantValue := append([]byte{0, 0, 0, 0, 3}, visitAvro(t, v.want)...)
		if !bytes.Equal(r.Key, wantKey) || !bytes.Equal(r.Value, wantValue) {
			t.Errorf("rest-visits p%d@%d: key % x value % x\nwant key % x value % x", v.partition, v.offset, r.Key, r.Value, wantKey, wantValue)
		}
	}

	recs := readAll(t, p.Addr, "js-users")[0]
	if len(recs) != len(jsUsers) {
		t.Fatalf("franz-go read %d records of js-users, want %d", len(recs), len(jsUsers))
	}
	for n, r := range recs {
		var u jsUser
		if err := serde.Decode(r.Value, &u); err != nil {
			t.Fatalf("js-users@%d: sr.Serde: %v (value % x)", n, err, r.Value)
		}
		if string(r.Key) != fmt.Sprintf("u%d", n) || !reflect.DeepEqual(u, jsUsers[n]) {
			t.Errorf("js-users@%d: key %q, Serde decoded %+v; want u%d %+v", n, r.Key, u, n, jsUsers[n])
		}
	}
}
