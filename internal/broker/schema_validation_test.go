package broker_test

// Broker-side schema validation (confluent.value.schema.validation and
// confluent.key.schema.validation) against a real broker and samsa's real
// registry in-process, registering through franz-go's sr client. The cost
// of the check itself is BenchmarkSchemaValidation (schema_ids_test.go):
// about 85 ns/record on a 1000-record uncompressed batch, 115 with lz4, ~2%
// of a produce of 1 KiB records (docs/benchmarks.md).

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/schemaregistry"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sr"
)

// startSchemaRegistry runs samsa's registry against kb and returns a client.
func startSchemaRegistry(t *testing.T, kb *kafkatest.Broker) *sr.Client {
	t.Helper()
	r, err := schemaregistry.New(schemaregistry.Config{Seeds: []string{kb.Addr}, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); r.Close() })
	cl, err := sr.NewClient(sr.URLs("http://" + ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func registerSchema(t *testing.T, cl *sr.Client, subject, name string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ss, err := cl.CreateSchema(ctx, subject, sr.Schema{Schema: `{"type":"record","name":"` + name + `","fields":[{"name":"a","type":"string"}]}`})
	if err != nil {
		t.Fatalf("register %s: %v", subject, err)
	}
	return ss.ID
}

// registerText registers s under subject and returns its id.
func registerText(t *testing.T, cl *sr.Client, subject string, s sr.Schema) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ss, err := cl.CreateSchema(ctx, subject, s)
	if err != nil {
		t.Fatalf("register %s: %v", subject, err)
	}
	return ss.ID
}

// wire is data in the Schema Registry wire format with schema id id.
func wire(id int, data string) []byte {
	b := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(id))
	return append(b, data...)
}

func logEnd(t *testing.T, r *rawConn, topic string) int64 {
	t.Helper()
	return listOffset(t, r, 7, topic, 0, -1).Offset
}

// wantAccepted produces recs as one batch and checks the base offset.
func wantAccepted(t *testing.T, r *rawConn, topic string, codec int8, base int64, recs ...rec) {
	t.Helper()
	sp := produceOne(t, r, topic, 0, buildBatch(t, record.NonIdempotent, codec, recs...))
	if sp.ErrorCode != 0 || sp.BaseOffset != base {
		msg := ""
		if sp.ErrorMessage != nil {
			msg = *sp.ErrorMessage
		}
		t.Fatalf("produce: error %v (%s), base offset %d, want %d", kerr.ErrorForCode(sp.ErrorCode), msg, sp.BaseOffset, base)
	}
}

// wantRejected produces recs as one batch (Produce v9) and checks that it
// was refused with INVALID_RECORD, the given error message and per-record
// errors, and that nothing was appended.
func wantRejected(t *testing.T, r *rawConn, topic string, codec int8, msg string, recErrs map[int32]string, recs ...rec) {
	t.Helper()
	before := logEnd(t, r, topic)
	sp := produceOne(t, r, topic, 0, buildBatch(t, record.NonIdempotent, codec, recs...))
	if sp.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("error %v, want INVALID_RECORD", kerr.ErrorForCode(sp.ErrorCode))
	}
	if sp.ErrorMessage == nil || *sp.ErrorMessage != msg {
		t.Errorf("error message\n got %v\nwant %q", deref(sp.ErrorMessage), msg)
	}
	got := map[int32]string{}
	for _, e := range sp.ErrorRecords {
		got[e.RelativeOffset] = deref(e.ErrorMessage)
	}
	if len(got) != len(recErrs) || len(sp.ErrorRecords) != len(recErrs) {
		t.Errorf("record errors %q, want %q", got, recErrs)
	}
	for i, want := range recErrs {
		if got[i] != want {
			t.Errorf("record %d error\n got %q\nwant %q", i, got[i], want)
		}
	}
	if after := logEnd(t, r, topic); after != before {
		t.Errorf("log end offset %d after a refused batch, was %d", after, before)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TopicNameStrategy, the default: the id must be registered under
// TOPIC-value, any version; null values pass.
func TestSchemaValidationValue(t *testing.T) {
	kb := kafkatest.Start(t, "num.partitions=1")
	cl := startSchemaRegistry(t, kb)
	id1 := registerSchema(t, cl, "orders-value", "Order")
	// Version 2 of orders-value: a field with a default added (BACKWARD).
	id2 := registerText(t, cl, "orders-value", sr.Schema{Schema: `{"type":"record","name":"Order","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}`})
	other := registerSchema(t, cl, "other-value", "Other")
	// The same schema in another subject has the same id: still accepted.
	if again := registerSchema(t, cl, "copy-value", "Order"); again != id1 {
		t.Fatalf("the same schema got id %d in another subject, want %d", again, id1)
	}
	createTopic(t, kb, "orders", 1, map[string]*string{"confluent.value.schema.validation": sp("true")})
	r := dialRaw(t, kb.Addr)

	wantAccepted(t, r, "orders", record.CodecNone, 0, rec{value: wire(id1, "a")}, rec{value: wire(id2, "b")}, rec{value: wire(id1, "")})
	wantAccepted(t, r, "orders", record.CodecLZ4, 3, rec{key: []byte("k"), value: wire(id2, "c")})
	// A null value (a tombstone) passes, as on Confluent Server.
	wantAccepted(t, r, "orders", record.CodecNone, 4, rec{key: []byte("k")})

	const head = "invalid record batch: "
	notUnder := func(i, id int) string {
		return "record " + strconv.Itoa(i) + ": value schema id " + strconv.Itoa(id) + " is not registered under subject orders-value (TopicNameStrategy)"
	}
	wantRejected(t, r, "orders", record.CodecNone,
		head+"4 of 5 records failed schema validation (topic orders has confluent.value.schema.validation=true); the first: record 1: value has no schema id (magic byte 0x7b, want 0x00)",
		map[int32]string{
			1: "record 1: value has no schema id (magic byte 0x7b, want 0x00)",
			2: "record 2: value is 3 bytes, too short for the schema registry wire format (magic byte 0x00 and a 4-byte schema id)",
			3: notUnder(3, other),
			4: "record 4: value schema id 4242 is not registered",
		},
		rec{value: wire(id1, "ok")}, rec{value: []byte(`{"a":"json"}`)}, rec{value: []byte{0, 0, 1}}, rec{value: wire(other, "x")}, rec{value: wire(4242, "x")})
	// Compressed batches are checked after decompression.
	wantRejected(t, r, "orders", record.CodecZstd,
		head+"1 of 2 records failed schema validation (topic orders has confluent.value.schema.validation=true); the first: record 1: value schema id 0 is not registered",
		map[int32]string{1: "record 1: value schema id 0 is not registered"},
		rec{value: wire(id1, "ok")}, rec{value: wire(0, "x")})

	// A version registered right before the produce is accepted at once.
	id3 := registerText(t, cl, "orders-value", sr.Schema{Schema: `{"type":"record","name":"Order","fields":[{"name":"a","type":"string"},{"name":"c","type":"int","default":0}]}`})
	wantAccepted(t, r, "orders", record.CodecNone, 5, rec{value: wire(id3, "new")})

	// A soft-deleted version still counts (its id stays resolvable), a
	// permanently deleted one does not.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.DeleteSchema(ctx, "orders-value", 3, sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, r, "orders", record.CodecNone, 6, rec{value: wire(id3, "soft")})
	if err := cl.DeleteSchema(ctx, "orders-value", 3, sr.HardDelete); err != nil {
		t.Fatal(err)
	}
	msg := "record 0: value schema id " + strconv.Itoa(id3) + " is not registered"
	wantRejected(t, r, "orders", record.CodecNone,
		head+"1 of 1 records failed schema validation (topic orders has confluent.value.schema.validation=true); the first: "+msg,
		map[int32]string{0: msg}, rec{value: wire(id3, "gone")})
	// Deleting the subject that shared id1 leaves orders-value's id1.
	if _, err := cl.DeleteSubject(ctx, "copy-value", sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DeleteSubject(ctx, "copy-value", sr.HardDelete); err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, r, "orders", record.CodecNone, 7, rec{value: wire(id1, "again")})
	// Permanently deleting version 2 of orders-value while other-value
	// keeps its own id: id2 is gone, other is still refused here.
	if err := cl.DeleteSchema(ctx, "orders-value", 2, sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if err := cl.DeleteSchema(ctx, "orders-value", 2, sr.HardDelete); err != nil {
		t.Fatal(err)
	}
	wantRejected(t, r, "orders", record.CodecNone,
		head+"2 of 2 records failed schema validation (topic orders has confluent.value.schema.validation=true); the first: record 0: value schema id "+strconv.Itoa(id2)+" is not registered",
		map[int32]string{0: "record 0: value schema id " + strconv.Itoa(id2) + " is not registered", 1: notUnder(1, other)},
		rec{value: wire(id2, "")}, rec{value: wire(other, "")})
	if end := logEnd(t, r, "orders"); end != 8 {
		t.Errorf("log end offset %d, want 8", end)
	}

	// A topic without the config takes anything.
	createTopic(t, kb, "plain", 1, nil)
	wantAccepted(t, r, "plain", record.CodecNone, 0, rec{value: []byte("not wire format")}, rec{}, rec{value: wire(4242, "")})
}

func TestSchemaValidationKey(t *testing.T) {
	kb := kafkatest.Start(t, "num.partitions=1")
	cl := startSchemaRegistry(t, kb)
	kid := registerSchema(t, cl, "keys-key", "Key")
	vid := registerSchema(t, cl, "keys-value", "Value")
	createTopic(t, kb, "keys", 1, map[string]*string{"confluent.key.schema.validation": sp("true")})
	r := dialRaw(t, kb.Addr)

	// Only the key is checked, against keys-key; a null key passes.
	wantAccepted(t, r, "keys", record.CodecNone, 0, rec{key: wire(kid, "k"), value: []byte("anything")}, rec{value: wire(kid, "v")})
	const head = "invalid record batch: "
	wantRejected(t, r, "keys", record.CodecNone,
		head+"2 of 3 records failed schema validation (topic keys has confluent.key.schema.validation=true); the first: record 1: key schema id "+strconv.Itoa(vid)+" is not registered under subject keys-key (TopicNameStrategy)",
		map[int32]string{
			1: "record 1: key schema id " + strconv.Itoa(vid) + " is not registered under subject keys-key (TopicNameStrategy)",
			2: "record 2: key schema id 999 is not registered",
		},
		rec{key: wire(kid, "k"), value: wire(999, "")}, rec{key: wire(vid, "k")}, rec{key: wire(999, "k")})

	// Both on: one error per record naming both problems.
	alterIncremental(t, kb, "keys", "confluent.value.schema.validation", "true")
	wantAccepted(t, r, "keys", record.CodecNone, 2, rec{key: wire(kid, "k"), value: wire(vid, "v")})
	wantRejected(t, r, "keys", record.CodecGzip,
		head+"2 of 3 records failed schema validation (topic keys has confluent.key.schema.validation=true and confluent.value.schema.validation=true); the first: record 1: key has no schema id (magic byte 0x6b, want 0x00); value schema id 77 is not registered",
		map[int32]string{
			1: "record 1: key has no schema id (magic byte 0x6b, want 0x00); value schema id 77 is not registered",
			2: "record 2: key schema id " + strconv.Itoa(vid) + " is not registered under subject keys-key (TopicNameStrategy); value schema id " + strconv.Itoa(kid) + " is not registered under subject keys-value (TopicNameStrategy)",
		},
		rec{key: wire(kid, "k"), value: wire(vid, "v")}, rec{key: []byte("k"), value: wire(77, "v")}, rec{key: wire(vid, "k"), value: wire(kid, "v")})
}

func alterIncremental(t *testing.T, kb *kafkatest.Broker, topic, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resps, err := kb.Admin(t).AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: key, Value: sp(value)}}, topic)
	if err == nil {
		err = resps[0].Err
	}
	if err != nil {
		t.Fatalf("incremental alter %s=%s: %v", key, value, err)
	}
}

// Turning validation on and off with IncrementalAlterConfigs and the legacy
// AlterConfigs takes effect on the next produce; DescribeConfigs shows it.
func TestSchemaValidationAlterConfigs(t *testing.T) {
	kb := kafkatest.Start(t, "num.partitions=1")
	cl := startSchemaRegistry(t, kb)
	id := registerSchema(t, cl, "t-value", "T")
	createTopic(t, kb, "t", 1, nil)
	r := dialRaw(t, kb.Addr)
	bad := rec{value: []byte("plain")}
	wantAccepted(t, r, "t", record.CodecNone, 0, bad)

	alterIncremental(t, kb, "t", "confluent.value.schema.validation", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kb.Admin(t)
	described, err := adm.DescribeTopicConfigs(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range described[0].Configs {
		if c.Key == "confluent.value.schema.validation" {
			found = true
			if c.MaybeValue() != "true" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
				t.Errorf("described %s=%s source %v", c.Key, c.MaybeValue(), c.Source)
			}
		}
	}
	if !found {
		t.Error("DescribeConfigs does not show confluent.value.schema.validation")
	}
	msg := "record 0: value has no schema id (magic byte 0x70, want 0x00)"
	wantRejected(t, r, "t", record.CodecNone,
		"invalid record batch: 1 of 1 records failed schema validation (topic t has confluent.value.schema.validation=true); the first: "+msg,
		map[int32]string{0: msg}, bad)
	wantAccepted(t, r, "t", record.CodecNone, 1, rec{value: wire(id, "")})

	// Legacy AlterConfigs replaces the overrides: validation is off again.
	resps, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "confluent.value.schema.validation", Value: sp("false")}}, "t")
	if err == nil {
		err = resps[0].Err
	}
	if err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, r, "t", record.CodecNone, 2, bad)

	// A bad value is refused like any boolean config.
	resps, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "confluent.key.schema.validation", Value: sp("yes")}}, "t")
	if err == nil && resps[0].Err == nil {
		t.Error("confluent.key.schema.validation=yes accepted")
	}
}

// Without _schemas every id is unknown, and the message says why.
func TestSchemaValidationNoRegistry(t *testing.T) {
	kb := kafkatest.Start(t, "num.partitions=1")
	createTopic(t, kb, "t", 1, map[string]*string{"confluent.value.schema.validation": sp("true")})
	r := dialRaw(t, kb.Addr)
	msg := "record 0: value schema id 1 is not registered (no schema registry data: topic _schemas does not exist)"
	wantRejected(t, r, "t", record.CodecNone,
		"invalid record batch: 1 of 1 records failed schema validation (topic t has confluent.value.schema.validation=true); the first: "+msg,
		map[int32]string{0: msg}, rec{value: wire(1, "")})

	// Once the registry creates _schemas and registers, the id is known.
	cl := startSchemaRegistry(t, kb)
	id := registerSchema(t, cl, "t-value", "T")
	wantAccepted(t, r, "t", record.CodecNone, 0, rec{value: wire(id, "")})
}

// franz-go's idempotent producer gets INVALID_RECORD for a bad record and
// goes on producing good ones; a restarted broker rebuilds the ids from its
// _schemas log.
func TestSchemaValidationKgoAndRestart(t *testing.T) {
	kb := kafkatest.Start(t, "num.partitions=1")
	cl := startSchemaRegistry(t, kb)
	id := registerSchema(t, cl, "t-value", "T")
	createTopic(t, kb, "t", 1, map[string]*string{"confluent.value.schema.validation": sp("true")})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc := kb.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	res := pc.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte(`{"a":"x"}`)})
	if err := res.FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("bad record: %v, want INVALID_RECORD", err)
	}
	res = pc.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: wire(id, "x")}, &kgo.Record{Topic: "t", Value: wire(id, "y")})
	if err := res.FirstErr(); err != nil {
		t.Fatalf("good records: %v", err)
	}
	if o := res[1].Record.Offset; o != 1 {
		t.Errorf("second good record at offset %d, want 1", o)
	}
	pc.Close()

	kb = kb.Restart(t)
	r := dialRaw(t, kb.Addr)
	wantAccepted(t, r, "t", record.CodecNone, 2, rec{value: wire(id, "after restart")})
	msg := "record 0: value schema id " + strconv.Itoa(id+1) + " is not registered"
	wantRejected(t, r, "t", record.CodecNone,
		"invalid record batch: 1 of 1 records failed schema validation (topic t has confluent.value.schema.validation=true); the first: "+msg,
		map[int32]string{0: msg}, rec{value: wire(id+1, "")})
}

// Records written to _schemas in Confluent's layout by any producer count,
// tombstones included; deleting and recreating _schemas starts over.
// Produce before v8 gets the error code only.
func TestSchemaValidationConfluentLayoutAndRecreate(t *testing.T) {
	kb := kafkatest.Start(t, "num.partitions=1")
	createTopic(t, kb, "_schemas", 1, map[string]*string{"cleanup.policy": sp("compact")})
	createTopic(t, kb, "t", 1, map[string]*string{"confluent.value.schema.validation": sp("true")})
	pc := kb.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	schemaRec := func(subject string, version, id int, tombstone bool) *kgo.Record {
		r := &kgo.Record{Topic: "_schemas",
			Key: []byte(`{"keytype":"SCHEMA","subject":"` + subject + `","version":` + strconv.Itoa(version) + `,"magic":1}`)}
		if !tombstone {
			r.Value = []byte(`{"subject":"` + subject + `","version":` + strconv.Itoa(version) + `,"id":` + strconv.Itoa(id) +
				`,"schema":"{\"type\":\"string\"}","deleted":false}`)
		}
		return r
	}
	if err := pc.ProduceSync(ctx,
		&kgo.Record{Topic: "_schemas", Key: []byte(`{"keytype":"NOOP","magic":0}`)},
		schemaRec("t-value", 1, 7, false),
		schemaRec("t-value", 1, 8, false), // loses subject t-value version 1 to id 7
		schemaRec("t-value", 2, 9, false),
		schemaRec("t-value", 2, 0, true),
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, kb.Addr)
	wantAccepted(t, r, "t", record.CodecNone, 0, rec{value: wire(7, "")})
	const head = "invalid record batch: 2 of 2 records failed schema validation (topic t has confluent.value.schema.validation=true); the first: "
	wantRejected(t, r, "t", record.CodecNone, head+"record 0: value schema id 8 is not registered",
		map[int32]string{0: "record 0: value schema id 8 is not registered", 1: "record 1: value schema id 9 is not registered"},
		rec{value: wire(8, "")}, rec{value: wire(9, "")})

	// Produce v7: the code, no message or record errors.
	resp := do[*kmsg.ProduceResponse](t, r, produceReq(7, -1, "t", 0, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{value: wire(8, "")})))
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != kerr.InvalidRecord.Code || p.ErrorMessage != nil || len(p.ErrorRecords) != 0 {
		t.Errorf("produce v7: %+v", p)
	}

	adm := kb.Admin(t)
	if dr, err := adm.DeleteTopics(ctx, "_schemas"); err != nil || dr["_schemas"].Err != nil {
		t.Fatalf("delete _schemas: %v %v", err, dr["_schemas"].Err)
	}
	msg := "record 0: value schema id 7 is not registered (no schema registry data: topic _schemas does not exist)"
	wantRejected(t, r, "t", record.CodecNone,
		"invalid record batch: 1 of 1 records failed schema validation (topic t has confluent.value.schema.validation=true); the first: "+msg,
		map[int32]string{0: msg}, rec{value: wire(7, "")})

	createTopic(t, kb, "_schemas", 1, map[string]*string{"cleanup.policy": sp("compact")})
	if err := pc.ProduceSync(ctx, schemaRec("t-value", 1, 8, false)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, r, "t", record.CodecNone, 1, rec{value: wire(8, "")})
	msg = "record 0: value schema id 7 is not registered"
	wantRejected(t, r, "t", record.CodecNone,
		"invalid record batch: 1 of 1 records failed schema validation (topic t has confluent.value.schema.validation=true); the first: "+msg,
		map[int32]string{0: msg}, rec{value: wire(7, "")})
}

// wireIndexes is data in the Protobuf wire format: schema id, then the
// message indexes.
func wireIndexes(id int, index []int, data string) []byte {
	b, _ := new(sr.ConfluentHeader).AppendEncode(nil, id, index)
	return append(b, data...)
}

// RecordNameStrategy and TopicRecordNameStrategy: the subject is the
// record's fully qualified name (Avro record, JSON Schema title, the
// Protobuf message the indexes name), alone or after TOPIC-.
func TestSchemaValidationRecordStrategies(t *testing.T) {
	kb := kafkatest.Start(t, "num.partitions=1")
	cl := startSchemaRegistry(t, kb)
	const pkg = "io.confluent.kafka.serializers.subject."
	order := registerText(t, cl, "shop.Order", sr.Schema{Schema: `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"a","type":"string"}]}`})
	// Registered under TopicNameStrategy's subject only.
	user := registerText(t, cl, "events-value", sr.Schema{Schema: `{"type":"record","name":"shop.User","fields":[{"name":"u","type":"string"}]}`})
	str := registerText(t, cl, "string", sr.Schema{Schema: `"string"`})
	person := registerText(t, cl, "com.example.Person", sr.Schema{Type: sr.TypeJSON, Schema: `{"title":"com.example.Person","type":"object"}`})
	untitled := registerText(t, cl, "untitled", sr.Schema{Type: sr.TypeJSON, Schema: `{"type":"object"}`})
	protoText := `syntax = "proto3";
package shop;
message Cart { string id = 1; message Line { int32 qty = 1; } }
enum Kind { A = 0; }
message Ref { string name = 1; }
`
	ref := registerText(t, cl, "shop.Ref", sr.Schema{Type: sr.TypeProtobuf, Schema: protoText})
	line := registerText(t, cl, "shop.Cart.Line", sr.Schema{Type: sr.TypeProtobuf, Schema: protoText})
	if line != ref {
		t.Fatalf("the same file got ids %d and %d", ref, line)
	}
	createTopic(t, kb, "events", 1, map[string]*string{
		"confluent.value.schema.validation":     sp("true"),
		"confluent.value.subject.name.strategy": sp(pkg + "RecordNameStrategy"),
	})
	r := dialRaw(t, kb.Addr)

	wantAccepted(t, r, "events", record.CodecNone, 0,
		rec{value: wire(order, "a")},
		rec{value: wire(person, "{}")},
		rec{value: wireIndexes(ref, []int{1}, "")},    // shop.Ref (enums do not count)
		rec{value: wireIndexes(ref, []int{0, 0}, "")}, // shop.Cart.Line
		rec{value: wire(order, "b")})
	head := func(n, of int, first string) string {
		return "invalid record batch: " + strconv.Itoa(n) + " of " + strconv.Itoa(of) +
			" records failed schema validation (topic events has confluent.value.schema.validation=true); the first: " + first
	}
	id := strconv.Itoa
	errs := map[int32]string{
		0: "record 0: value schema id " + id(user) + " is not registered under subject shop.User (RecordNameStrategy)",
		1: "record 1: value schema id " + id(str) + " has no record name for RecordNameStrategy: an Avro schema that is not a record",
		2: "record 2: value schema id " + id(untitled) + " has no record name for RecordNameStrategy: a JSON schema without a title",
		3: "record 3: value schema id " + id(ref) + " is not registered under subject shop.Cart (RecordNameStrategy)",
		4: "record 4: value schema id " + id(ref) + " has no record name for RecordNameStrategy: Protobuf message indexes [2] name no message of the schema",
		5: "record 5: value schema id " + id(ref) + " has no record name for RecordNameStrategy: bad Protobuf message indexes after the schema id",
	}
	wantRejected(t, r, "events", record.CodecNone, head(6, 7, errs[0]), errs,
		rec{value: wire(user, "")},
		rec{value: wire(str, "")},
		rec{value: wire(untitled, "")},
		rec{value: wireIndexes(ref, []int{0}, "")}, // a single 0: the first message, shop.Cart
		rec{value: wireIndexes(ref, []int{2}, "")},
		rec{value: wire(ref, "\x7f")}, // a truncated varint
		rec{value: wireIndexes(ref, []int{1}, "")})

	// TopicRecordNameStrategy: events-shop.Order; changed on the fly.
	alterIncremental(t, kb, "events", "confluent.value.subject.name.strategy", pkg+"TopicRecordNameStrategy")
	msg := "record 0: value schema id " + id(order) + " is not registered under subject events-shop.Order (TopicRecordNameStrategy)"
	wantRejected(t, r, "events", record.CodecNone, head(1, 1, msg), map[int32]string{0: msg}, rec{value: wire(order, "")})
	topicOrder := registerText(t, cl, "events-shop.Order", sr.Schema{Schema: `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"a","type":"string"}]}`})
	if topicOrder != order {
		t.Fatalf("the same schema got ids %d and %d", order, topicOrder)
	}
	wantAccepted(t, r, "events", record.CodecNone, 5, rec{value: wire(order, "")})

	// The key side has its own strategy; franz-go's producer gets
	// INVALID_RECORD for a key under the wrong subject.
	alterIncremental(t, kb, "events", "confluent.value.schema.validation", "false")
	alterIncremental(t, kb, "events", "confluent.key.schema.validation", "true")
	alterIncremental(t, kb, "events", "confluent.key.subject.name.strategy", pkg+"RecordNameStrategy")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc := kb.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := pc.ProduceSync(ctx, &kgo.Record{Topic: "events", Key: wire(person, "{}"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("key under its record name: %v", err)
	}
	if err := pc.ProduceSync(ctx, &kgo.Record{Topic: "events", Key: wire(user, "")}).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("key not under its record name: %v, want INVALID_RECORD", err)
	}
	if end := logEnd(t, r, "events"); end != 7 {
		t.Errorf("log end offset %d, want 7", end)
	}
}
