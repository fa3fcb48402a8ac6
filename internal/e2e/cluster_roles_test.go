package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestClusterRoles runs three controller-only nodes (1-3) and two
// broker-only nodes (4, 5): only the brokers are listed and hold replicas,
// the brokers follow the metadata log as Raft non-voters, the cluster
// survives a SIGKILL of the active controller, and a restarted broker
// catches up with what changed while it was down.
func TestClusterRoles(t *testing.T) {
	c := clustertest.StartConfig(t, clustertest.Config{
		Nodes: 5,
		Roles: map[int]string{1: "controller", 2: "controller", 3: "controller", 4: "broker", 5: "broker"},
		Props: []string{
			"broker.session.timeout.ms=2000",
			"broker.heartbeat.interval.ms=300",
			"replica.lag.time.max.ms=4000",
			"default.replication.factor=2",
			"min.insync.replicas=1",
		},
	})
	c.WaitReady(t, 60*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	brokers := []int32{4, 5}

	// Brokers list only brokers, and name one of them as the controller
	// for clients (KIP-590): the active controller is not reachable.
	for _, n := range c.Brokers() {
		md, err := c.Metadata(n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(brokers, md.ControllerID) {
			t.Fatalf("node %d names controller %d, want a broker of %v", n, md.ControllerID, brokers)
		}
	}
	adm := c.Admin(t)
	bd, err := adm.ListBrokers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := bd.NodeIDs(); !slices.Equal(got, brokers) {
		t.Fatalf("DescribeCluster lists brokers %v, want %v", got, brokers)
	}
	if _, err := c.Metadata(1); err == nil {
		t.Fatal("the harness asked a controller-only node for Metadata")
	}

	// The quorum: voters 1-3, the brokers as observers (Raft non-voters).
	cl := c.Client(t)
	kafkatest.Eventually(t, 20*time.Second, func() error {
		voters, observers, err := describeQuorum(ctx, cl)
		if err != nil {
			return err
		}
		if !slices.Equal(voters, []int32{1, 2, 3}) || !slices.Equal(observers, brokers) {
			return fmt.Errorf("voters %v observers %v, want [1 2 3] and %v", voters, observers, brokers)
		}
		return nil
	})
	// samsa cluster status shows the same, observers with their lag.
	kafkatest.Eventually(t, 20*time.Second, func() error {
		out, err := exec.Command(kafkatest.Binary(t), "cluster", "status", "-o", "json", "-b", c.Addr(4)).Output()
		if err != nil {
			return err
		}
		var st struct {
			Brokers []struct{ ID int32 } `json:"brokers"`
			Quorum  struct {
				Voters    []struct{ ID int32 } `json:"voters"`
				Observers []struct {
					ID  int32
					Lag int64
				} `json:"observers"`
			} `json:"quorum"`
		}
		if err := json.Unmarshal(out, &st); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if len(st.Brokers) != 2 || len(st.Quorum.Voters) != 3 || len(st.Quorum.Observers) != 2 ||
			st.Quorum.Observers[0].ID != 4 || st.Quorum.Observers[1].ID != 5 || st.Quorum.Observers[0].Lag < 0 {
			return fmt.Errorf("cluster status: %s", out)
		}
		return nil
	})
	// The text names the real active controller next to the broker that
	// brokers name (KIP-590).
	text, err := exec.Command(kafkatest.Binary(t), "cluster", "status", "-b", c.Addr(4)).Output()
	if err != nil || !regexp.MustCompile(`Controller:  [45] \(brokers forward to it; the active controller is node [123]\)`).Match(text) ||
		!strings.Contains(string(text), "OBSERVER") {
		t.Fatalf("cluster status: %v\n%s", err, text)
	}
	for _, n := range []int{4, 5} {
		if _, err := os.Stat(filepath.Join(c.Dir(n), "__cluster_metadata-0", "raft.db")); err != nil {
			t.Fatalf("broker %d keeps no metadata log: %v", n, err)
		}
	}

	// RF=2 over the two brokers; every record read back exactly.
	if _, err := adm.CreateTopic(ctx, 4, 2, nil, "roles"); err != nil {
		t.Fatal(err)
	}
	waitBrokersISR(t, c, "roles", 4, brokers)
	prod := c.Client(t, kgo.DefaultProduceTopic("roles"), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce := func(topic string, parts, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			r := &kgo.Record{Topic: topic, Partition: int32(i % parts), Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i))}
			if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce %s %d: %v", topic, i, err)
			}
		}
	}
	check := func(topic string, parts, n int) {
		t.Helper()
		got := consumeAll(t, c, topic, n)
		for p := int32(0); p < int32(parts); p++ {
			for j, r := range got[p] {
				i := int(p) + parts*j
				if r.Offset != int64(j) || string(r.Key) != fmt.Sprintf("k%d", i) || string(r.Value) != fmt.Sprintf("v%d", i) {
					t.Fatalf("%s-%d record %d: offset %d key %q value %q", topic, p, j, r.Offset, r.Key, r.Value)
				}
			}
		}
	}
	produce("roles", 4, 0, 200)
	check("roles", 4, 200)

	// SIGKILL the active controller: another controller takes over, and
	// the brokers keep serving and reach the new one for changes.
	old, _ := c.WaitQuorumLeader(-1, 20*time.Second)
	if old < 1 || old > 3 {
		t.Fatalf("quorum leader %d, want a controller", old)
	}
	c.Kill(int(old))
	leader, took := c.WaitQuorumLeader(old, 30*time.Second)
	if leader < 1 || leader > 3 || leader == old {
		t.Fatalf("quorum leader after killing %d: %d", old, leader)
	}
	t.Logf("metadata quorum: leader %d -> %d in %v", old, leader, took)
	if _, err := adm.CreateTopic(ctx, 2, 2, nil, "after-failover"); err != nil {
		t.Fatalf("create a topic after the controller failover: %v", err)
	}
	waitBrokersISR(t, c, "after-failover", 2, brokers)
	produce("after-failover", 2, 0, 50)
	check("after-failover", 2, 50)
	produce("roles", 4, 200, 300)
	check("roles", 4, 300)

	// A broker down while a topic is created learns of it from the Raft
	// log when it comes back.
	c.Kill(5)
	c.WaitReady(t, 30*time.Second) // broker 4 alone, 5 fenced
	// A client that has not cached node 5 as the one to send admin
	// requests to.
	adm4 := kadm.NewClient(c.Client(t, kgo.SeedBrokers(c.Addr(4))))
	if _, err := adm4.CreateTopic(ctx, 1, 1, nil, "while-down"); err != nil {
		t.Fatal(err)
	}
	c.Restart(5)
	c.WaitReady(t, 60*time.Second)
	md, err := c.Metadata(5, "while-down")
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != 1 || md.Topics[0].Partitions[0].Leader != 4 {
		t.Fatalf("restarted broker 5 on while-down: %+v", md.Topics)
	}
	waitBrokersISR(t, c, "roles", 4, brokers)
	produce("roles", 4, 300, 400)
	check("roles", 4, 400)
	assertReplicasIdentical(t, c, "roles", 4)

	// Both kinds of node stop cleanly on SIGTERM: a broker-only node after
	// its controlled shutdown, a controller-only node at once.
	if err := c.Stop(5); err != nil {
		t.Fatalf("stop broker 5: %v", err)
	}
	// Broker 5 is gone for good (the quorum still has two of its three
	// controllers): samsa cluster unregister removes it from
	// the broker lists and from the quorum's observers; an unknown id is
	// BROKER_ID_NOT_REGISTERED with exit status 1.
	out, err := exec.Command(kafkatest.Binary(t), "cluster", "unregister", "--id", "5", "-o", "json", "-b", c.Addr(4)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != `{"broker":5,"unregistered":true}` {
		t.Fatalf("cluster unregister --id 5: %v: %s", err, out)
	}
	kafkatest.Eventually(t, 20*time.Second, func() error {
		voters, observers, err := describeQuorum(ctx, cl)
		if err != nil {
			return err
		}
		if !slices.Equal(voters, []int32{1, 2, 3}) || !slices.Equal(observers, []int32{4}) {
			return fmt.Errorf("voters %v observers %v after unregistering 5, want [1 2 3] and [4]", voters, observers)
		}
		dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		if len(dc.Brokers) != 1 || dc.Brokers[0].NodeID != 4 {
			return fmt.Errorf("DescribeCluster lists %+v after unregistering 5", dc.Brokers)
		}
		return nil
	})
	cmd := exec.Command(kafkatest.Binary(t), "cluster", "unregister", "--id", "9", "-b", c.Addr(4))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "BROKER_ID_NOT_REGISTERED") {
		t.Fatalf("cluster unregister --id 9: %v: %s", err, stderr.String())
	}
	t.Logf("unregister --id 9: %s", strings.TrimSpace(stderr.String()))
	if err := c.Stop(int(leader)); err != nil {
		t.Fatalf("stop controller %d: %v", leader, err)
	}
	for _, n := range []int{5, int(leader)} {
		if log := c.NodeLog(n); !strings.Contains(log, "samsa stopped cleanly") {
			t.Fatalf("node %d did not log a clean stop", n)
		}
	}

}

// describeQuorum asks a broker (which forwards to the active controller)
// for the metadata quorum and returns the voter and observer ids, sorted.
func describeQuorum(ctx context.Context, cl *kgo.Client) (voters, observers []int32, err error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}
	req.Topics = []kmsg.DescribeQuorumRequestTopic{rt}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, nil, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, nil, fmt.Errorf("DescribeQuorum: %+v", resp)
	}
	p := resp.Topics[0].Partitions[0]
	for _, v := range p.CurrentVoters {
		voters = append(voters, v.ReplicaID)
	}
	for _, o := range p.Observers {
		observers = append(observers, o.ReplicaID)
	}
	slices.Sort(voters)
	slices.Sort(observers)
	return voters, observers, nil
}

// waitBrokersISR is waitFullISR, and checks every replica is on a broker
// of want.
func waitBrokersISR(t *testing.T, c *clustertest.Cluster, topic string, parts int, want []int32) {
	t.Helper()
	waitFullISR(t, c, topic, parts)
	md, err := c.Metadata(c.LiveBrokers()[0], topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range md.Topics[0].Partitions {
		for _, r := range p.Replicas {
			if !slices.Contains(want, r) {
				t.Fatalf("%s-%d has a replica on node %d, which is not a broker (replicas %v)", topic, p.Partition, r, p.Replicas)
			}
		}
	}
}

// TestClusterRolesBadConfig: each wrong process.roles combination is
// refused before anything starts, with one line naming the problem and a
// non-zero exit status.
func TestClusterRolesBadConfig(t *testing.T) {
	bin := kafkatest.Binary(t)
	port := func() string { return strings.Split(kafkatest.FreePort(t), ":")[1] }
	voters := "controller.quorum.voters=1@127.0.0.1:" + port() + ",2@127.0.0.1:" + port() + ",3@127.0.0.1:" + port()
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"controller-only with a client listener",
			[]string{"process.roles=controller", "node.id=1", voters, "listeners=PLAINTEXT://127.0.0.1:" + port() + ",CONTROLLER://127.0.0.1:" + port()},
			"listeners has PLAINTEXT, which is not a controller listener (controller.listener.names=CONTROLLER), but process.roles=controller serves no Kafka clients; list only controller listeners"},
		{"controller-only not a voter",
			[]string{"process.roles=controller", "node.id=7", voters, "listeners=CONTROLLER://127.0.0.1:" + port()},
			"node.id 7 is not in controller.quorum.voters"},
		{"broker-only with a controller listener",
			[]string{"process.roles=broker", "node.id=4", voters, "listeners=PLAINTEXT://127.0.0.1:" + port() + ",CONTROLLER://127.0.0.1:" + port()},
			"listeners has CONTROLLER, a controller listener (controller.listener.names=CONTROLLER), but process.roles=broker runs no controller; remove it from listeners"},
		{"broker-only voter",
			[]string{"process.roles=broker", "node.id=2", voters, "listeners=PLAINTEXT://127.0.0.1:" + port()},
			"node.id 2 is in controller.quorum.voters"},
		{"broker-only without voters",
			[]string{"process.roles=broker", "node.id=4", "listeners=PLAINTEXT://127.0.0.1:" + port()},
			"process.roles=broker needs controller.quorum.voters"},
		{"controller-only with a REST proxy",
			[]string{"process.roles=controller", "node.id=1", voters, "listeners=CONTROLLER://127.0.0.1:" + port(), "rest.proxy.listeners=http://127.0.0.1:" + port()},
			"rest.proxy.listeners is set, but process.roles=controller runs no broker for it to use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"server", "--set", "log.dirs=" + t.TempDir(), "--set", "controller.listener.names=CONTROLLER",
				"--set", "schema.registry.listeners="}
			if !strings.Contains(tc.name, "REST proxy") {
				args = append(args, "--set", "rest.proxy.listeners=")
			}
			for _, s := range tc.sets {
				args = append(args, "--set", s)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			if err == nil {
				t.Fatalf("started:\n%s", out)
			}
			var problems []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if strings.HasPrefix(l, "  ") {
					problems = append(problems, strings.TrimSpace(l))
				}
			}
			if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
				t.Fatalf("%v: want one problem containing %q, got:\n%s", err, tc.want, out)
			}
		})
	}
}
