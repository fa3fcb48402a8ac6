package restproxy

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProduce compares producing 1 KiB records through the REST
// Proxy's v2 binary endpoint (POST /topics/{t}, one request of n records
// at a time from parallel HTTP clients) with producing the same records
// straight to the broker with franz-go (synchronous batches of n, the same
// parallelism), both against the same in-process broker. Reported as
// records/s (docs/benchmarks.md):
//
//	go test ./internal/restproxy -run '^$' -bench Produce -benchtime 3s
func BenchmarkProduce(b *testing.B) {
	brk := kafkatest.Start(b)
	p, err := New(Config{BootstrapServers: []string{brk.Addr}, RequestTimeout: 30 * time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	ctx := context.Background()
	direct := kafkatest.NewClient(b, brk.Addr, kgo.ProducerLinger(0))
	if _, err := kadm.NewClient(direct).CreateTopic(ctx, 6, 1, nil, "bench"); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 1024)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, n := range []int{1, 100} {
		var body strings.Builder
		body.WriteString(`{"records":[`)
		for i := range n {
			if i > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"value":%q}`, base64.StdEncoding.EncodeToString(value))
		}
		body.WriteString(`]}`)
		req := body.String()
		b.Run(fmt.Sprintf("rest/records=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n * len(value)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := hc.Post(srv.URL+"/topics/bench", ctBinary, strings.NewReader(req))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run(fmt.Sprintf("kafka/records=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n * len(value)))
			b.RunParallel(func(pb *testing.PB) {
				recs := make([]*kgo.Record, n)
				for pb.Next() {
					for i := range recs {
						recs[i] = &kgo.Record{Topic: "bench", Value: value}
					}
					if err := direct.ProduceSync(ctx, recs...).FirstErr(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
