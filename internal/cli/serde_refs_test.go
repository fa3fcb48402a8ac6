package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// writeTree writes files (names may have directories) under a new
// temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantSubject checks the latest version of subject: its version number and
// references.
func wantSubject(t *testing.T, cl *sr.Client, subject string, version int, refs ...sr.SchemaReference) sr.SubjectSchema {
	t.Helper()
	ss, err := cl.SchemaByVersion(context.Background(), subject, -1)
	if err != nil {
		t.Fatalf("subject %s: %v", subject, err)
	}
	if ss.Version != version {
		t.Errorf("subject %s: latest version %d, want %d", subject, ss.Version, version)
	}
	if len(refs) == 0 {
		refs = nil
	}
	if got := ss.References; !reflect.DeepEqual(got, refs) {
		t.Errorf("subject %s: references %+v, want %+v", subject, got, refs)
	}
	return ss
}

// wireValue is id in wire format followed by rest.
func wireValue(id int, rest ...byte) []byte {
	b := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(id))
	return append(b, rest...)
}

func TestSerdeProtobufReferencesAndMessage(t *testing.T) {
	addr, reg := startTestBrokerRegistry(t)
	cl, err := sr.NewClient(sr.URLs(reg))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{
		"order.proto": `syntax = "proto3";
package shop;
import "common/money.proto";
import "google/protobuf/timestamp.proto";
message Order {
  map<string, int32> counts = 1;
  message Line { int32 qty = 1; common.Money price = 2; }
  Line line = 2;
  google.protobuf.Timestamp at = 3;
}
message Line { string sku = 1; }
message Ref { string name = 1; }
`,
		"common/money.proto": `syntax = "proto3";
package common;
import "common/currency.proto";
message Money { int64 units = 1; Currency currency = 2; }
`,
		"common/currency.proto": `syntax = "proto3";
package common;
enum Currency { EUR = 0; USD = 1; }
`,
		"bad/missing.proto": `syntax = "proto3";
import "other.proto";
message M { string a = 1; }
`,
	})
	mustRun(t, "", "topic", "create", "orders", "-b", addr)
	produce := func(input string, extra ...string) (string, error) {
		_, stderr, err := runCLI(t, input, append([]string{"produce", "orders", "-b", addr, "--registry", reg,
			"--value-format", "protobuf", "--value-schema", filepath.Join(dir, "order.proto")}, extra...)...)
		return stderr, err
	}
	// A nested message: indexes [0, 0] (the map field's entry message is
	// not counted), its field of an imported type.
	line := `{"qty":3,"price":{"units":"5","currency":"USD"}}`
	if _, err := produce(line+"\n", "--value-message", "shop.Order.Line"); err != nil {
		t.Fatal(err)
	}
	// The imports registered first, dependencies first, under their
	// import paths; the built-in timestamp.proto is no reference.
	wantSubject(t, cl, "common/currency.proto", 1)
	wantSubject(t, cl, "common/money.proto", 1, sr.SchemaReference{Name: "common/currency.proto", Subject: "common/currency.proto", Version: 1})
	id := wantSubject(t, cl, "orders-value", 1, sr.SchemaReference{Name: "common/money.proto", Subject: "common/money.proto", Version: 1}).ID

	// The simple name of a single message, and a full name with a
	// leading dot. Nothing is registered again.
	if _, err := produce(`{"name":"ab"}`+"\n", "--value-message", "Ref"); err != nil {
		t.Fatal(err)
	}
	if _, err := produce(`{"sku":"x"}`+"\n", "--value-message", ".shop.Line"); err != nil {
		t.Fatal(err)
	}
	if _, err := produce(`{"line":{"qty":1}}` + "\n"); err != nil { // the first message by default
		t.Fatal(err)
	}
	wantSubject(t, cl, "common/money.proto", 1, sr.SchemaReference{Name: "common/currency.proto", Subject: "common/currency.proto", Version: 1})
	wantSubject(t, cl, "orders-value", 1, sr.SchemaReference{Name: "common/money.proto", Subject: "common/money.proto", Version: 1})

	want := [][]byte{
		wireValue(id, 0x04, 0, 0, 0x08, 3, 0x12, 4, 0x08, 5, 0x10, 1), // [0,0]; qty 3; price {units 5, currency USD}
		wireValue(id, 0x02, 0x04, 0x0a, 2, 'a', 'b'),                  // [2]; name "ab"
		wireValue(id, 0x02, 0x02, 0x0a, 1, 'x'),                       // [1]; sku "x"
		wireValue(id, 0, 0x12, 2, 0x08, 1),                            // [0] as a single 0; line {qty 1}
	}
	for i, r := range rawRecords(t, addr, "orders", 4) {
		if !bytes.Equal(r.Value, want[i]) {
			t.Errorf("record %d: % x, want % x", i, r.Value, want[i])
		}
	}
	out := mustRun(t, "", "consume", "orders", "-b", addr, "--registry", reg, "--from-beginning", "-c", "4", "--value-format", "protobuf")
	if wantOut := line + "\n" + `{"name":"ab"}` + "\n" + `{"sku":"x"}` + "\n" + `{"line":{"qty":1}}` + "\n"; out != wantOut {
		t.Errorf("consumed\n%s\nwant\n%s", out, wantOut)
	}

	// The key side: --key-message, the imports registered for TOPIC-key.
	mustRun(t, "", "topic", "create", "keyed", "-b", addr)
	mustRun(t, `{"name":"k"}|v`+"\n", "produce", "keyed", "-b", addr, "--registry", reg, "-K", "|",
		"--key-format", "protobuf", "--key-schema", filepath.Join(dir, "order.proto"), "--key-message", "shop.Ref")
	kid := wantSubject(t, cl, "keyed-key", 1, sr.SchemaReference{Name: "common/money.proto", Subject: "common/money.proto", Version: 1}).ID
	if kid != id {
		t.Errorf("the same schema under keyed-key: id %d, want %d", kid, id)
	}
	if r := rawRecords(t, addr, "keyed", 1)[0]; !bytes.Equal(r.Key, wireValue(id, 0x02, 0x04, 0x0a, 1, 'k')) || string(r.Value) != "v" {
		t.Errorf("keyed record: key % x value %q", r.Key, r.Value)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--value-message", "Nope"}, 1,
			"--value-message Nope: no such message in the schema (its messages: shop.Order, shop.Order.Line, shop.Line, shop.Ref)"},
		{[]string{"--value-message", "Line"}, 1,
			"--value-message Line: more than one message is called Line (shop.Order.Line, shop.Line); give the full name"},
		{[]string{"--value-message", "Order.Line"}, 1,
			"--value-message Order.Line: no such message in the schema (its messages: shop.Order, shop.Order.Line, shop.Line, shop.Ref)"},
		{[]string{"--value-schema", filepath.Join(dir, "bad", "missing.proto")}, 1,
			"--value-schema " + filepath.Join(dir, "bad", "missing.proto") + `: import "other.proto": no file ` +
				filepath.Join(dir, "bad", "other.proto") + ", and no --value-refs entry named other.proto"},
	} {
		_, err := produce(`{}`+"\n", tc.args...)
		if exitCode(err) != tc.code || err.Error() != tc.msg {
			t.Errorf("%v: %v (exit %d), want %q (exit %d)", tc.args, err, exitCode(err), tc.msg, tc.code)
		}
	}
	// An unknown message registers nothing under the topic's subject.
	mustRun(t, "", "topic", "create", "none", "-b", addr)
	_, _, err = runCLI(t, "{}\n", "produce", "none", "-b", addr, "--registry", reg, "--value-format", "protobuf",
		"--value-schema", filepath.Join(dir, "order.proto"), "--value-message", "Nope")
	if exitCode(err) != 1 {
		t.Errorf("unknown message: %v", err)
	}
	if _, err := cl.SchemaByVersion(context.Background(), "none-value", -1); srCode(err) != 40401 {
		t.Errorf("none-value after an unknown message: %v, want 40401", err)
	}
	// --value-message is for Protobuf only.
	_, _, err = runCLI(t, "{}\n", "produce", "orders", "-b", addr, "--registry", reg,
		"--value-format", "avro", "--value-schema-id", strconv.Itoa(id), "--value-message", "X")
	if want := "--value-message needs --value-format protobuf"; exitCode(err) != 2 || err.Error() != want {
		t.Errorf("avro with --value-message: %v, want usage error %q", err, want)
	}
	// A missing import that --value-refs gives is no error: the registered
	// subject is used.
	ss, err := cl.CreateSchema(context.Background(), "other-value", sr.Schema{Type: sr.TypeProtobuf,
		Schema: "syntax = \"proto3\";\nmessage O { string o = 1; }\n"})
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "topic", "create", "m", "-b", addr)
	mustRun(t, `{"a":"z"}`+"\n", "produce", "m", "-b", addr, "--registry", reg, "--value-format", "protobuf",
		"--value-schema", filepath.Join(dir, "bad", "missing.proto"), "--value-refs", `[{"name":"other.proto","subject":"other-value"}]`)
	wantSubject(t, cl, "m-value", 1, sr.SchemaReference{Name: "other.proto", Subject: "other-value", Version: ss.Version})
	out = mustRun(t, "", "consume", "m", "-b", addr, "--registry", reg, "--from-beginning", "-c", "1", "--value-format", "protobuf")
	if out != `{"a":"z"}`+"\n" {
		t.Errorf("consumed %q", out)
	}
}

func TestSerdeAvroReferences(t *testing.T) {
	addr, reg := startTestBrokerRegistry(t)
	cl, err := sr.NewClient(sr.URLs(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// money.Amount is registered already, in two versions; --value-refs
	// without a version takes the latest.
	for _, text := range []string{
		`{"type":"record","name":"Amount","namespace":"money","fields":[{"name":"cents","type":"long"}]}`,
		`{"type":"record","name":"Amount","namespace":"money","fields":[{"name":"cents","type":"long"},{"name":"cur","type":"string","default":"EUR"}]}`,
	} {
		if _, err := cl.CreateSchema(ctx, "amount-value", sr.Schema{Schema: text}); err != nil {
			t.Fatal(err)
		}
	}
	dir := writeTree(t, map[string]string{
		// Customer is shop.Customer (the enclosing namespace).
		"order.avsc":    `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"customer","type":"Customer"},{"name":"total","type":"money.Amount"}]}`,
		"customer.avsc": `{"type":"record","name":"Customer","namespace":"shop","fields":[{"name":"name","type":"string"},{"name":"addr","type":"Address"}]}`,
		"address.avsc":  `{"type":"record","name":"shop.Address","fields":[{"name":"city","type":"string"}]}`,
		"bad/bad.avsc":  `{"type":"record","name":"Bad","fields":[{"name":"x","type":{"type":"array","items":"shop.Nope"}}]}`,
	})
	mustRun(t, "", "topic", "create", "orders", "-b", addr)
	args := []string{"produce", "orders", "-b", addr, "--registry", reg, "--value-format", "avro",
		"--value-schema", filepath.Join(dir, "order.avsc"), "--value-refs", `[{"name":"money.Amount","subject":"amount-value"}]`}
	line := `{"customer":{"name":"al","addr":{"city":"x"}},"total":{"cents":5,"cur":"USD"}}`
	mustRun(t, line+"\n", args...)
	mustRun(t, line+"\n", args...) // again: nothing new registered
	wantSubject(t, cl, "shop.Address", 1)
	wantSubject(t, cl, "shop.Customer", 1, sr.SchemaReference{Name: "shop.Address", Subject: "shop.Address", Version: 1})
	id := wantSubject(t, cl, "orders-value", 1,
		sr.SchemaReference{Name: "money.Amount", Subject: "amount-value", Version: 2},
		sr.SchemaReference{Name: "shop.Customer", Subject: "shop.Customer", Version: 1}).ID
	want := wireValue(id, 4, 'a', 'l', 2, 'x', 10, 6, 'U', 'S', 'D')
	for i, r := range rawRecords(t, addr, "orders", 2) {
		if !bytes.Equal(r.Value, want) {
			t.Errorf("record %d: % x, want % x", i, r.Value, want)
		}
	}
	out := mustRun(t, "", "consume", "orders", "-b", addr, "--registry", reg, "--from-beginning", "-c", "2", "--value-format", "avro")
	if out != line+"\n"+line+"\n" {
		t.Errorf("consumed\n%s", out)
	}

	bad := filepath.Join(dir, "bad", "bad.avsc")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--value-schema", bad}, 1,
			"--value-schema " + bad + ": type shop.Nope is not defined there, in a .avsc file in " + filepath.Join(dir, "bad") + ", or by a --value-refs entry"},
		{[]string{"--value-schema", bad, "--value-refs", `{"name":"x"}`}, 2,
			`--value-refs: want a JSON array like [{"name":"x.proto","subject":"x.proto","version":1}]: got a JSON object`},
		{[]string{"--value-schema", bad, "--value-refs", `[{"name":"x","subject":"s","version":"1"}]`}, 2,
			`--value-refs: want a JSON array like [{"name":"x.proto","subject":"x.proto","version":1}]: field version: got a JSON string`},
		{[]string{"--value-schema", bad, "--value-refs", `[{"name":"x","subj":"s"}]`}, 2,
			`--value-refs: want a JSON array like [{"name":"x.proto","subject":"x.proto","version":1}]: json: unknown field "subj"`},
		{[]string{"--value-schema", bad, "--value-refs", `[{"name":"shop.Nope"}]`}, 2, "--value-refs: entry 0 needs a name and a subject"},
		{[]string{"--value-schema", bad, "--value-refs", `[{"name":"shop.Nope","subject":"s","version":0}]`}, 2,
			"--value-refs: entry 0: version 0, want a positive number or -1 (latest)"},
		{[]string{"--value-schema-id", strconv.Itoa(id), "--value-refs", `[{"name":"a","subject":"b"}]`}, 2,
			"--value-refs needs --value-schema FILE (a registered schema has its references)"},
		{[]string{"--value-schema", bad, "--value-refs", `[{"name":"shop.Nope","subject":"nope"}]`}, 1,
			"--value-refs shop.Nope: subject nope: Subject 'nope' not found (40401)"},
	} {
		_, _, err := runCLI(t, "{}\n", append([]string{"produce", "orders", "-b", addr, "--registry", reg, "--value-format", "avro"}, tc.args...)...)
		if exitCode(err) != tc.code || err == nil || err.Error() != tc.msg {
			t.Errorf("%v: %v (exit %d), want %q (exit %d)", tc.args, err, exitCode(err), tc.msg, tc.code)
		}
	}
}

func TestSerdeJSONSchemaReferences(t *testing.T) {
	addr, reg := startTestBrokerRegistry(t)
	cl, err := sr.NewClient(sr.URLs(reg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateSchema(context.Background(), "ids", sr.Schema{Type: sr.TypeJSON, Schema: `{"type":"integer","minimum":1}`}); err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{
		"person.json":  `{"type":"object","properties":{"home":{"$ref":"address.json"},"id":{"$ref":"id.json"},"self":{"$ref":"#/definitions/x"}},"required":["home","id"],"additionalProperties":false,"definitions":{"x":{"type":"string"}}}`,
		"address.json": `{"type":"object","properties":{"city":{"type":"string"},"zip":{"$ref":"zip.json#/definitions/zip"}},"required":["city"]}`,
		"zip.json":     `{"definitions":{"zip":{"type":"string","pattern":"^[0-9]{5}$"}}}`,
	})
	mustRun(t, "", "topic", "create", "people", "-b", addr)
	args := []string{"produce", "people", "-b", addr, "--registry", reg, "--value-format", "json-schema",
		"--value-schema", filepath.Join(dir, "person.json"), "--value-refs", `[{"name":"id.json","subject":"ids","version":1}]`}
	line := `{"home":{"city":"Paris","zip":"75001"},"id":7,"self":"me"}`
	mustRun(t, line+"\n", args...)
	wantSubject(t, cl, "zip.json", 1)
	wantSubject(t, cl, "address.json", 1, sr.SchemaReference{Name: "zip.json", Subject: "zip.json", Version: 1})
	id := wantSubject(t, cl, "people-value", 1,
		sr.SchemaReference{Name: "id.json", Subject: "ids", Version: 1},
		sr.SchemaReference{Name: "address.json", Subject: "address.json", Version: 1}).ID
	r := rawRecords(t, addr, "people", 1)[0]
	if want := wireValue(id, []byte(line)...); !bytes.Equal(r.Value, want) {
		t.Errorf("value %q, want %q", r.Value, want)
	}
	out := mustRun(t, "", "consume", "people", "-b", addr, "--registry", reg, "--from-beginning", "-c", "1", "--value-format", "json-schema")
	if out != line+"\n" {
		t.Errorf("consumed %q", out)
	}
	// The referenced schemas check the input.
	for _, tc := range []struct{ line, msg string }{
		{`{"home":{"city":"Paris","zip":"750"},"id":7}`, `line 1: value: does not match the schema: at '/home/zip': '750' does not match pattern '^[0-9]{5}$'`},
		{`{"home":{"city":"Paris"},"id":0}`, `line 1: value: does not match the schema: at '/id': minimum: got 0, want 1`},
	} {
		_, _, err := runCLI(t, tc.line+"\n", args...)
		if exitCode(err) != 1 || err.Error() != tc.msg {
			t.Errorf("%s: %v, want %q", tc.line, err, tc.msg)
		}
	}
	// A $ref to a file that is not there.
	dir2 := writeTree(t, map[string]string{"p.json": `{"properties":{"a":{"$ref":"sub/gone.json"}}}`})
	_, _, err = runCLI(t, "{}\n", "produce", "people", "-b", addr, "--registry", reg, "--value-format", "json-schema",
		"--value-schema", filepath.Join(dir2, "p.json"))
	want := "--value-schema " + filepath.Join(dir2, "p.json") + `: $ref "sub/gone.json": no file ` + filepath.Join(dir2, "sub", "gone.json") +
		", and no --value-refs entry named sub/gone.json"
	if err == nil || err.Error() != want || !strings.HasPrefix(err.Error(), "--value-schema ") {
		t.Errorf("missing $ref: %v, want %q", err, want)
	}
}
