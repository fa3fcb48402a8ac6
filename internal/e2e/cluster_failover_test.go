package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClusterFailover is issue 5's failover test: idempotent acks=all
// producers write to an RF=3, min.insync.replicas=2 topic while the test
// kills the leader of every partition in turn, kills the active controller,
// pauses a node, cuts a node off and restarts nodes, for at least a minute
// and at least 20 faults. Afterwards every acknowledged record is in the
// log exactly once, at its acknowledged offset, in order per partition,
// and the replicas are byte-identical. SAMSA_FAILOVER_SECONDS changes the
// duration.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of faults; not in -short runs")
	}
	dur := 60 * time.Second
	if s := os.Getenv("SAMSA_FAILOVER_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		dur = time.Duration(n) * time.Second
	}
	const parts = 6
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), dur+4*time.Minute)
	defer cancel()
	if _, err := c.Admin(t).CreateTopic(ctx, parts, 3, nil, "failover"); err != nil {
		t.Fatal(err)
	}
	waitFullISR(t, c, "failover", parts)

	// Producers: one idempotent client per partition pair, each record's
	// value names its partition and sequence; acknowledged ones are kept
	// with their offsets.
	type acked struct {
		seq    int
		offset int64
	}
	var mu sync.Mutex
	ack := map[int32][]acked{}
	failed := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		cl := c.Client(t, kgo.DefaultProduceTopic("failover"), kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProduceRequestTimeout(5*time.Second),
			kgo.RecordDeliveryTimeout(20*time.Second), kgo.MaxBufferedRecords(200))
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := map[int32]int{}
			for i := 0; ; i++ {
				select {
				case <-stop:
					cl.Flush(context.Background())
					return
				default:
				}
				p := int32(w*2 + i%2)
				s := seq[p]
				seq[p]++
				r := &kgo.Record{Partition: p, Key: []byte(fmt.Sprintf("p%d", p)), Value: []byte(fmt.Sprintf("%d-%d", p, s))}
				cl.Produce(ctx, r, func(r *kgo.Record, err error) {
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failed++
						return
					}
					ack[r.Partition] = append(ack[r.Partition], acked{seq: s, offset: r.Offset})
				})
				if i%50 == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}

	// Faults, one node down at a time; the cluster heals in between.
	var elections []time.Duration
	faults := 0
	deadline := time.Now().Add(dur)
	kinds := []string{"kill-leader", "kill-leader", "kill-controller", "pause", "kill-leader", "cut", "kill-leader", "restart"}
	for i := 0; time.Now().Before(deadline) || faults < 20; i++ {
		kind := kinds[i%len(kinds)]
		switch kind {
		case "kill-leader":
			p := int32(i % parts)
			old := c.LeaderOf("failover", p)
			if old < 0 {
				t.Fatalf("failover-%d has no leader", p)
			}
			c.Kill(int(old))
			leader, took := c.WaitLeader("failover", p, old, 30*time.Second)
			if leader < 0 {
				t.Fatalf("no new leader for failover-%d within 30s after killing node %d", p, old)
			}
			elections = append(elections, took)
			t.Logf("fault %d: SIGKILL node %d (leader of failover-%d): new leader %d after %v", faults+1, old, p, leader, took.Round(time.Millisecond))
			time.Sleep(time.Second)
			c.Restart(int(old))
		case "kill-controller":
			old, _, err := c.QuorumLeader()
			if err != nil {
				t.Fatal(err)
			}
			c.Kill(int(old))
			leader, took := c.WaitQuorumLeader(old, 30*time.Second)
			if leader < 0 {
				t.Fatalf("no new controller within 30s after killing node %d", old)
			}
			t.Logf("fault %d: SIGKILL the active controller, node %d: node %d took over after %v", faults+1, old, leader, took.Round(time.Millisecond))
			time.Sleep(time.Second)
			c.Restart(int(old))
		case "pause":
			n := 1 + i%3
			c.Pause(n)
			t.Logf("fault %d: SIGSTOP node %d for 3s", faults+1, n)
			time.Sleep(3 * time.Second)
			c.Resume(n)
		case "cut":
			n := 1 + (i+1)%3
			c.Cut(n)
			t.Logf("fault %d: cut node %d off the network for 3s", faults+1, n)
			time.Sleep(3 * time.Second)
			c.Heal(n)
		case "restart":
			n := 1 + (i+2)%3
			if err := c.Stop(n); err != nil {
				t.Errorf("node %d did not stop cleanly: %v", n, err)
			}
			t.Logf("fault %d: SIGTERM and restart node %d", faults+1, n)
			c.Restart(n)
		}
		faults++
		waitFullISR(t, c, "failover", parts)
	}
	close(stop)
	wg.Wait()

	maxElection := time.Duration(0)
	for _, d := range elections {
		maxElection = max(maxElection, d)
	}
	mu.Lock()
	total := 0
	for _, a := range ack {
		total += len(a)
	}
	t.Logf("%d faults in %v; %d records acknowledged, %d failed (not acknowledged); %d leader elections after SIGKILL, the slowest %v",
		faults, dur, total, failed, len(elections), maxElection.Round(time.Millisecond))
	mu.Unlock()
	if maxElection > 15*time.Second {
		t.Errorf("a leader election took %v", maxElection)
	}
	if total < 1000 {
		t.Errorf("only %d records acknowledged", total)
	}

	// Every acknowledged record exactly once, at its offset, in order.
	end := endOffsets(t, c, "failover")
	n := 0
	for _, o := range end {
		n += int(o)
	}
	got := consumeAll(t, c, "failover", n)
	for p := int32(0); p < parts; p++ {
		byOffset := map[int64]string{}
		seen := map[string]int{}
		lastSeq := -1
		for _, r := range got[p] {
			byOffset[r.Offset] = string(r.Value)
			seen[string(r.Value)]++
			s, _ := strconv.Atoi(strings.SplitN(string(r.Value), "-", 2)[1])
			if s <= lastSeq {
				t.Errorf("failover-%d: %q at offset %d after sequence %d", p, r.Value, r.Offset, lastSeq)
			}
			lastSeq = s
		}
		for _, a := range ack[p] {
			v := fmt.Sprintf("%d-%d", p, a.seq)
			if byOffset[a.offset] != v {
				t.Errorf("failover-%d: acknowledged %q at offset %d, the log has %q there", p, v, a.offset, byOffset[a.offset])
			}
			if seen[v] != 1 {
				t.Errorf("failover-%d: acknowledged %q is in the log %d times", p, v, seen[v])
			}
		}
	}
	assertReplicasIdentical(t, c, "failover", parts)
}

// waitFullISR waits until every live broker knows topic with parts
// partitions, each with a leader and all its replicas in the ISR.
func waitFullISR(t *testing.T, c *clustertest.Cluster, topic string, parts int) {
	t.Helper()
	kafkatest.Eventually(t, 60*time.Second, func() error {
		for _, n := range c.LiveBrokers() {
			md, err := c.Metadata(n, topic)
			if err != nil {
				return err
			}
			if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != parts {
				return fmt.Errorf("node %d: %s not known", n, topic)
			}
			for _, p := range md.Topics[0].Partitions {
				if len(p.ISR) != len(p.Replicas) || p.Leader < 0 {
					return fmt.Errorf("node %d: %s-%d leader %d isr %v replicas %v", n, topic, p.Partition, p.Leader, p.ISR, p.Replicas)
				}
			}
		}
		return nil
	})
}

// endOffsets lists the high watermark of every partition of topic.
func endOffsets(t *testing.T, c *clustertest.Cluster, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lo, err := c.Admin(t).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	lo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s-%d: %v", topic, o.Partition, o.Err)
		}
		out[o.Partition] = o.Offset
	})
	return out
}
