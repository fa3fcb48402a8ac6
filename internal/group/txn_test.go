package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The tests of transactional offset commits run the coordinator over real
// __consumer_offsets partitions (replica.Partition on storage.Log in a
// temporary log dir), as the broker does, so the producer epoch checks,
// markers, last stable offset and restarts are the real ones.

const txnTestPartitions = 3

// partitionStore is the broker's offsetsStore over a replica.Manager.
type partitionStore struct{ m *replica.Manager }

func (s partitionStore) part(p int32) (*replica.Partition, error) {
	part := s.m.Partition(Topic, p)
	if part == nil {
		return nil, fmt.Errorf("%w: %s-%d is not open", ErrNotCoordinator, Topic, p)
	}
	return part, nil
}

func (s partitionStore) Append(p int32, batch record.Header) (int64, error) {
	part, err := s.part(p)
	if err != nil {
		return 0, err
	}
	return part.AppendInternal(batch)
}

func (s partitionStore) Read(p int32, offset int64, maxBytes int) ([]byte, error) {
	part, err := s.part(p)
	if err != nil {
		return nil, err
	}
	return part.ReadInternal(offset, maxBytes)
}

func (s partitionStore) WriteMarker(p int32, pid int64, epoch int16, commit bool, coordinatorEpoch int32) (int64, error) {
	part, err := s.part(p)
	if err != nil {
		return 0, err
	}
	return part.WriteTxnMarker(pid, epoch, commit, coordinatorEpoch)
}

type txnEnv struct {
	t     *testing.T
	dir   string
	clock *fakeClock
	cfg   Config
	m     *replica.Manager
	c     *Coordinator
}

func newTxnEnv(t *testing.T) *txnEnv {
	clock := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	e := &txnEnv{t: t, dir: t.TempDir(), clock: clock,
		cfg: Config{MinSessionTimeout: time.Millisecond, OffsetsRetention: time.Hour, RetentionCheck: time.Hour, Now: clock.Now}}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *txnEnv) open() {
	e.t.Helper()
	logger := slog.New(slog.DiscardHandler)
	d, err := storage.OpenDir(e.dir, logger)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := replica.NewManager([]*storage.Dir{d}, replica.Intervals{}, storage.Options{Logger: logger}, logger)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := config.NewBroker(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := b.ResolveTopic(map[string]string{"cleanup.policy": "compact"})
	for p := int32(0); p < txnTestPartitions; p++ {
		if _, err := m.OpenPartition(Topic, p, [16]byte{7}, &cfg); err != nil {
			e.t.Fatal(err)
		}
	}
	e.m = m
	e.c = New(e.cfg, txnTestPartitions, partitionStore{m}, nil)
	for p := int32(0); p < txnTestPartitions; p++ {
		if err := e.c.LoadPartition(p); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *txnEnv) close() {
	if e.c == nil {
		return
	}
	e.c.Close()
	if err := e.m.Close(); err != nil {
		e.t.Error(err)
	}
	e.c, e.m = nil, nil
}

// restart closes the coordinator and the partitions and opens both again
// from the log dir, as a broker restart does.
func (e *txnEnv) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *txnEnv) partition(group string) *replica.Partition {
	return e.m.Partition(Topic, PartitionFor(group, txnTestPartitions))
}

// tpo is one partition's offset in a commit: topic/partition, offset,
// leader epoch and metadata.
type tpo struct {
	topic     string
	partition int32
	offset    int64
	epoch     int32
	metadata  string
}

func txnRequest(group string, pid int64, epoch int16, parts ...tpo) *kmsg.TxnOffsetCommitRequest {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.SetVersion(3)
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = "txn-"+group, group, pid, epoch
	req.Generation = -1
	for _, p := range parts {
		var rt *kmsg.TxnOffsetCommitRequestTopic
		for i := range req.Topics {
			if req.Topics[i].Topic == p.topic {
				rt = &req.Topics[i]
			}
		}
		if rt == nil {
			req.Topics = append(req.Topics, kmsg.NewTxnOffsetCommitRequestTopic())
			rt = &req.Topics[len(req.Topics)-1]
			rt.Topic = p.topic
		}
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		md := p.metadata
		rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = p.partition, p.offset, p.epoch, &md
		rt.Partitions = append(rt.Partitions, rp)
	}
	return req
}

func everyPartitionExists(string, int32) bool { return true }

// txnCommit sends req and returns the error codes by "topic/partition".
func (e *txnEnv) txnCommit(req *kmsg.TxnOffsetCommitRequest) map[string]int16 {
	e.t.Helper()
	resp := e.c.TxnCommitOffsets(req, everyPartitionExists)
	out := map[string]int16{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			out[fmt.Sprintf("%s/%d", rt.Topic, rp.Partition)] = rp.ErrorCode
		}
	}
	if len(out) != countPartitions(req) {
		e.t.Fatalf("response has %d partitions, request %d", len(out), countPartitions(req))
	}
	return out
}

func countPartitions(req *kmsg.TxnOffsetCommitRequest) int {
	n := 0
	for _, t := range req.Topics {
		n += len(t.Partitions)
	}
	return n
}

// mustTxnCommit commits offsets in producer pid's transaction and expects
// success everywhere.
func (e *txnEnv) mustTxnCommit(group string, pid int64, epoch int16, parts ...tpo) {
	e.t.Helper()
	for tp, code := range e.txnCommit(txnRequest(group, pid, epoch, parts...)) {
		if code != 0 {
			e.t.Fatalf("transactional commit of %s for %s by producer %d/%d: %v", tp, group, pid, epoch, kerr.ErrorForCode(code))
		}
	}
}

// plainCommit commits offsets outside any transaction (OffsetCommit v8,
// generation -1).
func (e *txnEnv) plainCommit(group string, parts ...tpo) {
	e.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(8)
	req.Group, req.Generation = group, -1
	for _, p := range parts {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = p.topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		md := p.metadata
		rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = p.partition, p.offset, p.epoch, &md
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	for _, rt := range e.c.CommitOffsets(req, everyPartitionExists).Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				e.t.Fatalf("commit of %s/%d for %s: %v", rt.Topic, rp.Partition, group, kerr.ErrorForCode(rp.ErrorCode))
			}
		}
	}
}

// fetch returns what OffsetFetch answers for the named partitions, as
// "offset/epoch/metadata" or the error's name, by "topic/partition".
func (e *txnEnv) fetch(group string, requireStable bool, parts ...tpo) map[string]string {
	e.t.Helper()
	var topics []kmsg.OffsetFetchRequestTopic
	for _, p := range parts {
		topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: p.topic, Partitions: []int32{p.partition}})
	}
	fts, code := e.c.FetchOffsets(group, topics, false, nil, -1, requireStable)
	if code != 0 {
		e.t.Fatalf("fetch offsets of %s: %v", group, kerr.ErrorForCode(code))
	}
	return fetched(fts)
}

// fetchAll is fetch of every partition with a committed offset.
func (e *txnEnv) fetchAll(group string, requireStable bool) map[string]string {
	e.t.Helper()
	fts, code := e.c.FetchOffsets(group, nil, true, nil, -1, requireStable)
	if code != 0 {
		e.t.Fatalf("fetch offsets of %s: %v", group, kerr.ErrorForCode(code))
	}
	return fetched(fts)
}

func fetched(fts []FetchedTopic) map[string]string {
	out := map[string]string{}
	for _, ft := range fts {
		for _, p := range ft.Partitions {
			k := fmt.Sprintf("%s/%d", ft.Topic, p.Partition)
			switch {
			case p.ErrorCode != 0:
				out[k] = kerr.ErrorForCode(p.ErrorCode).(*kerr.Error).Message
				if p.Offset != -1 || p.LeaderEpoch != -1 || p.Metadata != "" {
					out[k] += fmt.Sprintf(" with %d/%d/%s", p.Offset, p.LeaderEpoch, p.Metadata)
				}
			case p.Offset < 0:
				out[k] = "none"
			default:
				out[k] = fmt.Sprintf("%d/%d/%s", p.Offset, p.LeaderEpoch, p.Metadata)
			}
		}
	}
	return out
}

func (e *txnEnv) complete(group string, pid int64, epoch int16, commit bool) {
	e.t.Helper()
	if err := e.c.CompleteTxn(PartitionFor(group, txnTestPartitions), pid, epoch, commit, 0); err != nil {
		e.t.Fatalf("complete transaction of producer %d on %s's partition: %v", pid, group, err)
	}
}

func wantFetch(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

var (
	o0 = tpo{topic: "orders", partition: 0}
	o1 = tpo{topic: "orders", partition: 1}
	p0 = tpo{topic: "payments", partition: 0}
)

func (p tpo) at(offset int64, epoch int32, metadata string) tpo {
	p.offset, p.epoch, p.metadata = offset, epoch, metadata
	return p
}

// Offsets committed in a transaction are in the log at once (holding the
// partition's last stable offset) but invisible to OffsetFetch; with
// require_stable their partitions are UNSTABLE_OFFSET_COMMIT. A COMMIT
// marker makes them the committed offsets.
func TestTxnOffsetsVisibleAfterCommit(t *testing.T) {
	e := newTxnEnv(t)
	e.plainCommit("g", o0.at(5, 1, "plain"))
	part := e.partition("g")
	before := part.LogEndOffset()

	e.mustTxnCommit("g", 100, 0, o0.at(10, 2, "txn-o0"), o1.at(20, 2, "txn-o1"))
	if lso, hw := part.LastStableOffset(), part.HighWatermark(); lso != before || hw != before+2 {
		t.Fatalf("after the transactional commit: last stable offset %d, high watermark %d; want %d and %d", lso, hw, before, before+2)
	}
	wantFetch(t, "before the commit", e.fetch("g", false, o0, o1, p0),
		map[string]string{"orders/0": "5/1/plain", "orders/1": "none", "payments/0": "none"})
	wantFetch(t, "before the commit, all", e.fetchAll("g", false), map[string]string{"orders/0": "5/1/plain"})
	unstable := kerr.UnstableOffsetCommit.Message
	wantFetch(t, "before the commit, require stable", e.fetch("g", true, o0, o1, p0),
		map[string]string{"orders/0": unstable, "orders/1": unstable, "payments/0": "none"})
	wantFetch(t, "before the commit, all, require stable", e.fetchAll("g", true), map[string]string{"orders/0": unstable})

	e.complete("g", 100, 0, true)
	want := map[string]string{"orders/0": "10/2/txn-o0", "orders/1": "20/2/txn-o1", "payments/0": "none"}
	wantFetch(t, "after the commit", e.fetch("g", false, o0, o1, p0), want)
	wantFetch(t, "after the commit, require stable", e.fetch("g", true, o0, o1, p0), want)
	if lso, leo := part.LastStableOffset(), part.LogEndOffset(); lso != leo {
		t.Fatalf("after the marker: last stable offset %d, log end %d", lso, leo)
	}

	// The next transaction of the producer works the same way.
	e.mustTxnCommit("g", 100, 0, o0.at(11, 2, "next"))
	wantFetch(t, "second transaction open", e.fetch("g", false, o0), map[string]string{"orders/0": "10/2/txn-o0"})
	e.complete("g", 100, 0, true)
	wantFetch(t, "second transaction committed", e.fetch("g", false, o0), map[string]string{"orders/0": "11/2/next"})

	e.restart()
	wantFetch(t, "after a restart", e.fetchAll("g", true), map[string]string{"orders/0": "11/2/next", "orders/1": "20/2/txn-o1"})
}

// An ABORT marker drops the transaction's offsets; the group created only
// by the transaction goes with them.
func TestTxnOffsetsGoneAfterAbort(t *testing.T) {
	e := newTxnEnv(t)
	e.plainCommit("g", o0.at(5, -1, ""))
	e.mustTxnCommit("g", 100, 0, o0.at(10, 0, "a"), o1.at(20, 0, "b"))
	e.mustTxnCommit("only-txn", 100, 0, p0.at(30, 0, "c"))
	if !listed(e.c, "only-txn") {
		t.Fatal("a group with only an open transaction's offsets is not listed")
	}
	e.complete("g", 100, 0, false)
	e.complete("only-txn", 100, 0, false)
	want := map[string]string{"orders/0": "5/-1/", "orders/1": "none"}
	wantFetch(t, "after the abort", e.fetch("g", true, o0, o1), want)
	wantFetch(t, "after the abort", e.fetchAll("only-txn", true), map[string]string{})
	if listed(e.c, "only-txn") {
		t.Fatal("the group of an aborted transaction's offsets is still listed")
	}
	if lso, leo := e.partition("g").LastStableOffset(), e.partition("g").LogEndOffset(); lso != leo {
		t.Fatalf("after the abort: last stable offset %d, log end %d", lso, leo)
	}
	e.restart()
	wantFetch(t, "after a restart", e.fetch("g", true, o0, o1), want)
	if listed(e.c, "only-txn") {
		t.Fatal("the group of an aborted transaction's offsets is back after a restart")
	}
}

func listed(c *Coordinator, group string) bool {
	for _, l := range c.ListGroups() {
		if l.Group == group {
			return true
		}
	}
	return false
}

// When a transaction commits, its offset of a partition replaces the
// committed one only if its record is the later one in the log: a plain
// commit appended after the transactional one wins, as in Kafka.
func TestTxnOffsetsLaterPlainCommitWins(t *testing.T) {
	e := newTxnEnv(t)
	e.mustTxnCommit("g", 100, 0, o0.at(10, 0, "txn"), o1.at(20, 0, "txn"))
	e.plainCommit("g", o0.at(7, 0, "plain-after"))
	e.complete("g", 100, 0, true)
	want := map[string]string{"orders/0": "7/0/plain-after", "orders/1": "20/0/txn"}
	wantFetch(t, "after the commit", e.fetchAll("g", true), want)

	// A plain commit before the transactional one loses.
	e.plainCommit("g", o1.at(15, 0, "plain-before"))
	e.mustTxnCommit("g", 100, 0, o1.at(25, 0, "txn2"))
	e.complete("g", 100, 0, true)
	want["orders/1"] = "25/0/txn2"
	wantFetch(t, "after the second commit", e.fetchAll("g", true), want)

	e.restart()
	wantFetch(t, "after a restart", e.fetchAll("g", true), want)
}

// After a restart the log decides: committed transactions' offsets are
// there, aborted ones are not, and a transaction still open is open again
// (invisible, UNSTABLE_OFFSET_COMMIT with require_stable) until the
// transaction coordinator completes it.
func TestTxnOffsetsReplay(t *testing.T) {
	e := newTxnEnv(t)
	e.plainCommit("g", o0.at(1, 0, "plain-o0"), o1.at(2, 0, "plain-o1"))
	e.mustTxnCommit("g", 1, 0, o0.at(10, 3, "committed"))
	e.mustTxnCommit("g", 2, 0, o1.at(20, 3, "aborted"))
	e.mustTxnCommit("g", 3, 5, p0.at(30, 3, "open"))
	e.mustTxnCommit("h", 1, 0, p0.at(40, 4, "committed-h"))
	e.complete("g", 1, 0, true)
	if PartitionFor("h", txnTestPartitions) != PartitionFor("g", txnTestPartitions) {
		e.complete("h", 1, 0, true)
	}
	e.complete("g", 2, 0, false)
	part := e.partition("g")
	if lso, leo := part.LastStableOffset(), part.LogEndOffset(); lso >= leo {
		t.Fatalf("last stable offset %d with a transaction open, log end %d", lso, leo)
	}
	wantG := map[string]string{"orders/0": "10/3/committed", "orders/1": "2/0/plain-o1", "payments/0": "none"}
	wantGStable := map[string]string{"orders/0": "10/3/committed", "orders/1": "2/0/plain-o1", "payments/0": kerr.UnstableOffsetCommit.Message}
	wantH := map[string]string{"payments/0": "40/4/committed-h"}
	check := func(when string) {
		t.Helper()
		wantFetch(t, when, e.fetch("g", false, o0, o1, p0), wantG)
		wantFetch(t, when+", require stable", e.fetch("g", true, o0, o1, p0), wantGStable)
		wantFetch(t, when+", group h", e.fetchAll("h", true), wantH)
	}
	check("before the restart")
	e.restart()
	check("after the restart")
	if lso, leo := e.partition("g").LastStableOffset(), e.partition("g").LogEndOffset(); lso >= leo {
		t.Fatalf("after the restart: last stable offset %d with a transaction open, log end %d", lso, leo)
	}

	// The transaction coordinator completes the open transaction.
	e.complete("g", 3, 5, true)
	wantG["payments/0"] = "30/3/open"
	wantGStable["payments/0"] = "30/3/open"
	check("after committing the open transaction")
	e.restart()
	check("after a second restart")
}

// An open transaction's offsets are replayed as open even when the producer
// id had an earlier transaction on the partition, and the marker only ends
// the records before it.
func TestTxnOffsetsReplayOpenAfterEarlierMarker(t *testing.T) {
	e := newTxnEnv(t)
	e.mustTxnCommit("g", 9, 0, o0.at(10, 0, "first"))
	e.complete("g", 9, 0, true)
	e.mustTxnCommit("g", 9, 0, o0.at(11, 0, "second"))
	e.restart()
	wantFetch(t, "after the restart", e.fetch("g", true, o0), map[string]string{"orders/0": kerr.UnstableOffsetCommit.Message})
	wantFetch(t, "after the restart", e.fetch("g", false, o0), map[string]string{"orders/0": "10/0/first"})
	e.complete("g", 9, 0, false)
	wantFetch(t, "after the abort", e.fetch("g", true, o0), map[string]string{"orders/0": "10/0/first"})
}

// A producer epoch older than the one the partition last saw from the
// producer is fenced: INVALID_PRODUCER_EPOCH, and nothing of it is kept. A
// marker with an older epoch is refused too.
func TestTxnOffsetsEpochFencing(t *testing.T) {
	e := newTxnEnv(t)
	e.mustTxnCommit("g", 42, 2, o0.at(10, 0, "epoch-2"))
	for tp, code := range e.txnCommit(txnRequest("g", 42, 1, o0.at(99, 0, "zombie"), o1.at(99, 0, "zombie"))) {
		if code != kerr.InvalidProducerEpoch.Code {
			t.Fatalf("commit of %s with an older epoch: %v, want INVALID_PRODUCER_EPOCH", tp, kerr.ErrorForCode(code))
		}
	}
	err := e.c.CompleteTxn(PartitionFor("g", txnTestPartitions), 42, 1, true, 0)
	if !errors.Is(err, storage.ErrInvalidProducerEpoch) {
		t.Fatalf("marker with an older epoch: %v, want storage.ErrInvalidProducerEpoch", err)
	}
	wantFetch(t, "after the refused marker", e.fetch("g", true, o0, o1),
		map[string]string{"orders/0": kerr.UnstableOffsetCommit.Message, "orders/1": "none"})
	e.complete("g", 42, 2, true)
	wantFetch(t, "after the commit", e.fetch("g", true, o0, o1), map[string]string{"orders/0": "10/0/epoch-2", "orders/1": "none"})

	// A new epoch (InitProducerId bumped it) may commit again, and the old
	// one is still fenced after a restart.
	e.mustTxnCommit("g", 42, 3, o1.at(11, 0, "epoch-3"))
	e.restart()
	for tp, code := range e.txnCommit(txnRequest("g", 42, 2, o1.at(99, 0, "zombie"))) {
		if code != kerr.InvalidProducerEpoch.Code {
			t.Fatalf("after a restart, commit of %s with an older epoch: %v, want INVALID_PRODUCER_EPOCH", tp, kerr.ErrorForCode(code))
		}
	}
	e.complete("g", 42, 3, true)
	wantFetch(t, "after the last commit", e.fetch("g", true, o0, o1), map[string]string{"orders/0": "10/0/epoch-2", "orders/1": "11/0/epoch-3"})
}

// CompleteTxn for a partition where the producer committed nothing writes
// the marker and changes nothing else; for a partition not loaded here it
// is ErrNotCoordinator.
func TestCompleteTxnWithoutOffsets(t *testing.T) {
	e := newTxnEnv(t)
	e.plainCommit("g", o0.at(3, 0, ""))
	part := e.partition("g")
	leo := part.LogEndOffset()
	e.complete("g", 77, 0, true)
	if part.LogEndOffset() != leo+1 {
		t.Fatalf("log end %d after the marker, want %d", part.LogEndOffset(), leo+1)
	}
	wantFetch(t, "after the marker", e.fetchAll("g", true), map[string]string{"orders/0": "3/0/"})
	p := PartitionFor("g", txnTestPartitions)
	e.c.UnloadPartition(p)
	if err := e.c.CompleteTxn(p, 77, 0, true, 0); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("unloaded partition: %v, want ErrNotCoordinator", err)
	}
	if part.LogEndOffset() != leo+1 {
		t.Fatal("a marker was written for a partition that is not loaded")
	}
}

// Request errors: empty group id, no producer id, unknown partitions,
// metadata too large, and a generation for a group that does not exist.
func TestTxnCommitRequestErrors(t *testing.T) {
	e := newTxnEnv(t)
	req := txnRequest("", 5, 0, o0.at(1, 0, ""))
	if got := e.txnCommit(req)["orders/0"]; got != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: %v", kerr.ErrorForCode(got))
	}
	req = txnRequest("g", -1, -1, o0.at(1, 0, ""))
	if got := e.txnCommit(req)["orders/0"]; got != kerr.InvalidProducerIDMapping.Code {
		t.Fatalf("no producer id: %v", kerr.ErrorForCode(got))
	}

	req = txnRequest("g", 5, 0, o0.at(1, 0, "ok"), tpo{topic: "missing", partition: 0, offset: 1}, o1.at(2, 0, strings.Repeat("x", 4097)))
	resp := e.c.TxnCommitOffsets(req, func(topic string, _ int32) bool { return topic != "missing" })
	got := map[string]int16{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			got[fmt.Sprintf("%s/%d", rt.Topic, rp.Partition)] = rp.ErrorCode
		}
	}
	want := map[string]int16{"orders/0": 0, "missing/0": kerr.UnknownTopicOrPartition.Code, "orders/1": kerr.OffsetMetadataTooLarge.Code}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mixed commit: %v, want %v", got, want)
	}
	e.complete("g", 5, 0, true)
	wantFetch(t, "after the mixed commit", e.fetchAll("g", false), map[string]string{"orders/0": "1/0/ok"})

	// A generation for a group that does not exist: ILLEGAL_GENERATION, and
	// no group is created.
	req = txnRequest("nobody", 5, 0, o0.at(1, 0, ""))
	req.Generation, req.MemberID = 3, "m"
	if got := e.txnCommit(req)["orders/0"]; got != kerr.IllegalGeneration.Code {
		t.Fatalf("generation of a missing group: %v", kerr.ErrorForCode(got))
	}
	if listed(e.c, "nobody") {
		t.Fatal("a refused commit created its group")
	}
}

// joinClassic makes a classic group with one member (static when
// instanceID is set) through JoinGroup and SyncGroup, and returns the
// member id and generation.
func joinClassic(t *testing.T, c *Coordinator, group string, instanceID *string) (string, int32) {
	t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.SetVersion(5)
	req.Group, req.ProtocolType, req.InstanceID = group, "consumer", instanceID
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 30000, 30000
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", []byte{0}
	req.Protocols = append(req.Protocols, p)
	jr := c.JoinGroup(context.Background(), req, "client", "/host")
	if jr.ErrorCode == kerr.MemberIDRequired.Code {
		req.MemberID = jr.MemberID
		jr = c.JoinGroup(context.Background(), req, "client", "/host")
	}
	if jr.ErrorCode != 0 {
		t.Fatalf("join %s: %v", group, kerr.ErrorForCode(jr.ErrorCode))
	}
	sr := kmsg.NewPtrSyncGroupRequest()
	sr.SetVersion(3)
	sr.Group, sr.MemberID, sr.Generation, sr.InstanceID = group, jr.MemberID, jr.Generation, instanceID
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID, a.MemberAssignment = jr.MemberID, []byte{1}
	sr.GroupAssignment = append(sr.GroupAssignment, a)
	if r := c.SyncGroup(context.Background(), sr); r.ErrorCode != 0 {
		t.Fatalf("sync %s: %v", group, kerr.ErrorForCode(r.ErrorCode))
	}
	return jr.MemberID, jr.Generation
}

// v3+ member checks on a classic group with members, as Kafka's
// ClassicGroup.validateOffsetCommit for transactional commits.
func TestTxnCommitClassicMemberChecks(t *testing.T) {
	e := newTxnEnv(t)
	instance := "static-1"
	member, gen := joinClassic(t, e.c, "g", &instance)
	other := "other-instance"
	for _, tc := range []struct {
		name     string
		version  int16
		member   string
		gen      int32
		instance *string
		want     int16
	}{
		{"the member in its generation", 3, member, gen, &instance, 0},
		{"the member without its instance id", 3, member, gen, nil, 0},
		{"an unknown member", 3, "nobody", gen, nil, kerr.UnknownMemberID.Code},
		{"an older generation", 3, member, gen - 1, &instance, kerr.IllegalGeneration.Code},
		{"another member id for the instance", 3, "nobody", gen, &instance, kerr.FencedInstanceID.Code},
		{"an unknown instance id", 3, member, gen, &other, kerr.UnknownMemberID.Code},
		{"no member and generation -1 (v3)", 3, "", -1, nil, 0},
		{"v2, which names no member", 2, "ignored", 99, nil, 0},
	} {
		req := txnRequest("g", 8, 0, o0.at(int64(tc.gen), 0, tc.name))
		req.SetVersion(tc.version)
		req.MemberID, req.Generation, req.InstanceID = tc.member, tc.gen, tc.instance
		if got := e.txnCommit(req)["orders/0"]; got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, kerr.ErrorForCode(got), kerr.ErrorForCode(tc.want))
		}
	}
}

type testTopics map[string]int32

func (ts testTopics) TopicByName(name string) ([16]byte, int32, bool) {
	n, ok := ts[name]
	return [16]byte{byte(len(name))}, n, ok
}

func (ts testTopics) TopicByID(id [16]byte) (string, bool) {
	for name := range ts {
		if byte(len(name)) == id[0] {
			return name, true
		}
	}
	return "", false
}

// A consumer group (KIP-848) takes the generation as the member epoch: an
// unknown member is UNKNOWN_MEMBER_ID, another epoch ILLEGAL_GENERATION
// (Kafka turns STALE_MEMBER_EPOCH into it for transactional commits).
func TestTxnCommitConsumerGroupMemberChecks(t *testing.T) {
	e := newTxnEnv(t)
	hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = "cg", "member-1", 0, 30000
	hb.SubscribedTopicNames, hb.Topics = []string{"orders"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	r := e.c.ConsumerGroupHeartbeat(hb, "client", "/host", testTopics{"orders": 2})
	if r.ErrorCode != 0 || r.MemberID == nil {
		t.Fatalf("heartbeat: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	for _, tc := range []struct {
		name   string
		member string
		epoch  int32
		want   int16
	}{
		{"the member in its epoch", *r.MemberID, r.MemberEpoch, 0},
		{"the member with another epoch", *r.MemberID, r.MemberEpoch + 1, kerr.IllegalGeneration.Code},
		{"an unknown member", "nobody", r.MemberEpoch, kerr.UnknownMemberID.Code},
		{"no member", "", -1, kerr.UnknownMemberID.Code},
	} {
		req := txnRequest("cg", 8, 0, o0.at(1, 0, tc.name))
		req.MemberID, req.Generation = tc.member, tc.epoch
		if got := e.txnCommit(req)["orders/0"]; got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, kerr.ErrorForCode(got), kerr.ErrorForCode(tc.want))
		}
	}
	e.complete("cg", 8, 0, true)
	wantFetch(t, "after the commit", e.fetchAll("cg", true), map[string]string{"orders/0": "1/0/the member in its epoch"})
}

// OffsetDelete of a partition with an open transaction's offset writes the
// tombstone and drops that offset too (Kafka's OffsetMetadataManager):
// the transaction's commit no longer brings it back, before or after a
// restart.
func TestTxnOffsetsOffsetDelete(t *testing.T) {
	e := newTxnEnv(t)
	e.mustTxnCommit("g", 100, 0, o0.at(10, 0, "txn"), o1.at(20, 0, "txn"))
	code, codes := e.c.DeleteOffsets("g", []TopicPartition{{"orders", 0}})
	if code != 0 || codes[0] != 0 {
		t.Fatalf("offset delete: %v %v", code, codes)
	}
	wantFetch(t, "after the delete", e.fetch("g", true, o0, o1),
		map[string]string{"orders/0": "none", "orders/1": kerr.UnstableOffsetCommit.Message})
	e.restart()
	wantFetch(t, "after a restart", e.fetch("g", true, o0, o1),
		map[string]string{"orders/0": "none", "orders/1": kerr.UnstableOffsetCommit.Message})
	e.complete("g", 100, 0, true)
	want := map[string]string{"orders/0": "none", "orders/1": "20/0/txn"}
	wantFetch(t, "after the commit", e.fetch("g", true, o0, o1), want)
	e.restart()
	wantFetch(t, "after a second restart", e.fetch("g", true, o0, o1), want)
}

// DeleteGroups deletes a group with an open transaction's offsets as Kafka
// 3.9 does (OffsetMetadataManager.deleteAllOffsets): tombstones for its
// committed offsets and for those only the transaction holds, so the
// transaction's commit does not bring the group back.
func TestTxnOffsetsDeleteGroup(t *testing.T) {
	e := newTxnEnv(t)
	e.plainCommit("g", o0.at(1, 0, ""))
	e.mustTxnCommit("g", 100, 0, o0.at(10, 0, "txn"), p0.at(30, 0, "txn"))
	if code := e.c.DeleteGroup("g"); code != 0 {
		t.Fatalf("delete group: %v", kerr.ErrorForCode(code))
	}
	if listed(e.c, "g") {
		t.Fatal("deleted group still listed")
	}
	e.complete("g", 100, 0, true)
	if listed(e.c, "g") {
		t.Fatal("the deleted group came back with its transaction's commit")
	}
	e.restart()
	if listed(e.c, "g") {
		t.Fatal("the deleted group came back after a restart")
	}
}

// Expiry keeps a group with an open transaction's offsets, and does not
// expire a committed offset of a partition the transaction commits (Kafka's
// OffsetMetadataManager.cleanupExpiredOffsets).
func TestTxnOffsetsExpiry(t *testing.T) {
	e := newTxnEnv(t)
	e.plainCommit("g", o0.at(1, 0, "old"), o1.at(2, 0, "old"))
	e.mustTxnCommit("g", 100, 0, o0.at(10, 0, "txn"))
	e.mustTxnCommit("only-txn", 100, 0, p0.at(30, 0, "txn"))
	e.clock.add(2 * time.Hour)
	e.c.ExpireOffsets()
	wantFetch(t, "after expiry", e.fetch("g", false, o0, o1), map[string]string{"orders/0": "1/0/old", "orders/1": "none"})
	if !listed(e.c, "g") || !listed(e.c, "only-txn") {
		t.Fatal("expiry removed a group with an open transaction's offsets")
	}
	e.complete("g", 100, 0, true)
	if PartitionFor("only-txn", txnTestPartitions) != PartitionFor("g", txnTestPartitions) {
		e.complete("only-txn", 100, 0, true)
	}
	wantFetch(t, "after the commit", e.fetch("g", false, o0, o1), map[string]string{"orders/0": "10/0/txn", "orders/1": "none"})
	wantFetch(t, "after the commit", e.fetchAll("only-txn", false), map[string]string{"payments/0": "30/0/txn"})
	e.restart()
	wantFetch(t, "after a restart", e.fetch("g", false, o0, o1), map[string]string{"orders/0": "10/0/txn", "orders/1": "none"})
}

// Transactional commits and their completion run concurrently with plain
// commits of other groups and of the same groups; every committed
// transaction's last offset is visible at the end, before and after a
// restart (run with -race).
func TestTxnOffsetsConcurrent(t *testing.T) {
	e := newTxnEnv(t)
	const producers, rounds = 6, 20
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for i := 0; i < producers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			group := fmt.Sprintf("group-%d", i%3)
			pid := int64(1000 + i)
			tp := tpo{topic: "t", partition: int32(i)}
			for r := 0; r < rounds; r++ {
				resp := e.c.TxnCommitOffsets(txnRequest(group, pid, 0, tp.at(int64(r), 0, "")), everyPartitionExists)
				if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
					errs <- fmt.Errorf("producer %d round %d: %v", pid, r, kerr.ErrorForCode(code))
					return
				}
				commit := r%2 == 0
				if err := e.c.CompleteTxn(PartitionFor(group, txnTestPartitions), pid, 0, commit, 0); err != nil {
					errs <- err
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := map[string]map[string]string{}
	for i := 0; i < producers; i++ {
		group := fmt.Sprintf("group-%d", i%3)
		if want[group] == nil {
			want[group] = map[string]string{}
		}
		want[group][fmt.Sprintf("t/%d", i)] = fmt.Sprintf("%d/0/", rounds-2) // the last committed round
	}
	check := func(when string) {
		for group, w := range want {
			wantFetch(t, when+" "+group, e.fetchAll(group, true), w)
		}
	}
	check("at the end")
	e.restart()
	check("after a restart")
}

// markerHookStore runs afterMarker once a marker is in the log, before
// CompleteTxn goes on: a way to put a commit between the two.
type markerHookStore struct {
	partitionStore
	afterMarker func()
}

func (s markerHookStore) WriteMarker(p int32, pid int64, epoch int16, commit bool, coordinatorEpoch int32) (int64, error) {
	off, err := s.partitionStore.WriteMarker(p, pid, epoch, commit, coordinatorEpoch)
	if err == nil && s.afterMarker != nil {
		s.afterMarker()
	}
	return off, err
}

// A marker ends only the offsets whose records precede it: an offset the
// producer commits after the marker was written (but before CompleteTxn
// got to its group) belongs to its next transaction and stays open, as a
// replay of the log has it.
func TestTxnOffsetsAfterMarkerStayOpen(t *testing.T) {
	e := newTxnEnv(t)
	e.mustTxnCommit("g", 100, 0, o0.at(10, 0, "before-marker"))
	hooked := false
	c := New(e.cfg, txnTestPartitions, markerHookStore{partitionStore{e.m}, func() {
		if !hooked {
			hooked = true
			e.mustTxnCommit("g", 100, 0, o1.at(20, 0, "after-marker"))
		}
	}}, nil)
	defer c.Close()
	for p := int32(0); p < txnTestPartitions; p++ {
		if err := c.LoadPartition(p); err != nil {
			t.Fatal(err)
		}
	}
	old := e.c
	e.c = c
	defer func() { e.c = old }()
	e.complete("g", 100, 0, true)
	if !hooked {
		t.Fatal("the hook did not run")
	}
	want := map[string]string{"orders/0": "10/0/before-marker", "orders/1": kerr.UnstableOffsetCommit.Message}
	wantFetch(t, "after the marker", e.fetch("g", true, o0, o1), want)
	c2 := New(e.cfg, txnTestPartitions, partitionStore{e.m}, nil)
	defer c2.Close()
	for p := int32(0); p < txnTestPartitions; p++ {
		if err := c2.LoadPartition(p); err != nil {
			t.Fatal(err)
		}
	}
	e.c = c2
	wantFetch(t, "replayed", e.fetch("g", true, o0, o1), want)
}
