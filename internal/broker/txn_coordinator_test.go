package broker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// initTxn sends InitProducerId for a transactional id at the given version.
func initTxn(t *testing.T, r *rawConn, version int16, id string, timeoutMs int32, pid int64, epoch int16) *kmsg.InitProducerIDResponse {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.SetVersion(version)
	req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch = &id, timeoutMs, pid, epoch
	return do[*kmsg.InitProducerIDResponse](t, r, req)
}

// mustInitTxn inits id, retrying CONCURRENT_TRANSACTIONS as clients do.
func mustInitTxn(t *testing.T, r *rawConn, id string) (int64, int16) {
	t.Helper()
	for i := 0; ; i++ {
		resp := initTxn(t, r, 4, id, 60000, -1, -1)
		if resp.ErrorCode == kerr.ConcurrentTransactions.Code && i < 50 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if resp.ErrorCode != 0 {
			t.Fatalf("InitProducerId %q: %v", id, kerr.ErrorForCode(resp.ErrorCode))
		}
		return resp.ProducerID, resp.ProducerEpoch
	}
}

// addPartitions sends AddPartitionsToTxn v3 and returns the codes in order.
func addPartitions(t *testing.T, r *rawConn, version int16, id string, pid int64, epoch int16, topic string, parts ...int32) []int16 {
	t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.SetVersion(version)
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, pid, epoch
	rt := kmsg.NewAddPartitionsToTxnRequestTopic()
	rt.Topic, rt.Partitions = topic, parts
	req.Topics = append(req.Topics, rt)
	resp := do[*kmsg.AddPartitionsToTxnResponse](t, r, req)
	var codes []int16
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			codes = append(codes, p.ErrorCode)
		}
	}
	return codes
}

func endTxn(t *testing.T, r *rawConn, version int16, id string, pid int64, epoch int16, commit bool) int16 {
	t.Helper()
	req := kmsg.NewPtrEndTxnRequest()
	req.SetVersion(version)
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = id, pid, epoch, commit
	return do[*kmsg.EndTxnResponse](t, r, req).ErrorCode
}

func describeTxn(t *testing.T, r *rawConn, id string) kmsg.DescribeTransactionsResponseTransactionState {
	t.Helper()
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{id}
	resp := do[*kmsg.DescribeTransactionsResponse](t, r, req)
	if len(resp.TransactionStates) != 1 {
		t.Fatalf("DescribeTransactions: %d states", len(resp.TransactionStates))
	}
	return resp.TransactionStates[0]
}

// produceTxnAs sends a transactional batch for txnID and returns the
// partition's answer.
func produceTxnAs(t *testing.T, r *rawConn, version int16, txnID, topic string, partition int32, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := produceReq(version, -1, topic, partition, batch)
	req.TransactionID = &txnID
	return do[*kmsg.ProduceResponse](t, r, req).Topics[0].Partitions[0]
}

func codes(cs ...*kerr.Error) []int16 {
	out := make([]int16, len(cs))
	for i, c := range cs {
		out[i] = c.Code
	}
	return out
}

// TestTxnClientCommitAndAbort runs franz-go's transactional producer
// against the coordinator: an aborted and a committed transaction over two
// partitions, read back by read_committed and read_uncommitted consumers,
// and the coordinator's view through DescribeTransactions and
// ListTransactions.
func TestTxnClientCommitAndAbort(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "txc", 2, nil)
	ctx := context.Background()
	cl := b.Client(t, kgo.TransactionalID("tx-client"), kgo.DefaultProduceTopic("txc"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	run := func(commit bool, values ...string) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i, v := range values {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v), Partition: int32(i % 2)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	run(false, "a0", "a1", "a2")
	run(true, "c0", "c1", "c2")
	run(false, "a3")
	run(true, "c3", "c4")

	consumeValues(t, b.Addr, "txc", kgo.ReadCommitted(), map[int32][]string{0: {"c0", "c2", "c3"}, 1: {"c1", "c4"}})
	consumeValues(t, b.Addr, "txc", kgo.ReadUncommitted(), map[int32][]string{
		0: {"a0", "a2", "c0", "c2", "a3", "c3"}, 1: {"a1", "c1", "c4"}})

	r := dialRaw(t, b.Addr)
	d := describeTxn(t, r, "tx-client")
	if d.ErrorCode != 0 || d.State != "CompleteCommit" || d.ProducerEpoch != 0 || d.ProducerID < 0 || len(d.Topics) != 0 || d.TimeoutMillis <= 0 {
		t.Fatalf("described %+v", d)
	}
	lreq := kmsg.NewPtrListTransactionsRequest()
	lreq.SetVersion(1)
	lreq.StateFilters = []string{"CompleteCommit", "Nonsense"}
	lreq.DurationFilterMillis = -1
	l := do[*kmsg.ListTransactionsResponse](t, r, lreq)
	if l.ErrorCode != 0 || !slices.Equal(l.UnknownStateFilters, []string{"Nonsense"}) || len(l.TransactionStates) != 1 ||
		l.TransactionStates[0].TransactionalID != "tx-client" || l.TransactionStates[0].ProducerID != d.ProducerID {
		t.Fatalf("listed %+v", l)
	}
	lreq.StateFilters = []string{"Ongoing"}
	if l := do[*kmsg.ListTransactionsResponse](t, r, lreq); len(l.TransactionStates) != 0 {
		t.Fatalf("Ongoing filter listed %+v", l.TransactionStates)
	}
	if d := describeTxn(t, r, "nobody"); d.ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("unknown id described with %v", kerr.ErrorForCode(d.ErrorCode))
	}
}

// TestTxnBadInput checks the coordinator's error codes against Kafka's.
func TestTxnBadInput(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "tbad", 2, nil)
	r := dialRaw(t, b.Addr)

	if c := endTxn(t, r, 3, "ghost", 1, 0, true); c != kerr.InvalidProducerIDMapping.Code {
		t.Fatalf("EndTxn for an unknown id: %v", kerr.ErrorForCode(c))
	}
	if resp := initTxn(t, r, 4, "slow", 900001, -1, -1); resp.ErrorCode != kerr.InvalidTransactionTimeout.Code {
		t.Fatalf("timeout above transaction.max.timeout.ms: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp := initTxn(t, r, 4, "", 1000, -1, -1); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("empty transactional id: %v", kerr.ErrorForCode(resp.ErrorCode))
	}

	pid, epoch := mustInitTxn(t, r, "bad")
	if epoch != 0 {
		t.Fatalf("first epoch %d", epoch)
	}
	// EndTxn with no transaction open.
	if c := endTxn(t, r, 3, "bad", pid, epoch, true); c != kerr.InvalidTxnState.Code {
		t.Fatalf("EndTxn without a transaction: %v", kerr.ErrorForCode(c))
	}
	// Wrong epoch: PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.
	if c := endTxn(t, r, 3, "bad", pid, epoch+1, true); c != kerr.ProducerFenced.Code {
		t.Fatalf("EndTxn v3 with a wrong epoch: %v", kerr.ErrorForCode(c))
	}
	if c := endTxn(t, r, 1, "bad", pid, epoch+1, true); c != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("EndTxn v1 with a wrong epoch: %v", kerr.ErrorForCode(c))
	}
	if c := endTxn(t, r, 3, "bad", pid+1, epoch, true); c != kerr.InvalidProducerIDMapping.Code {
		t.Fatalf("EndTxn with another producer id: %v", kerr.ErrorForCode(c))
	}
	// An unknown topic fails the whole request; nothing is added.
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.SetVersion(3)
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = "bad", pid, epoch
	for _, tp := range []struct {
		topic string
		parts []int32
	}{{"tbad", []int32{0}}, {"missing", []int32{0}}, {"tbad", []int32{7}}} {
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = tp.topic, tp.parts
		req.Topics = append(req.Topics, rt)
	}
	resp := do[*kmsg.AddPartitionsToTxnResponse](t, r, req)
	var got []int16
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			got = append(got, p.ErrorCode)
		}
	}
	if want := codes(kerr.OperationNotAttempted, kerr.UnknownTopicOrPartition, kerr.UnknownTopicOrPartition); !slices.Equal(got, want) {
		t.Fatalf("AddPartitionsToTxn with an unknown topic: %v, want %v", got, want)
	}
	if d := describeTxn(t, r, "bad"); d.State != "Empty" || len(d.Topics) != 0 {
		t.Fatalf("after a refused AddPartitionsToTxn: %+v", d)
	}
	if c := addPartitions(t, r, 3, "bad", pid, epoch+1, "tbad", 0); !slices.Equal(c, codes(kerr.ProducerFenced)) {
		t.Fatalf("AddPartitionsToTxn v3 with a wrong epoch: %v", c)
	}
	if c := addPartitions(t, r, 1, "bad", pid, epoch+1, "tbad", 0); !slices.Equal(c, codes(kerr.InvalidProducerEpoch)) {
		t.Fatalf("AddPartitionsToTxn v1 with a wrong epoch: %v", c)
	}

	// A transactional produce to a partition not in the transaction.
	if p := produceTxnAs(t, r, 9, "bad", "tbad", 1, txnBatch(t, pid, epoch, 0, "x")); p.ErrorCode != kerr.InvalidTxnState.Code {
		t.Fatalf("produce v9 outside the transaction: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if p := produceTxnAs(t, r, 11, "bad", "tbad", 1, txnBatch(t, pid, epoch, 0, "x")); p.ErrorCode != kerr.TransactionAbortable.Code {
		t.Fatalf("produce v11 outside the transaction: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if c := addPartitions(t, r, 3, "bad", pid, epoch, "tbad", 0); !slices.Equal(c, []int16{0}) {
		t.Fatalf("AddPartitionsToTxn: %v", c)
	}
	if p := produceTxnAs(t, r, 9, "bad", "tbad", 0, txnBatch(t, pid, epoch, 0, "y")); p.ErrorCode != 0 {
		t.Fatalf("produce in the transaction: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	// The verify-only form (v4+, from brokers).
	vreq := kmsg.NewPtrAddPartitionsToTxnRequest()
	vreq.SetVersion(4)
	vt := kmsg.NewAddPartitionsToTxnRequestTransaction()
	vt.TransactionalID, vt.ProducerID, vt.ProducerEpoch, vt.VerifyOnly = "bad", pid, epoch, true
	vtt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	vtt.Topic, vtt.Partitions = "tbad", []int32{0, 1}
	vt.Topics = append(vt.Topics, vtt)
	vreq.Transactions = append(vreq.Transactions, vt)
	vresp := do[*kmsg.AddPartitionsToTxnResponse](t, r, vreq)
	if len(vresp.Transactions) != 1 || len(vresp.Transactions[0].Topics) != 1 {
		t.Fatalf("verify-only response %+v", vresp)
	}
	var vcodes []int16
	for _, p := range vresp.Transactions[0].Topics[0].Partitions {
		vcodes = append(vcodes, p.ErrorCode)
	}
	if want := []int16{0, kerr.TransactionAbortable.Code}; !slices.Equal(vcodes, want) {
		t.Fatalf("verify-only codes %v, want %v", vcodes, want)
	}
	// Commit, then the opposite decision is INVALID_TXN_STATE and a retry
	// of the same one succeeds.
	if c := endTxn(t, r, 3, "bad", pid, epoch, true); c != 0 {
		t.Fatalf("EndTxn commit: %v", kerr.ErrorForCode(c))
	}
	if c := endTxn(t, r, 3, "bad", pid, epoch, false); c != kerr.InvalidTxnState.Code {
		t.Fatalf("abort after commit: %v", kerr.ErrorForCode(c))
	}
	if c := endTxn(t, r, 3, "bad", pid, epoch, true); c != 0 {
		t.Fatalf("commit retried: %v", kerr.ErrorForCode(c))
	}
	if p := fetchCommitted(t, r, "tbad", 0, 0, 0); !slices.Equal(dataValues(t, p.RecordBatches), []string{"y"}) {
		t.Fatalf("read_committed after commit: %v", dataValues(t, p.RecordBatches))
	}
}

// TestTxnFencing: a second InitProducerId for the same id while a
// transaction is open aborts it and fences the first producer.
func TestTxnFencing(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "tfence", 1, nil)
	r := dialRaw(t, b.Addr)
	pid, e0 := mustInitTxn(t, r, "f")
	if c := addPartitions(t, r, 3, "f", pid, e0, "tfence", 0); c[0] != 0 {
		t.Fatal(kerr.ErrorForCode(c[0]))
	}
	if p := produceTxnAs(t, r, 9, "f", "tfence", 0, txnBatch(t, pid, e0, 0, "zombie-1")); p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	// The new producer: Kafka first answers CONCURRENT_TRANSACTIONS while it
	// aborts the open transaction with a bumped epoch.
	if resp := initTxn(t, r, 4, "f", 60000, -1, -1); resp.ErrorCode != kerr.ConcurrentTransactions.Code {
		t.Fatalf("InitProducerId over an open transaction: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	pid2, e2 := mustInitTxn(t, r, "f")
	if pid2 != pid || e2 != e0+2 {
		t.Fatalf("after fencing: producer %d epoch %d, want %d epoch %d", pid2, e2, pid, e0+2)
	}
	// The zombie is refused everywhere.
	if p := produceTxnAs(t, r, 9, "f", "tfence", 0, txnBatch(t, pid, e0, 1, "zombie-2")); p.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("zombie produce: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if c := endTxn(t, r, 3, "f", pid, e0, true); c != kerr.ProducerFenced.Code {
		t.Fatalf("zombie EndTxn: %v", kerr.ErrorForCode(c))
	}
	if c := addPartitions(t, r, 3, "f", pid, e0, "tfence", 0); c[0] != kerr.ProducerFenced.Code {
		t.Fatalf("zombie AddPartitionsToTxn: %v", kerr.ErrorForCode(c[0]))
	}
	// KIP-360: the new producer may keep its id after an error; the zombie
	// may not.
	if resp := initTxn(t, r, 4, "f", 60000, pid, e0); resp.ErrorCode != kerr.ProducerFenced.Code {
		t.Fatalf("zombie InitProducerId v4: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp := initTxn(t, r, 3, "f", 60000, pid, e0); resp.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("zombie InitProducerId v3: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp := initTxn(t, r, 4, "f", 60000, pid, e2); resp.ErrorCode != 0 || resp.ProducerID != pid || resp.ProducerEpoch != e2+1 {
		t.Fatalf("InitProducerId v4 with the current epoch: %+v", resp)
	}
	// The partition is stable again, the zombie's record reported aborted
	// and hidden from read_committed consumers.
	p := fetchCommitted(t, r, "tfence", 0, 0, 0)
	if p.LastStableOffset != 2 || p.HighWatermark != 2 || len(p.AbortedTransactions) != 1 ||
		p.AbortedTransactions[0].ProducerID != pid || p.AbortedTransactions[0].FirstOffset != 0 {
		t.Fatalf("read_committed after fencing: LSO %d HW %d, aborted %+v", p.LastStableOffset, p.HighWatermark, p.AbortedTransactions)
	}
	consumeValues(t, b.Addr, "tfence", kgo.ReadCommitted(), map[int32][]string{})
}

// TestTxnTimeoutAborts: a transaction older than its timeout is aborted
// and its producer fenced.
func TestTxnTimeoutAborts(t *testing.T) {
	b := kafkatest.Start(t, "transaction.abort.timed.out.transaction.cleanup.interval.ms=50")
	createTopic(t, b, "ttime", 1, nil)
	r := dialRaw(t, b.Addr)
	resp := initTxn(t, r, 4, "slowpoke", 300, -1, -1)
	if resp.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(resp.ErrorCode))
	}
	pid, epoch := resp.ProducerID, resp.ProducerEpoch
	if c := addPartitions(t, r, 3, "slowpoke", pid, epoch, "ttime", 0); c[0] != 0 {
		t.Fatal(kerr.ErrorForCode(c[0]))
	}
	if p := produceTxnAs(t, r, 9, "slowpoke", "ttime", 0, txnBatch(t, pid, epoch, 0, "late")); p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if d := describeTxn(t, r, "slowpoke"); d.State != "CompleteAbort" || d.ProducerEpoch != epoch+1 {
			return fmt.Errorf("state %s epoch %d", d.State, d.ProducerEpoch)
		}
		return nil
	})
	if c := endTxn(t, r, 3, "slowpoke", pid, epoch, true); c != kerr.ProducerFenced.Code {
		t.Fatalf("EndTxn after the timeout: %v", kerr.ErrorForCode(c))
	}
	p := fetchCommitted(t, r, "ttime", 0, 0, 0)
	if p.LastStableOffset != 2 || len(p.AbortedTransactions) != 1 || p.AbortedTransactions[0].ProducerID != pid {
		t.Fatalf("read_committed after the timeout: LSO %d, aborted %+v", p.LastStableOffset, p.AbortedTransactions)
	}
	consumeValues(t, b.Addr, "ttime", kgo.ReadCommitted(), map[int32][]string{})
}

// TestTxnStateSurvivesRestart: an open transaction's coordinator state
// comes back from __transaction_state after a restart, so the producer can
// commit it; an expired id is gone for good.
func TestTxnStateSurvivesRestart(t *testing.T) {
	b := kafkatest.Start(t, "transactional.id.expiration.ms=200", "transaction.remove.expired.transaction.cleanup.interval.ms=50")
	createTopic(t, b, "trest", 2, nil)
	r := dialRaw(t, b.Addr)
	pid, epoch := mustInitTxn(t, r, "keeper")
	if c := addPartitions(t, r, 3, "keeper", pid, epoch, "trest", 0, 1); !slices.Equal(c, []int16{0, 0}) {
		t.Fatal(c)
	}
	for p := int32(0); p < 2; p++ {
		if pr := produceTxnAs(t, r, 9, "keeper", "trest", p, txnBatch(t, pid, epoch, 0, "v"+string(rune('0'+p)))); pr.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(pr.ErrorCode))
		}
	}
	if _, e := mustInitTxn(t, r, "shortlived"); e != 0 {
		t.Fatal(e)
	}
	// The idle id expires; the one with an open transaction does not.
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if d := describeTxn(t, r, "shortlived"); d.ErrorCode != kerr.TransactionalIDNotFound.Code {
			return fmt.Errorf("shortlived still %s", d.State)
		}
		return nil
	})
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	d := describeTxn(t, r, "keeper")
	if d.State != "Ongoing" || d.ProducerID != pid || d.ProducerEpoch != epoch || len(d.Topics) != 1 ||
		!slices.Equal(d.Topics[0].Partitions, []int32{0, 1}) || d.StartTimestamp <= 0 {
		t.Fatalf("after restart: %+v", d)
	}
	if d := describeTxn(t, r, "shortlived"); d.ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("expired id after restart: %+v", d)
	}
	if c := endTxn(t, r, 3, "keeper", pid, epoch, true); c != 0 {
		t.Fatalf("commit after restart: %v", kerr.ErrorForCode(c))
	}
	consumeValues(t, b.Addr, "trest", kgo.ReadCommitted(), map[int32][]string{0: {"v0"}, 1: {"v1"}})
}

func addOffsetsToTxn(t *testing.T, r *rawConn, id string, pid int64, epoch int16, group string) int16 {
	t.Helper()
	req := kmsg.NewPtrAddOffsetsToTxnRequest()
	req.SetVersion(3)
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = id, pid, epoch, group
	return do[*kmsg.AddOffsetsToTxnResponse](t, r, req).ErrorCode
}

func txnCommitOffset(t *testing.T, r *rawConn, version int16, id string, pid int64, epoch int16, group, topic string, partition int32, offset int64) int16 {
	t.Helper()
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.SetVersion(version)
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = id, pid, epoch, group
	req.Generation = -1
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.Metadata = partition, offset, sp("m")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := do[*kmsg.TxnOffsetCommitResponse](t, r, req)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("TxnOffsetCommit response %+v", resp)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// committedOffset fetches one group offset (OffsetFetch v8) and its error.
func committedOffset(t *testing.T, r *rawConn, group, topic string, partition int32, requireStable bool) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.SetVersion(8)
	req.RequireStable = requireStable
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.Partitions = topic, []int32{partition}
	g.Topics = append(g.Topics, gt)
	req.Groups = append(req.Groups, g)
	resp := do[*kmsg.OffsetFetchResponse](t, r, req)
	rg := resp.Groups[0]
	if rg.ErrorCode != 0 {
		return -1, rg.ErrorCode
	}
	p := rg.Topics[0].Partitions[0]
	return p.Offset, p.ErrorCode
}

// TestTxnOffsetCommit: offsets committed in a transaction are invisible
// until the transaction commits, dropped when it aborts, survive a restart
// while pending, and fenced or unregistered producers are refused.
func TestTxnOffsetCommit(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "tin", 1, nil)
	r := dialRaw(t, b.Addr)
	pid, epoch := mustInitTxn(t, r, "oc")

	// Not added with AddOffsetsToTxn: refused.
	if c := txnCommitOffset(t, r, 3, "oc", pid, epoch, "g1", "tin", 0, 5); c != kerr.InvalidTxnState.Code {
		t.Fatalf("TxnOffsetCommit v3 outside the transaction: %v", kerr.ErrorForCode(c))
	}
	if c := txnCommitOffset(t, r, 4, "oc", pid, epoch, "g1", "tin", 0, 5); c != kerr.TransactionAbortable.Code {
		t.Fatalf("TxnOffsetCommit v4 outside the transaction: %v", kerr.ErrorForCode(c))
	}
	// Only unknown partitions: Kafka answers that before asking the
	// transaction coordinator.
	if c := txnCommitOffset(t, r, 3, "oc", pid, epoch, "g1", "nope", 0, 5); c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("TxnOffsetCommit for an unknown topic outside the transaction: %v", kerr.ErrorForCode(c))
	}
	if c := addOffsetsToTxn(t, r, "oc", pid, epoch, "g1"); c != 0 {
		t.Fatal(kerr.ErrorForCode(c))
	}
	if c := txnCommitOffset(t, r, 3, "oc", pid, epoch, "g1", "tin", 0, 5); c != 0 {
		t.Fatal(kerr.ErrorForCode(c))
	}
	if c := txnCommitOffset(t, r, 3, "oc", pid, epoch, "g1", "nope", 0, 5); c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("TxnOffsetCommit for an unknown topic: %v", kerr.ErrorForCode(c))
	}
	if off, c := committedOffset(t, r, "g1", "tin", 0, false); off != -1 || c != 0 {
		t.Fatalf("pending offset visible: %d %v", off, kerr.ErrorForCode(c))
	}
	if _, c := committedOffset(t, r, "g1", "tin", 0, true); c != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("require_stable with a pending offset: %v", kerr.ErrorForCode(c))
	}
	// Pending across a restart, then committed.
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if off, _ := committedOffset(t, r, "g1", "tin", 0, false); off != -1 {
		t.Fatalf("pending offset visible after restart: %d", off)
	}
	if c := endTxn(t, r, 3, "oc", pid, epoch, true); c != 0 {
		t.Fatal(kerr.ErrorForCode(c))
	}
	if off, c := committedOffset(t, r, "g1", "tin", 0, true); off != 5 || c != 0 {
		t.Fatalf("after commit: %d %v", off, kerr.ErrorForCode(c))
	}
	// An aborted transaction's offset is dropped.
	if c := addOffsetsToTxn(t, r, "oc", pid, epoch, "g1"); c != 0 {
		t.Fatal(kerr.ErrorForCode(c))
	}
	if c := txnCommitOffset(t, r, 3, "oc", pid, epoch, "g1", "tin", 0, 9); c != 0 {
		t.Fatal(kerr.ErrorForCode(c))
	}
	if c := endTxn(t, r, 3, "oc", pid, epoch, false); c != 0 {
		t.Fatal(kerr.ErrorForCode(c))
	}
	if off, c := committedOffset(t, r, "g1", "tin", 0, true); off != 5 || c != 0 {
		t.Fatalf("after abort: %d %v", off, kerr.ErrorForCode(c))
	}
	// A fenced producer.
	if c := addOffsetsToTxn(t, r, "oc", pid, epoch, "g1"); c != 0 {
		t.Fatal(kerr.ErrorForCode(c))
	}
	if resp := initTxn(t, r, 4, "oc", 60000, -1, -1); resp.ErrorCode != kerr.ConcurrentTransactions.Code {
		t.Fatalf("fencing InitProducerId: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if c := txnCommitOffset(t, r, 3, "oc", pid, epoch, "g1", "tin", 0, 11); c != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("TxnOffsetCommit from a fenced producer: %v", kerr.ErrorForCode(c))
	}
	if off, _ := committedOffset(t, r, "g1", "tin", 0, true); off != 5 {
		t.Fatalf("after fencing: %d", off)
	}
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if off, c := committedOffset(t, r, "g1", "tin", 0, true); off != 5 || c != 0 {
		t.Fatalf("after restart: %d %v", off, kerr.ErrorForCode(c))
	}
}
