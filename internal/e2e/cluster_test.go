package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clusterProps are fast failure detection settings for tests.
var clusterProps = []string{
	"broker.session.timeout.ms=2000",
	"broker.heartbeat.interval.ms=300",
	"replica.lag.time.max.ms=4000",
	"default.replication.factor=3",
	"min.insync.replicas=2",
	"offsets.topic.num.partitions=6",
	"transaction.state.log.num.partitions=6",
	"group.initial.rebalance.delay.ms=0",
}

// TestClusterBasics runs three nodes: placement, replication to
// byte-identical replicas, leader failover after SIGKILL, the restarted
// node catching up, and Kafka's error codes for bad topic requests.
func TestClusterBasics(t *testing.T) {
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	adm := c.Admin(t)

	// Placement: 6 partitions x RF 3 over 3 brokers, two leaderships each.
	if _, err := adm.CreateTopic(ctx, 6, 3, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	var md *kmsg.MetadataResponse
	kafkatest.Eventually(t, 10*time.Second, func() error {
		var err error
		if md, err = c.Metadata(1, "orders"); err != nil {
			return err
		}
		if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 6 {
			return fmt.Errorf("node 1 does not know orders yet: %+v", md.Topics)
		}
		return nil
	})
	if len(md.Brokers) != 3 {
		t.Fatalf("metadata lists %d brokers, want 3", len(md.Brokers))
	}
	leads := map[int32]int{}
	for _, p := range md.Topics[0].Partitions {
		if len(p.Replicas) != 3 || len(p.ISR) != 3 || p.Replicas[0] != p.Leader {
			t.Fatalf("partition %d: replicas %v isr %v leader %d", p.Partition, p.Replicas, p.ISR, p.Leader)
		}
		leads[p.Leader]++
	}
	if leads[1] != 2 || leads[2] != 2 || leads[3] != 2 {
		t.Fatalf("leaders not spread evenly: %v", leads)
	}

	// Produce with acks=all and an idempotent producer; read it all back.
	cl := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			r := &kgo.Record{Partition: int32(i % 6), Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i)),
				Headers: []kgo.RecordHeader{{Key: "h", Value: []byte{byte(i)}}}}
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce %d: %v", i, err)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	produce(0, 600)
	checkAll := func(n int) {
		t.Helper()
		got := consumeAll(t, c, "orders", n)
		for p := int32(0); p < 6; p++ {
			recs := got[p]
			for j, r := range recs {
				i := int(p) + 6*j
				if r.Offset != int64(j) || string(r.Key) != fmt.Sprintf("k%d", i) || string(r.Value) != fmt.Sprintf("v%d", i) ||
					len(r.Headers) != 1 || r.Headers[0].Value[0] != byte(i) {
					t.Fatalf("partition %d record %d: offset %d key %q value %q headers %v", p, j, r.Offset, r.Key, r.Value, r.Headers)
				}
			}
		}
	}
	checkAll(600)

	// Kill the leader of partition 0: another in-sync replica takes over.
	old := c.LeaderOf("orders", 0)
	c.Kill(int(old))
	leader, took := c.WaitLeader("orders", 0, old, 20*time.Second)
	if leader < 0 || leader == old {
		t.Fatalf("no new leader for orders-0 after killing %d", old)
	}
	t.Logf("orders-0: leader %d -> %d in %v", old, leader, took)
	// samsa cluster status shows the two live brokers and every partition
	// under-replicated, none offline.
	kafkatest.Eventually(t, 20*time.Second, func() error {
		out, err := exec.Command(kafkatest.Binary(t), "cluster", "status", "-o", "json", "-b", c.Addr(int(leader))).Output()
		if err != nil {
			return err
		}
		var st struct {
			Brokers []struct{ ID int32 }    `json:"brokers"`
			Under   []struct{ ISR []int32 } `json:"under_replicated"`
			Offline []json.RawMessage       `json:"offline"`
		}
		if err := json.Unmarshal(out, &st); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if len(st.Brokers) != 2 || len(st.Under) != 6 || len(st.Offline) != 0 {
			return fmt.Errorf("cluster status: %s", out)
		}
		for _, u := range st.Under {
			if slices.Contains(u.ISR, old) {
				return fmt.Errorf("killed node %d still in an ISR: %s", old, out)
			}
		}
		return nil
	})
	produce(600, 900)
	checkAll(900)

	// The killed node comes back, catches up, rejoins every ISR.
	c.Restart(int(old))
	kafkatest.Eventually(t, 30*time.Second, func() error {
		md, err := c.Metadata(int(leader), "orders")
		if err != nil {
			return err
		}
		for _, p := range md.Topics[0].Partitions {
			if len(p.ISR) != 3 {
				return fmt.Errorf("partition %d isr %v", p.Partition, p.ISR)
			}
		}
		return nil
	})
	assertReplicasIdentical(t, c, "orders", 6)

	// Bad input gets Kafka's codes.
	resp, err := adm.CreateTopic(ctx, 1, 4, nil, "too-many-replicas")
	if !errors.Is(err, kerr.InvalidReplicationFactor) && !errors.Is(resp.Err, kerr.InvalidReplicationFactor) {
		t.Fatalf("RF 4 on 3 brokers: %v / %v", err, resp.Err)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "bad-assignment", -1, -1
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1, 9}}}
	req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	r, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := r.Topics[0].ErrorCode; code != kerr.InvalidReplicaAssignment.Code {
		t.Fatalf("assignment to unknown broker 9: %v", kerr.ErrorForCode(code))
	}
	rt.Topic = "dup-assignment"
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1, 1}}}
	req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	if r, err = req.RequestWith(ctx, cl); err != nil || r.Topics[0].ErrorCode != kerr.InvalidReplicaAssignment.Code {
		t.Fatalf("duplicate broker in assignment: %v %v", err, r)
	}
	// An explicit assignment is kept as given.
	rt.Topic = "placed"
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{3, 1}}, {Partition: 1, Replicas: []int32{2, 3}}}
	req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	if r, err = req.RequestWith(ctx, cl); err != nil || r.Topics[0].ErrorCode != 0 {
		t.Fatalf("explicit assignment: %v %v", err, r)
	}
	kafkatest.Eventually(t, 10*time.Second, func() error {
		md, err := c.Metadata(int(leader), "placed")
		if err != nil || len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 2 {
			return fmt.Errorf("placed: %v %+v", err, md)
		}
		if got := fmt.Sprint(md.Topics[0].Partitions[0].Replicas, md.Topics[0].Partitions[1].Replicas); got != "[3 1] [2 3]" {
			return fmt.Errorf("placed replicas %s, want [3 1] [2 3]", got)
		}
		return nil
	})
}

// consumeAll reads n records of topic from the start, by partition.
func consumeAll(t *testing.T, c *clustertest.Cluster, topic string, n int) map[int32][]*kgo.Record {
	t.Helper()
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := map[int32][]*kgo.Record{}
	total := 0
	for total < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", total, n, topic)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], r)
			total++
		})
	}
	if total != n {
		t.Fatalf("read %d records of %s, want %d", total, topic, n)
	}
	return got
}

// assertReplicasIdentical checks that every replica of each partition has
// the same log bytes (segments compared whole, the replicas caught up).
func assertReplicasIdentical(t *testing.T, c *clustertest.Cluster, topic string, partitions int) {
	t.Helper()
	kafkatest.Eventually(t, 20*time.Second, func() error {
		for p := 0; p < partitions; p++ {
			var ref []byte
			refNode := 0
			for n := 1; n <= c.N(); n++ {
				dir := filepath.Join(c.Dir(n), fmt.Sprintf("%s-%d", topic, p))
				segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
				if len(segs) == 0 {
					continue
				}
				var all []byte
				for _, s := range segs {
					b, err := os.ReadFile(s)
					if err != nil {
						return err
					}
					all = append(all, b...)
				}
				if ref == nil {
					ref, refNode = all, n
				} else if !bytes.Equal(ref, all) {
					return fmt.Errorf("%s-%d differs between node %d (%d bytes) and node %d (%d bytes)", topic, p, refNode, len(ref), n, len(all))
				}
			}
		}
		return nil
	})
}

// TestClusterBadQuorumConfig: a node whose id is not among the voters, or
// whose voter list is malformed, refuses to start with one clear line.
func TestClusterBadQuorumConfig(t *testing.T) {
	bin := kafkatest.Binary(t)
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"node.id=4", "controller.quorum.voters=1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3"}, "node.id 4 is not in controller.quorum.voters"},
		{[]string{"node.id=1", "controller.quorum.voters=1@127.0.0.1"}, "controller.quorum.voters"},
		{[]string{"node.id=1", "controller.quorum.voters=1@127.0.0.1:1", "process.roles=broker"}, "process.roles=broker"},
	} {
		args := []string{"server", "--set", "log.dirs=" + t.TempDir(), "--set", "schema.registry.listeners=", "--set", "rest.proxy.listeners=",
			"--set", "listeners=PLAINTEXT://127.0.0.1:" + strings.Split(kafkatest.FreePort(t), ":")[1] + ",CONTROLLER://127.0.0.1:" + strings.Split(kafkatest.FreePort(t), ":")[1],
			"--set", "controller.listener.names=CONTROLLER"}
		for _, s := range tc.sets {
			args = append(args, "--set", s)
		}
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: err %v, output:\n%s", tc.sets, err, out)
		}
	}
}

// TestClusterFollowerBehindLogStart: a follower that was down while the
// leader's log start moved past everything it has (DeleteRecords) starts its
// log again at the leader's log start, and when it leads later it serves
// exactly the records the leader kept.
func TestClusterFollowerBehindLogStart(t *testing.T) {
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl := c.Client(t, kgo.DefaultProduceTopic("trimmed"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "trimmed", -1, -1
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1, 3}}}
	rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "min.insync.replicas", Value: kmsg.StringPtr("1")}}
	req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	if r, err := req.RequestWith(ctx, cl); err != nil || r.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, r)
	}
	waitFullISR(t, c, "trimmed", 1)
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v", i, err)
			}
		}
	}
	produce(0, 100)
	waitFullISR(t, c, "trimmed", 1)
	c.Kill(3)
	produce(100, 200)
	// The high watermark passes 100 once node 3 leaves the ISR.
	adm := c.Admin(t)
	kafkatest.Eventually(t, 20*time.Second, func() error {
		end, err := adm.ListEndOffsets(ctx, "trimmed")
		if err != nil {
			return err
		}
		if o, _ := end.Lookup("trimmed", 0); o.Err != nil || o.Offset != 200 {
			return fmt.Errorf("high watermark %d (%v)", o.Offset, o.Err)
		}
		return nil
	})
	deleted, err := adm.DeleteRecords(ctx, kadm.Offsets{"trimmed": {0: {Topic: "trimmed", Partition: 0, At: 150}}})
	if err != nil || deleted.Error() != nil {
		t.Fatalf("delete records: %v %v", err, deleted.Error())
	}
	c.Restart(3)
	waitFullISR(t, c, "trimmed", 1)
	c.Kill(1)
	if leader, _ := c.WaitLeader("trimmed", 0, 1, 20*time.Second); leader != 3 {
		t.Fatalf("leader after killing node 1: %d, want 3", leader)
	}
	var start kadm.ListedOffsets
	kafkatest.Eventually(t, 20*time.Second, func() error {
		var err error
		if start, err = c.Admin(t).ListStartOffsets(ctx, "trimmed"); err != nil {
			return err
		}
		return start.Error()
	})
	if o, _ := start.Lookup("trimmed", 0); o.Offset != 150 {
		t.Fatalf("log start on the new leader: %d, want 150", o.Offset)
	}
	got := consumeAll(t, c, "trimmed", 50)[0]
	for i, r := range got {
		if r.Offset != int64(150+i) || string(r.Value) != fmt.Sprint(150+i) {
			t.Fatalf("record %d: offset %d value %q", i, r.Offset, r.Value)
		}
	}
}
