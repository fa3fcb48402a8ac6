package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/schemaregistry"
)

// startTestRegistry runs a real registry on a real broker and returns its
// URL.
func startTestRegistry(t *testing.T) string {
	t.Helper()
	_, url := startTestBrokerRegistry(t)
	return url
}

// startTestBrokerRegistry is startTestRegistry that also returns the
// broker's address.
func startTestBrokerRegistry(t *testing.T) (addr, url string) {
	t.Helper()
	b := kafkatest.Start(t, "num.partitions=1")
	r, err := schemaregistry.New(schemaregistry.Config{Seeds: []string{b.Addr}, Timeout: 10 * time.Second}, nil)
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
	return b.Addr, "http://" + ln.Addr().String()
}

// exitCode is the status Main would exit with for err.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSchemaCommands(t *testing.T) {
	reg := startTestRegistry(t)
	dir := writeFiles(t, map[string]string{
		"v1.avsc":      `{"type":"record","name":"Order","fields":[{"name":"id","type":"int"}]}`,
		"v2.avsc":      `{"type":"record","name":"Order","fields":[{"name":"id","type":"int"},{"name":"note","type":"string","default":""}]}`,
		"bad.avsc":     `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`,
		"addr.json":    `{"type":"object","properties":{"city":{"type":"string"}}}`,
		"person.json":  `{"type":"object","properties":{"home":{"$ref":"addr.json"}}}`,
		"addr.proto":   "syntax = \"proto3\";\npackage t;\nmessage Addr { string city = 1; }\n",
		"person.proto": "syntax = \"proto3\";\npackage t;\nimport \"addr.proto\";\nmessage Person { Addr home = 1; }\n",
		"order.txt":    `"string"`,
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	run := func(args ...string) (string, error) {
		t.Helper()
		out, _, err := runCLI(t, "", append(append([]string{"schema"}, args...), "--registry", reg)...)
		return out, err
	}
	expect := func(want string, args ...string) {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("samsa schema %s: %v", strings.Join(args, " "), err)
		}
		if out != want {
			t.Errorf("samsa schema %s\n got %q\nwant %q", strings.Join(args, " "), out, want)
		}
	}
	expectErr := func(code int, want string, args ...string) string {
		t.Helper()
		out, err := run(args...)
		if exitCode(err) != code || err.Error() != want {
			t.Errorf("samsa schema %s: error %v (exit %d), want %q (exit %d)", strings.Join(args, " "), err, exitCode(err), want, code)
		}
		return out
	}

	expect("", "list")
	expect("[]\n", "list", "-o", "json")

	// register: new, again, JSON, type from the extension.
	expect("Registered subject \"orders-value\" version 1, id 1.\n", "register", "orders-value", "--file", f("v1.avsc"))
	expect("Already registered: subject \"orders-value\" version 1, id 1.\n", "register", "orders-value", "--file", f("v1.avsc"))
	expect(`{"subject":"orders-value","version":1,"id":1,"existed":true}`+"\n", "register", "orders-value", "-f", f("v1.avsc"), "-o", "json")

	// check: compatible, incompatible (exit 1 with the reasons), JSON.
	expect("Compatible with subject \"orders-value\" version latest.\n", "check", "orders-value", "--file", f("v2.avsc"))
	expect(`{"subject":"orders-value","version":"1","compatible":true,"messages":[]}`+"\n",
		"check", "orders-value", "--file", f("v2.avsc"), "--version", "1", "-o", "json")
	out := expectErr(1, `schema is incompatible with subject "orders-value"`, "check", "orders-value", "--file", f("bad.avsc"))
	if !strings.HasPrefix(out, "Incompatible with subject \"orders-value\" version latest:\n  - ") || strings.Count(out, "\n") < 2 {
		t.Errorf("incompatible check printed %q", out)
	}
	out = expectErr(1, `schema is incompatible with subject "orders-value"`, "check", "orders-value", "-f", f("bad.avsc"), "--version", "all", "-o", "json")
	var c checked
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Compatible || c.Version != "all" || len(c.Messages) == 0 {
		t.Errorf("incompatible check json %q: %+v %v", out, c, err)
	}
	expectErr(1, "Subject 'nosuch' not found (40401)", "check", "nosuch", "-f", f("v2.avsc"))
	// Registering the incompatible schema fails with the registry's 409.
	if _, err := run("register", "orders-value", "-f", f("bad.avsc")); exitCode(err) != 1 || !strings.HasSuffix(err.Error(), "(409)") {
		t.Errorf("incompatible register: %v", err)
	}

	expect("Registered subject \"orders-value\" version 2, id 2.\n", "register", "orders-value", "--file", f("v2.avsc"))

	// References and type inference for JSON and Protobuf; --type for a
	// file whose extension says nothing.
	expect("Registered subject \"addr-value\" version 1, id 3.\n", "register", "addr-value", "--file", f("addr.json"))
	expect("Registered subject \"person-value\" version 1, id 4.\n", "register", "person-value", "--file", f("person.json"),
		"--reference", "addr.json=addr-value:latest")
	expect("Registered subject \"paddr-value\" version 1, id 5.\n", "register", "paddr-value", "--file", f("addr.proto"))
	expect("Registered subject \"pperson-value\" version 1, id 6.\n", "register", "pperson-value", "--file", f("person.proto"),
		"-r", "addr.proto=paddr-value:1")
	expect("Registered subject \"s-value\" version 1, id 7.\n", "register", "s-value", "--file", f("order.txt"), "--type", "avro")
	if out, _, err := runCLI(t, `{"type":"enum","name":"E","symbols":["A"]}`, "schema", "register", "e-value", "--file", "-", "--type", "AVRO", "-o", "json", "--registry", reg); err != nil || out != `{"subject":"e-value","version":1,"id":8,"existed":false}`+"\n" {
		t.Errorf("register from stdin: %q %v", out, err)
	}
	expect("Soft-deleted subject \"e-value\" (version 1).\n", "delete", "e-value")
	expect("Permanently deleted subject \"e-value\" (version 1).\n", "delete", "e-value", "--permanent")
	if _, err := run("register", "x-value", "--file", f("person.json")); exitCode(err) != 1 || !strings.HasSuffix(err.Error(), "(42201)") {
		t.Errorf("unresolved reference: %v", err)
	}
	expectErr(1, "reference addr.json: Subject 'nosuch' not found (40401)", "register", "x-value", "-f", f("person.json"), "-r", "addr.json=nosuch:latest")

	expect("SUBJECT        VERSION  ID  TYPE\n"+
		"addr-value     1        3   JSON\n"+
		"orders-value   2        2   AVRO\n"+
		"paddr-value    1        5   PROTOBUF\n"+
		"person-value   1        4   JSON\n"+
		"pperson-value  1        6   PROTOBUF\n"+
		"s-value        1        7   AVRO\n", "list")
	expect(`[{"subject":"paddr-value","version":1,"id":5,"schemaType":"PROTOBUF"},{"subject":"person-value","version":1,"id":4,"schemaType":"JSON"},{"subject":"pperson-value","version":1,"id":6,"schemaType":"PROTOBUF"}]`+"\n",
		"list", "--prefix", "p", "-o", "json")

	// get: text, schema only, by id, JSON, Protobuf as the registry prints it.
	pretty2 := "{\n  \"type\": \"record\",\n  \"name\": \"Order\",\n  \"fields\": [\n    {\n      \"name\": \"id\",\n      \"type\": \"int\"\n    },\n" +
		"    {\n      \"name\": \"note\",\n      \"type\": \"string\",\n      \"default\": \"\"\n    }\n  ]\n}\n"
	expect("Subject:   orders-value\nVersion:   2\nID:        2\nType:      AVRO\n\n"+pretty2, "get", "orders-value")
	expect(pretty2, "get", "orders-value", "--schema-only")
	expect("Subject:   person-value\nVersion:   1\nID:        4\nType:      JSON\nReference: addr.json = addr-value version 1\n\n"+
		"{\n  \"type\": \"object\",\n  \"properties\": {\n    \"home\": {\n      \"$ref\": \"addr.json\"\n    }\n  }\n}\n", "get", "person-value")
	expect("ID:        1\nType:      AVRO\nUsed by:   orders-value version 1\n\n"+
		"{\n  \"type\": \"record\",\n  \"name\": \"Order\",\n  \"fields\": [\n    {\n      \"name\": \"id\",\n      \"type\": \"int\"\n    }\n  ]\n}\n",
		"get", "--id", "1")
	// Protobuf comes back as the registry prints it (Confluent's form).
	expect("syntax = \"proto3\";\npackage t;\n\nimport \"addr.proto\";\n\nmessage Person {\n  .t.Addr home = 1;\n}\n", "get", "pperson-value", "--schema-only")
	expect(`{"subject":"orders-value","version":1,"id":1,"schemaType":"AVRO","schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"int\"}]}"}`+"\n",
		"get", "orders-value", "--version", "1", "-o", "json")
	expect(`{"id":4,"schemaType":"JSON","references":[{"name":"addr.json","subject":"addr-value","version":1}],"schema":"{\"type\":\"object\",\"properties\":{\"home\":{\"$ref\":\"addr.json\"}}}","usedBy":[{"subject":"person-value","version":1}]}`+"\n",
		"get", "--id", "4", "-o", "json")
	expectErr(1, "Subject 'nosuch' not found (40401)", "get", "nosuch")
	expectErr(1, "Version 9 not found (40402)", "get", "orders-value", "--version", "9")
	expectErr(1, "Schema 99 not found (40403)", "get", "--id", "99")

	// config: global, subject without and with its own level, delete.
	expect("Global compatibility: BACKWARD\n", "config")
	expect("Compatibility of subject \"orders-value\": BACKWARD (the global level; the subject has none of its own)\n", "config", "orders-value")
	expect("Compatibility of subject \"orders-value\": FULL\n", "config", "orders-value", "--set", "full")
	expect(`{"subject":"orders-value","compatibility":"FULL","source":"subject"}`+"\n", "config", "orders-value", "-o", "json")
	expect(`{"compatibility":"NONE","source":"global"}`+"\n", "config", "--set", "NONE", "-o", "json")
	expect("Compatibility of subject \"orders-value\": NONE (the global level; the subject has none of its own)\n", "config", "orders-value", "--delete")
	expect("Global compatibility: BACKWARD\n", "config", "--delete")
	expectErr(1, "Subject 'orders-value' does not have subject-level compatibility configured (40408)", "config", "orders-value", "--delete")

	// delete: a version, a referenced version, the subject, permanently.
	expect("Soft-deleted subject \"orders-value\" version 1.\n", "delete", "orders-value", "--version", "1")
	if _, err := run("delete", "addr-value"); exitCode(err) != 1 || !strings.HasSuffix(err.Error(), "(42206)") {
		t.Errorf("delete of a referenced subject: %v", err)
	}
	expect(`{"subject":"s-value","versions":[1],"permanent":false}`+"\n", "delete", "s-value", "-o", "json")
	expect("SUBJECT       VERSION  ID  TYPE\norders-value  2        2   AVRO\n", "list", "--prefix", "o", "--deleted")
	expect("SUBJECT            VERSION  ID  TYPE\ns-value (deleted)  1        7   AVRO\n", "list", "--prefix", "s", "--deleted")
	expect(`[{"subject":"s-value","version":1,"id":7,"schemaType":"AVRO","deleted":true}]`+"\n", "list", "--prefix", "s", "--deleted", "-o", "json")
	expect("", "list", "--prefix", "s")
	expect("Permanently deleted subject \"s-value\" (version 1).\n", "delete", "s-value", "--permanent")
	expect("Permanently deleted subject \"orders-value\" version 2.\n", "delete", "orders-value", "--version", "latest", "--permanent")
	expectErr(1, "Schema 2 not found (40403)", "get", "--id", "2")
	expect("Permanently deleted subject \"orders-value\" (version 1).\n", "delete", "orders-value", "--permanent")
	expectErr(1, "Subject 'orders-value' not found (40401)", "delete", "orders-value")
}

func TestSchemaUsageErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.avsc": `"string"`, "a.txt": `"string"`})
	a, txt := filepath.Join(dir, "a.avsc"), filepath.Join(dir, "a.txt")
	for _, args := range [][]string{
		{"frobnicate"},
		{"list", "x"},
		{"list", "-o", "xml"},
		{"get"},
		{"get", "x", "--id", "1"},
		{"get", "--id", "1", "--version", "2"},
		{"get", "--id", "0"},
		{"get", "x", "--version", "0"},
		{"get", "x", "--version", "first"},
		{"get", "x", "--schema-only", "-o", "json"},
		{"register", "x"},
		{"register"},
		{"register", "x", "--file", txt},
		{"register", "x", "--file", "-"},
		{"register", "x", "--file", a, "--type", "xml"},
		{"register", "x", "--file", a, "--reference", "nameonly"},
		{"register", "x", "--file", a, "--reference", "n=subject"},
		{"register", "x", "--file", a, "--reference", "n=subject:zero"},
		{"check", "x", "--file", a, "--version", "none"},
		{"delete", "x", "--version", "-3"},
		{"config", "a", "b"},
		{"config", "--set", "SIDEWAYS"},
		{"config", "--set", "FULL", "--delete"},
		{"list", "--registry", "ftp://host"},
		{"list", "--registry", "127.0.0.1:8081"},
		{"list", "--timeout", "0s"},
		{"list", "--no-such-flag"},
	} {
		_, _, err := runCLI(t, "", append([]string{"schema"}, args...)...)
		if exitCode(err) != 2 {
			t.Errorf("samsa schema %s: %v (exit %d), want a usage error", strings.Join(args, " "), err, exitCode(err))
		}
	}
}

func TestSchemaRegistryUnreachable(t *testing.T) {
	url := "http://" + kafkatest.FreePort(t)
	_, _, err := runCLI(t, "", "schema", "list", "--registry", url)
	want := "no schema registry at " + url + " (connection refused); start one with 'samsa server' or 'samsa schema-registry', or point --registry at yours"
	if exitCode(err) != 1 || err.Error() != want {
		t.Errorf("unreachable: %v, want %q", err, want)
	}
	t.Setenv("SCHEMA_REGISTRY_URL", url+"/")
	if _, _, err := runCLI(t, "", "schema", "config"); err == nil || !strings.Contains(err.Error(), url+"/ (connection refused)") {
		t.Errorf("SCHEMA_REGISTRY_URL not used: %v", err)
	}
}
