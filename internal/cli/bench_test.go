package cli

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

func TestHistBuckets(t *testing.T) {
	// Buckets are contiguous and each value lies within its bucket.
	prevUpper := int64(-1)
	for i := 0; i < histBuckets; i++ {
		u := histUpper(i)
		if int64(histIndex(u)) != int64(i) || (i > 0 && histIndex(uint64(prevUpper+1)) != i) {
			t.Fatalf("bucket %d: upper %d maps to %d", i, u, histIndex(u))
		}
		if i == histBuckets-1 {
			if u != ^uint64(0) {
				t.Fatalf("last bucket ends at %d", u)
			}
			break
		}
		prevUpper = int64(u)
	}
	for _, v := range []uint64{0, 1, 255, 256, 257, 1000, 123456789, 1 << 40, ^uint64(0)} {
		i := histIndex(v)
		lo := uint64(0)
		if i > 0 {
			lo = histUpper(i-1) + 1
		}
		if v < lo || v > histUpper(i) {
			t.Errorf("%d in bucket %d [%d, %d]", v, i, lo, histUpper(i))
		}
		if w := histUpper(i) - lo; v > 0 && float64(w)/float64(v) > 1.0/histSub {
			t.Errorf("%d: bucket width %d too coarse", v, w)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h latencyHist
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(rand.ExpFloat64() * float64(time.Millisecond))
		h.record(vals[i])
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.99, 0.999, 1} {
		exact := float64(vals[int(q*float64(len(vals)-1))])
		got := float64(h.quantile(q))
		if got < exact*0.99 || got > exact*1.01 {
			t.Errorf("q%.3f = %.0f, exact %.0f", q, got, exact)
		}
	}
	if h.max.Load() != uint64(vals[len(vals)-1]) {
		t.Errorf("max = %d", h.max.Load())
	}
	if n := testing.AllocsPerRun(100, func() { h.record(time.Millisecond) }); n != 0 {
		t.Errorf("record allocates %v times", n)
	}
}

func TestBenchProduceConsume(t *testing.T) {
	addr := startFake(t)
	out := mustRun(t, "", "bench", "produce", "-b", addr, "--topic", "bench", "--partitions", "4",
		"--records", "2000", "--record-size", "100", "--compression", "lz4", "--format", "json")
	var p benchSummary
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("produce summary %q: %v", out, err)
	}
	if p.Test != "produce" || p.Records != 2000 || p.Errors != 0 || p.Bytes != 200000 || p.RecordsPerSec <= 0 ||
		p.Latency == nil || p.Latency.P50 <= 0 || p.Latency.P50 > p.Latency.P99 || p.Latency.P999 > p.Latency.Max {
		t.Errorf("produce summary = %s", out)
	}
	d := describeJSON(t, addr, "bench")
	if len(d) != 1 || len(d[0].Partitions) != 4 {
		t.Fatalf("bench topic = %+v", d)
	}

	out = mustRun(t, "", "bench", "consume", "-b", addr, "--topic", "bench", "--records", "2000", "-o", "json")
	var c benchSummary
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("consume summary %q: %v", out, err)
	}
	if c.Test != "consume" || c.Records != 2000 || c.Bytes != 200000 || c.Latency != nil {
		t.Errorf("consume summary = %s", out)
	}

	// Asking for more than is there ends at --idle-exit, with the summary.
	out, _, err := runCLI(t, "", "bench", "consume", "-b", addr, "--topic", "bench", "--records", "3000", "--idle-exit", "200ms")
	if err == nil || out == "" {
		t.Errorf("short consume: err %v, out %q", err, out)
	}

	// A duration bound and a rate limit: about 100 records in 0.3s.
	out = mustRun(t, "", "bench", "produce", "-b", addr, "--topic", "bench", "--duration", "300ms",
		"--rate", "300", "-o", "json")
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if p.Records < 50 || p.Records > 120 {
		t.Errorf("rate-limited run sent %d records, want about 90", p.Records)
	}
}

func TestBenchProduceTransactional(t *testing.T) {
	b := kafkatest.Start(t)
	out := mustRun(t, "", "bench", "produce", "-b", b.Addr, "--topic", "tbench", "--partitions", "1",
		"--records", "1000", "--record-size", "100", "--transactional", "--txn-records", "100", "-o", "json")
	var s benchSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if s.Test != "produce" || !s.Transactional || s.Records != 1000 || s.Errors != 0 || s.Bytes != 100000 ||
		s.Transactions != 10 || s.RecordsPerSec <= 0 || s.TransactionsPerSec <= 0 || s.MiBPerSec <= 0 ||
		s.Latency == nil || s.CommitLatency == nil || s.CommitLatency.P50 <= 0 {
		t.Errorf("summary = %s", out)
	}
	// 1000 records and a commit marker per transaction, all committed.
	ends, err := b.Admin(t).ListEndOffsets(context.Background(), "tbench")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("tbench", 0); o.Err != nil || o.Offset != 1010 {
		t.Errorf("log end offset %+v, want 1010", o)
	}
	out = mustRun(t, "", "txn", "list", "-b", b.Addr)
	if rows := tableRows(out); len(rows) != 2 || rows[1][0] != "samsa-bench-tbench" || rows[1][2] != "CompleteCommit" {
		t.Errorf("txn list after the bench:\n%s", out)
	}

	// A run that ends inside a transaction commits the part it sent: 250
	// records are 3 transactions.
	out = mustRun(t, "", "bench", "produce", "-b", b.Addr, "--topic", "tbench", "--records", "250",
		"--record-size", "10", "--transactional", "--txn-records", "100", "--transactional-id", "other", "-o", "json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Records != 250 || s.Transactions != 3 || s.Errors != 0 {
		t.Errorf("250 records: summary %s", out)
	}

	// The text summary names the transactions.
	out = mustRun(t, "", "bench", "produce", "-b", b.Addr, "--topic", "tbench", "--records", "20",
		"--transactional", "--txn-records", "10")
	if !strings.Contains(out, "20 records sent") || !strings.Contains(out, "2 transactions committed") ||
		!strings.Contains(out, "commit latency ms:") {
		t.Errorf("text summary %q", out)
	}
}
