package schemaregistry

import (
	"fmt"
	"strings"
	"testing"
)

// TestBadInput checks the status and error code of each refused request,
// and that none of them stored anything.
func TestBadInput(t *testing.T) {
	b := newBroker(t)
	reg := startRegistry(t, b.Addr)
	u := reg.URL
	if st, m, _ := call(t, "POST", u+"/subjects/s/versions", ctJSON, map[string]any{"schema": userV1}); st != 200 || m["id"] != 1.0 {
		t.Fatalf("register: %d %v", st, m)
	}
	cases := []struct {
		name, method, path, ct string
		body                   any
		status, code           int
		msg                    string
	}{
		{"invalid avro: syntax, with position", "POST", "/subjects/s/versions", ctJSON,
			map[string]any{"schema": "{\"type\":\n \"record\",, }"}, 422, 42201, "line 2, column"},
		{"invalid avro: unknown type", "POST", "/subjects/s/versions", ctJSON,
			map[string]any{"schema": `{"type":"record","name":"R","fields":[{"name":"a","type":"nope"}]}`}, 422, 42201, "nope"},
		{"invalid JSON Schema", "POST", "/subjects/s/versions", ctJSON,
			map[string]any{"schema": `{"type": 5}`, "schemaType": "JSON"}, 422, 42201, "JSON"},
		{"invalid Protobuf, with position", "POST", "/subjects/s/versions", ctJSON,
			map[string]any{"schema": "syntax = \"proto3\";\nmessage M {\n  strin a = 1;\n}", "schemaType": "PROTOBUF"}, 422, 42201, ":3:"},
		{"unknown schema type", "POST", "/subjects/s/versions", ctJSON,
			map[string]any{"schema": `"string"`, "schemaType": "XML"}, 422, 42201, "XML"},
		{"empty schema", "POST", "/subjects/s/versions", ctJSON, map[string]any{"schema": ""}, 422, 42201, ""},
		{"missing reference", "POST", "/subjects/s2/versions", ctJSON,
			map[string]any{"schema": `"t.User"`, "references": []map[string]any{{"name": "t.User", "subject": "nope", "version": 1}}}, 422, 42201, "nope"},
		{"malformed JSON", "POST", "/subjects/s/versions", ctJSON, `{"schema": `, 400, 400, ""},
		{"wrong field type", "POST", "/subjects/s/versions", ctJSON, `{"schema": 5}`, 422, 422, ""},
		{"oversized body", "POST", "/subjects/s/versions", ctJSON,
			fmt.Sprintf(`{"schema": %q}`, strings.Repeat(" ", 70<<10)+`"string"`), 413, 413, ""},
		{"wrong content type", "POST", "/subjects/s/versions", "text/plain", map[string]any{"schema": `"string"`}, 415, 415, ""},
		{"incompatible", "POST", "/subjects/s/versions", ctJSON,
			map[string]any{"schema": `{"type":"record","name":"User","namespace":"t","fields":[{"name":"name","type":"int"}]}`}, 409, 409, "incompatible"},
		{"unknown subject", "GET", "/subjects/nope/versions", "", nil, 404, 40401, "Subject 'nope' not found."},
		{"unknown subject version", "GET", "/subjects/nope/versions/1", "", nil, 404, 40401, ""},
		{"unknown version", "GET", "/subjects/s/versions/7", "", nil, 404, 40402, "Version 7 not found."},
		{"invalid version", "GET", "/subjects/s/versions/x", "", nil, 422, 42202, ""},
		{"version zero", "GET", "/subjects/s/versions/0", "", nil, 422, 42202, ""},
		{"unknown id", "GET", "/schemas/ids/99", "", nil, 404, 40403, ""},
		{"lookup unknown schema", "POST", "/subjects/s", ctJSON, map[string]any{"schema": `"string"`}, 404, 40403, ""},
		{"lookup unknown subject", "POST", "/subjects/nope", ctJSON, map[string]any{"schema": `"string"`}, 404, 40401, ""},
		{"bad compatibility level", "PUT", "/config", ctJSON, map[string]any{"compatibility": "SIDEWAYS"}, 422, 42203, ""},
		{"bad mode", "PUT", "/mode", ctJSON, map[string]any{"mode": "SOMETIMES"}, 422, 42204, ""},
		{"import over existing subjects", "PUT", "/mode", ctJSON, map[string]any{"mode": "IMPORT"}, 422, 42205, ""},
		{"subject config not set", "GET", "/config/s", "", nil, 404, 40408, ""},
		{"permanent delete first", "DELETE", "/subjects/s?permanent=true", "", nil, 404, 40405, ""},
		{"permanent version delete first", "DELETE", "/subjects/s/versions/1?permanent=true", "", nil, 404, 40407, ""},
		{"id outside IMPORT mode", "POST", "/subjects/s/versions", ctJSON, map[string]any{"schema": `"string"`, "id": 50}, 422, 42205, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, m, raw := call(t, c.method, u+c.path, c.ct, c.body)
			if st != c.status || m["error_code"] != float64(c.code) || !strings.Contains(fmt.Sprint(m["message"]), c.msg) {
				t.Errorf("got %d %s, want %d error_code %d containing %q", st, raw, c.status, c.code, c.msg)
			}
		})
	}
	// Nothing was stored by the refused requests.
	if st, _, raw := call(t, "GET", u+"/subjects?deleted=true", "", nil); st != 200 || strings.TrimSpace(string(raw)) != `["s"]` {
		t.Errorf("subjects: %d %s", st, raw)
	}
	if _, _, raw := call(t, "GET", u+"/subjects/s/versions", "", nil); strings.TrimSpace(string(raw)) != `[1]` {
		t.Errorf("versions: %s", raw)
	}
	if _, m, _ := call(t, "GET", u+"/config", "", nil); m["compatibilityLevel"] != "BACKWARD" {
		t.Errorf("config: %v", m)
	}
	if _, m, _ := call(t, "GET", u+"/mode", "", nil); m["mode"] != "READWRITE" {
		t.Errorf("mode: %v", m)
	}
	if _, _, raw := call(t, "GET", u+"/schemas/ids/2", "", nil); !strings.Contains(string(raw), "40403") {
		t.Errorf("id 2 exists: %s", raw)
	}
}
