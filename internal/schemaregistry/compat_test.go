package schemaregistry

import (
	"fmt"
	"strings"
	"testing"
)

// compatCase is a schema history and a new schema, with the verdict the
// reference gives at each level (levels missing from want are compatible).
type compatCase struct {
	name    string
	typ     string
	history []string
	next    string
	fails   []string // levels at which next is incompatible
}

var allLevels = []string{"NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}

func rec(fields ...string) string {
	return `{"type":"record","name":"R","fields":[` + strings.Join(fields, ",") + `]}`
}

var avroCases = []compatCase{
	{name: "add field with default", history: []string{rec(`{"name":"a","type":"string"}`)},
		next: rec(`{"name":"a","type":"string"}`, `{"name":"b","type":"int","default":0}`)},
	{name: "add field without default", history: []string{rec(`{"name":"a","type":"string"}`)},
		next:  rec(`{"name":"a","type":"string"}`, `{"name":"b","type":"int"}`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "remove field with default", history: []string{rec(`{"name":"a","type":"string"}`, `{"name":"b","type":"int","default":0}`)},
		next: rec(`{"name":"a","type":"string"}`)},
	{name: "remove field without default", history: []string{rec(`{"name":"a","type":"string"}`, `{"name":"b","type":"int"}`)},
		next:  rec(`{"name":"a","type":"string"}`),
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "change type string to int", history: []string{rec(`{"name":"a","type":"string"}`)},
		next:  rec(`{"name":"a","type":"int"}`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "promote int to long", history: []string{rec(`{"name":"a","type":"int"}`)},
		next:  rec(`{"name":"a","type":"long"}`),
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "add enum symbol", history: []string{`{"type":"enum","name":"E","symbols":["A","B"]}`},
		next:  `{"type":"enum","name":"E","symbols":["A","B","C"]}`,
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "remove enum symbol", history: []string{`{"type":"enum","name":"E","symbols":["A","B"]}`},
		next:  `{"type":"enum","name":"E","symbols":["A"]}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "make field nullable union", history: []string{rec(`{"name":"a","type":"string"}`)},
		next:  rec(`{"name":"a","type":["null","string"],"default":null}`),
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "rename record", history: []string{rec(`{"name":"a","type":"string"}`)},
		next:  `{"type":"record","name":"S","fields":[{"name":"a","type":"string"}]}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	// Only the transitive levels look past the latest version: v1 had a
	// string a, v2 dropped it, v3 brings a back as an int with a default.
	{name: "transitive only", history: []string{rec(`{"name":"a","type":"string"}`), rec()},
		next:  rec(`{"name":"a","type":"int","default":0}`),
		fails: []string{"BACKWARD_TRANSITIVE", "FORWARD_TRANSITIVE", "FULL_TRANSITIVE"}},
}

func TestCompatibilityTable(t *testing.T) {
	b := newBroker(t)
	reg := startRegistry(t, b.Addr)
	u := reg.URL
	n := 0
	for _, c := range avroCases {
		for _, level := range allLevels {
			t.Run(typeOf(c.typ)+"/"+c.name+"/"+level, func(t *testing.T) {
				n++
				subject := fmt.Sprintf("c%d", n)
				put := func(l string) {
					if st, _, raw := call(t, "PUT", u+"/config/"+subject, ctJSON, map[string]string{"compatibility": l}); st != 200 {
						t.Fatalf("config: %d %s", st, raw)
					}
				}
				put("NONE")
				for _, h := range c.history {
					if st, _, raw := call(t, "POST", u+"/subjects/"+subject+"/versions", ctJSON, map[string]any{"schema": h, "schemaType": c.typ}); st != 200 {
						t.Fatalf("history: %d %s", st, raw)
					}
				}
				put(level)
				want := true
				for _, f := range c.fails {
					want = want && f != level
				}
				st, m, raw := call(t, "POST", u+"/compatibility/subjects/"+subject+"/versions?verbose=true", ctJSON, map[string]any{"schema": c.next, "schemaType": c.typ})
				if st != 200 || m["is_compatible"] != want {
					t.Fatalf("check: %d %s, want is_compatible %v", st, raw, want)
				}
				// Registration agrees with the check: 409 when incompatible.
				st, m, raw = call(t, "POST", u+"/subjects/"+subject+"/versions", ctJSON, map[string]any{"schema": c.next, "schemaType": c.typ})
				if want && st != 200 || !want && (st != 409 || m["error_code"] != 409.0) {
					t.Fatalf("register: %d %s, want compatible %v", st, raw, want)
				}
			})
		}
	}
}

func obj(closed bool, required []string, props ...string) string {
	s := `{"type":"object","properties":{` + strings.Join(props, ",") + `}`
	if closed {
		s += `,"additionalProperties":false`
	}
	if len(required) > 0 {
		s += `,"required":["` + strings.Join(required, `","`) + `"]`
	}
	return s + "}"
}

var jsonCases = []compatCase{
	{name: "add optional property, open model", typ: "JSON", history: []string{obj(false, nil, `"a":{"type":"string"}`)},
		next:  obj(false, nil, `"a":{"type":"string"}`, `"b":{"type":"integer"}`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "add optional property, closed model", typ: "JSON", history: []string{obj(true, nil, `"a":{"type":"string"}`)},
		next:  obj(true, nil, `"a":{"type":"string"}`, `"b":{"type":"integer"}`),
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "remove property, open model", typ: "JSON", history: []string{obj(false, nil, `"a":{"type":"string"}`, `"b":{"type":"integer"}`)},
		next:  obj(false, nil, `"a":{"type":"string"}`),
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "add required property", typ: "JSON", history: []string{obj(true, nil, `"a":{"type":"string"}`)},
		next:  obj(true, []string{"b"}, `"a":{"type":"string"}`, `"b":{"type":"integer"}`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "change property type", typ: "JSON", history: []string{obj(false, nil, `"a":{"type":"string"}`)},
		next:  obj(false, nil, `"a":{"type":"integer"}`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "widen integer to number", typ: "JSON", history: []string{obj(false, nil, `"a":{"type":"integer"}`)},
		next:  obj(false, nil, `"a":{"type":"number"}`),
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "add enum value", typ: "JSON", history: []string{`{"enum":["A","B"]}`},
		next:  `{"enum":["A","B","C"]}`,
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "identical but reformatted", typ: "JSON", history: []string{obj(false, nil, `"a":{"type":"string"}`)},
		next: obj(false, nil, `"a": {"type": "string"}`)},
	// Verdicts checked against the reference's JSON Schema diff cases.
	{name: "maxLength decreased", typ: "JSON", history: []string{`{"type":"string","maxLength":10}`},
		next:  `{"type":"string","maxLength":5}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "minimum increased", typ: "JSON", history: []string{`{"type":"number","minimum":1}`},
		next:  `{"type":"number","minimum":2}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "pattern added", typ: "JSON", history: []string{`{"type":"string"}`},
		next:  `{"type":"string","pattern":"^a"}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "multipleOf 2 to 4", typ: "JSON", history: []string{`{"type":"integer","multipleOf":2}`},
		next:  `{"type":"integer","multipleOf":4}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "const changed", typ: "JSON", history: []string{`{"properties":{"c":{"const":"red"}}}`},
		next:  `{"properties":{"c":{"const":"blue"}}}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "additionalProperties narrowed", typ: "JSON", history: []string{`{"type":"object","additionalProperties":{"type":"number"}}`},
		next:  `{"type":"object","additionalProperties":{"type":"integer"}}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "property added, covered by additionalProperties", typ: "JSON",
		history: []string{`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`},
		next:    `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":{"type":"string"}}`},
	{name: "oneOf branch removed", typ: "JSON", history: []string{`{"oneOf":[{"type":"string"},{"type":"integer"}]}`},
		next:  `{"oneOf":[{"type":"string"}]}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "allOf to anyOf", typ: "JSON", history: []string{`{"allOf":[{"type":"string"},{"maxLength":3}]}`},
		next:  `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "moved to a local $ref", typ: "JSON", history: []string{`{"type":"string"}`},
		next: `{"$ref":"#/definitions/s","definitions":{"s":{"type":"string"}}}`},
	{name: "type changed behind a local $ref", typ: "JSON",
		history: []string{`{"type":"array","items":{"$ref":"#/definitions/s"},"definitions":{"s":{"type":"string"}}}`},
		next:    `{"type":"array","items":{"$ref":"#/definitions/s"},"definitions":{"s":{"type":"number"}}}`,
		fails:   []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	// Without $schema a schema is draft-07, as for the reference: a list
	// of items is a tuple (it is invalid in 2020-12).
	{name: "tuple item type changed (draft-07 default)", typ: "JSON", history: []string{`{"type":"array","items":[{"type":"string"}]}`},
		next:  `{"type":"array","items":[{"type":"number"}]}`,
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	// Deliberately as lenient as the reference: requiring a property the
	// schema does not define is not reported.
	{name: "undefined property required", typ: "JSON", history: []string{obj(false, nil, `"a":{"type":"string"}`)},
		next: obj(false, []string{"zzz"}, `"a":{"type":"string"}`)},
}

func init() { avroCases = append(avroCases, jsonCases...) }

func proto(fields string) string {
	return "syntax = \"proto3\";\npackage p;\nmessage M {\n" + fields + "\n}\n"
}

var protoCases = []compatCase{
	{name: "add field", typ: "PROTOBUF", history: []string{proto(`string a = 1;`)},
		next: proto(`string a = 1; int32 b = 2;`)},
	{name: "remove field", typ: "PROTOBUF", history: []string{proto(`string a = 1; int32 b = 2;`)},
		next: proto(`string a = 1;`)},
	{name: "field number reused with another type", typ: "PROTOBUF", history: []string{proto(`string a = 1; int32 b = 2;`)},
		next:  proto(`string a = 1; double c = 2;`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "int32 to int64 (same wire type)", typ: "PROTOBUF", history: []string{proto(`int32 a = 1;`)},
		next: proto(`int64 a = 1;`)},
	{name: "rename field", typ: "PROTOBUF", history: []string{proto(`string a = 1;`)},
		next: proto(`string renamed = 1;`)},
	{name: "remove message", typ: "PROTOBUF", history: []string{proto(`string a = 1;`) + "message N { int32 x = 1; }\n"},
		next:  proto(`string a = 1;`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	// The reference checks labels only when both sides write one, and
	// never for strings, bytes and messages: a proto3 string turned
	// repeated is compatible there.
	{name: "singular to repeated string", typ: "PROTOBUF", history: []string{proto(`string a = 1;`)},
		next: proto(`repeated string a = 1;`)},
	{name: "optional to repeated int32 (proto2)", typ: "PROTOBUF", history: []string{proto2(`optional int32 a = 1;`)},
		next:  proto2(`repeated int32 a = 1;`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "singular to repeated message", typ: "PROTOBUF", history: []string{proto(`N a = 1;`) + "message N { int32 x = 1; }\n"},
		next: proto(`repeated N a = 1;`) + "message N { int32 x = 1; }\n"},
	{name: "int32 to enum", typ: "PROTOBUF", history: []string{proto(`int32 a = 1;`)},
		next: proto(`E a = 1;`) + "enum E { Z = 0; }\n"},
	{name: "map to repeated message", typ: "PROTOBUF", history: []string{proto(`map<string, int32> a = 1;`)},
		next:  proto(`repeated N a = 1;`) + "message N { string key = 1; int32 value = 2; }\n",
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "field into a new oneof with a new field", typ: "PROTOBUF", history: []string{proto(`string a = 1;`)},
		next: proto(`oneof o { string a = 1; int32 b = 2; }`),
		// Read the other way, b leaves a oneof that partly survives.
		fails: []string{"FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "two fields into one oneof", typ: "PROTOBUF", history: []string{proto(`string a = 1; int32 b = 2;`)},
		next:  proto(`oneof o { string a = 1; int32 b = 2; }`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "field removed from a oneof", typ: "PROTOBUF", history: []string{proto(`oneof o { string a = 1; int32 b = 2; }`)},
		next:  proto(`oneof o { string a = 1; }`),
		fails: []string{"BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}},
	{name: "whole oneof removed", typ: "PROTOBUF", history: []string{proto(`string a = 1; oneof o { string b = 2; int32 c = 3; }`)},
		next: proto(`string a = 1;`)},
}

func proto2(fields string) string {
	return "syntax = \"proto2\";\npackage p;\nmessage M {\n" + fields + "\n}\n"
}

func init() { avroCases = append(avroCases, protoCases...) }
