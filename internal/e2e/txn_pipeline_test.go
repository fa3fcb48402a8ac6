package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// How a pipeline worker dies (see eosPipeline.plan).
type eosKill int

const (
	eosLive eosKill = iota
	// severMid: in the middle of a transaction, with its records
	// produced and acknowledged, the worker's network goes dead (every
	// connection closed, no new one dialed): no EndTxn, no LeaveGroup, no
	// heartbeat, as if its process had been SIGKILLed.
	severMid
	// severAfterOffsets: the network goes dead right after the broker
	// accepted the worker's TxnOffsetCommit, so its offsets are pending in
	// a transaction that never ends.
	severAfterOffsets
	// closeMid: in the middle of a transaction the worker closes its
	// client without ending the transaction (it leaves the group).
	closeMid
	// failed: an unexpected error (reported by the test); the worker is
	// closed and replaced so that the run can finish.
	failed
)

func (k eosKill) String() string {
	return [...]string{"live", "network cut mid-transaction", "network cut after TxnOffsetCommit", "closed mid-transaction", "failed"}[k]
}

// deadNet is a worker's network: kill closes every connection and refuses
// new ones. onTxnOffsets, if set, is called with each TxnOffsetCommit
// response the worker reads (before the client sees it).
type deadNet struct {
	mu           sync.Mutex
	dead         bool
	conns        []net.Conn
	onTxnOffsets func(*kmsg.TxnOffsetCommitResponse)
}

var errWorkerKilled = errors.New("worker killed")

func (d *deadNet) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	dead := d.dead
	d.mu.Unlock()
	if dead {
		return nil, errWorkerKilled
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		c.Close()
		return nil, errWorkerKilled
	}
	d.conns = append(d.conns, c)
	return &watchConn{Conn: c, d: d, watched: map[int32]int16{}}, nil
}

func (d *deadNet) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	for _, c := range d.conns {
		c.Close()
	}
}

// watchConn follows the frames of a connection to hand the TxnOffsetCommit
// responses to deadNet.onTxnOffsets. franz-go writes each request with one
// Write; responses are read in any pieces.
type watchConn struct {
	net.Conn
	d       *deadNet
	mu      sync.Mutex
	watched map[int32]int16 // correlation id → version of TxnOffsetCommit requests
	hdr     []byte          // the size and correlation id of the next response, as far as read
	left    int             // bytes of the current response left to read
	version int16           // of the current response, -1 if not watched
	body    []byte
}

func (c *watchConn) Write(p []byte) (int, error) {
	if len(p) >= 12 && int16(binary.BigEndian.Uint16(p[4:])) == kmsg.TxnOffsetCommit.Int16() {
		c.mu.Lock()
		c.watched[int32(binary.BigEndian.Uint32(p[8:]))] = int16(binary.BigEndian.Uint16(p[6:]))
		c.mu.Unlock()
	}
	return c.Conn.Write(p)
}

func (c *watchConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	var done []*kmsg.TxnOffsetCommitResponse
	c.mu.Lock()
	for b := p[:n]; len(b) > 0; {
		if c.left == 0 {
			k := min(8-len(c.hdr), len(b))
			c.hdr, b = append(c.hdr, b[:k]...), b[k:]
			if len(c.hdr) < 8 {
				break
			}
			c.left = int(binary.BigEndian.Uint32(c.hdr)) - 4
			corr := int32(binary.BigEndian.Uint32(c.hdr[4:]))
			c.hdr, c.version, c.body = c.hdr[:0], -1, nil
			if v, ok := c.watched[corr]; ok {
				delete(c.watched, corr)
				c.version = v
			}
			continue
		}
		k := min(c.left, len(b))
		if c.version >= 0 {
			c.body = append(c.body, b[:k]...)
		}
		c.left, b = c.left-k, b[k:]
		if c.left == 0 && c.version >= 0 {
			body := c.body
			if c.version >= 3 { // flexible: the response header's tagged fields
				if len(body) == 0 || body[0] != 0 {
					panic(fmt.Sprintf("TxnOffsetCommit v%d response with header tags: % x", c.version, body))
				}
				body = body[1:]
			}
			resp := kmsg.NewPtrTxnOffsetCommitResponse()
			resp.SetVersion(c.version)
			if err := resp.ReadFrom(body); err != nil {
				panic(fmt.Sprintf("decode TxnOffsetCommit v%d response: %v", c.version, err))
			}
			done = append(done, resp)
		}
	}
	c.mu.Unlock()
	if c.d.onTxnOffsets != nil {
		for _, resp := range done {
			c.d.onTxnOffsets(resp)
		}
	}
	return n, err
}

// eosWorker is one consume-transform-produce worker: a
// GroupTransactSession with its own transactional id.
type eosWorker struct {
	name, txid string
	slot       int
	sess       *kgo.GroupTransactSession
	net        *deadNet
	cancel     context.CancelFunc // the client's context
	armed      atomic.Bool        // cut the network after the next accepted TxnOffsetCommit
	cut        atomic.Bool        // the armed worker's network was cut
	batch      atomic.Int64       // the batch the worker is in
	done       chan struct{}
	closeOnce  sync.Once
}

func (w *eosWorker) close() { w.closeOnce.Do(w.sess.Close) }

// eosDeath is a worker's report that it died in a batch and how.
type eosDeath struct {
	w     *eosWorker
	batch int
	kind  eosKill
}

// eosPipeline is the shared state of TestTxnGroupTransactSessionPipeline.
type eosPipeline struct {
	t               *testing.T
	addr, in, out   string
	group           string
	plan            map[int]eosKill // global batch number → how its worker dies
	newIDAfter      map[int]bool    // whether that worker's replacement gets a new transactional id
	died            chan eosDeath
	stop            context.Context // canceled when the work is done
	abortEvery      int
	mu              sync.Mutex
	batches         int               // batches begun, over all workers
	aborts, commits int               // transactions ended each way by live workers
	killed          []string          // what each kill was
	committed       map[string]string // "p@offset" → value of records in transactions that committed
	aborted         map[string]string // ... in transactions that did not
	errs            []string          // unexpected errors
	rejoins         []string          // workers told that they were out of the group
	workers         []*eosWorker      // every worker started
	generations     map[int]int       // slot → transactional ids it went through
}

func (pl *eosPipeline) errorf(format string, args ...any) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.errs = append(pl.errs, fmt.Sprintf(format, args...))
}

// start runs a new worker in slot with transactional id txid.
func (pl *eosPipeline) start(slot int, txid string) *eosWorker {
	pl.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &eosWorker{name: fmt.Sprintf("worker %s", txid), txid: txid, slot: slot, net: &deadNet{}, cancel: cancel,
		done: make(chan struct{})}
	w.net.onTxnOffsets = func(resp *kmsg.TxnOffsetCommitResponse) {
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					if !w.armed.Load() {
						return
					}
					pl.t.Logf("%s: TxnOffsetCommit %s p%d: %v; the cut waits for an accepted one", w.name, t.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode))
					return
				}
			}
		}
		if w.armed.CompareAndSwap(true, false) {
			w.net.kill()
			w.cancel()
			w.cut.Store(true)
			pl.died <- eosDeath{w, int(w.batch.Load()), severAfterOffsets}
		}
	}
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(pl.addr),
		kgo.WithContext(ctx),
		kgo.Dialer(w.net.dial),
		kgo.MetadataMinAge(50*time.Millisecond),
		kgo.TransactionalID(txid),
		kgo.TransactionTimeout(3*time.Second),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumerGroup(pl.group),
		kgo.ConsumeTopics(pl.in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.SessionTimeout(1500*time.Millisecond),
		kgo.HeartbeatInterval(150*time.Millisecond),
		kgo.RebalanceTimeout(3*time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
	)
	if err != nil {
		pl.t.Fatalf("start %s: %v", w.name, err)
	}
	w.sess = sess
	pl.mu.Lock()
	pl.workers = append(pl.workers, w)
	pl.mu.Unlock()
	go w.run(pl)
	return w
}

// run consumes batches of at most 100 records, produces "out-"+value of
// each to the same partition of the output topic and ends the transaction:
// a commit, but an abort on purpose every abortEvery-th batch, until the
// pipeline stops or the plan kills the worker.
func (w *eosWorker) run(pl *eosPipeline) {
	defer close(w.done)
	for {
		fs := w.sess.PollRecords(pl.stop, 100)
		if pl.stop.Err() != nil || fs.IsClientClosed() {
			return
		}
		fail := func(format string, args ...any) {
			pl.errorf(w.name+": "+format, args...)
			w.net.kill()
			w.cancel()
			pl.died <- eosDeath{w, 0, failed}
		}
		if err := fs.Err0(); err != nil {
			// A member that the coordinator expired (its heartbeats
			// late, as under the race detector) hears it here;
			// franz-go rejoins by itself.
			var lost *kgo.ErrGroupSession
			if errors.As(err, &lost) {
				pl.mu.Lock()
				pl.rejoins = append(pl.rejoins, fmt.Sprintf("%s: %v", w.name, err))
				pl.mu.Unlock()
				continue
			}
			fail("fetch: %v", err)
			return
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		pl.mu.Lock()
		pl.batches++
		batch := pl.batches
		kill := pl.plan[batch]
		pl.mu.Unlock()
		w.batch.Store(int64(batch))

		if err := w.sess.Begin(); err != nil {
			fail("begin: %v", err)
			return
		}
		var mu sync.Mutex
		var acked []*kgo.Record
		for _, r := range recs {
			o := &kgo.Record{Topic: pl.out, Partition: r.Partition, Key: r.Key, Value: append([]byte("out-"), r.Value...)}
			w.sess.Produce(pl.stop, o, func(o *kgo.Record, err error) {
				if err == nil {
					mu.Lock()
					acked = append(acked, o)
					mu.Unlock()
				}
			})
		}
		note := func(into map[string]string) {
			mu.Lock()
			defer mu.Unlock()
			pl.mu.Lock()
			defer pl.mu.Unlock()
			for _, o := range acked {
				into[fmt.Sprintf("p%d@%d", o.Partition, o.Offset)] = string(o.Value)
			}
		}

		switch kill {
		case severMid, closeMid:
			if err := w.sess.Client().Flush(pl.stop); err != nil {
				pl.errorf("%s: flush: %v", w.name, err)
			}
			note(pl.aborted)
			if kill == severMid {
				w.net.kill()
				w.cancel()
			} else {
				w.close()
			}
			pl.died <- eosDeath{w, batch, kill}
			return
		case severAfterOffsets:
			// Cut when the broker accepts the offsets of this
			// transaction, or of a later one if it refuses them
			// (a rebalance under way).
			w.armed.Store(true)
		}

		try := kgo.TryCommit
		if batch%pl.abortEvery == 0 && !w.armed.Load() {
			try = kgo.TryAbort
		}
		committed, err := w.sess.End(pl.stop, try)
		if w.cut.Load() {
			if committed || err == nil {
				pl.errorf("%s: End after its network was cut: committed %v, err %v", w.name, committed, err)
			}
			note(pl.aborted)
			return
		}
		if err != nil {
			if pl.stop.Err() == nil {
				fail("end of batch %d: %v", batch, err)
			}
			return
		}
		if committed {
			note(pl.committed)
		} else {
			note(pl.aborted)
		}
		pl.mu.Lock()
		if committed {
			pl.commits++
		} else {
			pl.aborts++
		}
		pl.mu.Unlock()
	}
}

// TestTxnGroupTransactSessionPipeline runs franz-go's exactly-once
// consume-transform-produce loop: 20000 records with unique values in four
// partitions, three workers, each a GroupTransactSession with its own
// transactional id in one consumer group, reading read_committed and
// producing "out-"+value to the same partition of the output topic. Every
// 7th batch is aborted on purpose, and four workers die mid-run and are
// replaced: two by a network cut in the middle of a transaction (the
// replacement reuses the transactional id, fencing the zombie; or takes a
// new one, so the coordinator's timeout aborts the zombie's transaction),
// one by a network cut right after its TxnOffsetCommit was sent (pending
// offsets that must block the partition's next owner until the timeout
// aborts them), and one by closing its client mid-transaction. Then:
//   - the group's committed offsets are the input's end offsets;
//   - a read_committed reader of the output sees, in each partition,
//     exactly the input partition's values transformed, once each, in
//     order (missing and duplicated values are listed on failure);
//   - the records it sees are exactly those of the transactions whose End
//     reported a commit, and none of those acknowledged in a transaction
//     that aborted or was abandoned, which a read_uncommitted reader shows
//     are in the log.
func TestTxnGroupTransactSessionPipeline(t *testing.T) {
	t.Parallel()
	const (
		in, out      = "eos-in", "eos-out"
		parts        = 4
		n            = 20000
		workers      = 3
		runTimeLimit = 40 * time.Second
	)
	b := kafkatest.Start(t,
		"group.initial.rebalance.delay.ms=0",
		"group.min.session.timeout.ms=500",
		"transaction.abort.timed.out.transaction.cleanup.interval.ms=200")
	createTopic(t, b.Addr, in, parts)
	createTopic(t, b.Addr, out, parts)

	// The input, produced up front: value v%05d, key k%05d, to partition
	// i%4.
	input := map[int32][]string{}
	{
		cl := kafkatest.NewClient(t, b.Addr, kgo.DefaultProduceTopic(in), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var rs []*kgo.Record
		for i := range n {
			p := int32(i % parts)
			v := fmt.Sprintf("v%05d", i)
			rs = append(rs, &kgo.Record{Partition: p, Key: []byte(fmt.Sprintf("k%05d", i)), Value: []byte(v)})
			input[p] = append(input[p], v)
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("produce the input: %v", err)
		}
		cancel()
		cl.Close()
	}

	stop, stopNow := context.WithCancel(context.Background())
	defer stopNow()
	pl := &eosPipeline{
		t: t, addr: b.Addr, in: in, out: out, group: "eos-pipeline",
		plan:       map[int]eosKill{12: severMid, 30: severAfterOffsets, 48: closeMid, 66: severMid},
		newIDAfter: map[int]bool{12: false, 30: true, 48: false, 66: true},
		died:       make(chan eosDeath, 8),
		stop:       stop,
		abortEvery: 7,
		committed:  map[string]string{}, aborted: map[string]string{},
		generations: map[int]int{},
	}
	txid := func(slot int) string { return fmt.Sprintf("eos-w%d-g%d", slot, pl.generations[slot]) }
	for slot := range workers {
		pl.start(slot, txid(slot))
	}
	defer func() {
		stopNow()
		pl.mu.Lock()
		ws := slices.Clone(pl.workers)
		pl.mu.Unlock()
		for _, w := range ws {
			w.cancel()
			w.close()
		}
	}()

	adm := kadm.NewClient(kafkatest.NewClient(t, b.Addr))
	progress := func() (map[int32]int64, int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fetched, err := adm.FetchOffsets(ctx, pl.group)
		if err != nil {
			return nil, 0
		}
		m, sum := map[int32]int64{}, int64(0)
		fetched.Each(func(o kadm.OffsetResponse) {
			if o.Topic == in && o.Err == nil {
				m[o.Partition] = o.At
				sum += o.At
			}
		})
		return m, sum
	}
	unstable := make(chan error, 1)
	begun := time.Now()
	deadline := time.NewTimer(runTimeLimit)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last map[int32]int64
wait:
	for {
		select {
		case d := <-pl.died:
			pl.mu.Lock()
			if d.kind != failed {
				pl.killed = append(pl.killed, fmt.Sprintf("batch %d: %s (%s)", d.batch, d.w.name, d.kind))
			}
			if pl.newIDAfter[d.batch] {
				pl.generations[d.w.slot]++
			}
			pl.mu.Unlock()
			t.Logf("%v: %s died (%s) in batch %d; starting %s", time.Since(begun).Round(time.Millisecond), d.w.name, d.kind, d.batch, txid(d.w.slot))
			pl.start(d.w.slot, txid(d.w.slot))
			if d.kind == severAfterOffsets {
				go func() { unstable <- probeUnstable(b.Addr, pl.group, in, d.w.txid) }()
			}
		case <-tick.C:
			m, sum := progress()
			last = m
			if sum == n {
				break wait
			}
		case <-deadline.C:
			pl.mu.Lock()
			defer pl.mu.Unlock()
			t.Fatalf("the pipeline did not finish within %v: committed input offsets %v of %d per partition; %d batches, kills %v, errors %v",
				runTimeLimit, last, n/parts, pl.batches, pl.killed, pl.errs)
		}
	}
	stopNow()
	pl.mu.Lock()
	ws := slices.Clone(pl.workers)
	pl.mu.Unlock()
	for _, w := range ws {
		<-w.done
		w.close()
	}
	t.Logf("pipeline done in %v: %d batches, %d committed, %d aborted (every %dth on purpose, and on rebalances), kills: %s",
		time.Since(begun).Round(time.Millisecond), pl.batches, pl.commits, pl.aborts, pl.abortEvery, strings.Join(pl.killed, "; "))

	if len(pl.rejoins) > 0 {
		t.Logf("workers out of the group, rejoining:\n  %s", strings.Join(pl.rejoins, "\n  "))
	}
	if len(pl.errs) > 0 {
		t.Errorf("unexpected errors of workers:\n  %s", strings.Join(pl.errs, "\n  "))
	}
	if len(pl.killed) != len(pl.plan) {
		t.Errorf("%d of the %d planned kills happened: %v", len(pl.killed), len(pl.plan), pl.killed)
	}
	if err := <-unstable; errors.Is(err, errProbeLate) {
		t.Logf("offsets pending in the transaction of the worker cut off after its TxnOffsetCommit: not checked, %v", err)
	} else if err != nil {
		t.Errorf("offsets pending in the transaction of the worker cut off after its TxnOffsetCommit: %v", err)
	}
	if pl.aborts == 0 || len(pl.aborted) == 0 {
		t.Errorf("no transaction was aborted (%d aborts, %d records in them)", pl.aborts, len(pl.aborted))
	}
	for p := range int32(parts) {
		if last[p] != int64(len(input[p])) {
			t.Errorf("group offset of %s p%d: %d, want %d", in, p, last[p], len(input[p]))
		}
	}

	writeEnds(t, b.Addr, out, parts)
	committed := readToEnd(t, b.Addr, out, parts, kgo.ReadCommitted())
	uncommitted := readToEnd(t, b.Addr, out, parts, kgo.ReadUncommitted())

	// Content: each output partition is its input partition transformed,
	// once each, in order.
	got := map[int32][]string{}
	gotAt := map[string]string{}
	for _, l := range committed {
		var p int32
		var off int64
		var v string
		if _, err := fmt.Sscanf(l, "p%d@%d %s", &p, &off, &v); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		got[p] = append(got[p], strings.TrimPrefix(v, "out-"))
		gotAt[fmt.Sprintf("p%d@%d", p, off)] = v
	}
	for p := range int32(parts) {
		if !slices.Equal(got[p], input[p]) {
			t.Errorf("read_committed p%d: %s", p, diffValues(got[p], input[p]))
		}
	}

	// Bookkeeping: what read_committed shows is exactly what the workers
	// were told committed; nothing acknowledged in an aborted or abandoned
	// transaction, all of which read_uncommitted shows are in the log.
	var notCommitted, missingCommitted, sawAborted []string
	for at, v := range gotAt {
		if pl.committed[at] != v {
			notCommitted = append(notCommitted, at+" "+v)
		}
		if a, ok := pl.aborted[at]; ok {
			sawAborted = append(sawAborted, at+" "+a)
		}
	}
	for at, v := range pl.committed {
		if gotAt[at] != v {
			missingCommitted = append(missingCommitted, at+" "+v)
		}
	}
	inLog := map[string]string{}
	for _, l := range uncommitted {
		at, v, _ := strings.Cut(l, " ")
		inLog[at] = v
	}
	var abortedNotInLog []string
	for at, v := range pl.aborted {
		if inLog[at] != v {
			abortedNotInLog = append(abortedNotInLog, at+" "+v)
		}
	}
	for _, l := range [][]string{notCommitted, missingCommitted, sawAborted, abortedNotInLog} {
		slices.Sort(l)
	}
	if len(sawAborted) > 0 {
		t.Errorf("read_committed shows %d records of aborted transactions: %s", len(sawAborted), firstFew(sawAborted))
	}
	if len(notCommitted) > 0 {
		t.Errorf("read_committed shows %d records no commit reported: %s", len(notCommitted), firstFew(notCommitted))
	}
	if len(missingCommitted) > 0 {
		t.Errorf("read_committed lacks %d records of committed transactions: %s", len(missingCommitted), firstFew(missingCommitted))
	}
	if len(abortedNotInLog) > 0 {
		t.Errorf("read_uncommitted lacks %d acknowledged records of aborted transactions: %s", len(abortedNotInLog), firstFew(abortedNotInLog))
	}
	if len(uncommitted) != len(committed)+len(pl.aborted) {
		t.Errorf("read_uncommitted shows %d records, want %d committed + %d aborted", len(uncommitted), len(committed), len(pl.aborted))
	}
}

// probeUnstable asks for the committed offsets of group with RequireStable
// until some partition of topic answers UNSTABLE_OFFSET_COMMIT: offsets are
// pending in the open transaction of txid. It fails if the transaction
// ends first, unless it ended before the first answer (then the probe came
// too late to tell, which it logs).
func probeUnstable(addr, group, topic, txid string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last string
	for i := 0; ; i++ {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group, req.RequireStable = group, true
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = group
		req.Groups = append(req.Groups, rg) // v8+; Group above is v0-7
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("OffsetFetch: %v", err)
		}
		var codes []int16
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if t.Topic == topic {
					codes = append(codes, p.ErrorCode)
				}
			}
		}
		for _, g := range resp.Groups {
			for _, t := range g.Topics {
				for _, p := range t.Partitions {
					if t.Topic == topic {
						codes = append(codes, p.ErrorCode)
					}
				}
			}
		}
		if slices.Contains(codes, kerr.UnstableOffsetCommit.Code) {
			return nil
		}
		last = fmt.Sprintf("error codes %v", codes)
		ds, err := adm.DescribeTransactions(ctx, txid)
		if err != nil {
			return fmt.Errorf("describe transaction %s: %v", txid, err)
		}
		if st := ds[txid].State; st != "Ongoing" {
			if i == 0 {
				return errProbeLate
			}
			return fmt.Errorf("no OffsetFetch with RequireStable answered UNSTABLE_OFFSET_COMMIT while the transaction was open (%d tries, last: %s); it is now %s", i+1, last, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errProbeLate = errors.New("the transaction had ended before the first OffsetFetch")

// diffValues describes how got differs from want, a list of unique values:
// missing and duplicated values, or the first place the order differs.
func diffValues(got, want []string) string {
	count := map[string]int{}
	for _, v := range got {
		count[v]++
	}
	var missing, dup, extra []string
	for _, v := range want {
		switch c := count[v]; {
		case c == 0:
			missing = append(missing, v)
		case c > 1:
			dup = append(dup, fmt.Sprintf("%s×%d", v, c))
		}
		delete(count, v)
	}
	for v := range count {
		extra = append(extra, v)
	}
	slices.Sort(extra)
	if len(missing)+len(dup)+len(extra) == 0 {
		for i := range got {
			if got[i] != want[i] {
				return fmt.Sprintf("%d values, all once, but out of order from index %d: %v, want %v", len(got), i, got[i:min(i+5, len(got))], want[i:min(i+5, len(want))])
			}
		}
	}
	return fmt.Sprintf("%d values for %d inputs: %d missing %s, %d duplicated %s, %d unknown %s",
		len(got), len(want), len(missing), firstFew(missing), len(dup), firstFew(dup), len(extra), firstFew(extra))
}

func firstFew(s []string) string {
	if len(s) > 10 {
		return fmt.Sprintf("%v ...", s[:10])
	}
	return fmt.Sprint(s)
}
