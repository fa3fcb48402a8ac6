package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestClusterUncleanElection: a partition whose only ISR member dies while
// its other replica is alive but out of sync stays leaderless with
// unclean.leader.election.enable=false (the default) and comes back with
// every record when the ISR member does; with the topic set to true the
// out-of-sync replica leads and the records only the old leader had are
// gone, its log ending where the follower's did; turning the config on for
// a partition that is already leaderless elects the live replica at once
// (KIP-704 semantics).
//
// The setup is deterministic: the active controller Q replicates none of
// the three topics; their one partition lives on A (leader) and F. Cutting
// the A-F link leaves both in touch with Q, so F stays registered and
// unfenced, while A takes acks=1 writes F never sees and, no longer
// fetched from, shrinks the ISR to [A] after replica.lag.time.max.ms. Then
// A is SIGKILLed.
func TestClusterUncleanElection(t *testing.T) {
	const n1, n2 = 10, 5 // records both replicas have; records only A has
	// The checks after A returns expect F to keep leading: no background
	// move back to the preferred replica A.
	c := clustertest.Start(t, 3, append(slices.Clone(clusterProps), "auto.leader.rebalance.enable=false")...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	q, _, err := c.QuorumLeader()
	if err != nil {
		t.Fatal(err)
	}
	var others []int32
	for n := int32(1); n <= 3; n++ {
		if n != q {
			others = append(others, n)
		}
	}
	a, f := others[0], others[1]
	t.Logf("controller %d; leader A=%d, follower F=%d", q, a, f)

	const clean, unclean, late = "clean", "unclean", "late"
	topics := []string{clean, unclean, late}
	req := kmsg.NewPtrCreateTopicsRequest()
	for _, name := range topics {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, -1, -1
		rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{a, f}}}
		rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "min.insync.replicas", Value: kmsg.StringPtr("1")}}
		if name == unclean {
			rt.Configs = append(rt.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: "unclean.leader.election.enable", Value: kmsg.StringPtr("true")})
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, c.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		if rt.ErrorCode != 0 {
			t.Fatalf("create %s: %v", rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
		}
	}
	replicas := []int32{a, f}
	for _, name := range topics {
		waitPartition(t, c, name, replicas, a, []int32{a, f})
	}

	// n1 records on both replicas (acks=all), then the A-F link is cut.
	all := c.Client(t, kgo.RequiredAcks(kgo.AllISRAcks()))
	var want []rec // the same records go to each topic
	for i := range n1 + n2 {
		want = append(want, rec{Offset: int64(i), Key: strp(fmt.Sprintf("k%d", i)), Value: fmt.Sprintf("v%d", i)})
	}
	produceTo := func(cl *kgo.Client, topic string, rs []rec) {
		t.Helper()
		for _, r := range rs {
			got, err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(*r.Key), Value: []byte(r.Value)}).First()
			if err != nil {
				t.Fatalf("produce %s to %s: %v", r, topic, err)
			}
			if got.Offset != r.Offset {
				t.Fatalf("produce %s to %s: acknowledged at offset %d", r, topic, got.Offset)
			}
		}
	}
	for _, name := range topics {
		produceTo(all, name, want[:n1])
	}
	c.CutLink(int(a), int(f))

	// n2 records only A has (acks=1). F now lags behind A's log end, so A
	// drops it from the ISR after replica.lag.time.max.ms (a follower that
	// stops fetching while it has everything stays in, as in Kafka).
	one := c.Client(t, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	for _, name := range topics {
		produceTo(one, name, want[n1:])
	}
	for _, name := range topics {
		waitPartition(t, c, name, replicas, a, []int32{a})
	}

	// A dies. F is live (the live brokers are Q and F) but out of sync.
	killed := time.Now()
	c.Kill(int(a))
	c.WaitReady(t, 30*time.Second)
	if l, _ := c.WaitLeader(unclean, 0, a, 20*time.Second); l != f {
		t.Fatalf("%s-0: leader %d after A died, want F=%d (unclean election)", unclean, l, f)
	}
	t.Logf("%s-0: F=%d elected uncleanly %v after A died", unclean, f, time.Since(killed).Round(time.Millisecond))
	waitPartition(t, c, unclean, replicas, f, []int32{f})
	waitPartition(t, c, clean, replicas, -1, []int32{a})
	waitPartition(t, c, late, replicas, -1, []int32{a})

	live := liveAdmin(t, c)
	liveAddr := c.Addr(int(f))
	// The unclean leader's log ends where F's did; what only A had is gone
	// and new records follow on.
	wantLog(t, liveAddr, unclean, want[:n1])
	more := []rec{}
	for i := range 3 {
		more = append(more, rec{Offset: int64(n1 + i), Key: strp(fmt.Sprintf("new-k%d", i)), Value: fmt.Sprintf("new-v%d", i)})
	}
	produceTo(c.Client(t, kgo.SeedBrokers(c.Addr(int(q)), liveAddr), kgo.RequiredAcks(kgo.AllISRAcks())), unclean, more)
	uncleanLog := append(slices.Clone(want[:n1]), more...)
	wantLog(t, liveAddr, unclean, uncleanLog)

	// Turning unclean election on for the leaderless late-0 elects F.
	ac, err := live.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "unclean.leader.election.enable", Value: kmsg.StringPtr("true")}}, late)
	if err == nil {
		var r kadm.AlterConfigsResponse
		if r, err = ac.On(late, nil); err == nil {
			err = r.Err
		}
	}
	if err != nil {
		t.Fatalf("alter %s: %v", late, err)
	}
	if l, took := c.WaitLeader(late, 0, a, 20*time.Second); l != f {
		t.Fatalf("%s-0: leader %d after enabling unclean election, want F=%d", late, l, f)
	} else {
		t.Logf("%s-0: F=%d elected %v after unclean.leader.election.enable was set", late, f, took.Round(time.Millisecond))
	}
	waitPartition(t, c, late, replicas, f, []int32{f})
	wantLog(t, liveAddr, late, want[:n1])
	// clean-0 is still leaderless: the config is per topic.
	waitPartition(t, c, clean, replicas, -1, []int32{a})

	// A comes back: it leads clean-0 again with every record; it follows
	// F on the other two and truncates what F never had.
	c.HealLink(int(a), int(f))
	c.Restart(int(a))
	c.WaitReady(t, 30*time.Second)
	waitPartition(t, c, clean, replicas, a, []int32{a, f})
	waitPartition(t, c, unclean, replicas, f, []int32{f, a})
	waitPartition(t, c, late, replicas, f, []int32{f, a})
	wantLog(t, c.Addr(int(a)), clean, want)
	wantLog(t, c.Addr(int(a)), unclean, uncleanLog)
	wantLog(t, c.Addr(int(a)), late, want[:n1])
	for _, name := range topics {
		assertReplicasIdentical(t, c, name, 1)
	}
}

// waitPartition waits until every live node says partition 0 of topic has
// exactly the given replicas, leader (-1: none, with LEADER_NOT_AVAILABLE)
// and ISR (as a set).
func waitPartition(t *testing.T, c *clustertest.Cluster, topic string, replicas []int32, leader int32, isr []int32) {
	t.Helper()
	kafkatest.Eventually(t, 30*time.Second, func() error {
		for _, n := range c.Live() {
			md, err := c.Metadata(n, topic)
			if err != nil {
				return err
			}
			if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != 1 {
				return fmt.Errorf("node %d: %s: %+v", n, topic, md.Topics)
			}
			p := md.Topics[0].Partitions[0]
			wantCode := int16(0)
			if leader < 0 {
				wantCode = kerr.LeaderNotAvailable.Code
			}
			if p.Leader != leader || p.ErrorCode != wantCode || !slices.Equal(slices.Sorted(slices.Values(p.ISR)), slices.Sorted(slices.Values(isr))) || !slices.Equal(p.Replicas, replicas) {
				return fmt.Errorf("node %d: %s-0 leader %d (%v) isr %v replicas %v; want leader %d isr %v", n, topic, p.Leader, kerr.ErrorForCode(p.ErrorCode), p.ISR, p.Replicas, leader, isr)
			}
		}
		return nil
	})
}

// wantLog reads partition 0 of topic through the node at addr from the
// start to the high watermark and fails unless it holds exactly want.
func wantLog(t *testing.T, addr, topic string, want []rec) {
	t.Helper()
	var got []rec
	for _, r := range readAll(t, addr, topic)[0] {
		got = append(got, rec{Offset: r.Offset, Key: strp(string(r.Key)), Value: string(r.Value)})
	}
	wantRecords(t, topic+"-0", got, want)
}
