package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

// TestRestProxyReadsKcat runs the built binary as `samsa rest-proxy` in
// front of a samsa broker process: a v2 consumer instance reads, over
// plain HTTP, exactly what a kcat producer wrote, and a record produced
// over HTTP is read back by kcat.
func TestRestProxyReadsKcat(t *testing.T) {
	needTool(t, "kcat")
	broker := kafkatest.StartProcess(t, "")
	createTopic(t, broker.Addr, "rp", 1)
	run(t, "k1:v1\nk2:v2\n:v3\n", kcat, "-b", broker.Addr, "-P", "-t", "rp", "-p", "0", "-K:")

	listen := kafkatest.FreePort(t)
	logf, err := os.Create(filepath.Join(t.TempDir(), "rest-proxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kafkatest.Binary(t), "rest-proxy", "--bootstrap-server", broker.Addr, "--listen", listen)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("rest-proxy log:\n%s", b)
		}
	})
	kafkatest.Eventually(t, 20*time.Second, func() error {
		c, err := net.Dial("tcp", listen)
		if err == nil {
			c.Close()
		}
		return err
	})
	base := "http://" + listen
	do := func(method, path, ct, body string, wantStatus int) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("Accept", "application/vnd.kafka.binary.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, wantStatus)
		}
		return strings.TrimSpace(string(b))
	}
	const v2 = "application/vnd.kafka.v2+json"
	do("POST", "/consumers/e2e", v2, `{"name":"c","format":"binary","auto.offset.reset":"earliest"}`, 200)
	do("POST", "/consumers/e2e/instances/c/subscription", v2, `{"topics":["rp"]}`, 204)
	type rec struct {
		Topic     string  `json:"topic"`
		Key       *string `json:"key"`
		Value     *string `json:"value"`
		Partition int32   `json:"partition"`
		Offset    int64   `json:"offset"`
	}
	var got []rec
	kafkatest.Eventually(t, 20*time.Second, func() error {
		var rs []rec
		if err := json.Unmarshal([]byte(do("GET", "/consumers/e2e/instances/c/records?timeout=500", "", "", 200)), &rs); err != nil {
			t.Fatal(err)
		}
		got = append(got, rs...)
		if len(got) < 3 {
			return fmt.Errorf("%d of 3 records", len(got))
		}
		return nil
	})
	dec := func(s *string) string {
		if s == nil {
			return "<null>"
		}
		b, err := base64.StdEncoding.DecodeString(*s)
		if err != nil {
			t.Fatalf("base64 %q: %v", *s, err)
		}
		return string(b)
	}
	var lines []string
	for _, r := range got {
		lines = append(lines, fmt.Sprintf("%s/%d/%d %s=%s", r.Topic, r.Partition, r.Offset, dec(r.Key), dec(r.Value)))
	}
	// kcat -K: sends an empty key for ":v3" (not a null one).
	if want := "rp/0/0 k1=v1,rp/0/1 k2=v2,rp/0/2 =v3"; strings.Join(lines, ",") != want {
		t.Fatalf("records: %s, want %s", strings.Join(lines, ","), want)
	}
	do("POST", "/consumers/e2e/instances/c/offsets", v2, ``, 200)
	do("DELETE", "/consumers/e2e/instances/c", "", "", 204)

	out := do("POST", "/topics/rp", "application/vnd.kafka.json.v2+json", `{"records":[{"key":"k4","value":{"v":4}}]}`, 200)
	if want := `{"key_schema_id":null,"value_schema_id":null,"offsets":[{"partition":0,"offset":3,"error_code":null,"error":null}]}`; out != want {
		t.Fatalf("produce: %s, want %s", out, want)
	}
	kout := run(t, "", kcat, "-b", broker.Addr, "-C", "-t", "rp", "-p", "0", "-o", "3", "-e", "-q", "-f", "%k=%s\n")
	if strings.TrimSpace(kout) != `"k4"={"v":4}` {
		t.Fatalf("kcat read %q", kout)
	}
}
