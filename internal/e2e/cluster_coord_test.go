package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// findCoordinator asks a live node, directly, which node coordinates key
// (keyType 0: a group, 1: a transactional id), and has that node confirm
// it; -1 and the reason while there is no answer both agree on.
func findCoordinator(c *clustertest.Cluster, keyType int8, key string) (int32, error) {
	ask := func(n int) (int32, error) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr(n)))
		if err != nil {
			return -1, err
		}
		defer cl.Close()
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = keyType, key, []string{key}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return -1, fmt.Errorf("node %d: %w", n, err)
		}
		code, id := resp.ErrorCode, resp.NodeID
		if len(resp.Coordinators) == 1 {
			code, id = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].NodeID
		}
		if err := kerr.ErrorForCode(code); err != nil {
			return -1, fmt.Errorf("node %d: %w", n, err)
		}
		return id, nil
	}
	live := c.Live()
	if len(live) == 0 {
		return -1, fmt.Errorf("no live node")
	}
	id, err := ask(live[0])
	if err != nil {
		return -1, err
	}
	if !slices.Contains(live, int(id)) {
		return -1, fmt.Errorf("node %d names node %d, which is down", live[0], id)
	}
	again, err := ask(int(id))
	if err != nil {
		return -1, err
	}
	if again != id {
		return -1, fmt.Errorf("node %d names node %d as coordinator, node %d names %d", live[0], id, id, again)
	}
	return id, nil
}

// waitCoordinator waits until the coordinator of key is a live node other
// than not, and returns it.
func waitCoordinator(t *testing.T, c *clustertest.Cluster, keyType int8, key string, not int32, timeout time.Duration) int32 {
	t.Helper()
	var id int32
	kafkatest.Eventually(t, timeout, func() error {
		var err error
		if id, err = findCoordinator(c, keyType, key); err != nil {
			return err
		}
		if id == not {
			return fmt.Errorf("node %d is still named the coordinator of %q", id, key)
		}
		return nil
	})
	return id
}

// cgConsumed is what the consumers of TestClusterGroupCoordinatorFailover
// saw and committed, guarded by mu.
type cgConsumed struct {
	mu sync.Mutex
	// recs: every record read, per partition, in the order each
	// consumer read them (runs from different consumers interleave).
	reads map[int32][]cgRead
	// acked: the last offset (the next to read) whose commit the
	// coordinator acknowledged, per partition; tried: every offset a
	// commit was sent for (acknowledged or not).
	acked map[int32]int64
	tried map[int32]map[int64]bool
	errs  []string
}

type cgRead struct {
	member int
	offset int64
	value  string
}

// TestClusterGroupCoordinatorFailover: three consumers of one group read
// an RF=3 topic and commit what they read; the node that coordinates the
// group is SIGKILLed while records flow. The group comes back on the new
// coordinator with every partition assigned, the committed offsets survive
// exactly, every record is read at least once and in order, a fresh member
// starts exactly at the committed offsets, and the killed node rejoins.
func TestClusterGroupCoordinatorFailover(t *testing.T) {
	const (
		topic  = "cg-orders"
		group  = "cg-readers"
		parts  = 6
		phase1 = 1200 // records before the kill
		phase2 = 1800 // records produced while the coordinator dies
		tail   = 60   // records for the fresh member after the final commit
	)
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := c.Admin(t)
	if _, err := adm.CreateTopic(ctx, parts, 3, nil, topic); err != nil {
		t.Fatal(err)
	}
	waitFullISR(t, c, topic, parts)

	// The producer: idempotent, acks=all, value "p-seq", each acknowledged
	// record kept with its offset.
	prod := c.Client(t, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(45*time.Second))
	var prodMu sync.Mutex
	produced := map[int32]map[int64]string{}
	seq := map[int32]int{}
	produce := func(n int, pace bool) error {
		for i := 0; i < n; i++ {
			p := int32(i % parts)
			v := fmt.Sprintf("%d-%d", p, seq[p])
			seq[p]++
			prod.Produce(ctx, &kgo.Record{Partition: p, Value: []byte(v)}, func(r *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce %s: %v", v, err)
					return
				}
				prodMu.Lock()
				if produced[r.Partition] == nil {
					produced[r.Partition] = map[int64]string{}
				}
				produced[r.Partition][r.Offset] = v
				prodMu.Unlock()
			})
			if pace && i%60 == 59 {
				time.Sleep(30 * time.Millisecond)
			}
		}
		return prod.Flush(ctx)
	}

	// The consumers: poll, remember, commit synchronously what was read,
	// then allow a rebalance; so a partition changes hands only at a
	// committed offset.
	st := &cgConsumed{reads: map[int32][]cgRead{}, acked: map[int32]int64{}, tried: map[int32]map[int64]bool{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	members := make([]*kgo.Client, 3)
	for m := range members {
		members[m] = c.Client(t, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
			kgo.BlockRebalanceOnPoll(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond), kgo.RebalanceTimeout(20*time.Second),
			kgo.FetchMaxWait(200*time.Millisecond))
		cl := members[m]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				pctx, pcancel := context.WithTimeout(ctx, time.Second)
				fs := cl.PollRecords(pctx, 300)
				pcancel()
				fs.EachError(func(tp string, p int32, err error) {
					if err != context.DeadlineExceeded && err != context.Canceled {
						t.Logf("member %d: fetch %s-%d: %v", m, tp, p, err)
					}
				})
				next := map[string]map[int32]kgo.EpochOffset{}
				st.mu.Lock()
				fs.EachRecord(func(r *kgo.Record) {
					st.reads[r.Partition] = append(st.reads[r.Partition], cgRead{m, r.Offset, string(r.Value)})
					if next[r.Topic] == nil {
						next[r.Topic] = map[int32]kgo.EpochOffset{}
					}
					next[r.Topic][r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
					if st.tried[r.Partition] == nil {
						st.tried[r.Partition] = map[int64]bool{}
					}
					st.tried[r.Partition][r.Offset+1] = true
				})
				st.mu.Unlock()
				if len(next) > 0 {
					cl.CommitOffsetsSync(ctx, next, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
						st.mu.Lock()
						defer st.mu.Unlock()
						if err != nil {
							st.errs = append(st.errs, fmt.Sprintf("member %d: commit: %v", m, err))
							return
						}
						for _, rt := range resp.Topics {
							for _, rp := range rt.Partitions {
								if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
									st.errs = append(st.errs, fmt.Sprintf("member %d: commit %s-%d: %v", m, rt.Topic, rp.Partition, err))
									continue
								}
								st.acked[rp.Partition] = next[rt.Topic][rp.Partition].Offset
							}
						}
					})
				}
				cl.AllowRebalance()
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	// readAll waits until the consumers acknowledged commits up to want
	// on every partition.
	readUpTo := func(want map[int32]int64, timeout time.Duration) {
		t.Helper()
		kafkatest.Eventually(t, timeout, func() error {
			st.mu.Lock()
			defer st.mu.Unlock()
			for p := int32(0); p < parts; p++ {
				if st.acked[p] != want[p] {
					return fmt.Errorf("%s-%d committed at %d, end %d; commit errors so far: %v", topic, p, st.acked[p], want[p], st.errs)
				}
			}
			return nil
		})
	}
	fetchCommitted := func() map[int32]int64 {
		t.Helper()
		var out map[int32]int64
		kafkatest.Eventually(t, 30*time.Second, func() error {
			adm, done := freshAdmin(c)
			defer done()
			os, err := adm.FetchOffsets(ctx, group)
			if err != nil {
				return err
			}
			if err := os.Error(); err != nil {
				return err
			}
			out = map[int32]int64{}
			os.Each(func(o kadm.OffsetResponse) {
				if o.Topic == topic {
					out[o.Partition] = o.At
				}
			})
			return nil
		})
		return out
	}

	// Phase 1: everything read and committed before the kill.
	if err := produce(phase1, false); err != nil {
		t.Fatal(err)
	}
	end1 := endOffsets(t, c, topic)
	readUpTo(end1, 45*time.Second)
	if got := fetchCommitted(); !maps2Equal(got, end1) {
		t.Fatalf("committed offsets before the kill %v, want the end offsets %v", got, end1)
	}
	coord, err := findCoordinator(c, 0, group)
	if err != nil {
		t.Fatal(err)
	}
	members1 := describeStable(t, c, group, 3, parts, topic)
	gen1 := groupGeneration(t, members, members1)

	// Phase 2: the coordinator's node dies while records are produced,
	// read and committed.
	produced2 := make(chan error, 1)
	go func() { produced2 <- produce(phase2, true) }()
	kafkatest.Eventually(t, 30*time.Second, func() error {
		st.mu.Lock()
		defer st.mu.Unlock()
		n := 0
		for p := int32(0); p < parts; p++ {
			n += int(st.acked[p] - end1[p])
		}
		if n < phase2/4 {
			return fmt.Errorf("%d records of phase 2 committed", n)
		}
		return nil
	})
	ackedAtKill := map[int32]int64{}
	st.mu.Lock()
	for p, o := range st.acked {
		ackedAtKill[p] = o
	}
	st.mu.Unlock()
	c.Kill(int(coord))
	killedAt := time.Now()
	newCoord := waitCoordinator(t, c, 0, group, coord, 30*time.Second)
	t.Logf("group %s: coordinator node %d SIGKILLed; node %d took over after %v", group, coord, newCoord, time.Since(killedAt).Round(time.Millisecond))
	// Committed offsets survived: each is at least what was acknowledged
	// before the kill, and exactly an offset a member committed.
	got := fetchCommitted()
	st.mu.Lock()
	for p := int32(0); p < parts; p++ {
		if got[p] < ackedAtKill[p] || !st.tried[p][got[p]] {
			t.Errorf("%s-%d: the new coordinator has offset %d committed; acknowledged before the kill %d; a member committed it: %v",
				topic, p, got[p], ackedAtKill[p], st.tried[p][got[p]])
		}
	}
	st.mu.Unlock()
	if err := <-produced2; err != nil {
		t.Fatal(err)
	}
	end2 := liveEndOffsets(t, c, topic)
	readUpTo(end2, 60*time.Second)
	members2 := describeStable(t, c, group, 3, parts, topic)
	gen2 := groupGeneration(t, members, members2)
	t.Logf("group %s: generation %d, members %v before the kill; generation %d, members %v after", group, gen1, members1, gen2, members2)
	// The new coordinator loaded the group from __consumer_offsets: a
	// group it started afresh would count generations from 1 again.
	if gen2 < gen1 {
		t.Errorf("group %s: generation %d after the failover, %d before", group, gen2, gen1)
	}

	// The final commit is what the new coordinator returns, exactly.
	if got := fetchCommitted(); !maps2Equal(got, end2) {
		t.Fatalf("committed offsets at the end %v, want the end offsets %v", got, end2)
	}
	close(stop)
	wg.Wait()
	for _, cl := range members {
		cl.Close()
	}

	// Every produced record read at least once, each member's reads of a
	// partition in offset order, no offset read that was not produced.
	st.mu.Lock()
	dups := 0
	for p := int32(0); p < parts; p++ {
		if n := int64(len(produced[p])); n != end2[p] {
			t.Errorf("%s-%d: %d records acknowledged, end offset %d", topic, p, n, end2[p])
		}
		seen := map[int64]int{}
		last := map[int]int64{}
		for _, r := range st.reads[p] {
			if want := produced[p][r.offset]; r.value != want {
				t.Errorf("%s-%d offset %d: read %q, produced %q", topic, p, r.offset, r.value, want)
			}
			if l, ok := last[r.member]; ok && r.offset <= l {
				// A member reads a partition again only from a
				// committed offset after it was reassigned.
				if !st.tried[p][r.offset] && r.offset != 0 {
					t.Errorf("%s-%d: member %d read offset %d after %d, not from a committed offset", topic, p, r.member, r.offset, l)
				}
			}
			last[r.member] = r.offset
			seen[r.offset]++
			if seen[r.offset] == 2 {
				dups++
			}
		}
		for o := int64(0); o < end2[p]; o++ {
			if seen[o] == 0 {
				t.Errorf("%s-%d: offset %d never read", topic, p, o)
			}
		}
		// The produced values are in sequence order by offset.
		for o := int64(0); o < end2[p]; o++ {
			if want := fmt.Sprintf("%d-%d", p, o); produced[p][o] != want {
				t.Fatalf("%s-%d offset %d holds %q, want %q", topic, p, o, produced[p][o], want)
			}
		}
	}
	t.Logf("%d records, %d read twice (redelivered after a failed commit); commit errors: %d", end2[0]*parts, dups, len(st.errs))
	for _, e := range st.errs {
		t.Logf("  %s", e)
	}
	st.mu.Unlock()

	// A fresh member of the group starts exactly at the committed offsets.
	if err := produce(tail, false); err != nil {
		t.Fatal(err)
	}
	fresh := c.Client(t, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	tailRecs := map[int32][]*kgo.Record{}
	kafkatest.Eventually(t, 45*time.Second, func() error {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		fs := fresh.PollFetches(pctx)
		fs.EachRecord(func(r *kgo.Record) { tailRecs[r.Partition] = append(tailRecs[r.Partition], r) })
		n := 0
		for _, rs := range tailRecs {
			n += len(rs)
		}
		if n < tail {
			return fmt.Errorf("the fresh member read %d of %d records", n, tail)
		}
		return nil
	})
	for p := int32(0); p < parts; p++ {
		rs := tailRecs[p]
		if len(rs) != tail/parts {
			t.Errorf("%s-%d: the fresh member read %d records, want %d", topic, p, len(rs), tail/parts)
			continue
		}
		for i, r := range rs {
			if r.Offset != end2[p]+int64(i) || string(r.Value) != fmt.Sprintf("%d-%d", p, end2[p]+int64(i)) {
				t.Errorf("%s-%d: the fresh member's record %d is %q at offset %d, want offset %d", topic, p, i, r.Value, r.Offset, end2[p]+int64(i))
			}
		}
	}
	fresh.Close()

	// The killed node comes back and rejoins every ISR.
	c.Restart(int(coord))
	c.WaitReady(t, 30*time.Second)
	waitFullISR(t, c, topic, parts)
	waitFullISR(t, c, "__consumer_offsets", 6)
	assertReplicasIdentical(t, c, topic, parts)
}

// describeStable waits until group is Stable with members members that
// share parts partitions of topic among them, and returns its member ids.
func describeStable(t *testing.T, c *clustertest.Cluster, group string, members, parts int, topic string) []string {
	t.Helper()
	var ids []string
	kafkatest.Eventually(t, 45*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		adm, done := freshAdmin(c)
		defer done()
		dg, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return err
		}
		g := dg[group]
		if g.Err != nil {
			return g.Err
		}
		if g.State != "Stable" || len(g.Members) != members {
			return fmt.Errorf("group %s: state %s with %d members", group, g.State, len(g.Members))
		}
		assigned := map[int32]bool{}
		for _, m := range g.Members {
			ca, ok := m.Assigned.AsConsumer()
			if !ok {
				return fmt.Errorf("member %s: not a consumer assignment", m.MemberID)
			}
			for _, at := range ca.Topics {
				if at.Topic != topic {
					return fmt.Errorf("member %s assigned %s", m.MemberID, at.Topic)
				}
				for _, p := range at.Partitions {
					if assigned[p] {
						return fmt.Errorf("%s-%d assigned twice", topic, p)
					}
					assigned[p] = true
				}
			}
		}
		if len(assigned) != parts {
			return fmt.Errorf("%d of %d partitions assigned", len(assigned), parts)
		}
		ids = ids[:0]
		for _, m := range g.Members {
			ids = append(ids, m.MemberID)
		}
		slices.Sort(ids)
		return nil
	})
	return ids
}

// freshAdmin is an admin client with nothing cached (brokers, coordinators),
// so that a check after a fault asks the cluster as it is now and does not
// depend on what an earlier check found.
func freshAdmin(c *clustertest.Cluster) (*kadm.Client, func()) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...))
	if err != nil {
		panic(err)
	}
	return kadm.NewClient(cl), cl.Close
}

// liveEndOffsets is endOffsets after a fault: fresh clients, tried until
// one answers for every partition.
func liveEndOffsets(t *testing.T, c *clustertest.Cluster, topic string) map[int32]int64 {
	t.Helper()
	var out map[int32]int64
	kafkatest.Eventually(t, 30*time.Second, func() error {
		adm, done := freshAdmin(c)
		defer done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		lo, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return err
		}
		if err := lo.Error(); err != nil {
			return err
		}
		out = map[int32]int64{}
		lo.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
		return nil
	})
	return out
}

// groupGeneration waits until every client is a member the coordinator
// described (ids) and all are in one generation, and returns it.
func groupGeneration(t *testing.T, clients []*kgo.Client, ids []string) int32 {
	t.Helper()
	var gen int32
	kafkatest.Eventually(t, 30*time.Second, func() error {
		gens := map[int32]bool{}
		for i, cl := range clients {
			id, g := cl.GroupMetadata()
			if !slices.Contains(ids, id) {
				return fmt.Errorf("member %d is %q in generation %d, not one of %v", i, id, g, ids)
			}
			gens[g], gen = true, g
		}
		if len(gens) != 1 {
			return fmt.Errorf("members in generations %v", gens)
		}
		return nil
	})
	return gen
}

func maps2Equal(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestClusterTxnCoordinatorFailover: a consume-transform-produce pipeline
// (franz-go's GroupTransactSession, read_committed) copies an RF=3 input
// topic to an output topic, aborting every 5th transaction on purpose. In
// the middle of a transaction, with its records produced, the node that
// coordinates the transactional id is SIGKILLed; the pipeline carries on
// with the new coordinator. A read_committed consumer of the output then
// sees every input record transformed exactly once, in input order per
// partition, nothing of an aborted transaction; the pipeline's committed
// offsets are the input's end offsets.
func TestClusterTxnCoordinatorFailover(t *testing.T) {
	const (
		in, out = "tx-in", "tx-out"
		group   = "tx-pipeline"
		txid    = "tx-pipeline-1"
		parts   = 6
		total   = 3000
		batch   = 150
	)
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := c.Admin(t)
	for _, tp := range []string{in, out} {
		if _, err := adm.CreateTopic(ctx, parts, 3, nil, tp); err != nil {
			t.Fatal(err)
		}
		waitFullISR(t, c, tp, parts)
	}
	prod := c.Client(t, kgo.DefaultProduceTopic(in), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := 0; i < total; i++ {
		p := int32(i % parts)
		prod.Produce(ctx, &kgo.Record{Partition: p, Key: []byte(strconv.Itoa(i)), Value: []byte(fmt.Sprintf("in-%d-%d", p, i/parts))}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	inEnd := endOffsets(t, c, in)

	newSession := func() *kgo.GroupTransactSession {
		t.Helper()
		sess, err := kgo.NewGroupTransactSession(
			kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...),
			kgo.MetadataMinAge(50*time.Millisecond),
			kgo.TransactionalID(txid),
			kgo.TransactionTimeout(20*time.Second),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.ConsumerGroup(group),
			kgo.ConsumeTopics(in),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.RequireStableFetchOffsets(),
			kgo.FetchMaxWait(200*time.Millisecond),
			kgo.SessionTimeout(6*time.Second),
			kgo.HeartbeatInterval(500*time.Millisecond),
			kgo.RebalanceTimeout(20*time.Second),
		)
		if err != nil {
			t.Fatal(err)
		}
		return sess
	}
	sess := newSession()
	defer func() { sess.Close() }()

	// The pipeline. Each output record carries the number of its
	// transaction; how each transaction ended is kept.
	type outcome int
	const (
		committedTxn outcome = iota
		abortedTxn
	)
	outcomes := map[int]outcome{}
	var wroteMu sync.Mutex
	wrote := map[int]int{}        // records acknowledged, per transaction
	consumed := map[int32]int64{} // next input offset after the last committed transaction
	coord := int32(-1)
	killed := false
	var killedAt time.Time
	killedIn := 0 // the transaction in flight when the coordinator died
	txns := 0
	reinits := 0
	for ctx.Err() == nil {
		done := true
		for p, e := range inEnd {
			if consumed[p] < e {
				done = false
			}
		}
		if done {
			break
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		fs := sess.PollRecords(pctx, batch)
		pcancel()
		fs.EachError(func(tp string, p int32, err error) {
			if err != context.DeadlineExceeded && err != context.Canceled {
				t.Logf("fetch %s-%d: %v", tp, p, err)
			}
		})
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		txns++
		n := txns
		if err := sess.Begin(); err != nil {
			t.Fatalf("transaction %d: begin: %v", n, err)
		}
		last := map[int32]int64{}
		for _, r := range recs {
			if r.Topic != in {
				t.Fatalf("read %s", r.Topic)
			}
			if o, ok := last[r.Partition]; ok && r.Offset != o+1 {
				t.Fatalf("transaction %d: %s-%d read offset %d after %d", n, in, r.Partition, r.Offset, o)
			} else if !ok && r.Offset != consumed[r.Partition] {
				t.Fatalf("transaction %d: %s-%d starts at offset %d, the last committed transaction ended at %d", n, in, r.Partition, r.Offset, consumed[r.Partition])
			}
			last[r.Partition] = r.Offset
			o := &kgo.Record{Topic: out, Partition: r.Partition, Key: r.Key, Value: append([]byte("out-"), r.Value...),
				Headers: []kgo.RecordHeader{{Key: "txn", Value: []byte(strconv.Itoa(n))}}}
			sess.Produce(ctx, o, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Logf("transaction %d: produce: %v", n, err)
					return
				}
				wroteMu.Lock()
				wrote[n]++
				wroteMu.Unlock()
			})
		}
		// A third of the way, with this transaction's records written, kill the
		// transaction coordinator's node.
		sum := int64(0)
		for _, o := range consumed {
			sum += o
		}
		if !killed && n%5 != 0 && sum >= total/3 {
			if err := sess.Client().Flush(ctx); err != nil {
				t.Fatalf("flush: %v", err)
			}
			var err error
			if coord, err = findCoordinator(c, 1, txid); err != nil {
				t.Fatal(err)
			}
			c.Kill(int(coord))
			killed, killedAt, killedIn = true, time.Now(), n
			t.Logf("transaction %d in flight: SIGKILL node %d, the coordinator of %s", n, coord, txid)
		}
		try := kgo.TryCommit
		if n%5 == 0 {
			// Aborted on purpose, with its records written first (End
			// with TryAbort would drop them unsent).
			try = kgo.TryAbort
			if err := sess.Client().Flush(ctx); err != nil {
				t.Fatalf("flush: %v", err)
			}
		}
		committed, err := sess.End(ctx, try)
		if err != nil {
			// franz-go: "No returned error is retryable"; an
			// application starts a new session with the same
			// transactional id, which fences the old producer and
			// ends whatever it left open, and carries on from the
			// group's committed offsets. Whether this transaction
			// committed shows in those offsets.
			reinits++
			t.Logf("transaction %d: end: %v; starting a new session (%d so far)", n, err, reinits)
			if reinits > 3 {
				t.Fatalf("transaction %d: the session failed %d times", n, reinits)
			}
			sess.Close()
			sess = newSession()
			var offs kadm.OffsetResponses
			kafkatest.Eventually(t, 30*time.Second, func() error {
				adm, done := freshAdmin(c)
				defer done()
				var err error
				if offs, err = adm.FetchOffsets(kadm.RequireStable(ctx), group); err != nil {
					return err
				}
				return offs.Error()
			})
			now := map[int32]int64{}
			offs.Each(func(o kadm.OffsetResponse) {
				if o.Topic == in {
					now[o.Partition] = o.At
				}
			})
			advanced, stayed := 0, 0
			for p, o := range last {
				switch now[p] {
				case o + 1:
					advanced++
				case consumed[p]:
					stayed++
				default:
					t.Fatalf("transaction %d read %s-%d up to %d from %d; the group's committed offset is now %d", n, in, p, o, consumed[p], now[p])
				}
			}
			for p := range now {
				if _, ok := last[p]; !ok && now[p] != consumed[p] {
					t.Fatalf("%s-%d: committed offset %d, want %d (not in transaction %d)", in, p, now[p], consumed[p], n)
				}
			}
			switch {
			case stayed == len(last):
				outcomes[n] = abortedTxn
			case advanced == len(last):
				outcomes[n] = committedTxn
				for p, o := range last {
					consumed[p] = o + 1
				}
			default:
				t.Fatalf("transaction %d: the offsets of some partitions committed, of others not: %v, was at %v", n, now, consumed)
			}
			t.Logf("transaction %d: committed %v (from the group's offsets)", n, outcomes[n] == committedTxn)
			continue
		}
		if n == killedIn {
			t.Logf("transaction %d, in flight when its coordinator died: committed %v, after %v", n, committed, time.Since(killedAt).Round(time.Millisecond))
		}
		if committed {
			outcomes[n] = committedTxn
			for p, o := range last {
				if o+1 <= consumed[p] {
					t.Fatalf("transaction %d: committed %s-%d up to %d, already at %d", n, in, p, o+1, consumed[p])
				}
				consumed[p] = o + 1
			}
		} else {
			outcomes[n] = abortedTxn
			if try == kgo.TryCommit {
				t.Logf("transaction %d aborted by the session (try commit)", n)
			}
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("pipeline did not finish: consumed %v of %v", consumed, inEnd)
	}
	if !killed {
		t.Fatal("the coordinator was never killed")
	}
	newCoord := waitCoordinator(t, c, 1, txid, coord, 30*time.Second)
	aborts := 0
	for _, o := range outcomes {
		if o == abortedTxn {
			aborts++
		}
	}
	t.Logf("%d transactions (%d aborted); coordinator %d -> %d; the pipeline finished %v after the kill",
		txns, aborts, coord, newCoord, time.Since(killedAt).Round(time.Millisecond))
	sess.Close()

	// The pipeline's committed offsets are the input's end offsets.
	var offs kadm.OffsetResponses
	kafkatest.Eventually(t, 30*time.Second, func() error {
		adm, done := freshAdmin(c)
		defer done()
		var err error
		if offs, err = adm.FetchOffsets(ctx, group); err != nil {
			return err
		}
		return offs.Error()
	})
	for p := int32(0); p < parts; p++ {
		o, ok := offs.Lookup(in, p)
		if !ok || o.At != inEnd[p] {
			t.Errorf("%s-%d: the pipeline committed %d (found %v), end offset %d", in, p, o.At, ok, inEnd[p])
		}
	}

	// read_committed: every input record once, in order, from committed
	// transactions only; the output's last stable offset is its end.
	outEnd := liveEndOffsets(t, c, out)
	var lso kadm.ListedOffsets
	kafkatest.Eventually(t, 30*time.Second, func() error {
		adm, done := freshAdmin(c)
		defer done()
		var err error
		if lso, err = adm.ListCommittedOffsets(ctx, out); err != nil {
			return err
		}
		return lso.Error()
	})
	rc := c.Client(t, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := map[int32][]*kgo.Record{}
	kafkatest.Eventually(t, 45*time.Second, func() error {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		rc.PollFetches(pctx).EachRecord(func(r *kgo.Record) { got[r.Partition] = append(got[r.Partition], r) })
		for p := int32(0); p < parts; p++ {
			if n := int64(len(got[p])); n < inEnd[p] {
				return fmt.Errorf("%s-%d: %d of %d records read", out, p, n, inEnd[p])
			}
		}
		return nil
	})
	// Nothing more comes: a short extra poll finds nothing.
	pctx, pcancel := context.WithTimeout(ctx, time.Second)
	rc.PollFetches(pctx).EachRecord(func(r *kgo.Record) { got[r.Partition] = append(got[r.Partition], r) })
	pcancel()
	uncommitted := 0
	for p := int32(0); p < parts; p++ {
		if o, _ := lso.Lookup(out, p); o.Offset != outEnd[p] {
			t.Errorf("%s-%d: last stable offset %d, high watermark %d", out, p, o.Offset, outEnd[p])
		}
		rs := got[p]
		if int64(len(rs)) != inEnd[p] {
			t.Errorf("%s-%d: %d records read_committed, want %d", out, p, len(rs), inEnd[p])
		}
		for i, r := range rs {
			if want := fmt.Sprintf("out-in-%d-%d", p, i); string(r.Value) != want {
				t.Errorf("%s-%d: record %d (offset %d) is %q, want %q", out, p, i, r.Offset, r.Value, want)
				break
			}
			n, _ := strconv.Atoi(string(r.Headers[0].Value))
			if oc, ok := outcomes[n]; !ok || oc != committedTxn {
				t.Errorf("%s-%d: record %q at offset %d is from transaction %d, which did not commit", out, p, r.Value, r.Offset, n)
			}
		}
		uncommitted += int(outEnd[p])
	}
	// The output also holds the aborted transactions' records and the
	// markers, which read_committed skipped.
	t.Logf("%s: %d offsets in the log for %d records read_committed", out, uncommitted, total)
	if aborts == 0 || uncommitted <= total {
		t.Errorf("no aborted data in %s to hide (%d aborts, %d offsets)", out, aborts, uncommitted)
	}
	// read_uncommitted shows exactly the records of every transaction,
	// aborted ones too: they are in the log, hidden.
	appended, abortedRecs := 0, 0
	for n, k := range wrote {
		appended += k
		if outcomes[n] == abortedTxn {
			abortedRecs += k
		}
	}
	seen := 0
	for _, rs := range consumeAll(t, c, out, appended) {
		for _, r := range rs {
			n, _ := strconv.Atoi(string(r.Headers[0].Value))
			if outcomes[n] == abortedTxn {
				seen++
			}
		}
	}
	if seen != abortedRecs || abortedRecs == 0 {
		t.Errorf("read_uncommitted: %d records of aborted transactions, %d were written", seen, abortedRecs)
	}

	c.Restart(int(coord))
	c.WaitReady(t, 30*time.Second)
	waitFullISR(t, c, "__transaction_state", 6)
}

// TestClusterCoordinatorFirstUse: the first FindCoordinator requests of a
// new cluster reach every node at once, so each node asks the controller
// to create the internal topics and all but one hear that they exist
// before their own metadata has them. Each still answers, and they agree.
func TestClusterCoordinatorFirstUse(t *testing.T) {
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	type answer struct {
		node    int
		keyType int8
		id      int32
		err     error
	}
	answers := make(chan answer, 6*c.N())
	var wg sync.WaitGroup
	for n := 1; n <= c.N(); n++ {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr(n)))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		// Connect first, so the requests below leave together.
		if _, err := kmsg.NewPtrApiVersionsRequest().RequestWith(context.Background(), cl); err != nil {
			t.Fatal(err)
		}
		for _, keyType := range []int8{0, 1} {
			for k := 0; k < 3; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := kmsg.NewPtrFindCoordinatorRequest()
					req.CoordinatorType, req.CoordinatorKeys = keyType, []string{fmt.Sprintf("first-use-%d", k)}
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					resp, err := req.RequestWith(ctx, cl)
					if err == nil {
						err = kerr.ErrorForCode(resp.Coordinators[0].ErrorCode)
					}
					a := answer{node: n, keyType: keyType, id: -1, err: err}
					if err == nil {
						a.id = resp.Coordinators[0].NodeID
					}
					answers <- a
				}()
			}
		}
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		// COORDINATOR_NOT_AVAILABLE is a fine first answer while the
		// partitions get their leaders; a dropped connection is not.
		if a.err != nil && !errors.Is(a.err, kerr.CoordinatorNotAvailable) {
			t.Errorf("node %d, key type %d: %v", a.node, a.keyType, a.err)
		}
	}
	for _, keyType := range []int8{0, 1} {
		for k := 0; k < 3; k++ {
			waitCoordinator(t, c, keyType, fmt.Sprintf("first-use-%d", k), -1, 20*time.Second)
		}
	}
	for n := 1; n <= c.N(); n++ {
		if !c.Running(n) {
			t.Errorf("node %d is not running", n)
		}
	}
}
