package restproxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// wire is a record value in the registry's wire format: magic 0, the
// schema id, then rest (for protobuf, the message indexes first).
func wire(id int, rest ...byte) []byte {
	b := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(id))
	return append(b, rest...)
}

// registerRef registers text under subject with refs through franz-go's
// sr client and returns its id and version.
func registerRef(t *testing.T, cl *sr.Client, subject string, typ sr.SchemaType, text string, refs ...sr.SchemaReference) (int, int) {
	t.Helper()
	ss, err := cl.CreateSchema(context.Background(), subject, sr.Schema{Schema: text, Type: typ, References: refs})
	if err != nil {
		t.Fatalf("register %s: %v", subject, err)
	}
	return ss.ID, ss.Version
}

// Produce by id of schemas with references: an Avro record whose field is a
// record type of another subject, a .proto importing another subject's
// file, a JSON Schema whose $ref names another subject's schema. The
// records carry the exact bytes, decode back through consumer instances,
// and the referenced parts are enforced.
func TestSchemaReferences(t *testing.T) {
	e, regURL := startWithRegistry(t)
	cl, err := sr.NewClient(sr.URLs(regURL))
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"cust", "porders", "jdocs"} {
		e.createTopic(t, topic, 1)
	}

	// Avro: e2e.Customer{name, address: e2e.Address} with e2e.Address
	// registered under the subject "address".
	addrID, _ := registerRef(t, cl, "address", sr.TypeAvro,
		`{"type":"record","name":"Address","namespace":"e2e","fields":[{"name":"city","type":"string"},{"name":"zip","type":"int"}]}`)
	custID, _ := registerRef(t, cl, "cust-value", sr.TypeAvro,
		`{"type":"record","name":"Customer","namespace":"e2e","fields":[{"name":"name","type":"string"},{"name":"address","type":"e2e.Address"}]}`,
		sr.SchemaReference{Name: "e2e.Address", Subject: "address", Version: 1})
	if addrID == custID {
		t.Fatalf("ids %d %d", addrID, custID)
	}
	e.want(t, "POST", "/topics/cust", ctAvro,
		fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":{"name":"Ann","address":{"city":"Oslo","zip":123}}}]}`, custID), 200,
		fmt.Sprintf(`{"key_schema_id":null,"value_schema_id":%d,"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null}]}`, custID))
	// v3, no type: the type, subject and version come from the id.
	e.want(t, "POST", "/v3/clusters/"+e.b.ClusterID()+"/topics/cust/records", ctJSON,
		fmt.Sprintf(`{"value":{"schema_id":%d,"data":{"name":"Bo","address":{"city":"","zip":-1}}}}`, custID), 200, "*")
	// The referenced type is enforced: zip must be an int.
	e.wantErr(t, "POST", "/topics/cust", ctAvro,
		fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":{"name":"Ann","address":{"city":"Oslo","zip":"x"}}}]}`, custID), 400, 400)
	// name "Ann" (len 3 → 6), city "Oslo" (len 4 → 8), zip 123 → zigzag 246 (f6 01).
	wantAvro := [][]byte{
		wire(custID, 6, 'A', 'n', 'n', 8, 'O', 's', 'l', 'o', 0xf6, 0x01),
		wire(custID, 4, 'B', 'o', 0, 1),
	}
	for i, r := range rawValues(t, e, "cust", 2) {
		if !bytes.Equal(r.Value, wantAvro[i]) {
			t.Fatalf("cust@%d: % x, want % x", i, r.Value, wantAvro[i])
		}
	}

	// Protobuf: order.proto imports common/money.proto of the subject
	// "money".
	registerRef(t, cl, "money", sr.TypeProtobuf,
		"syntax = \"proto3\";\npackage common;\nmessage Money { string currency = 1; int64 units = 2; }\n")
	orderID, _ := registerRef(t, cl, "porders-value", sr.TypeProtobuf,
		"syntax = \"proto3\";\npackage shop;\nimport \"common/money.proto\";\nmessage Order { string id = 1; common.Money total = 2; }\nmessage Other { int32 x = 1; }\n",
		sr.SchemaReference{Name: "common/money.proto", Subject: "money", Version: 1})
	e.want(t, "POST", "/topics/porders", ctProtobuf,
		fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":{"id":"o1","total":{"currency":"EUR","units":"5"}}}]}`, orderID), 200,
		fmt.Sprintf(`{"key_schema_id":null,"value_schema_id":%d,"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null}]}`, orderID))
	e.wantErr(t, "POST", "/topics/porders", ctProtobuf,
		fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":{"id":"o1","total":{"cents":1}}}]}`, orderID), 400, 400)
	// Message index [0] (Order), field 1 "o1", field 2 Money{"EUR", 5}.
	wantPB := wire(orderID, 0, 0x0a, 2, 'o', '1', 0x12, 7, 0x0a, 3, 'E', 'U', 'R', 0x10, 5)
	if r := rawValues(t, e, "porders", 1)[0]; !bytes.Equal(r.Value, wantPB) {
		t.Fatalf("porders@0: % x, want % x", r.Value, wantPB)
	}

	// JSON Schema: the document's "addr" is a $ref to address.json.
	registerRef(t, cl, "jaddr", sr.TypeJSON,
		`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)
	docID, _ := registerRef(t, cl, "jdocs-value", sr.TypeJSON,
		`{"type":"object","properties":{"addr":{"$ref":"address.json"}},"required":["addr"]}`,
		sr.SchemaReference{Name: "address.json", Subject: "jaddr", Version: 1})
	e.want(t, "POST", "/topics/jdocs", ctJSONSchema,
		fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":{"addr":{"city":"Rome"}}}]}`, docID), 200, "*")
	e.wantErr(t, "POST", "/topics/jdocs", ctJSONSchema,
		fmt.Sprintf(`{"value_schema_id":%d,"records":[{"value":{"addr":{"town":"Rome"}}}]}`, docID), 400, 400)
	if r, want := rawValues(t, e, "jdocs", 1)[0], wire(docID, []byte(`{"addr":{"city":"Rome"}}`)...); !bytes.Equal(r.Value, want) {
		t.Fatalf("jdocs@0: %q, want %q", r.Value, want)
	}

	// Consumer instances decode all three through the references.
	for _, c := range []struct {
		topic, format, ct, want string
		n                       int
	}{
		{"cust", "avro", ctAvro, `{"topic":"cust","key":null,"value":{"name":"Ann","address":{"city":"Oslo","zip":123}},"partition":0,"offset":0},` +
			`{"topic":"cust","key":null,"value":{"name":"Bo","address":{"city":"","zip":-1}},"partition":0,"offset":1}`, 2},
		{"porders", "protobuf", ctProtobuf, `{"topic":"porders","key":null,"value":{"id":"o1","total":{"currency":"EUR","units":"5"}},"partition":0,"offset":0}`, 1},
		{"jdocs", "jsonschema", ctJSONSchema, `{"topic":"jdocs","key":null,"value":{"addr":{"city":"Rome"}},"partition":0,"offset":0}`, 1},
	} {
		g := "/consumers/gr" + c.topic
		e.want(t, "POST", g, ctV2, fmt.Sprintf(`{"name":"c","format":%q,"auto.offset.reset":"earliest"}`, c.format), 200, "*")
		e.want(t, "POST", g+"/instances/c/subscription", ctV2, fmt.Sprintf(`{"topics":[%q]}`, c.topic), 204, "")
		if got := e.pollRecords(t, g+"/instances/c", c.ct, c.n); !sameJSON(t, "["+got+"]", "["+c.want+"]") {
			t.Fatalf("%s records:\n got %s\nwant %s", c.topic, got, c.want)
		}
	}
}
