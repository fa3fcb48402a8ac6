package schemaregistry

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/sr"
)

// BenchmarkLookup measures the registry's read path over loopback HTTP
// with keep-alive connections from parallel clients (GOMAXPROCS of them):
// GET /schemas/ids/{id}, what a deserializer asks once per new id before
// caching it, and GET /subjects/{s}/versions/latest. Reported as
// lookups/s (docs/benchmarks.md):
//
//	go test ./internal/schemaregistry -run '^$' -bench Lookup -benchtime 3s
func BenchmarkLookup(b *testing.B) {
	brk := kafkatest.Start(b, "num.partitions=1")
	r, err := New(Config{Seeds: []string{brk.Addr}, Timeout: 10 * time.Second}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: r.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		b.Fatal(err)
	}
	ss, err := cl.CreateSchema(ctx, "bench-value", sr.Schema{
		Schema: `{"type":"record","name":"Bench","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}`})
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, path := range []string{fmt.Sprintf("/schemas/ids/%d", ss.ID), "/subjects/bench-value/versions/latest"} {
		b.Run(path, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := hc.Get(url + path)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("%s: %d", path, resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}
