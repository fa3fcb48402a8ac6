package schemaregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/sr"
)

// testRegistry is a registry serving HTTP on a loopback port.
type testRegistry struct {
	*Registry
	URL string
	srv *http.Server
}

func startRegistry(t *testing.T, brokerAddr string) *testRegistry {
	t.Helper()
	r, err := New(Config{Seeds: []string{brokerAddr}, Timeout: 10 * time.Second, MaxBodyBytes: 64 << 10}, nil)
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
	tr := &testRegistry{Registry: r, URL: "http://" + ln.Addr().String(), srv: srv}
	t.Cleanup(tr.stop)
	return tr
}

func (tr *testRegistry) stop() {
	tr.srv.Close()
	tr.Close()
}

func newBroker(t *testing.T) *kafkatest.Broker {
	return kafkatest.Start(t, "num.partitions=1")
}

func srClient(t *testing.T, url string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// call does one HTTP request and returns the status and decoded body.
func call(t *testing.T, method, url, ct string, body any) (int, map[string]any, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw
}

const ctJSON = "application/vnd.schemaregistry.v1+json"
