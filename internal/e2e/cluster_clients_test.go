package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clusterView is a cluster's brokers and one topic's partitions as one
// client reported them, in one shape for every client so that they can be
// compared exactly: brokers as "id@host:port" sorted by id, partitions as
// "p<n> leader <l> replicas [..] isr [..]" in partition order, replicas
// and ISR in the order the broker sent them.
type clusterView struct {
	Brokers    []string
	Partitions []string
}

func (v clusterView) String() string {
	return fmt.Sprintf("brokers %v\n  %s", v.Brokers, strings.Join(v.Partitions, "\n  "))
}

func (v clusterView) equal(o clusterView) bool {
	return slices.Equal(v.Brokers, o.Brokers) && slices.Equal(v.Partitions, o.Partitions)
}

func viewPartition(p, leader int32, replicas, isr []int32) string {
	return fmt.Sprintf("p%d leader %d replicas %v isr %v", p, leader, replicas, isr)
}

// nodeView is what node n's Metadata answer says about topic.
func nodeView(c *clustertest.Cluster, n int, topic string) (clusterView, error) {
	md, err := c.Metadata(n, topic)
	if err != nil {
		return clusterView{}, err
	}
	var v clusterView
	brokers := slices.Clone(md.Brokers)
	slices.SortFunc(brokers, func(a, b kmsg.MetadataResponseBroker) int { return int(a.NodeID - b.NodeID) })
	for _, b := range brokers {
		v.Brokers = append(v.Brokers, fmt.Sprintf("%d@%s", b.NodeID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))))
	}
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
		return v, fmt.Errorf("node %d: topic %s: %+v", n, topic, md.Topics)
	}
	parts := slices.Clone(md.Topics[0].Partitions)
	slices.SortFunc(parts, func(a, b kmsg.MetadataResponseTopicPartition) int { return int(a.Partition - b.Partition) })
	for _, p := range parts {
		v.Partitions = append(v.Partitions, viewPartition(p.Partition, p.Leader, p.Replicas, p.ISR))
	}
	return v, nil
}

// settledView waits until every live node answers Metadata about topic
// with the same view, in which the brokers are exactly the live nodes at
// their proxy addresses and every partition (of parts) has a live leader
// and an ISR of exactly its live replicas, and returns that view.
func settledView(t *testing.T, c *clustertest.Cluster, topic string, parts int) clusterView {
	t.Helper()
	var agreed clusterView
	kafkatest.Eventually(t, 60*time.Second, func() error {
		live := c.Live()
		var wantBrokers []string
		for _, n := range live {
			wantBrokers = append(wantBrokers, fmt.Sprintf("%d@%s", n, c.Addr(n)))
		}
		var first clusterView
		for i, n := range live {
			v, err := nodeView(c, n, topic)
			if err != nil {
				return err
			}
			if i == 0 {
				first = v
			} else if !v.equal(first) {
				return fmt.Errorf("node %d says\n  %v\nnode %d says\n  %v", live[0], first, n, v)
			}
		}
		if !slices.Equal(first.Brokers, wantBrokers) {
			return fmt.Errorf("brokers %v, want %v", first.Brokers, wantBrokers)
		}
		if len(first.Partitions) != parts {
			return fmt.Errorf("%d partitions, want %d", len(first.Partitions), parts)
		}
		md, err := c.Metadata(live[0], topic)
		if err != nil {
			return err
		}
		for _, p := range md.Topics[0].Partitions {
			var liveReplicas []int32
			for _, r := range p.Replicas {
				if slices.Contains(live, int(r)) {
					liveReplicas = append(liveReplicas, r)
				}
			}
			if !slices.Contains(live, int(p.Leader)) || !slices.Equal(slices.Sorted(slices.Values(p.ISR)), slices.Sorted(slices.Values(liveReplicas))) {
				return fmt.Errorf("%s-%d: leader %d isr %v, live replicas %v", topic, p.Partition, p.Leader, p.ISR, liveReplicas)
			}
		}
		agreed = first
		return nil
	})
	return agreed
}

// kadmView is the view from a kadm Metadata request to the cluster.
//
// The client retries a connection closed before its first response: that
// is how the harness's proxy of a dead node answers, where a dead machine
// would refuse the connection, which kgo retries anyway; by default kgo
// takes an early EOF for a TLS or SASL mistake and gives up.
func kadmView(t *testing.T, c *clustertest.Cluster, topic string) clusterView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	md, err := kadm.NewClient(c.Client(t, kgo.AlwaysRetryEOF())).Metadata(ctx, topic)
	if err != nil {
		t.Fatalf("kadm metadata: %v", err)
	}
	var v clusterView
	for _, b := range md.Brokers { // sorted by node id
		v.Brokers = append(v.Brokers, fmt.Sprintf("%d@%s", b.NodeID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))))
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil {
		t.Fatalf("kadm metadata of %s: %+v", topic, td)
	}
	for _, p := range td.Partitions.Sorted() {
		if p.Err != nil {
			t.Fatalf("kadm metadata %s-%d: %v", topic, p.Partition, p.Err)
		}
		v.Partitions = append(v.Partitions, viewPartition(p.Partition, p.Leader, p.Replicas, p.ISR))
	}
	return v
}

// kcatView is the view from `kcat -L -J -t topic`.
func kcatView(t *testing.T, c *clustertest.Cluster, topic string) clusterView {
	t.Helper()
	out := run(t, "", kcat, "-b", c.Bootstrap(), "-L", "-J", "-t", topic)
	var md struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string `json:"topic"`
			Error      string `json:"error"`
			Partitions []struct {
				Partition int32  `json:"partition"`
				Error     string `json:"error"`
				Leader    int32  `json:"leader"`
				Replicas  []struct {
					ID int32 `json:"id"`
				} `json:"replicas"`
				ISRs []struct {
					ID int32 `json:"id"`
				} `json:"isrs"`
			} `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal([]byte(out), &md); err != nil {
		t.Fatalf("kcat -L -J: %v\n%s", err, out)
	}
	var v clusterView
	slices.SortFunc(md.Brokers, func(a, b struct {
		ID   int32  `json:"id"`
		Name string `json:"name"`
	}) int {
		return int(a.ID - b.ID)
	})
	for _, b := range md.Brokers {
		v.Brokers = append(v.Brokers, fmt.Sprintf("%d@%s", b.ID, b.Name))
	}
	if len(md.Topics) != 1 || md.Topics[0].Topic != topic || md.Topics[0].Error != "" {
		t.Fatalf("kcat -L -J -t %s topics: %s", topic, out)
	}
	ps := md.Topics[0].Partitions
	slices.SortFunc(ps, func(a, b struct {
		Partition int32  `json:"partition"`
		Error     string `json:"error"`
		Leader    int32  `json:"leader"`
		Replicas  []struct {
			ID int32 `json:"id"`
		} `json:"replicas"`
		ISRs []struct {
			ID int32 `json:"id"`
		} `json:"isrs"`
	}) int {
		return int(a.Partition - b.Partition)
	})
	for _, p := range ps {
		if p.Error != "" {
			t.Fatalf("kcat -L -J: %s-%d: %s", topic, p.Partition, p.Error)
		}
		var replicas, isr []int32
		for _, r := range p.Replicas {
			replicas = append(replicas, r.ID)
		}
		for _, r := range p.ISRs {
			isr = append(isr, r.ID)
		}
		v.Partitions = append(v.Partitions, viewPartition(p.Partition, p.Leader, replicas, isr))
	}
	return v
}

// confluentView is the view from confluent-kafka's AdminClient.list_topics.
func confluentView(t *testing.T, c *clustertest.Cluster, topic string) clusterView {
	t.Helper()
	lines := runPy(t, "", "confluent_metadata.py", c.Bootstrap(), topic)
	if len(lines) != 1 {
		t.Fatalf("confluent_metadata.py: %d lines, want 1: %s", len(lines), lines)
	}
	md := decode[struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Host string `json:"host"`
			Port int    `json:"port"`
		} `json:"brokers"`
		TopicError *string `json:"topic_error"`
		Partitions []struct {
			Partition int32   `json:"partition"`
			Leader    int32   `json:"leader"`
			Replicas  []int32 `json:"replicas"`
			ISRs      []int32 `json:"isrs"`
			Error     *string `json:"error"`
		} `json:"partitions"`
	}](t, lines[0])
	if md.TopicError != nil {
		t.Fatalf("confluent-kafka list_topics: %s: %s", topic, *md.TopicError)
	}
	var v clusterView
	for _, b := range md.Brokers {
		v.Brokers = append(v.Brokers, fmt.Sprintf("%d@%s", b.ID, net.JoinHostPort(b.Host, strconv.Itoa(b.Port))))
	}
	for _, p := range md.Partitions {
		if p.Error != nil {
			t.Fatalf("confluent-kafka list_topics: %s-%d: %s", topic, p.Partition, *p.Error)
		}
		v.Partitions = append(v.Partitions, viewPartition(p.Partition, p.Leader, p.Replicas, p.ISRs))
	}
	return v
}

// wantViews fails unless kadm, kcat and confluent-kafka all report want.
func wantViews(t *testing.T, c *clustertest.Cluster, topic string, want clusterView) {
	t.Helper()
	for _, cv := range []struct {
		who  string
		view func(*testing.T, *clustertest.Cluster, string) clusterView
	}{{"kadm Metadata", kadmView}, {"kcat -L -J", kcatView}, {"confluent-kafka list_topics", confluentView}} {
		if got := cv.view(t, c, topic); !got.equal(want) {
			t.Fatalf("%s:\n  %v\nthe nodes agree on:\n  %v", cv.who, got, want)
		}
	}
}

// kcatProduce sends n keyed records with headers to each partition of
// topic (one kcat -P run per partition, acks=all) and returns them with the
// offsets they must get, counting from next, which it advances.
func kcatProduce(t *testing.T, c *clustertest.Cluster, topic, tag string, parts int32, n int, next map[int32]int64) []rec {
	t.Helper()
	var want []rec
	for p := range parts {
		var in strings.Builder
		for i := range n {
			k, v := fmt.Sprintf("%s-k%d-%d", tag, p, i), fmt.Sprintf("%s-v%d-%d", tag, p, i)
			fmt.Fprintf(&in, "%s:%s\n", k, v)
			want = append(want, rec{Partition: p, Offset: next[p], Key: strp(k), Value: v,
				Headers: [][2]string{{"src", tag}, {"p", fmt.Sprint(p)}}})
			next[p]++
		}
		run(t, in.String(), kcat, "-b", c.Bootstrap(), "-P", "-t", topic, "-p", fmt.Sprint(p), "-K:",
			"-H", "src="+tag, "-H", fmt.Sprintf("p=%d", p), "-X", "acks=all")
	}
	return want
}

// TestClusterCrossClient: kcat and confluent-kafka see the three brokers of
// a cluster and every partition's leader, replicas and ISR exactly as the
// nodes do; with a leader SIGKILLed they see the two that are left and
// kcat and confluent-kafka produce (acks=all) and consume everything
// exactly; the restarted node is listed again.
func TestClusterCrossClient(t *testing.T) {
	needTool(t, "kcat")
	needTool(t, "confluent-kafka")
	const topic, parts = "xclient", 6
	c := clustertest.Start(t, 3, clusterProps...)
	c.WaitReady(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.Admin(t).CreateTopic(ctx, parts, 3, nil, topic); err != nil {
		t.Fatal(err)
	}
	all := settledView(t, c, topic, parts)
	if len(all.Brokers) != 3 {
		t.Fatalf("brokers %v", all.Brokers)
	}
	wantViews(t, c, topic, all)

	next := map[int32]int64{}
	want := kcatProduce(t, c, topic, "before", parts, 4, next)

	// SIGKILL the leader of partition 0; the rest elect new leaders and
	// drop it from every ISR.
	old := c.LeaderOf(topic, 0)
	if old < 0 {
		t.Fatalf("%s-0 has no leader", topic)
	}
	var led []int32
	md, err := c.Metadata(int(old), topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range md.Topics[0].Partitions {
		if p.Leader == old {
			led = append(led, p.Partition)
		}
	}
	c.Kill(int(old))
	for _, p := range led {
		if l, took := c.WaitLeader(topic, p, old, 20*time.Second); l < 0 {
			t.Fatalf("no new leader for %s-%d", topic, p)
		} else {
			t.Logf("%s-%d: leader %d -> %d in %v", topic, p, old, l, took.Round(time.Millisecond))
		}
	}
	down := settledView(t, c, topic, parts)
	if len(down.Brokers) != 2 {
		t.Fatalf("brokers with node %d down: %v", old, down.Brokers)
	}
	wantViews(t, c, topic, down)

	// kcat and confluent-kafka write and read everything while it is down.
	want = append(want, kcatProduce(t, c, topic, "down", parts, 5, next)...)
	var pyIn []rec
	for i := range 12 {
		p := int32(i % parts)
		r := rec{Partition: p, Key: strp(fmt.Sprintf("py-k%d", i)), Value: fmt.Sprintf("py-v%d", i),
			Headers: [][2]string{{"src", "python"}, {"i", fmt.Sprint(i)}}}
		pyIn = append(pyIn, r)
		r.Offset = next[p]
		next[p]++
		want = append(want, r)
	}
	acked := confluentKafka.produce(t, c.Bootstrap(), topic, "none", pyIn)
	for i, r := range acked {
		if w := want[len(want)-len(pyIn)+i]; r.Offset != w.Offset {
			t.Fatalf("confluent-kafka record %d acknowledged at %s-%d offset %d, want %d", i, topic, r.Partition, r.Offset, w.Offset)
		}
	}
	sortRecs(t, "want", want)
	wantRecords(t, "kcat -C -J with a node down", kcatConsume(t, c.Bootstrap(), topic, -1, "beginning"), want)
	wantRecords(t, "confluent-kafka consume with a node down", confluentKafka.consume(t, c.Bootstrap(), topic, -1, 0, len(want)+1), want)
	if c.Running(int(old)) {
		t.Fatalf("node %d came back during the test", old)
	}

	// The node comes back, catches up and is listed again.
	c.Restart(int(old))
	c.WaitReady(t, 30*time.Second)
	back := settledView(t, c, topic, parts)
	if !slices.Equal(back.Brokers, all.Brokers) {
		t.Fatalf("brokers after restarting node %d: %v, want %v", old, back.Brokers, all.Brokers)
	}
	wantViews(t, c, topic, back)
	assertReplicasIdentical(t, c, topic, parts)
	wantRecords(t, "kcat -C -J after the restart", kcatConsume(t, c.Bootstrap(), topic, -1, "beginning"), want)
}
