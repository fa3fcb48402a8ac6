package e2e

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/sr"
)

// TestServerSchemaRegistry: `samsa server` serves the Schema Registry on
// schema.registry.listeners next to the broker; registrations survive a
// SIGKILL and restart (they live in _schemas); a taken port leaves the
// broker running with a warning naming the key to change.
func TestServerSchemaRegistry(t *testing.T) {
	srAddr := kafkatest.FreePort(t)
	p := kafkatest.StartProcess(t, "", "schema.registry.listeners=http://"+srAddr)
	cl, err := sr.NewClient(sr.URLs("http://" + srAddr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := sr.Schema{Schema: `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}`}
	ss, err := cl.CreateSchema(ctx, "orders-value", schema)
	if err != nil {
		t.Fatal(err)
	}
	if ss.ID != 1 || ss.Version != 1 || ss.Subject != "orders-value" {
		t.Fatalf("registered %+v", ss)
	}
	if !strings.Contains(p.ServerLog(), `schema_registry=http://`+srAddr) {
		t.Fatalf("the ready line does not name the registry:\n%s", p.ServerLog())
	}

	p.Restart() // SIGKILL, then the same data dir and flags
	var got sr.SubjectSchema
	kafkatest.Eventually(t, 15*time.Second, func() error {
		got, err = cl.SchemaByVersion(ctx, "orders-value", -1)
		return err
	})
	if got.ID != 1 || got.Version != 1 || got.Schema.Schema != schema.Schema {
		t.Fatalf("after restart: %+v", got)
	}

	// A second server whose registry port is taken still serves Kafka.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	q := kafkatest.StartProcess(t, "", "schema.registry.listeners=http://"+ln.Addr().String())
	if out := q.ServerLog(); !strings.Contains(out, "the schema registry is off") || !strings.Contains(out, "schema.registry.listeners") {
		t.Fatalf("no warning about the taken port:\n%s", out)
	}
	adm := kafkatest.NewClient(t, q.Addr)
	if err := adm.Ping(ctx); err != nil {
		t.Fatalf("broker with its registry off: %v", err)
	}
}
