package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/kafkatest"
)

// The REST proxy that samsa server starts next to its registry uses that
// registry: an Avro produce registers its schema there.
func TestCompanionsProxyUsesRegistry(t *testing.T) {
	b := kafkatest.Start(t, "num.partitions=1")
	if _, err := b.Admin(t).CreateTopic(context.Background(), 1, 1, nil, "c"); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Broker{SchemaRegistryListeners: "http://0.0.0.0:0", RestProxyListeners: "http://127.0.0.1:0"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cs := startCompanions(context.Background(), cfg, b.Addr, log)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopCompanions(ctx, cs)
	})
	if len(cs) != 2 {
		t.Fatalf("%d companions started, want 2", len(cs))
	}
	reg, proxy := "http://"+dialAddr(cs[0].addr), "http://"+cs[1].addr
	resp, err := http.Post(proxy+"/topics/c", "application/vnd.kafka.avro.v2+json",
		strings.NewReader(`{"value_schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"n\",\"type\":\"int\"}]}","records":[{"value":{"n":1}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"value_schema_id":1`) {
		t.Fatalf("avro produce through the server's proxy: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(reg + "/subjects")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != `["c-value"]` {
		t.Fatalf("registry subjects: %s", body)
	}
}
