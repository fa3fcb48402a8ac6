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
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cliRun is one run of the samsa binary.
type cliRun struct {
	stdout, stderr string
	code           int
}

// runSamsa runs the built binary with args against bootstrap.
func runSamsa(t *testing.T, bootstrap string, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(kafkatest.Binary(t), append(args, "-b", bootstrap)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := cliRun{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("samsa %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// partitionView is what one node's metadata says about a partition.
type partitionView struct {
	Leader   int32
	Replicas []int32
	ISR      []int32 // sorted
}

func (v partitionView) String() string {
	return fmt.Sprintf("leader %d replicas %v isr %v", v.Leader, v.Replicas, v.ISR)
}

// viewOf reads topic's partitions from node n's metadata.
func viewOf(c *clustertest.Cluster, n int, topic string) (map[int32]partitionView, error) {
	md, err := c.Metadata(n, topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]partitionView{}
	for _, t := range md.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if t.ErrorCode != 0 {
			return nil, fmt.Errorf("node %d: %s: error code %d", n, topic, t.ErrorCode)
		}
		for _, p := range t.Partitions {
			isr := slices.Clone(p.ISR)
			slices.Sort(isr)
			out[p.Partition] = partitionView{Leader: p.Leader, Replicas: p.Replicas, ISR: isr}
		}
	}
	return out, nil
}

// waitViews waits until every node in nodes says exactly want about topic.
func waitViews(t *testing.T, c *clustertest.Cluster, nodes []int, topic string, want map[int32]partitionView) {
	t.Helper()
	kafkatest.Eventually(t, 30*time.Second, func() error {
		for _, n := range nodes {
			got, err := viewOf(c, n, topic)
			if err != nil {
				return err
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("node %d: %s is %v, want %v", n, topic, got, want)
			}
		}
		return nil
	})
}

// createPlaced creates topic with an explicit replica assignment.
func createPlaced(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, assignment [][]int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for p, rs := range assignment {
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: int32(p), Replicas: rs})
	}
	for k, v := range configs {
		rt.Configs = append(rt.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: k, Value: kmsg.StringPtr(v)})
	}
	req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	r, err := req.RequestWith(ctx, cl)
	if err != nil || r.Topics[0].ErrorCode != 0 {
		t.Fatalf("create %s: %v %+v", topic, err, r)
	}
}

// producePadded writes records from..to-1 of topic round-robin over partitions
// with acks=all, each record i to partition i%partitions.
func producePadded(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, partitions, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		r := &kgo.Record{Topic: topic, Partition: int32(i % partitions), Key: []byte(fmt.Sprintf("k%d", i)),
			Value: []byte(fmt.Sprintf("v%d-%s", i, strings.Repeat("x", 100)))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %s record %d: %v", topic, i, err)
		}
	}
}

// checkRecords reads n records of topic back and checks each partition
// holds exactly its records of producePadded, in order, at offsets 0, 1, ...
func checkRecords(t *testing.T, c *clustertest.Cluster, topic string, partitions, n int) {
	t.Helper()
	got := consumeAll(t, c, topic, n)
	for p := int32(0); p < int32(partitions); p++ {
		for j, r := range got[p] {
			i := int(p) + partitions*j
			if r.Offset != int64(j) || string(r.Key) != fmt.Sprintf("k%d", i) || string(r.Value) != fmt.Sprintf("v%d-%s", i, strings.Repeat("x", 100)) {
				t.Fatalf("%s-%d record %d: offset %d key %q", topic, p, j, r.Offset, r.Key)
			}
		}
	}
}

// logBytes is the concatenation of a replica's segment files, and their names.
func logBytes(dir string) ([]byte, []string, error) {
	segs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return nil, nil, err
	}
	var all []byte
	var names []string
	for _, s := range segs {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, b...)
		names = append(names, filepath.Base(s))
	}
	return all, names, nil
}

// TestClusterReassignCLI drives `samsa cluster reassign` and `samsa cluster
// elect`, the built binary, against three nodes: replicas move (one added
// and one removed, a smaller replication factor, the leader removed) with
// the data copied byte for byte and the removed copies deleted; Kafka's
// error codes for bad reassignments; a reassignment held in progress by a
// frozen target, listed, re-sent and cancelled; preferred leader elections
// after a failover.
func TestClusterReassignCLI(t *testing.T) {
	c := clustertest.Start(t, 3, append(slices.Clone(clusterProps), "auto.leader.rebalance.enable=false")...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cl := c.Client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	all := []int{1, 2, 3}

	// moves: three partitions, several segments each, every replica in sync.
	createPlaced(t, ctx, cl, "moves", [][]int32{{1, 2}, {2, 3}, {1, 2}}, map[string]string{"min.insync.replicas": "1", "segment.bytes": "4096"})
	waitViews(t, c, all, "moves", map[int32]partitionView{
		0: {1, []int32{1, 2}, []int32{1, 2}}, 1: {2, []int32{2, 3}, []int32{2, 3}}, 2: {1, []int32{1, 2}, []int32{1, 2}}})
	producePadded(t, ctx, cl, "moves", 3, 0, 300)

	// [1,2] -> [3,1] adds 3 and removes 2; [2,3] -> [2] lowers the
	// replication factor; [1,2] -> [3,2] removes the leader.
	plan := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(plan, []byte(`{"version":1,"partitions":[
		{"topic":"moves","partition":0,"replicas":[3,1],"log_dirs":["any","any"]},
		{"topic":"moves","partition":1,"replicas":[2]},
		{"topic":"moves","partition":2,"replicas":[3,2]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := runSamsa(t, c.Bootstrap(), "cluster", "reassign", "--plan", plan, "--wait", "--timeout", "60s", "-o", "json")
	t.Logf("reassign --wait took %v; stderr:\n%s", time.Since(start), r.stderr)
	if r.code != 0 {
		t.Fatalf("reassign: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res []struct {
		Topic     string
		Partition int32
		Result    string
		Message   string
		Leader    *int32
		Replicas  []int32
		ISR       []int32
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	want := []string{"moves-0 STARTED  leader 1 replicas [3 1] isr [1 3]", "moves-1 STARTED  leader 2 replicas [2] isr [2]", "moves-2 STARTED  leader 3 replicas [3 2] isr [2 3]"}
	if len(res) != len(want) {
		t.Fatalf("results: %s", r.stdout)
	}
	for i, x := range res {
		if x.Leader == nil {
			t.Fatalf("no final state: %s", r.stdout)
		}
		slices.Sort(x.ISR)
		if got := fmt.Sprintf("%s-%d %s %s leader %d replicas %v isr %v", x.Topic, x.Partition, x.Result, x.Message, *x.Leader, x.Replicas, x.ISR); got != want[i] {
			t.Fatalf("result %d: %s, want %s\n%s", i, got, want[i], r.stdout)
		}
	}
	final := map[int32]partitionView{0: {1, []int32{3, 1}, []int32{1, 3}}, 1: {2, []int32{2}, []int32{2}}, 2: {3, []int32{3, 2}, []int32{2, 3}}}
	waitViews(t, c, all, "moves", final)

	// The removed replicas' directories go; the new replicas hold the
	// leader's log byte for byte.
	kafkatest.Eventually(t, 20*time.Second, func() error {
		for _, gone := range []struct {
			node int
			dir  string
		}{{2, "moves-0"}, {3, "moves-1"}, {1, "moves-2"}} {
			if _, err := os.Stat(filepath.Join(c.Dir(gone.node), gone.dir)); !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("node %d still has %s (%v)", gone.node, gone.dir, err)
			}
		}
		return nil
	})
	kafkatest.Eventually(t, 20*time.Second, func() error {
		for _, cp := range []struct {
			dir           string
			leader, added int
		}{{"moves-0", 1, 3}, {"moves-2", 2, 3}} {
			ref, refSegs, err := logBytes(filepath.Join(c.Dir(cp.leader), cp.dir))
			if err != nil {
				return err
			}
			got, segs, err := logBytes(filepath.Join(c.Dir(cp.added), cp.dir))
			if err != nil {
				return err
			}
			if len(refSegs) < 2 {
				return fmt.Errorf("node %d %s: %d bytes in %v, want several segments", cp.leader, cp.dir, len(ref), refSegs)
			}
			if !bytes.Equal(ref, got) {
				return fmt.Errorf("%s: node %d has %d bytes in %v, node %d %d bytes in %v", cp.dir, cp.added, len(got), segs, cp.leader, len(ref), refSegs)
			}
		}
		return nil
	})
	// The new leader of moves-2 takes writes; everything reads back once.
	producePadded(t, ctx, cl, "moves", 3, 300, 330)
	checkRecords(t, c, "moves", 3, 330)

	// Bad reassignments get Kafka's codes, one line each, exit status 1.
	for _, tc := range []struct {
		args         []string
		json, stderr string
	}{
		{[]string{"--topic", "moves", "--partition", "0", "--replicas", "1,9"},
			`[{"topic":"moves","partition":0,"result":"INVALID_REPLICA_ASSIGNMENT","message":"the manual partition assignment includes broker 9, but no such broker is registered"}]`,
			"samsa: moves-0: INVALID_REPLICA_ASSIGNMENT: the manual partition assignment includes broker 9, but no such broker is registered\n"},
		{[]string{"--topic", "nope", "--partition", "0", "--replicas", "1"},
			`[{"topic":"nope","partition":0,"result":"UNKNOWN_TOPIC_OR_PARTITION","message":"unable to find a topic named nope"}]`,
			"samsa: nope-0: UNKNOWN_TOPIC_OR_PARTITION: unable to find a topic named nope\n"},
		{[]string{"--topic", "moves", "--partition", "3", "--replicas", "1"},
			`[{"topic":"moves","partition":3,"result":"UNKNOWN_TOPIC_OR_PARTITION","message":"unable to find partition moves-3"}]`,
			"samsa: moves-3: UNKNOWN_TOPIC_OR_PARTITION: unable to find partition moves-3\n"},
		{[]string{"--topic", "moves", "--partition", "0", "--cancel"},
			`[{"topic":"moves","partition":0,"result":"NO_REASSIGNMENT_IN_PROGRESS","message":"moves-0"}]`,
			"samsa: moves-0: NO_REASSIGNMENT_IN_PROGRESS: moves-0\n"},
	} {
		r := runSamsa(t, c.Bootstrap(), append([]string{"cluster", "reassign", "-o", "json"}, tc.args...)...)
		if r.code != 1 || r.stdout != tc.json+"\n" || r.stderr != tc.stderr {
			t.Errorf("%v: exit %d\nstdout %s\nstderr %s", tc.args, r.code, r.stdout, r.stderr)
		}
	}
	waitViews(t, c, all, "moves", final) // nothing changed

	// A reassignment whose only new replica is frozen stays in progress:
	// listed with the broker being added and the one being removed; sent
	// again (a user re-running after --wait gave up) it stays the same;
	// cancelled, the partition goes back to its replicas.
	q, _, err := c.QuorumLeader()
	if err != nil {
		t.Fatal(err)
	}
	var frozen int32 = 3
	if q == 3 {
		frozen = 1
	}
	var kept []int32 // the two other nodes, the quorum leader among them
	for _, n := range []int32{1, 2, 3} {
		if n != frozen {
			kept = append(kept, n)
		}
	}
	createPlaced(t, ctx, cl, "slow", [][]int32{kept}, nil)
	waitViews(t, c, all, "slow", map[int32]partitionView{0: {kept[0], kept, kept}})
	producePadded(t, ctx, cl, "slow", 1, 0, 20)
	c.Pause(int(frozen))
	live := c.Addr(int(kept[0]))
	target := fmt.Sprintf("%d,%d", kept[0], frozen)
	r = runSamsa(t, live, "cluster", "reassign", "--topic", "slow", "--partition", "0", "--replicas", target)
	if r.code != 0 || r.stdout != "TOPIC  PARTITION  RESULT\nslow   0          STARTED\n" || r.stderr != "" {
		t.Fatalf("reassign to a frozen broker: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	listing := fmt.Sprintf(`[{"topic":"slow","partition":0,"replicas":[%d,%d,%d],"adding":[%d],"removing":[%d]}]`+"\n", kept[0], frozen, kept[1], frozen, kept[1])
	if r = runSamsa(t, live, "cluster", "reassign", "--list", "-o", "json"); r.code != 0 || r.stdout != listing {
		t.Fatalf("list: exit %d\n%s%s\nwant %s", r.code, r.stdout, r.stderr, listing)
	}
	text := fmt.Sprintf("TOPIC  PARTITION  REPLICAS  ADDING  REMOVING\nslow   0          [%d,%d,%d]   [%d]     [%d]\n", kept[0], frozen, kept[1], frozen, kept[1])
	if r = runSamsa(t, live, "cluster", "reassign", "--list"); r.code != 0 || r.stdout != text {
		t.Fatalf("list: exit %d\n%s%s\nwant\n%s", r.code, r.stdout, r.stderr, text)
	}
	r = runSamsa(t, live, "cluster", "reassign", "--topic", "slow", "--partition", "0", "--replicas", target, "--wait", "--timeout", "3s")
	progress := fmt.Sprintf("still moving: slow-0 (adding [%d], removing [%d])\n", frozen, kept[1])
	if r.code != 1 || !strings.HasPrefix(r.stderr, progress) ||
		!strings.HasSuffix(r.stderr, "samsa: gave up waiting after 3s (--timeout); "+progress) ||
		r.stdout != "TOPIC  PARTITION  RESULT   LEADER  REPLICAS  ISR\nslow   0          STARTED  -       -         -\n" {
		t.Fatalf("wait for a frozen broker: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r = runSamsa(t, live, "cluster", "reassign", "--list", "-o", "json"); r.code != 0 || r.stdout != listing {
		t.Fatalf("list after sending the same target again: exit %d\n%s%s\nwant %s", r.code, r.stdout, r.stderr, listing)
	}
	cancelPlan := `{"version":1,"partitions":[{"topic":"slow","partition":0}]}`
	cmd := exec.Command(kafkatest.Binary(t), "cluster", "reassign", "--plan", "-", "--cancel", "--wait", "-o", "json", "-b", live)
	cmd.Stdin = strings.NewReader(cancelPlan)
	out, err := cmd.Output()
	wantCancel := fmt.Sprintf(`[{"topic":"slow","partition":0,"result":"CANCELLED","leader":%d,"replicas":[%d,%d],"isr":[%d,%d]}]`+"\n",
		kept[0], kept[0], kept[1], kept[0], kept[1])
	if err != nil || string(out) != wantCancel {
		// The ISR order is the controller's; accept the other one.
		alt := fmt.Sprintf(`[{"topic":"slow","partition":0,"result":"CANCELLED","leader":%d,"replicas":[%d,%d],"isr":[%d,%d]}]`+"\n",
			kept[0], kept[0], kept[1], kept[1], kept[0])
		if err != nil || string(out) != alt {
			t.Fatalf("cancel: %v\n%s\nwant %s", err, out, wantCancel)
		}
	}
	if r = runSamsa(t, live, "cluster", "reassign", "--list", "-o", "json"); r.code != 0 || r.stdout != "[]\n" {
		t.Fatalf("list after cancel: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c.Resume(int(frozen))
	c.WaitReady(t, 30*time.Second)
	waitViews(t, c, all, "slow", map[int32]partitionView{0: {kept[0], kept, []int32{min(kept[0], kept[1]), max(kept[0], kept[1])}}})
	if _, err := os.Stat(filepath.Join(c.Dir(int(frozen)), "slow-0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("node %d has slow-0 after the cancel: %v", frozen, err)
	}
	checkRecords(t, c, "slow", 1, 20)

	// Preferred leader election: the preferred leader dies, another
	// replica takes over; back in the ISR, the election gives it back its
	// leadership, and a second one is not needed.
	pref := frozen // not the quorum leader, so no controller failover on top
	others := slices.DeleteFunc([]int32{1, 2, 3}, func(n int32) bool { return n == pref })
	createPlaced(t, ctx, cl, "elect", [][]int32{{pref, others[0], others[1]}}, nil)
	replicas := []int32{pref, others[0], others[1]}
	waitViews(t, c, all, "elect", map[int32]partitionView{0: {pref, replicas, []int32{1, 2, 3}}})
	producePadded(t, ctx, cl, "elect", 1, 0, 10)
	c.Kill(int(pref))
	leader, took := c.WaitLeader("elect", 0, pref, 20*time.Second)
	t.Logf("elect-0: leader %d -> %d in %v", pref, leader, took)
	live = c.Addr(int(leader))
	r = runSamsa(t, live, "cluster", "elect", "--topic", "elect", "--partition", "0")
	if r.code != 1 || r.stdout != "TOPIC  PARTITION  RESULT\nelect  0          PREFERRED_LEADER_NOT_AVAILABLE\n" ||
		r.stderr != fmt.Sprintf("samsa: elect-0: PREFERRED_LEADER_NOT_AVAILABLE: the preferred leader is not available: broker %d is down or out of sync\n", pref) {
		t.Fatalf("elect with the preferred leader down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c.Restart(int(pref))
	kafkatest.Eventually(t, 30*time.Second, func() error {
		v, err := viewOf(c, int(leader), "elect")
		if err != nil {
			return err
		}
		if !slices.Contains(v[0].ISR, pref) {
			return fmt.Errorf("elect-0: %v", v[0])
		}
		return nil
	})
	r = runSamsa(t, live, "cluster", "elect", "--topic", "elect", "--partition", "0", "-o", "json")
	if r.code != 0 || r.stdout != `[{"topic":"elect","partition":0,"result":"ELECTED"}]`+"\n" || r.stderr != "" {
		t.Fatalf("elect: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	waitViews(t, c, all, "elect", map[int32]partitionView{0: {pref, replicas, []int32{1, 2, 3}}})
	r = runSamsa(t, c.Bootstrap(), "cluster", "elect", "--topic", "elect", "--partition", "0", "-o", "json")
	if r.code != 0 || r.stdout != `[{"topic":"elect","partition":0,"result":"ELECTION_NOT_NEEDED"}]`+"\n" || r.stderr != "" {
		t.Fatalf("elect again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	producePadded(t, ctx, cl, "elect", 1, 10, 20)
	checkRecords(t, c, "elect", 1, 20)

	// --all: once every ISR is whole, one run moves every leadership the
	// restart left elsewhere back to its preferred replica; a second run
	// finds nothing to do.
	kafkatest.Eventually(t, 30*time.Second, func() error {
		md, err := c.Metadata(1)
		if err != nil {
			return err
		}
		for _, tp := range md.Topics {
			for _, p := range tp.Partitions {
				if len(p.ISR) != len(p.Replicas) {
					return fmt.Errorf("%s-%d: isr %v replicas %v", *tp.Topic, p.Partition, p.ISR, p.Replicas)
				}
			}
		}
		return nil
	})
	r = runSamsa(t, c.Bootstrap(), "cluster", "elect", "--all", "-o", "json")
	var elected []struct{ Topic, Result string }
	if err := json.Unmarshal([]byte(r.stdout), &elected); r.code != 0 || err != nil {
		t.Fatalf("elect --all: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	for _, e := range elected {
		if e.Result != "ELECTED" {
			t.Fatalf("elect --all: %s", r.stdout)
		}
	}
	t.Logf("elect --all moved %d leaderships", len(elected))
	kafkatest.Eventually(t, 30*time.Second, func() error {
		md, err := c.Metadata(1)
		if err != nil {
			return err
		}
		for _, tp := range md.Topics {
			for _, p := range tp.Partitions {
				if p.Leader != p.Replicas[0] {
					return fmt.Errorf("%s-%d: leader %d replicas %v", *tp.Topic, p.Partition, p.Leader, p.Replicas)
				}
			}
		}
		return nil
	})
	r = runSamsa(t, c.Bootstrap(), "cluster", "elect", "--all")
	if r.code != 0 || r.stdout != "" || r.stderr != "no partition needed an election\n" {
		t.Fatalf("elect --all again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
