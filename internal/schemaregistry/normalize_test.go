package schemaregistry

import (
	"testing"
)

// TestNormalize: ?normalize=true on register, lookup and compatibility,
// and the normalize field of /config, with each type's normalization: two
// spellings of one schema get one id when normalized, two ids when not.
func TestNormalize(t *testing.T) {
	b := newBroker(t)
	reg := startRegistry(t, b.Addr)
	u := reg.URL
	post := func(path string, body map[string]any, wantStatus int, want map[string]any) {
		t.Helper()
		st, m, raw := call(t, "POST", u+path, ctJSON, body)
		if st != wantStatus {
			t.Fatalf("POST %s: %d %s", path, st, raw)
		}
		for k, v := range want {
			if m[k] != v {
				t.Fatalf("POST %s: %s, want %s=%v", path, raw, k, v)
			}
		}
	}
	get := func(path, want string) {
		t.Helper()
		if st, _, raw := call(t, "GET", u+path, "", nil); st != 200 || string(raw) != want {
			t.Fatalf("GET %s: %d %q, want %q", path, st, raw, want)
		}
	}

	// Avro: attribute order, namespace spelled in the name, a primitive
	// as {"type": ...}, property order.
	avroA := `{"namespace":"n","name":"R","type":"record","fields":[{"type":"string","name":"a","doc":"d"},{"name":"x","type":"double","default":1}],"x-b":1,"x-a":2}`
	avroB := `{"type":"record","name":"n.R","fields":[{"name":"a","type":{"type":"string"},"doc":"d"},{"name":"x","type":"double","default":1.0}],"x-a":2,"x-b":1}`
	const avroNormal = `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"string","doc":"d"},{"name":"x","type":"double","default":1.0}],"x-a":2,"x-b":1}`
	post("/subjects/avro/versions?normalize=true", map[string]any{"schema": avroA}, 200, map[string]any{"id": 1.0})
	post("/subjects/avro/versions?normalize=true", map[string]any{"schema": avroB}, 200, map[string]any{"id": 1.0})
	get("/schemas/ids/1/schema", avroNormal)
	get("/subjects/avro/versions", "[1]\n")
	post("/subjects/avro?normalize=true", map[string]any{"schema": avroB}, 200, map[string]any{"id": 1.0, "version": 1.0})
	post("/subjects/avro", map[string]any{"schema": avroB}, 404, map[string]any{"error_code": 40403.0})
	post("/compatibility/subjects/avro/versions/latest?normalize=true", map[string]any{"schema": avroB}, 200, map[string]any{"is_compatible": true})
	// Not normalized, the other spelling is another schema.
	post("/subjects/avro-raw/versions", map[string]any{"schema": avroB}, 200, map[string]any{"id": 2.0})
	// A version registered before normalization was asked for is found
	// by a normalized lookup and not registered again.
	post("/subjects/avro-raw?normalize=true", map[string]any{"schema": avroA}, 200, map[string]any{"id": 2.0, "version": 1.0})
	post("/subjects/avro-raw/versions?normalize=true", map[string]any{"schema": avroA}, 200, map[string]any{"id": 2.0})
	get("/subjects/avro-raw/versions", "[1]\n")

	// JSON Schema: keys sorted at every depth.
	jsonA := `{"type":"object","properties":{"b":{"type":"string","maxLength":3},"a":{"type":"integer"}}}`
	jsonB := `{"properties":{"a":{"type":"integer"},"b":{"maxLength":3,"type":"string"}},"type":"object"}`
	post("/subjects/json/versions?normalize=true", map[string]any{"schema": jsonA, "schemaType": "JSON"}, 200, map[string]any{"id": 3.0})
	post("/subjects/json/versions?normalize=true", map[string]any{"schema": jsonB, "schemaType": "JSON"}, 200, map[string]any{"id": 3.0})
	get("/schemas/ids/3/schema", jsonB)
	post("/subjects/json-raw/versions", map[string]any{"schema": jsonA, "schemaType": "JSON"}, 200, map[string]any{"id": 4.0})

	// Protobuf: fields and imports in another order.
	protoA := "syntax = \"proto3\";\npackage p;\nmessage M { int32 b = 2; string a = 1; }\n"
	protoB := "syntax = \"proto3\";\npackage p;\nmessage M { string a = 1; int32 b = 2; }\n"
	post("/subjects/proto/versions?normalize=true", map[string]any{"schema": protoA, "schemaType": "PROTOBUF"}, 200, map[string]any{"id": 5.0})
	post("/subjects/proto/versions?normalize=true", map[string]any{"schema": protoB, "schemaType": "PROTOBUF"}, 200, map[string]any{"id": 5.0})
	get("/schemas/ids/5/schema", "syntax = \"proto3\";\npackage p;\n\nmessage M {\n  string a = 1;\n  int32 b = 2;\n}\n")
	post("/subjects/proto-raw/versions", map[string]any{"schema": protoA, "schemaType": "PROTOBUF"}, 200, map[string]any{"id": 6.0})

	// The normalize config: set on a subject alone it merges with the
	// global level; registrations there normalize without the parameter.
	if st, _, raw := call(t, "PUT", u+"/config/cfg", ctJSON, map[string]any{"normalize": true}); st != 200 || string(raw) != `{"normalize":true}`+"\n" {
		t.Fatalf("PUT config: %d %s", st, raw)
	}
	get("/config/cfg", `{"normalize":true}`+"\n")
	get("/config/cfg?defaultToGlobal=true", `{"compatibilityLevel":"BACKWARD","normalize":true}`+"\n")
	get("/config", `{"compatibilityLevel":"BACKWARD"}`+"\n")
	if st, _, raw := call(t, "PUT", u+"/config/cfg", ctJSON, map[string]any{"compatibility": "FULL"}); st != 200 || string(raw) != `{"compatibility":"FULL","normalize":true}`+"\n" {
		t.Fatalf("PUT config level: %d %s", st, raw)
	}
	post("/subjects/cfg/versions", map[string]any{"schema": avroB}, 200, map[string]any{"id": 1.0})
	post("/subjects/cfg", map[string]any{"schema": avroA}, 200, map[string]any{"id": 1.0, "version": 1.0})
	if st, _, raw := call(t, "DELETE", u+"/config/cfg", "", nil); st != 200 || string(raw) != `{"compatibilityLevel":"FULL","normalize":true}`+"\n" {
		t.Fatalf("DELETE config: %d %s", st, raw)
	}
	if st, m, raw := call(t, "GET", u+"/config/cfg", "", nil); st != 404 || m["error_code"] != 40408.0 {
		t.Fatalf("config after delete: %d %s", st, raw)
	}
	// normalize=false at the subject overrides true globally.
	if st, _, raw := call(t, "PUT", u+"/config", ctJSON, map[string]any{"normalize": true}); st != 200 || string(raw) != `{"normalize":true}`+"\n" {
		t.Fatalf("PUT global config: %d %s", st, raw)
	}
	if st, _, raw := call(t, "PUT", u+"/config/off", ctJSON, map[string]any{"normalize": false}); st != 200 {
		t.Fatalf("PUT config off: %d %s", st, raw)
	}
	post("/subjects/on/versions", map[string]any{"schema": jsonA, "schemaType": "JSON"}, 200, map[string]any{"id": 3.0})
	post("/subjects/off/versions", map[string]any{"schema": jsonA, "schemaType": "JSON"}, 200, map[string]any{"id": 4.0})
	// The config survives a restart (it is a CONFIG record in _schemas).
	reg.stop()
	reg2 := startRegistry(t, b.Addr)
	if st, _, raw := call(t, "GET", reg2.URL+"/config/off?defaultToGlobal=true", "", nil); st != 200 || string(raw) != `{"compatibilityLevel":"BACKWARD","normalize":false}`+"\n" {
		t.Fatalf("config after restart: %d %s", st, raw)
	}
}
