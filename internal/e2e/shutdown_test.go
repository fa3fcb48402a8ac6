package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSIGTERMGracefulShutdown stops the binary with SIGTERM while a consumer
// is parked in a long-polling Fetch (20 s max wait on an idle topic) and a
// producer keeps writing: it must exit 0 within a few seconds, say it
// stopped cleanly, leave the clean-shutdown marker, and every acknowledged
// record must be there after a restart.
func TestSIGTERMGracefulShutdown(t *testing.T) {
	t.Parallel()
	p := kafkatest.StartProcess(t, "")
	createTopic(t, p.Addr, "idle", 1)
	createTopic(t, p.Addr, "busy", 1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	consumer := kafkatest.NewClient(t, p.Addr,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"idle": {0: kgo.NewOffset().AtEnd()}}),
		kgo.FetchMaxWait(20*time.Second))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			consumer.PollFetches(ctx)
		}
	}()

	producer := kafkatest.NewClient(t, p.Addr, kgo.DefaultProduceTopic("busy"), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(20*time.Second))
	var (
		mu    sync.Mutex
		acked = map[string]int64{}
	)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			r := &kgo.Record{Value: fmt.Appendf(nil, "m%06d", i)}
			if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
				continue
			}
			mu.Lock()
			acked[string(r.Value)] = r.Offset
			mu.Unlock()
		}
	}()
	kafkatest.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 300 {
			return fmt.Errorf("%d acknowledged", len(acked))
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // the consumer's Fetch is parked by now

	start := time.Now()
	err := p.Stop()
	took := time.Since(start)
	if err != nil {
		var ee interface{ ExitCode() int }
		if errors.As(err, &ee) {
			t.Errorf("samsa exited with code %d after SIGTERM, want 0", ee.ExitCode())
		} else {
			t.Errorf("wait: %v", err)
		}
	}
	if took > 5*time.Second {
		t.Errorf("SIGTERM took %v to stop samsa, want a few seconds at most", took)
	}
	t.Logf("stopped in %v", took.Round(time.Millisecond))
	log := p.ServerLog()
	for _, w := range []string{"shutting down", "samsa stopped cleanly"} {
		if !strings.Contains(log, w) {
			t.Errorf("server log lacks %q:\n%s", w, log)
		}
	}
	// Restart before stopping the clients: an idempotent producer never
	// gives up on a request in flight, so it has to reach the broker again.
	p.Restart()
	cancel()
	wg.Wait()
	if runs := serverRuns(p.ServerLog()); !strings.Contains(runs[len(runs)-1], "clean_shutdown=true") {
		t.Errorf("restart did not find the clean-shutdown marker:\n%s", runs[len(runs)-1])
	}
	mu.Lock()
	defer mu.Unlock()
	got := readAll(t, p.Addr, "busy")[0]
	at := map[string]int64{}
	for i, r := range got {
		if r.Offset != int64(i) {
			t.Fatalf("record %d at offset %d", i, r.Offset)
		}
		at[string(r.Value)] = r.Offset
	}
	for v, off := range acked {
		if o, ok := at[v]; !ok || o != off {
			t.Errorf("acknowledged %s@%d: after restart at %d (present %v)", v, off, o, ok)
		}
	}
	if len(got) < len(acked) || len(got) > len(acked)+1 {
		t.Errorf("%d records after restart, %d acknowledged (at most one unacknowledged in flight)", len(got), len(acked))
	}
}
