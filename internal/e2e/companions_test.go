package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// TestServerCompanions: `samsa server` serves the Schema Registry and the
// REST Proxy next to the broker; registrations survive a SIGKILL and
// restart (they live in _schemas); a record produced over REST is in the
// broker; a taken port leaves the broker running with a warning naming the
// key to change.
func TestServerCompanions(t *testing.T) {
	srAddr, rpAddr := kafkatest.FreePort(t), kafkatest.FreePort(t)
	p := kafkatest.StartProcess(t, "", "schema.registry.listeners=http://"+srAddr, "rest.proxy.listeners=http://"+rpAddr)
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
	if !strings.Contains(p.ServerLog(), `schema_registry=http://`+srAddr+` rest_proxy=http://`+rpAddr) {
		t.Fatalf("the ready line does not name the registry and the proxy:\n%s", p.ServerLog())
	}
	adm := kafkatest.NewClient(t, p.Addr)
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 1, 1, nil, "rest-in"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+rpAddr+"/topics/rest-in", "application/vnd.kafka.json.v2+json",
		strings.NewReader(`{"records":[{"key":"k1","value":{"n":1}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null}]`) {
		t.Fatalf("REST produce: %d %s", resp.StatusCode, body)
	}
	cons := kafkatest.NewClient(t, p.Addr, kgo.ConsumeTopics("rest-in"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := cons.PollFetches(ctx)
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Key) != `"k1"` || string(recs[0].Value) != `{"n":1}` {
		t.Fatalf("the REST-produced record: %v %v", recs, fs.Errors())
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
	if err := kafkatest.NewClient(t, q.Addr).Ping(ctx); err != nil {
		t.Fatalf("broker with its registry off: %v", err)
	}
}
