package schemaregistry

import (
	"strings"
	"testing"
)

func TestReferences(t *testing.T) {
	b := newBroker(t)
	reg := startRegistry(t, b.Addr)
	u := reg.URL
	cases := []struct{ typ, dep, name, main string }{
		{"AVRO", `{"type":"record","name":"Addr","namespace":"t","fields":[{"name":"city","type":"string"}]}`, "t.Addr",
			`{"type":"record","name":"Person","namespace":"t","fields":[{"name":"home","type":"t.Addr"}]}`},
		{"JSON", `{"type":"object","properties":{"city":{"type":"string"}}}`, "addr.json",
			`{"type":"object","properties":{"home":{"$ref":"addr.json"}}}`},
		{"PROTOBUF", "syntax = \"proto3\";\npackage t;\nmessage Addr { string city = 1; }", "addr.proto",
			"syntax = \"proto3\";\npackage t;\nimport \"addr.proto\";\nmessage Person { Addr home = 1; }"},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			dep, main := "dep-"+c.typ, "main-"+c.typ
			st, _, raw := call(t, "POST", u+"/subjects/"+dep+"/versions", ctJSON, map[string]any{"schema": c.dep, "schemaType": c.typ})
			if st != 200 {
				t.Fatalf("dep: %d %s", st, raw)
			}
			refs := []map[string]any{{"name": c.name, "subject": dep, "version": 1}}
			// Without the reference the schema does not parse.
			if st, m, raw := call(t, "POST", u+"/subjects/"+main+"/versions", ctJSON, map[string]any{"schema": c.main, "schemaType": c.typ}); st != 422 || m["error_code"] != 42201.0 {
				t.Fatalf("without refs: %d %s", st, raw)
			}
			st, m, raw := call(t, "POST", u+"/subjects/"+main+"/versions", ctJSON, map[string]any{"schema": c.main, "schemaType": c.typ, "references": refs})
			if st != 200 {
				t.Fatalf("main: %d %s", st, raw)
			}
			mainID := m["id"]
			_, _, raw = call(t, "GET", u+"/subjects/"+dep+"/versions/1/referencedby", "", nil)
			if strings.TrimSpace(string(raw)) != "["+jsonInt(int(mainID.(float64)))+"]" {
				t.Errorf("referencedby: %s", raw)
			}
			_, m, raw = call(t, "GET", u+"/schemas/ids/"+jsonInt(int(mainID.(float64))), "", nil)
			if !strings.Contains(string(raw), `"references":[{"name":"`+c.name) || (c.typ != "AVRO") != (m["schemaType"] == c.typ) {
				t.Errorf("by id: %s", raw)
			}
			if st, m, raw := call(t, "DELETE", u+"/subjects/"+dep+"/versions/1", "", nil); st != 422 || m["error_code"] != 42206.0 {
				t.Errorf("delete referenced: %d %s", st, raw)
			}
		})
	}
}
