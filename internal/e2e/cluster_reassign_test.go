package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestClusterReassignUnderLoad moves replicas of a topic while an
// idempotent acks=all producer writes to it: a moved leader, a grown and a
// shrunk replica set. Every acknowledged record must be read back once and
// in order, the new replicas must hold the same bytes, the removed ones
// must be deleted; then preferred election and Kafka's error codes.
func TestClusterReassignUnderLoad(t *testing.T) {
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := c.Client(t)

	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "moving", -1, -1
	for p, r := range [][]int32{{1, 2}, {2, 3}, {3, 1}} {
		ct.ReplicaAssignment = append(ct.ReplicaAssignment, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: int32(p), Replicas: r})
	}
	one := "1" // moving-2 ends with a single replica
	ct.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "min.insync.replicas", Value: &one}}
	create.Topics = []kmsg.CreateTopicsRequestTopic{ct}
	cr, err := create.RequestWith(ctx, cl)
	if err != nil || cr.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, cr)
	}
	waitFullISR(t, c, "moving", 3)

	type acked struct {
		seq    int
		offset int64
	}
	var mu sync.Mutex
	ack := map[int32][]acked{}
	var failures []error
	stop := make(chan struct{})
	done := make(chan struct{})
	prod := c.Client(t, kgo.DefaultProduceTopic("moving"), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(30*time.Second))
	go func() {
		defer close(done)
		seq := map[int32]int{}
		for i := 0; ; i++ {
			select {
			case <-stop:
				prod.Flush(ctx)
				return
			default:
			}
			p := int32(i % 3)
			s := seq[p]
			seq[p]++
			prod.Produce(ctx, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("%d-%d", p, s))}, func(r *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, err)
					return
				}
				ack[r.Partition] = append(ack[r.Partition], acked{s, r.Offset})
			})
			if i%20 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()
	time.Sleep(1500 * time.Millisecond)

	// Leader 1 of moving-0 leaves; moving-1 grows to 3 replicas with a
	// new preferred leader; moving-2 shrinks to one replica, its leader
	// 3 leaves.
	target := map[int32][]int32{0: {3, 2}, 1: {1, 3, 2}, 2: {1}}
	alter := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	at := kmsg.AlterPartitionAssignmentsRequestTopic{Topic: "moving"}
	for p := int32(0); p < 3; p++ {
		at.Partitions = append(at.Partitions, kmsg.AlterPartitionAssignmentsRequestTopicPartition{Partition: p, Replicas: target[p]})
	}
	alter.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{at}
	ar, err := alter.RequestWith(ctx, cl)
	if err != nil || ar.ErrorCode != 0 {
		t.Fatalf("reassign: %v %+v", err, ar)
	}
	for _, p := range ar.Topics[0].Partitions {
		if p.ErrorCode != 0 {
			t.Fatalf("reassign moving-%d: %v %v", p.Partition, kerr.ErrorForCode(p.ErrorCode), p.ErrorMessage)
		}
	}
	start := time.Now()
	kafkatest.Eventually(t, 60*time.Second, func() error {
		lr, err := kmsg.NewPtrListPartitionReassignmentsRequest().RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		if len(lr.Topics) != 0 {
			return fmt.Errorf("still reassigning: %+v", lr.Topics)
		}
		for n := 1; n <= 3; n++ {
			md, err := c.Metadata(n, "moving")
			if err != nil {
				return err
			}
			for _, p := range md.Topics[0].Partitions {
				want := target[p.Partition]
				isr := slices.Sorted(slices.Values(want))
				if !slices.Equal(p.Replicas, want) || !slices.Equal(p.ISR, isr) || !slices.Contains(want, p.Leader) {
					return fmt.Errorf("node %d: moving-%d replicas %v isr %v leader %d, want replicas %v", n, p.Partition, p.Replicas, p.ISR, p.Leader, want)
				}
			}
		}
		return nil
	})
	t.Logf("reassignment completed in %v under load", time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Second)
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d records not acknowledged, first: %v", len(failures), failures[0])
	}

	total := 0
	for _, a := range ack {
		total += len(a)
	}
	got := consumeAll(t, c, "moving", total)
	for p := int32(0); p < 3; p++ {
		a := ack[p]
		slices.SortFunc(a, func(x, y acked) int { return x.seq - y.seq })
		if len(got[p]) != len(a) {
			t.Fatalf("moving-%d: read %d records, %d acknowledged", p, len(got[p]), len(a))
		}
		for i, r := range got[p] {
			want := fmt.Sprintf("%d-%d", p, i)
			if string(r.Value) != want || r.Offset != int64(i) || a[i].offset != int64(i) {
				t.Fatalf("moving-%d record %d: %q at %d (acknowledged at %d), want %q at %d", p, i, r.Value, r.Offset, a[i].offset, want, i)
			}
		}
	}
	t.Logf("%d records acknowledged and read back exactly once, in order", total)

	// The removed replicas are deleted, the new ones hold the same bytes.
	kafkatest.Eventually(t, 20*time.Second, func() error {
		for p, want := range target {
			for n := int32(1); n <= 3; n++ {
				_, err := os.Stat(filepath.Join(c.Dir(int(n)), fmt.Sprintf("moving-%d", p)))
				if has := err == nil; has != slices.Contains(want, n) {
					return fmt.Errorf("node %d holds moving-%d: %v, replicas %v", n, p, has, want)
				}
			}
		}
		return nil
	})
	assertReplicasIdentical(t, c, "moving", 3)

	// Preferred election: moving-1's preferred replica is now 1.
	elect := func(typ int8, topic string, parts ...int32) []kmsg.ElectLeadersResponseTopicPartition {
		req := kmsg.NewPtrElectLeadersRequest()
		req.ElectionType = typ
		req.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: topic, Partitions: parts}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 || len(resp.Topics) != 1 {
			t.Fatalf("elect leaders: %v %+v", err, resp)
		}
		return resp.Topics[0].Partitions
	}
	l1 := c.LeaderOf("moving", 1)
	res := elect(0, "moving", 1)
	if l1 == 1 {
		if res[0].ErrorCode != kerr.ElectionNotNeeded.Code {
			t.Fatalf("preferred election where the preferred leads: %+v", res)
		}
	} else {
		if res[0].ErrorCode != 0 {
			t.Fatalf("preferred election of moving-1: %v", kerr.ErrorForCode(res[0].ErrorCode))
		}
		kafkatest.Eventually(t, 10*time.Second, func() error {
			if l := c.LeaderOf("moving", 1); l != 1 {
				return fmt.Errorf("moving-1 led by %d after a preferred election, want 1", l)
			}
			return nil
		})
	}
	if res := elect(0, "moving", 1); res[0].ErrorCode != kerr.ElectionNotNeeded.Code {
		t.Fatalf("second preferred election: %v", kerr.ErrorForCode(res[0].ErrorCode))
	}
	if res := elect(1, "moving", 0); res[0].ErrorCode != kerr.ElectionNotNeeded.Code {
		t.Fatalf("unclean election of a led partition: %v", kerr.ErrorForCode(res[0].ErrorCode))
	}
	if res := elect(0, "nosuch", 0); res[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("election of an unknown topic: %v", kerr.ErrorForCode(res[0].ErrorCode))
	}

	// Bad reassignments, each with Kafka's code; nothing changes.
	for _, tc := range []struct {
		topic    string
		part     int32
		replicas []int32
		code     int16
	}{
		{"moving", 0, []int32{3, 9}, kerr.InvalidReplicaAssignment.Code},
		{"moving", 0, []int32{3, 3}, kerr.InvalidReplicaAssignment.Code},
		{"moving", 0, []int32{}, kerr.InvalidReplicaAssignment.Code},
		{"moving", 7, []int32{1}, kerr.UnknownTopicOrPartition.Code},
		{"nosuch", 0, []int32{1}, kerr.UnknownTopicOrPartition.Code},
		{"moving", 0, nil, kerr.NoReassignmentInProgress.Code},
	} {
		req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
		req.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: tc.topic,
			Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{{Partition: tc.part, Replicas: tc.replicas}}}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("reassign %s-%d to %v: %v %+v", tc.topic, tc.part, tc.replicas, err, resp)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != tc.code || p.ErrorMessage == nil {
			t.Fatalf("reassign %s-%d to %v: %v (%v), want %v", tc.topic, tc.part, tc.replicas, kerr.ErrorForCode(p.ErrorCode), p.ErrorMessage, kerr.ErrorForCode(tc.code))
		}
		t.Logf("reassign %s-%d to %v: %v: %s", tc.topic, tc.part, tc.replicas, kerr.ErrorForCode(p.ErrorCode), *p.ErrorMessage)
	}
	md, err := c.Metadata(1, "moving")
	if err != nil || !slices.Equal(md.Topics[0].Partitions[0].Replicas, target[0]) {
		t.Fatalf("moving-0 after refused reassignments: %v %+v", err, md)
	}
}

// TestClusterAutoLeaderRebalance: after a broker comes back, the
// controller moves the leaderships it is preferred for back to it
// (auto.leader.rebalance.enable, checked every
// leader.imbalance.check.interval.seconds).
func TestClusterAutoLeaderRebalance(t *testing.T) {
	c := clustertest.Start(t, 3, append(slices.Clone(clusterProps), "leader.imbalance.check.interval.seconds=2")...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Admin(t).CreateTopic(ctx, 3, 3, nil, "balanced"); err != nil {
		t.Fatal(err)
	}
	waitFullISR(t, c, "balanced", 3)
	preferred := func() (map[int32]int32, error) {
		md, err := c.Metadata(1, "balanced")
		if err != nil {
			return nil, err
		}
		out := map[int32]int32{}
		for _, p := range md.Topics[0].Partitions {
			if p.Leader != p.Replicas[0] {
				return nil, fmt.Errorf("balanced-%d led by %d, preferred %d", p.Partition, p.Leader, p.Replicas[0])
			}
			out[p.Partition] = p.Replicas[0]
		}
		return out, nil
	}
	var pref map[int32]int32
	kafkatest.Eventually(t, 10*time.Second, func() (err error) { pref, err = preferred(); return err })

	victim := pref[0]
	c.Kill(int(victim))
	if l, _ := c.WaitLeader("balanced", 0, victim, 30*time.Second); l < 0 {
		t.Fatalf("no new leader for balanced-0 after killing node %d", victim)
	}
	c.Restart(int(victim))
	waitFullISR(t, c, "balanced", 3)
	start := time.Now()
	kafkatest.Eventually(t, 20*time.Second, func() error { _, err := preferred(); return err })
	t.Logf("node %d leads what it is preferred for again %v after its partitions were back in sync", victim, time.Since(start).Round(100*time.Millisecond))
}
