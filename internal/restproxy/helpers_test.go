package restproxy

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

// env is a broker, a proxy in front of it, and an HTTP server on a free
// loopback port serving the proxy.
type env struct {
	b   *kafkatest.Broker
	p   *Proxy
	url string
}

func start(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	b := kafkatest.Start(t)
	cfg := Config{BootstrapServers: []string{b.Addr}, RequestTimeout: 10 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	p, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(func() {
		srv.Close()
		p.Close()
	})
	return &env{b: b, p: p, url: srv.URL}
}

const (
	ctBinary = "application/vnd.kafka.binary.v2+json"
	ctJSONv2 = "application/vnd.kafka.json.v2+json"
)

// do sends one request and returns the status, the response's content
// type and its body.
func (e *env) do(t *testing.T, method, path, ct, body string, hdr ...string) (int, string, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(string(b))
}

// want checks status and an exact (compacted) JSON body.
func (e *env) want(t *testing.T, method, path, ct, body string, status int, wantBody string, hdr ...string) string {
	t.Helper()
	got, _, b := e.do(t, method, path, ct, body, hdr...)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, status, b)
	}
	if wantBody != "*" && compact(t, b) != compact(t, wantBody) {
		t.Fatalf("%s %s:\n got %s\nwant %s", method, path, b, wantBody)
	}
	return b
}

// wantErr checks an error answer: status and error_code.
func (e *env) wantErr(t *testing.T, method, path, ct, body string, status, code int, hdr ...string) {
	t.Helper()
	got, gotCT, b := e.do(t, method, path, ct, body, hdr...)
	var eb struct {
		ErrorCode int     `json:"error_code"`
		Message   *string `json:"message"`
	}
	if err := json.Unmarshal([]byte(b), &eb); err != nil || eb.Message == nil {
		t.Fatalf("%s %s: body %q is not a JSON error (%v)", method, path, b, err)
	}
	if got != status || eb.ErrorCode != code {
		t.Fatalf("%s %s: %d %s, want status %d error_code %d", method, path, got, b, status, code)
	}
	if !strings.Contains(gotCT, "json") {
		t.Fatalf("%s %s: content type %q", method, path, gotCT)
	}
}

func compact(t *testing.T, s string) string {
	t.Helper()
	if s == "" {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("not JSON: %q: %v", s, err)
	}
	return buf.String()
}
