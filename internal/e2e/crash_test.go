package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

type ackedRecord struct {
	partition int32
	offset    int64
}

// TestCrashAcknowledgedWritesSurvive SIGKILLs the binary while an
// idempotent acks=all producer writes numbered records to three partitions,
// restarts it on the same dir while the producer keeps going, and then
// checks every acknowledged record is in the log exactly once, at the offset
// it was acknowledged with, in produce order; that no value appears twice
// (the idempotent producer's retries across the restart are deduplicated);
// and that the recovered log takes new writes.
func TestCrashAcknowledgedWritesSurvive(t *testing.T) {
	t.Parallel()
	const topic = "crash"
	p := kafkatest.StartProcess(t, "")
	createTopic(t, p.Addr, topic, 3)

	cl := kafkatest.NewClient(t, p.Addr,
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotence is franz-go's default
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.MaxBufferedRecords(2000),
		kgo.RecordDeliveryTimeout(30*time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
	)
	var (
		mu       sync.Mutex
		acked    = map[string]ackedRecord{}
		failed   = map[string]error{}
		produced int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := fmt.Sprintf("%07d", i)
			cl.Produce(context.Background(), &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed[v] = err
					return
				}
				acked[v] = ackedRecord{r.Partition, r.Offset}
			})
			mu.Lock()
			produced++
			mu.Unlock()
			if i%50 == 49 {
				time.Sleep(time.Millisecond) // bounded load: a few tens of thousands of records
			}
		}
	}()
	countAcked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if n := countAcked(); n < 2000 {
			return fmt.Errorf("%d records acknowledged", n)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	p.Kill()
	ackedAtKill := countAcked()
	p.Restart()
	time.Sleep(time.Second) // keep producing into the recovered log
	close(stop)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush after restart: %v", err)
	}
	mu.Lock()
	t.Logf("produced %d records: %d acknowledged before SIGKILL, %d in all, %d failed", produced, ackedAtKill, len(acked), len(failed))
	for v, err := range failed {
		t.Logf("record %s failed: %v", v, err)
		break
	}
	mu.Unlock()
	if len(acked)+len(failed) != produced {
		t.Fatalf("%d acked + %d failed != %d produced", len(acked), len(failed), produced)
	}
	if len(acked) <= ackedAtKill {
		t.Fatalf("nothing was acknowledged after the restart")
	}

	runs := serverRuns(p.ServerLog())
	if len(runs) != 2 {
		t.Fatalf("server log has %d starts, want 2", len(runs))
	}
	if !strings.Contains(runs[1], "clean_shutdown=false") {
		t.Errorf("the server log after the restart does not say it is recovering from an unclean shutdown:\n%s", runs[1])
	}

	logged := readAll(t, p.Addr, topic)
	seen := map[string]ackedRecord{}
	for part, rs := range logged {
		last := -1
		for _, r := range rs {
			v := string(r.Value)
			if prev, dup := seen[v]; dup {
				t.Errorf("value %s is in the log twice: p%d@%d and p%d@%d", v, prev.partition, prev.offset, part, r.Offset)
			}
			seen[v] = ackedRecord{part, r.Offset}
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("p%d@%d: unexpected value %q", part, r.Offset, v)
			}
			if n <= last {
				t.Errorf("p%d@%d: value %d after %d: out of produce order", part, r.Offset, n, last)
			}
			last = n
		}
	}
	lost := 0
	for v, a := range acked {
		got, ok := seen[v]
		switch {
		case !ok:
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged record %s (p%d@%d) is missing", v, a.partition, a.offset)
			}
		case got != a:
			t.Errorf("acknowledged record %s was at p%d@%d, now at p%d@%d", v, a.partition, a.offset, got.partition, got.offset)
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged records lost", lost, len(acked))
	}
	for v := range seen {
		if _, ok := acked[v]; !ok {
			if _, ok := failed[v]; !ok {
				t.Errorf("value %s is in the log but was never produced", v)
			}
		}
	}

	// The recovered log takes writes at its end.
	ends := map[int32]int64{}
	for part, rs := range logged {
		if len(rs) > 0 {
			ends[part] = rs[len(rs)-1].Offset + 1
		}
	}
	cl2 := kafkatest.NewClient(t, p.Addr, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for part := range int32(3) {
		r := &kgo.Record{Partition: part, Value: []byte(fmt.Sprintf("after-%d", part))}
		if err := cl2.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce after recovery: %v", err)
		}
		if r.Offset != ends[part] {
			t.Errorf("p%d: new record at offset %d, want the log end %d", part, r.Offset, ends[part])
		}
	}
	after := readAll(t, p.Addr, topic)
	for part := range int32(3) {
		rs := after[part]
		if len(rs) == 0 || string(rs[len(rs)-1].Value) != fmt.Sprintf("after-%d", part) {
			t.Errorf("p%d does not end with the record written after recovery", part)
		}
	}
}
