package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// endValue marks the end of a partition for readToEnd: a non-transactional
// record written after everything a test waits for.
const endValue = "end"

// writeEnds appends endValue to every partition of topic (non-transactional,
// so a read_committed reader gets it once everything before it is decided).
func writeEnds(t *testing.T, addr, topic string, parts int32) {
	t.Helper()
	cl := kafkatest.NewClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for p := range parts {
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte(endValue)}).FirstErr(); err != nil {
			t.Fatalf("write the end of p%d: %v", p, err)
		}
	}
	cl.Close()
}

// reader returns a client that reads every partition of topic from its
// start at the given isolation level.
func reader(t *testing.T, addr, topic string, parts int32, level kgo.IsolationLevel) *kgo.Client {
	t.Helper()
	start := map[int32]kgo.Offset{}
	for p := range parts {
		start[p] = kgo.NewOffset().AtStart()
	}
	return kafkatest.NewClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}),
		kgo.FetchIsolationLevel(level), kgo.FetchMaxWait(200*time.Millisecond))
}

// readToEnd reads every partition of topic from its start at the given
// isolation level until its endValue record, and returns "p<partition>@<offset>
// <value>" for each record before it, by partition and offset.
func readToEnd(t *testing.T, addr, topic string, parts int32, level kgo.IsolationLevel) []string {
	t.Helper()
	cl := reader(t, addr, topic, parts, level)
	defer cl.Close()
	return drain(t, cl, topic, parts)
}

// drain polls a reader until it has the endValue record of each of the
// parts partitions of topic, and returns what readToEnd returns.
func drain(t *testing.T, cl *kgo.Client, topic string, parts int32) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []string
	ended := map[int32]bool{}
	for len(ended) < int(parts) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: the end of only %d of %d partitions within 20s; read so far:\n%s", topic, len(ended), parts, strings.Join(out, "\n"))
		}
		for _, e := range fs.Errors() {
			t.Fatalf("read %s: p%d: %v", topic, e.Partition, e.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			switch {
			case ended[r.Partition]:
				t.Errorf("read %s: p%d@%d %q after the end record", topic, r.Partition, r.Offset, r.Value)
			case string(r.Value) == endValue:
				ended[r.Partition] = true
			default:
				out = append(out, fmt.Sprintf("p%d@%d %s", r.Partition, r.Offset, r.Value))
			}
		})
	}
	return sortByPartitionOffset(out)
}

// wantLines fails unless got equals want exactly.
func wantLines(t *testing.T, who string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: records differ\ngot (%d):\n  %s\nwant (%d):\n  %s", who, len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

// txnProducer is a franz-go transactional producer to topic, with records
// going to their Partition.
func txnProducer(t *testing.T, addr, topic, txid string, timeout time.Duration) *kgo.Client {
	t.Helper()
	return kafkatest.NewClient(t, addr, kgo.TransactionalID(txid), kgo.TransactionTimeout(timeout),
		kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
}

// produceN produces n records per partition with values "<tag>-<p>-<i>"
// inside the client's current transaction and returns them as readToEnd
// prints them, with the offsets they were acknowledged at.
func produceN(t *testing.T, cl *kgo.Client, tag string, parts int32, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rs []*kgo.Record
	for i := range n {
		for p := range parts {
			rs = append(rs, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("%s-%d-%d", tag, p, i))})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce %s: %v", tag, err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("p%d@%d %s", r.Partition, r.Offset, r.Value))
	}
	return out
}

// commitN runs one transaction of produceN on a new producer of txid and
// commits it.
func commitN(t *testing.T, addr, topic, txid, tag string, parts int32, n int) []string {
	t.Helper()
	cl := txnProducer(t, addr, topic, txid, 10*time.Second)
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	out := produceN(t, cl, tag, parts, n)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit %s: %v", tag, err)
	}
	return out
}

// stableOffsets returns the last stable offset (read_committed ListOffsets)
// and the high watermark of each partition.
func stableOffsets(t *testing.T, adm *kadm.Client, topic string) (lso, hw map[int32]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(list func(context.Context, ...string) (kadm.ListedOffsets, error)) map[int32]int64 {
		l, err := list(ctx, topic)
		if err == nil {
			err = l.Error()
		}
		if err != nil {
			t.Fatalf("list offsets of %s: %v", topic, err)
		}
		m := map[int32]int64{}
		l.Each(func(o kadm.ListedOffset) { m[o.Partition] = o.Offset })
		return m
	}
	return get(adm.ListCommittedOffsets), get(adm.ListEndOffsets)
}

func describeTxn(t *testing.T, adm *kadm.Client, txid string) kadm.DescribedTransaction {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ds, err := adm.DescribeTransactions(ctx, txid)
	if err != nil {
		t.Fatalf("describe transaction %s: %v", txid, err)
	}
	d, ok := ds[txid]
	if !ok || d.Err != nil {
		t.Fatalf("describe transaction %s: %v %v", txid, ok, d.Err)
	}
	return d
}

// TestCrashTxnOpenIsAborted SIGKILLs the binary while a franz-go
// transaction with records in two partitions is open. Before the kill the
// open transaction holds the last stable offset at its first record. After
// the restart the coordinator aborts it when its 2 s timeout passes (the
// producer is gone), the zombie's commit is refused as fenced, and a
// read_committed reader moves past it: it reads the transaction committed
// before it and the one committed after the restart (which waited behind
// it), and never a record of the open one, which a read_uncommitted reader
// shows are in the log.
func TestCrashTxnOpenIsAborted(t *testing.T) {
	t.Parallel()
	const topic, parts = "crash-txn-open", 2
	p := kafkatest.StartProcess(t, "", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200")
	createTopic(t, p.Addr, topic, parts)
	adm := kadm.NewClient(kafkatest.NewClient(t, p.Addr))

	before := commitN(t, p.Addr, topic, "txn-before", "before", parts, 3)

	zombie := txnProducer(t, p.Addr, topic, "txn-open", 2*time.Second)
	began := time.Now()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	open := produceN(t, zombie, "open", parts, 4)
	lso, hw := stableOffsets(t, adm, topic)
	for part := range int32(parts) {
		// before: 3 records and a marker; open: 4 records.
		if lso[part] != 4 || hw[part] != 8 {
			t.Fatalf("p%d with a transaction open: last stable offset %d, high watermark %d; want 4 and 8", part, lso[part], hw[part])
		}
	}
	if d := describeTxn(t, adm, "txn-open"); d.State != "Ongoing" || d.TimeoutMillis != 2000 {
		t.Fatalf("transaction before the kill: %+v, want Ongoing with a 2000 ms timeout", d)
	}

	p.Kill()
	p.Restart()
	t.Logf("restarted %v after the transaction began", time.Since(began))
	// A read_committed reader that starts before the abort and waits at
	// the last stable offset.
	live := reader(t, p.Addr, topic, parts, kgo.ReadCommitted())

	// Committed after the restart, while the open transaction normally
	// still holds the last stable offset: a read_committed reader sees this
	// only after the abort.
	after := commitN(t, p.Addr, topic, "txn-after", "after", parts, 2)
	lso, hw = stableOffsets(t, adm, topic)
	if d := describeTxn(t, adm, "txn-open"); d.State == "Ongoing" {
		// Still open after the offsets were listed, so open then too.
		for part := range int32(parts) {
			if lso[part] != 4 || hw[part] != 11 {
				t.Fatalf("p%d after the restart, with the transaction still open: last stable offset %d, high watermark %d; want 4 and 11", part, lso[part], hw[part])
			}
		}
	} else {
		t.Logf("the transaction was %s before a commit after the restart could be checked against it (restart slower than its timeout)", d.State)
	}

	kafkatest.Eventually(t, 15*time.Second, func() error {
		if d := describeTxn(t, adm, "txn-open"); d.State != "CompleteAbort" {
			return fmt.Errorf("transaction txn-open is %s", d.State)
		}
		return nil
	})
	t.Logf("aborted %v after the transaction began", time.Since(began))
	lso, hw = stableOffsets(t, adm, topic)
	for part := range int32(parts) {
		// before 3+1, open 4+1 (its abort marker), after 2+1.
		if lso[part] != 12 || hw[part] != 12 {
			t.Errorf("p%d after the abort: last stable offset %d, high watermark %d; want 12 and 12", part, lso[part], hw[part])
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := zombie.EndTransaction(ctx, kgo.TryCommit)
	t.Logf("the zombie's commit: %v", err)
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Errorf("commit of the transaction aborted by its timeout: %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", err)
	}

	writeEnds(t, p.Addr, topic, parts)
	want := sortByPartitionOffset(append(slices.Clone(before), after...))
	wantLines(t, "read_committed reader started before the abort", drain(t, live, topic, parts), want)
	wantLines(t, "read_committed after the crash", readToEnd(t, p.Addr, topic, parts, kgo.ReadCommitted()), want)
	all := sortByPartitionOffset(append(slices.Clone(want), open...))
	wantLines(t, "read_uncommitted after the crash", readToEnd(t, p.Addr, topic, parts, kgo.ReadUncommitted()), all)
}

// TestCrashTxnCommitAcknowledged SIGKILLs the binary right after EndTxn
// acknowledged a commit. After the restart the transaction is
// CompleteCommit, nothing holds the last stable offset back, a
// read_committed reader sees every committed record once at the offset it
// was acknowledged at, and the same producer (same id and epoch) commits
// another transaction on the recovered state.
func TestCrashTxnCommitAcknowledged(t *testing.T) {
	t.Parallel()
	const topic, parts = "crash-txn-acked", 3
	p := kafkatest.StartProcess(t, "")
	createTopic(t, p.Addr, topic, parts)
	adm := kadm.NewClient(kafkatest.NewClient(t, p.Addr))

	cl := txnProducer(t, p.Addr, topic, "txn-acked", 10*time.Second)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	committed := produceN(t, cl, "acked", parts, 30)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}
	p.Kill()
	p.Restart()
	d0 := describeTxn(t, adm, "txn-acked")
	if d0.State != "CompleteCommit" {
		t.Fatalf("the acknowledged transaction after the restart: %+v, want CompleteCommit", d0)
	}
	lso, hw := stableOffsets(t, adm, topic)
	for part := range int32(parts) {
		if lso[part] != 31 || hw[part] != 31 {
			t.Errorf("p%d after the restart: last stable offset %d, high watermark %d; want 31 (30 records and the marker)", part, lso[part], hw[part])
		}
	}

	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	committed = append(committed, produceN(t, cl, "again", parts, 2)...)
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit after the restart: %v", err)
	}
	if d := describeTxn(t, adm, "txn-acked"); d.State != "CompleteCommit" || d.ProducerID != d0.ProducerID || d.ProducerEpoch != d0.ProducerEpoch {
		t.Errorf("after a second commit: %+v, want CompleteCommit with producer %d epoch %d", d, d0.ProducerID, d0.ProducerEpoch)
	}

	writeEnds(t, p.Addr, topic, parts)
	want := sortByPartitionOffset(committed)
	wantLines(t, "read_committed after the crash", readToEnd(t, p.Addr, topic, parts, kgo.ReadCommitted()), want)
	wantLines(t, "read_uncommitted after the crash", readToEnd(t, p.Addr, topic, parts, kgo.ReadUncommitted()), want)
}

// sortByPartitionOffset orders readToEnd lines as readToEnd does.
func sortByPartitionOffset(lines []string) []string {
	out := slices.Clone(lines)
	slices.SortFunc(out, func(a, b string) int {
		var pa, pb int32
		var oa, ob int64
		fmt.Sscanf(a, "p%d@%d", &pa, &oa)
		fmt.Sscanf(b, "p%d@%d", &pb, &ob)
		if pa != pb {
			return int(pa - pb)
		}
		return int(oa - ob)
	})
	return out
}
