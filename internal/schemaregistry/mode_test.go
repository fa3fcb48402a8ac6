package schemaregistry

import (
	"strings"
	"testing"
)

func TestModesAndConfig(t *testing.T) {
	b := newBroker(t)
	reg := startRegistry(t, b.Addr)
	u := reg.URL
	expect := func(method, path string, body any, status int, want string) {
		t.Helper()
		st, _, raw := call(t, method, u+path, ctJSON, body)
		if st != status || !strings.Contains(string(raw), want) {
			t.Fatalf("%s %s: %d %s, want %d containing %s", method, path, st, raw, status, want)
		}
	}
	// IMPORT: the caller chooses ids; READWRITE continues after them.
	expect("PUT", "/mode", map[string]string{"mode": "IMPORT"}, 200, `{"mode":"IMPORT"}`)
	expect("POST", "/subjects/imp/versions", map[string]any{"schema": `"string"`, "id": 100, "version": 3}, 200, `{"id":100}`)
	expect("POST", "/subjects/imp2/versions", map[string]any{"schema": `"long"`, "id": 100}, 422, `42205`)
	expect("GET", "/subjects/imp/versions/3", nil, 200, `"id":100`)
	expect("PUT", "/mode", map[string]string{"mode": "READWRITE"}, 200, `READWRITE`)
	expect("POST", "/subjects/imp2/versions", map[string]any{"schema": `"long"`}, 200, `{"id":101}`)
	// READONLY on one subject.
	expect("PUT", "/mode/imp2", map[string]string{"mode": "READONLY"}, 200, `READONLY`)
	expect("GET", "/mode/imp2", nil, 200, `READONLY`)
	expect("POST", "/subjects/imp2/versions", map[string]any{"schema": `"int"`}, 422, `42205`)
	expect("DELETE", "/mode/imp2", nil, 200, `READONLY`)
	expect("GET", "/mode/imp2", nil, 404, `40409`)
	// Subject and global config.
	expect("PUT", "/config/imp", map[string]string{"compatibility": "full"}, 200, `{"compatibility":"FULL"}`)
	expect("GET", "/config/imp", nil, 200, `{"compatibilityLevel":"FULL"}`)
	expect("GET", "/config/imp2?defaultToGlobal=true", nil, 200, `BACKWARD`)
	expect("DELETE", "/config/imp", nil, 200, `FULL`)
	expect("GET", "/config/imp", nil, 404, `40408`)
	expect("GET", "/contexts", nil, 200, `["."]`)
	expect("GET", "/schemas/types", nil, 200, `["JSON","PROTOBUF","AVRO"]`)
	expect("GET", "/schemas/ids/100/versions", nil, 200, `[{"subject":"imp","version":3}]`)
	expect("GET", "/schemas/ids/100/subjects", nil, 200, `["imp"]`)
	expect("GET", "/subjects/imp/versions/latest/schema", nil, 200, `"string"`)
	// Soft delete hides a version unless ?deleted=true.
	expect("DELETE", "/subjects/imp/versions/latest", nil, 200, `3`)
	expect("GET", "/subjects/imp/versions/3", nil, 404, `40402`)
	expect("GET", "/subjects/imp/versions/3?deleted=true", nil, 200, `"id":100`)
	expect("GET", "/subjects", nil, 200, `["imp2"]`)
	expect("GET", "/subjects?deleted=true", nil, 200, `["imp","imp2"]`)
	expect("DELETE", "/subjects/imp/versions/3?permanent=true", nil, 200, `3`)
	expect("GET", "/schemas/ids/100", nil, 404, `40403`)
}
