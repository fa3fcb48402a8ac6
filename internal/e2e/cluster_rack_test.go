package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

const rackAwareSelector = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

// rackCluster starts three nodes in racks a, b and c (node n in rack
// "abc"[n-1]) with Kafka's rack-aware replica selector.
func rackCluster(t *testing.T, extra ...string) *clustertest.Cluster {
	t.Helper()
	props := append(slices.Clone(clusterProps), "replica.selector.class="+rackAwareSelector)
	c := clustertest.StartConfig(t, clustertest.Config{
		Nodes:     3,
		Props:     append(props, extra...),
		NodeProps: map[int][]string{1: {"broker.rack=a"}, 2: {"broker.rack=b"}, 3: {"broker.rack=c"}},
	})
	c.WaitReady(t, 30*time.Second)
	return c
}

// createInSync creates topic with an explicit replica assignment
// (assignment[p] lists partition p's replicas, leader first) and waits
// until every node names, for each partition, that leader and the whole
// assignment as ISR.
func createInSync(t *testing.T, c *clustertest.Cluster, topic string, assignment ...[]int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	createPlaced(t, ctx, c.Client(t), topic, assignment, nil)
	waitISR(t, c, topic, assignment...)
}

// waitISR waits until every node names, for each partition, the assigned
// leader and the whole assignment as ISR.
func waitISR(t *testing.T, c *clustertest.Cluster, topic string, assignment ...[]int32) {
	t.Helper()
	kafkatest.Eventually(t, 30*time.Second, func() error {
		for _, n := range c.Live() {
			md, err := c.Metadata(n, topic)
			if err != nil {
				return err
			}
			if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != len(assignment) {
				return fmt.Errorf("node %d: %s not complete yet", n, topic)
			}
			for _, p := range md.Topics[0].Partitions {
				want := slices.Sorted(slices.Values(assignment[p.Partition]))
				if p.Leader != assignment[p.Partition][0] || !slices.Equal(slices.Sorted(slices.Values(p.ISR)), want) {
					return fmt.Errorf("node %d: %s-%d leader %d isr %v", n, topic, p.Partition, p.Leader, p.ISR)
				}
			}
		}
		return nil
	})
}

// nodeClient is a client that talks to node n only (through its seed
// connection), offering at most the given versions (key -> max).
func nodeClient(t *testing.T, c *clustertest.Cluster, n int, maxVersions map[kmsg.Key]int16) *kgo.Client {
	t.Helper()
	v := kversion.Stable()
	for k, m := range maxVersions {
		v.SetMaxKeyVersion(k.Int16(), m)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr(n)), kgo.MaxVersions(v), kgo.DialTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// ask sends req to node n at the version cl negotiates.
func ask[R kmsg.Response](t *testing.T, cl *kgo.Client, req kmsg.Request) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp.(R)
}

// consumerFetch is a sessionless consumer Fetch of one partition that does
// not wait (MaxWaitMillis 0).
func consumerFetch(topic string, id [16]byte, partition int32, offset int64, epoch int32, rack string) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 0
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	req.SessionID, req.SessionEpoch = 0, -1
	req.Rack = rack
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.CurrentLeaderEpoch, rp.PartitionMaxBytes = partition, offset, epoch, 1<<20
	rt.Partitions = []kmsg.FetchRequestTopicPartition{rp}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	return req
}

// fetchOne sends a consumerFetch through cl and returns its only partition.
func fetchOne(t *testing.T, cl *kgo.Client, req *kmsg.FetchRequest) (*kmsg.FetchResponse, kmsg.FetchResponseTopicPartition) {
	t.Helper()
	resp := ask[*kmsg.FetchResponse](t, cl, req)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch v%d: error %v, %d topics", resp.Version, kerr.ErrorForCode(resp.ErrorCode), len(resp.Topics))
	}
	return resp, resp.Topics[0].Partitions[0]
}

// batchRecords decodes uncompressed record batches into recs of
// partition p, skipping control batches.
func batchRecords(t *testing.T, p int32, raw []byte) []rec {
	t.Helper()
	var out []rec
	for len(raw) > 0 {
		if len(raw) < 12 {
			t.Fatalf("%d stray bytes after the batches", len(raw))
		}
		n := 12 + int(binary.BigEndian.Uint32(raw[8:12]))
		if n > len(raw) {
			t.Fatalf("batch of %d bytes, %d left", n, len(raw))
		}
		var b kmsg.RecordBatch
		if err := b.ReadFrom(raw[:n]); err != nil {
			t.Fatal(err)
		}
		raw = raw[n:]
		if b.Attributes&0x20 != 0 {
			continue
		}
		if b.Attributes&7 != 0 {
			t.Fatalf("compressed batch (attributes %#x); produce uncompressed", b.Attributes)
		}
		body := b.Records
		for i := int32(0); i < b.NumRecords; i++ {
			l, m := binary.Varint(body)
			if m <= 0 || int(l)+m > len(body) {
				t.Fatalf("bad record %d of batch at %d", i, b.FirstOffset)
			}
			var r kmsg.Record
			if err := r.ReadFrom(body[:m+int(l)]); err != nil {
				t.Fatal(err)
			}
			body = body[m+int(l):]
			k := string(r.Key)
			out = append(out, rec{Partition: p, Offset: b.FirstOffset + int64(r.OffsetDelta), Key: &k, Value: string(r.Value)})
		}
	}
	return out
}

// The rack test's records: record i goes to slot i%3 (near-0, near-1,
// far-0) at offset i/3, with key k<i> and value v<i>.
var rackSlots = []struct {
	topic     string
	partition int32
}{{"near", 0}, {"near", 1}, {"far", 0}}

// slotRecs are the records of slot among indexes [from, to).
func slotRecs(slot int, from, to int) []rec {
	var out []rec
	for i := from; i < to; i++ {
		if i%3 != slot {
			continue
		}
		k := fmt.Sprintf("k%d", i)
		out = append(out, rec{Partition: rackSlots[slot].partition, Offset: int64(i / 3), Key: &k, Value: fmt.Sprintf("v%d", i)})
	}
	return out
}

// fetchHook counts, per partition ("topic-partition") and node, the
// records franz-go read from fetch responses.
type fetchHook struct {
	mu     sync.Mutex
	served map[string]map[int32]int
}

func (h *fetchHook) OnFetchBatchRead(meta kgo.BrokerMetadata, topic string, partition int32, m kgo.FetchBatchMetrics) {
	h.mu.Lock()
	defer h.mu.Unlock()
	tp := fmt.Sprintf("%s-%d", topic, partition)
	if h.served[tp] == nil {
		h.served[tp] = map[int32]int{}
	}
	h.served[tp][meta.NodeID] += m.NumRecords
}

func (h *fetchHook) snapshot() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprint(h.served)
}

// TestClusterFetchFromFollower: with RackAwareReplicaSelector, a leader
// sends a consumer in another rack to the in-sync follower in the
// consumer's rack (KIP-392), that follower serves it up to its high
// watermark, and everything else stays on the leader. Checked at the
// protocol level (PreferredReadReplica, the follower's answers in the edge
// cases, KIP-951 leader hints) and with franz-go (kgo.Rack) and kcat
// (client.rack) consumers, whose reads must come from the follower and
// match what was produced exactly, across a leader change.
func TestClusterFetchFromFollower(t *testing.T) {
	c := rackCluster(t)
	// near-0 led by node 1 (rack a) with a follower in every rack;
	// near-1 led by node 2 (rack b); far-0 has no replica in rack c.
	createInSync(t, c, "near", []int32{1, 2, 3}, []int32{2, 3, 1})
	createInSync(t, c, "far", []int32{1, 2})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	prod := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	produce := func(from, to int, slots ...int) {
		t.Helper()
		var rs []*kgo.Record
		for i := from; i < to; i++ {
			if sl := rackSlots[i%3]; slices.Contains(slots, i%3) {
				rs = append(rs, &kgo.Record{Topic: sl.topic, Partition: sl.partition, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i))})
			}
		}
		if err := prod.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("produce %d..%d: %v", from, to, err)
		}
	}
	produce(0, 300, 0, 1, 2) // 100 records per partition

	md, err := c.Metadata(1, "near")
	if err != nil {
		t.Fatal(err)
	}
	id := md.Topics[0].TopicID
	fmd, err := c.Metadata(1, "far")
	if err != nil {
		t.Fatal(err)
	}
	farID := fmd.Topics[0].TopicID
	epoch0 := md.Topics[0].Partitions[0].LeaderEpoch

	v11 := map[kmsg.Key]int16{kmsg.Fetch: 11, kmsg.Produce: 11}
	leader1, follower3 := nodeClient(t, c, 1, v11), nodeClient(t, c, 3, v11)
	// The followers learn the high watermark from their next fetch.
	followers := map[int]*kgo.Client{2: nodeClient(t, c, 2, v11), 3: follower3}
	kafkatest.Eventually(t, 10*time.Second, func() error {
		for _, n := range []int{2, 3} {
			_, p := fetchOne(t, followers[n], consumerFetch("near", id, 0, 0, epoch0, ""))
			if p.ErrorCode != 0 || p.HighWatermark != 100 {
				return fmt.Errorf("node %d: near-0 error %v high watermark %d", n, kerr.ErrorForCode(p.ErrorCode), p.HighWatermark)
			}
		}
		return nil
	})

	// The leader sends rack c to node 3 and rack b to node 2, with no
	// records but its offsets; rack a (its own), no rack, and v10 (no
	// rack field) are served by the leader itself.
	for _, tc := range []struct {
		rack      string
		preferred int32
	}{{"c", 3}, {"b", 2}, {"a", -1}, {"", -1}, {"elsewhere", -1}} {
		_, p := fetchOne(t, leader1, consumerFetch("near", id, 0, 0, epoch0, tc.rack))
		if p.ErrorCode != 0 || p.PreferredReadReplica != tc.preferred || p.HighWatermark != 100 || p.LogStartOffset != 0 {
			t.Fatalf("rack %q at the leader: error %v preferred %d hw %d log start %d", tc.rack, kerr.ErrorForCode(p.ErrorCode), p.PreferredReadReplica, p.HighWatermark, p.LogStartOffset)
		}
		if tc.preferred >= 0 && len(p.RecordBatches) != 0 {
			t.Fatalf("rack %q: %d bytes of records along with a preferred replica", tc.rack, len(p.RecordBatches))
		}
		if tc.preferred < 0 {
			wantRecords(t, fmt.Sprintf("leader, rack %q", tc.rack), batchRecords(t, 0, p.RecordBatches), slotRecs(0, 0, 300))
		}
	}
	_, p := fetchOne(t, nodeClient(t, c, 1, map[kmsg.Key]int16{kmsg.Fetch: 10}), consumerFetch("near", id, 0, 0, epoch0, ""))
	if p.ErrorCode != 0 || p.PreferredReadReplica != -1 {
		t.Fatalf("v10 at the leader: %v preferred %d", kerr.ErrorForCode(p.ErrorCode), p.PreferredReadReplica)
	}
	// far-0 has no replica in rack c: its leader serves rack c.
	_, p = fetchOne(t, leader1, consumerFetch("far", farID, 0, 0, -1, "c"))
	if p.ErrorCode != 0 || p.PreferredReadReplica != -1 {
		t.Fatalf("far-0, rack c: %v preferred %d", kerr.ErrorForCode(p.ErrorCode), p.PreferredReadReplica)
	}
	wantRecords(t, "far-0 leader", batchRecords(t, 0, p.RecordBatches), slotRecs(2, 0, 300))

	// The follower serves v11 consumers: every record up to its high
	// watermark, from the batch holding the fetch offset; never a
	// preferred replica of its own.
	_, p = fetchOne(t, follower3, consumerFetch("near", id, 0, 0, epoch0, "c"))
	if p.ErrorCode != 0 || p.PreferredReadReplica != -1 || p.HighWatermark != 100 || p.LastStableOffset != 100 || p.LogStartOffset != 0 {
		t.Fatalf("follower: error %v preferred %d hw %d lso %d log start %d", kerr.ErrorForCode(p.ErrorCode), p.PreferredReadReplica, p.HighWatermark, p.LastStableOffset, p.LogStartOffset)
	}
	wantRecords(t, "follower 3", batchRecords(t, 0, p.RecordBatches), slotRecs(0, 0, 300))
	_, p = fetchOne(t, follower3, consumerFetch("near", id, 0, 40, epoch0, "a"))
	got := batchRecords(t, 0, p.RecordBatches)
	if len(got) == 0 || got[0].Offset > 40 {
		t.Fatalf("follower from offset 40: first record %v", got)
	}
	got = slices.DeleteFunc(got, func(r rec) bool { return r.Offset < 40 })
	wantRecords(t, "follower 3 from 40", got, slotRecs(0, 120, 300))
	// At its high watermark (= log end): nothing, no error. Past its log
	// end: OFFSET_OUT_OF_RANGE, as are offsets below its log start.
	_, p = fetchOne(t, follower3, consumerFetch("near", id, 0, 100, epoch0, "c"))
	if p.ErrorCode != 0 || len(p.RecordBatches) != 0 || p.HighWatermark != 100 {
		t.Fatalf("follower at its high watermark: %v, %d bytes, hw %d", kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches), p.HighWatermark)
	}
	for _, off := range []int64{101, -1} {
		_, p = fetchOne(t, follower3, consumerFetch("near", id, 0, off, epoch0, "c"))
		if p.ErrorCode != kerr.OffsetOutOfRange.Code {
			t.Fatalf("follower at offset %d: %v, want OFFSET_OUT_OF_RANGE", off, kerr.ErrorForCode(p.ErrorCode))
		}
	}
	// Leader epochs are checked on the follower as on the leader.
	_, p = fetchOne(t, follower3, consumerFetch("near", id, 0, 0, epoch0+1, "c"))
	if p.ErrorCode != kerr.UnknownLeaderEpoch.Code {
		t.Fatalf("follower, newer epoch: %v, want UNKNOWN_LEADER_EPOCH", kerr.ErrorForCode(p.ErrorCode))
	}
	// Older fetches, produce and a consumer's ListOffsets stay leader-only.
	_, p = fetchOne(t, nodeClient(t, c, 3, map[kmsg.Key]int16{kmsg.Fetch: 10}), consumerFetch("near", id, 0, 0, epoch0, ""))
	if p.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("v10 fetch at a follower: %v, want NOT_LEADER_OR_FOLLOWER", kerr.ErrorForCode(p.ErrorCode))
	}
	lo := kmsg.NewPtrListOffsetsRequest()
	lo.ReplicaID = -1
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "near"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Partition, lp.Timestamp, lp.CurrentLeaderEpoch = 0, -1, epoch0
	lt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{lp}
	lo.Topics = []kmsg.ListOffsetsRequestTopic{lt}
	if r := ask[*kmsg.ListOffsetsResponse](t, follower3, lo); r.Topics[0].Partitions[0].ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("ListOffsets at a follower: %v, want NOT_LEADER_OR_FOLLOWER", kerr.ErrorForCode(r.Topics[0].Partitions[0].ErrorCode))
	}

	// KIP-951: Produce v10+ to a follower names the leader and its
	// endpoint; v9 has no such fields.
	addr1Host, addr1Port := splitAddr(t, c.Addr(1))
	produceReq := func() *kmsg.ProduceRequest {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "near"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = 0
		rp.Records = oneBatch()
		rt.Partitions = []kmsg.ProduceRequestTopicPartition{rp}
		req.Topics = []kmsg.ProduceRequestTopic{rt}
		return req
	}
	pr := ask[*kmsg.ProduceResponse](t, follower3, produceReq())
	sp := pr.Topics[0].Partitions[0]
	if sp.ErrorCode != kerr.NotLeaderForPartition.Code || sp.CurrentLeader.LeaderID != 1 || sp.CurrentLeader.LeaderEpoch != epoch0 {
		t.Fatalf("produce v11 at a follower: %v, current leader %+v", kerr.ErrorForCode(sp.ErrorCode), sp.CurrentLeader)
	}
	if len(pr.Brokers) != 1 || pr.Brokers[0].NodeID != 1 || pr.Brokers[0].Host != addr1Host || pr.Brokers[0].Port != addr1Port ||
		pr.Brokers[0].Rack == nil || *pr.Brokers[0].Rack != "a" {
		t.Fatalf("produce v11 node endpoints %+v, want node 1 at %s:%d rack a", pr.Brokers, addr1Host, addr1Port)
	}
	pr = ask[*kmsg.ProduceResponse](t, nodeClient(t, c, 3, map[kmsg.Key]int16{kmsg.Produce: 9}), produceReq())
	if sp := pr.Topics[0].Partitions[0]; sp.ErrorCode != kerr.NotLeaderForPartition.Code || sp.CurrentLeader.LeaderID != -1 || len(pr.Brokers) != 0 {
		t.Fatalf("produce v9 at a follower: %v, current leader %+v, endpoints %+v", kerr.ErrorForCode(sp.ErrorCode), sp.CurrentLeader, pr.Brokers)
	}
	// Fetch v16+ for a partition node 3 does not host names the leader;
	// v15 does not.
	resp, p := fetchOne(t, nodeClient(t, c, 3, nil), consumerFetch("far", farID, 0, 0, -1, "c"))
	if p.ErrorCode != kerr.NotLeaderForPartition.Code || p.CurrentLeader.LeaderID != 1 || p.CurrentLeader.LeaderEpoch != fmd.Topics[0].Partitions[0].LeaderEpoch {
		t.Fatalf("fetch v%d of far-0 at node 3: %v, current leader %+v", resp.Version, kerr.ErrorForCode(p.ErrorCode), p.CurrentLeader)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 || resp.Brokers[0].Host != addr1Host || resp.Brokers[0].Port != addr1Port ||
		resp.Brokers[0].Rack == nil || *resp.Brokers[0].Rack != "a" {
		t.Fatalf("fetch v%d node endpoints %+v, want node 1 at %s:%d rack a", resp.Version, resp.Brokers, addr1Host, addr1Port)
	}
	resp, p = fetchOne(t, nodeClient(t, c, 3, map[kmsg.Key]int16{kmsg.Fetch: 15}), consumerFetch("far", farID, 0, 0, -1, "c"))
	if p.ErrorCode != kerr.NotLeaderForPartition.Code || p.CurrentLeader.LeaderID != -1 || len(resp.Brokers) != 0 {
		t.Fatalf("fetch v15 of far-0 at node 3: %v, current leader %+v, endpoints %+v", kerr.ErrorForCode(p.ErrorCode), p.CurrentLeader, resp.Brokers)
	}

	// franz-go with kgo.Rack("c"): near-0 and near-1 come from node 3,
	// far-0 from its leader, node 1; every record exactly once, in order.
	hook := &fetchHook{served: map[string]map[int32]int{}}
	cons := c.Client(t, kgo.ConsumeTopics("near", "far"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Rack("c"), kgo.WithHooks(hook))
	consumed := map[string][]rec{}
	pollUntil := func(n int) {
		t.Helper()
		total := 0
		for _, rs := range consumed {
			total += len(rs)
		}
		for total < n {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d records; served %s", total, n, hook.snapshot())
			}
			fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s-%d: %v", topic, p, err) })
			fs.EachRecord(func(r *kgo.Record) {
				k := string(r.Key)
				tp := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
				consumed[tp] = append(consumed[tp], rec{Partition: r.Partition, Offset: r.Offset, Key: &k, Value: string(r.Value)})
				total++
			})
		}
		if total != n {
			t.Fatalf("consumed %d records, want %d", total, n)
		}
	}
	pollUntil(300)
	for slot, sl := range rackSlots {
		tp := fmt.Sprintf("%s-%d", sl.topic, sl.partition)
		wantRecords(t, "franz-go "+tp, consumed[tp], slotRecs(slot, 0, 300))
	}
	if got, want := hook.snapshot(), "map[far-0:map[1:100] near-0:map[3:100] near-1:map[3:100]]"; got != want {
		t.Fatalf("records read per partition and node: %s, want %s", got, want)
	}

	// kcat (librdkafka) with client.rack=c reads near-0 exactly, and its
	// fetch log shows the records coming from node 3.
	kcatFromFollower(t, c)

	// The preferred follower leaves the ISR (paused, then fenced): the
	// leader serves rack c itself. Back in sync, it is preferred again.
	c.Pause(3)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		_, p := fetchOne(t, leader1, consumerFetch("near", id, 0, 0, epoch0, "c"))
		if p.ErrorCode != 0 || p.PreferredReadReplica != -1 {
			return fmt.Errorf("node 3 paused: error %v preferred %d", kerr.ErrorForCode(p.ErrorCode), p.PreferredReadReplica)
		}
		wantRecords(t, "leader with node 3 out of the ISR", batchRecords(t, 0, p.RecordBatches), slotRecs(0, 0, 300))
		return nil
	})
	c.Resume(3)
	waitISR(t, c, "near", []int32{1, 2, 3}, []int32{2, 3, 1})
	kafkatest.Eventually(t, 20*time.Second, func() error {
		_, p := fetchOne(t, leader1, consumerFetch("near", id, 0, 0, epoch0, "c"))
		if p.ErrorCode != 0 || p.PreferredReadReplica != 3 {
			return fmt.Errorf("node 3 back: error %v preferred %d", kerr.ErrorForCode(p.ErrorCode), p.PreferredReadReplica)
		}
		return nil
	})

	// The leader changes (node 1 stops): the follower fences the old
	// epoch with a hint naming the new leader, which sends rack c to node
	// 3 again, and the franz-go consumer goes on reading near-0 there.
	if err := c.Stop(1); err != nil {
		t.Fatalf("stop node 1: %v", err)
	}
	newLeader, _ := c.WaitLeader("near", 0, 1, 20*time.Second)
	if newLeader != 2 && newLeader != 3 {
		t.Fatalf("near-0 leader after node 1 stopped: %d", newLeader)
	}
	latest3 := nodeClient(t, c, 3, nil)
	kafkatest.Eventually(t, 20*time.Second, func() error {
		md, err := c.Metadata(int(newLeader), "near")
		if err != nil {
			return err
		}
		ep := md.Topics[0].Partitions[0].LeaderEpoch
		if ep <= epoch0 {
			return fmt.Errorf("near-0 epoch %d", ep)
		}
		_, p := fetchOne(t, latest3, consumerFetch("near", id, 0, 0, epoch0, "c"))
		if p.ErrorCode != kerr.FencedLeaderEpoch.Code || p.CurrentLeader.LeaderID != newLeader || p.CurrentLeader.LeaderEpoch != ep {
			return fmt.Errorf("old epoch at node 3: %v, current leader %+v, want %d at %d", kerr.ErrorForCode(p.ErrorCode), p.CurrentLeader, newLeader, ep)
		}
		return nil
	})
	if newLeader == 2 {
		leader2 := nodeClient(t, c, 2, v11)
		kafkatest.Eventually(t, 20*time.Second, func() error {
			md, err := c.Metadata(2, "near")
			if err != nil {
				return err
			}
			_, p := fetchOne(t, leader2, consumerFetch("near", id, 0, 0, md.Topics[0].Partitions[0].LeaderEpoch, "c"))
			if p.ErrorCode != 0 || p.PreferredReadReplica != 3 {
				return fmt.Errorf("new leader 2, rack c: %v preferred %d", kerr.ErrorForCode(p.ErrorCode), p.PreferredReadReplica)
			}
			return nil
		})
	}
	produce(300, 360, 0, 1) // 20 more records each in near-0 and near-1
	pollUntil(340)
	for slot := range 2 {
		tp := fmt.Sprintf("near-%d", slot)
		wantRecords(t, "franz-go "+tp+" after the leader change", consumed[tp], slotRecs(slot, 0, 360))
	}
	hook.mu.Lock()
	from3 := hook.served["near-0"][3]
	hook.mu.Unlock()
	if from3 != 120 {
		t.Fatalf("near-0: node 3 served %d records, want all 120; served %s", from3, hook.snapshot())
	}
}

// kcatFromFollower consumes near-0 with kcat and client.rack=c and checks
// the records and that librdkafka fetched them from node 3.
func kcatFromFollower(t *testing.T, c *clustertest.Cluster) {
	t.Helper()
	needTool(t, "kcat")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-b", c.Bootstrap(), "-C", "-t", "near", "-p", "0", "-o", "beginning", "-e", "-J",
		"-X", "client.rack=c", "-X", "debug=fetch")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, stderr.String())
	}
	var rs []rec
	for _, l := range jsonLines(t, stdout.String()) {
		m := decode[kcatJSON](t, l)
		r := rec{Partition: m.Partition, Offset: m.Offset, Key: m.Key}
		if m.Payload != nil {
			r.Value = *m.Payload
		}
		rs = append(rs, r)
	}
	wantRecords(t, "kcat client.rack=c", rs, slotRecs(0, 0, 300))
	// librdkafka logs the records each fetch response brought, with the
	// broker ("<host:port>/<id>: Enqueue 100 message(s) ... on near [0]"),
	// and the move to the preferred replica.
	logs := stderr.String()
	re := regexp.MustCompile(`/(\d+): Enqueue (\d+) message\(s\) .* on near \[0\] fetch queue`)
	from := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(logs, -1) {
		n, _ := strconv.Atoi(m[2])
		from[m[1]] += n
	}
	if fmt.Sprint(from) != "map[3:100]" {
		t.Fatalf("kcat read near-0 records from brokers %v, want map[3:100]\n%s", from, lastLines(logs, 60))
	}
	if !strings.Contains(logs, "Topic near [0]: migrating from broker 1 to 3 (leader is 1): preferred replica updated") {
		t.Fatalf("kcat did not move near-0 to its preferred replica\n%s", lastLines(logs, 60))
	}
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func splitAddr(t *testing.T, addr string) (string, int32) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, int32(n)
}

// oneBatch is a valid uncompressed batch of one record.
func oneBatch() []byte {
	r := kmsg.Record{Key: []byte("k"), Value: []byte("v")}
	body := r.AppendTo(nil)
	r.Length = int32(len(body) - 1) // the zero length took one byte
	body = r.AppendTo(nil)
	b := kmsg.RecordBatch{
		Magic: 2, LastOffsetDelta: 0, FirstTimestamp: time.Now().UnixMilli(), MaxTimestamp: time.Now().UnixMilli(),
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: 1, Records: body,
	}
	raw := b.AppendTo(nil)
	b.Length = int32(len(raw) - 12)
	raw = b.AppendTo(nil)
	b.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b.AppendTo(nil)
}

// TestClusterFollowerHighWatermarkLag: a follower whose log runs ahead of
// the high watermark it knows (another in-sync follower is cut off from
// the leader) serves nothing past that high watermark: an offset between
// it and the follower's log end gets an empty answer without error, one
// past the log end OFFSET_OUT_OF_RANGE (Kafka's LocalLog.read).
func TestClusterFollowerHighWatermarkLag(t *testing.T) {
	// A lag time long enough that the cut-off follower stays in the ISR
	// while the test looks.
	c := rackCluster(t, "replica.lag.time.max.ms=20000")
	// The serving follower is the active controller, so that cutting the
	// link between the other two keeps both registered.
	ctl, _, err := c.QuorumLeader()
	if err != nil {
		t.Fatal(err)
	}
	var others []int32
	for n := int32(1); n <= 3; n++ {
		if n != ctl {
			others = append(others, n)
		}
	}
	leader, lagging, serving := others[0], others[1], ctl
	createInSync(t, c, "lag", []int32{leader, lagging, serving})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := c.Client(t, kgo.DefaultProduceTopic("lag"), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := 0; i < 10; i++ {
		if err := all.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	md, err := c.Metadata(int(serving), "lag")
	if err != nil {
		t.Fatal(err)
	}
	id, epoch := md.Topics[0].TopicID, md.Topics[0].Partitions[0].LeaderEpoch
	fol := nodeClient(t, c, int(serving), nil)
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if _, p := fetchOne(t, fol, consumerFetch("lag", id, 0, 0, epoch, "")); p.HighWatermark != 10 {
			return fmt.Errorf("follower high watermark %d", p.HighWatermark)
		}
		return nil
	})

	c.CutLink(int(leader), int(lagging))
	defer c.HealLink(int(leader), int(lagging))
	one := c.Client(t, kgo.DefaultProduceTopic("lag"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err := one.ProduceSync(ctx, &kgo.Record{Value: []byte("10")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The serving follower has offset 10 once fetching at 11 stops being
	// out of range.
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if _, p := fetchOne(t, fol, consumerFetch("lag", id, 0, 11, epoch, "")); p.ErrorCode != 0 {
			return fmt.Errorf("follower at 11: %v", kerr.ErrorForCode(p.ErrorCode))
		}
		return nil
	})
	_, p := fetchOne(t, fol, consumerFetch("lag", id, 0, 10, epoch, ""))
	if p.ErrorCode != 0 || len(p.RecordBatches) != 0 || p.HighWatermark != 10 {
		t.Fatalf("follower at 10 (its high watermark, below its log end): %v, %d bytes, hw %d", kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches), p.HighWatermark)
	}
	_, p = fetchOne(t, fol, consumerFetch("lag", id, 0, 12, epoch, ""))
	if p.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("follower at 12 (past its log end): %v, want OFFSET_OUT_OF_RANGE", kerr.ErrorForCode(p.ErrorCode))
	}
	// The leader agrees: the high watermark has not moved.
	_, p = fetchOne(t, nodeClient(t, c, int(leader), nil), consumerFetch("lag", id, 0, 10, epoch, ""))
	if p.ErrorCode != 0 || p.HighWatermark != 10 || len(p.RecordBatches) != 0 {
		t.Fatalf("leader at 10: %v, hw %d, %d bytes", kerr.ErrorForCode(p.ErrorCode), p.HighWatermark, len(p.RecordBatches))
	}
	// Healed, the high watermark moves and the follower serves offset 10.
	c.HealLink(int(leader), int(lagging))
	kafkatest.Eventually(t, 20*time.Second, func() error {
		_, p := fetchOne(t, fol, consumerFetch("lag", id, 0, 10, epoch, ""))
		if p.ErrorCode != 0 || p.HighWatermark != 11 {
			return fmt.Errorf("follower at 10 after the heal: %v hw %d", kerr.ErrorForCode(p.ErrorCode), p.HighWatermark)
		}
		return nil
	})
}

// TestClusterDescribeLogDirs: every broker of a 3-node cluster describes
// exactly the replicas it hosts per the metadata, leaders and followers
// alike, with equal sizes on every replica once replicated and no offset
// lag; a topic filter narrows the answer.
func TestClusterDescribeLogDirs(t *testing.T) {
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := c.Admin(t)
	if _, err := adm.CreateTopic(ctx, 6, 2, nil, "dirs-rf2"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 3, 3, nil, "dirs-rf3"); err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var rs []*kgo.Record
	for i := 0; i < 600; i++ {
		topic, p := "dirs-rf2", int32(i/2%6)
		if i%2 == 1 {
			topic, p = "dirs-rf3", int32(i/2%3)
		}
		rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: bytes.Repeat([]byte{byte(i)}, 10+i%50)})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Which broker hosts what, per the metadata.
	hosted := map[int32][]string{}
	topics, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, td := range topics.Sorted() {
		for _, pd := range td.Partitions.Sorted() {
			for _, r := range pd.Replicas {
				hosted[r] = append(hosted[r], fmt.Sprintf("%s-%d", td.Topic, pd.Partition))
			}
		}
	}
	if len(hosted) != 3 {
		t.Fatalf("replicas on %d brokers: %v", len(hosted), hosted)
	}

	kafkatest.Eventually(t, 30*time.Second, func() error {
		all, err := adm.DescribeAllLogDirs(ctx, nil)
		if err != nil {
			return err
		}
		if len(all) != 3 {
			return fmt.Errorf("%d brokers answered", len(all))
		}
		sizes := map[string][]int64{}
		for b := int32(1); b <= 3; b++ {
			dirs := all[b]
			if len(dirs) != 1 {
				return fmt.Errorf("broker %d: %d log dirs", b, len(dirs))
			}
			var got []string
			for _, d := range dirs {
				if d.Err != nil || d.Dir != c.Dir(int(b)) || d.TotalBytes <= 0 || d.UsableBytes <= 0 {
					return fmt.Errorf("broker %d: dir %q err %v total %d usable %d", b, d.Dir, d.Err, d.TotalBytes, d.UsableBytes)
				}
				for topic, ps := range d.Topics {
					for p, dp := range ps {
						name := fmt.Sprintf("%s-%d", topic, p)
						got = append(got, name)
						if dp.OffsetLag != 0 || dp.IsFuture || dp.Broker != b {
							return fmt.Errorf("broker %d %s: lag %d future %v", b, name, dp.OffsetLag, dp.IsFuture)
						}
						sizes[name] = append(sizes[name], dp.Size)
					}
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(hosted[b]))
			if !slices.Equal(got, want) {
				return fmt.Errorf("broker %d describes %v, hosts %v", b, got, want)
			}
		}
		for name, ss := range sizes {
			if !strings.HasPrefix(name, "dirs-") {
				continue
			}
			rf := 2
			if strings.HasPrefix(name, "dirs-rf3") {
				rf = 3
			}
			if len(ss) != rf || ss[0] == 0 || slices.Min(ss) != slices.Max(ss) {
				return fmt.Errorf("%s: sizes %v on %d replicas", name, ss, rf)
			}
		}
		return nil
	})

	// A topic filter, asked of each broker on its own: it answers for the
	// asked partitions it hosts, and says nothing of the others (an
	// unknown topic included).
	req := kmsg.NewPtrDescribeLogDirsRequest()
	for _, f := range []struct {
		topic string
		parts []int32
	}{{"dirs-rf2", []int32{0, 1}}, {"dirs-rf3", []int32{2}}, {"no-such-topic", []int32{0}}} {
		rt := kmsg.NewDescribeLogDirsRequestTopic()
		rt.Topic, rt.Partitions = f.topic, f.parts
		req.Topics = append(req.Topics, rt)
	}
	for b := int32(1); b <= 3; b++ {
		resp := ask[*kmsg.DescribeLogDirsResponse](t, nodeClient(t, c, int(b), nil), req)
		if resp.ErrorCode != 0 || len(resp.Dirs) != 1 || resp.Dirs[0].ErrorCode != 0 {
			t.Fatalf("broker %d with a filter: %+v", b, resp)
		}
		var got []string
		for _, dt := range resp.Dirs[0].Topics {
			for _, dp := range dt.Partitions {
				got = append(got, fmt.Sprintf("%s-%d", dt.Topic, dp.Partition))
			}
		}
		slices.Sort(got)
		var want []string
		for _, name := range hosted[b] {
			if name == "dirs-rf2-0" || name == "dirs-rf2-1" || name == "dirs-rf3-2" {
				want = append(want, name)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("broker %d with a filter: %v, want %v", b, got, want)
		}
	}
}
