package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

func TestSchemaRegistryCommand(t *testing.T) {
	b := kafkatest.Start(t)
	addr := kafkatest.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newSchemaRegistryCmd()
	cmd.SetArgs([]string{"--bootstrap-server", b.Addr, "--listen", addr, "--log-level", "error"})
	cmd.SetContext(ctx)
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("schema-registry: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("schema-registry did not stop")
		}
	}()
	var resp *http.Response
	kafkatest.Eventually(t, 20*time.Second, func() error {
		var err error
		resp, err = http.Post("http://"+addr+"/subjects/t-value/versions",
			"application/vnd.schemaregistry.v1+json", strings.NewReader(`{"schema":"\"string\""}`))
		return err
	})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(bytes.TrimSpace(body), []byte(`{"id":1}`)) {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
}
