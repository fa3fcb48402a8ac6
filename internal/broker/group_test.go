package broker_test

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startGroupBroker runs a broker with short group timers and a small
// __consumer_offsets, so group tests take seconds.
func startGroupBroker(t *testing.T, props ...string) *kafkatest.Broker {
	return kafkatest.Start(t, append([]string{
		"group.initial.rebalance.delay.ms=100",
		"group.min.session.timeout.ms=500",
		"offsets.topic.num.partitions=3",
	}, props...)...)
}

// tracked is a group consumer that records what it is assigned.
type tracked struct {
	cl *kgo.Client
	mu sync.Mutex
	as map[int32]bool
}

func (c *tracked) assigned() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []int32
	for p := range c.as {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

func groupMember(t *testing.T, b *kafkatest.Broker, group, topic string, opts ...kgo.Opt) *tracked {
	t.Helper()
	c := &tracked{as: map[int32]bool{}}
	update := func(add bool) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range m[topic] {
				if add {
					c.as[p] = true
				} else {
					delete(c.as, p)
				}
			}
		}
	}
	c.cl = b.Client(t, append([]kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.SessionTimeout(3 * time.Second), kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.OnPartitionsAssigned(update(true)), kgo.OnPartitionsRevoked(update(false)), kgo.OnPartitionsLost(update(false)),
	}, opts...)...)
	go func() { // keep the consumer polling so the group machinery runs
		for {
			if fs := c.cl.PollFetches(context.Background()); fs.IsClientClosed() {
				return
			}
		}
	}()
	return c
}

// waitSplit waits until members hold every partition of n exactly once,
// each holding want[i] partitions.
func waitSplit(t *testing.T, n int32, want []int, members ...*tracked) [][]int32 {
	t.Helper()
	var got [][]int32
	kafkatest.Eventually(t, 20*time.Second, func() error {
		got = got[:0]
		seen := map[int32]int{}
		var sizes []int
		for _, m := range members {
			a := m.assigned()
			got = append(got, a)
			sizes = append(sizes, len(a))
			for _, p := range a {
				seen[p]++
			}
		}
		for p := int32(0); p < n; p++ {
			if seen[p] != 1 {
				return fmt.Errorf("partition %d held %d times: %v", p, seen[p], got)
			}
		}
		if len(seen) != int(n) {
			return fmt.Errorf("unknown partitions held: %v", got)
		}
		s := append([]int{}, sizes...)
		sort.Ints(s)
		w := append([]int{}, want...)
		sort.Ints(w)
		if fmt.Sprint(s) != fmt.Sprint(w) {
			return fmt.Errorf("sizes %v, want %v", sizes, want)
		}
		return nil
	})
	return got
}

func TestGroupThreeMembersSplitPartitions(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	createTopic(t, b, "split", 12, nil)
	var ms []*tracked
	for i := 0; i < 3; i++ {
		ms = append(ms, groupMember(t, b, "g-split", "split", kgo.Balancers(kgo.RangeBalancer())))
	}
	waitSplit(t, 12, []int{4, 4, 4}, ms...)

	// kadm sees the same: one Stable group of three members whose
	// assignments cover the topic once.
	ctx := context.Background()
	adm := kadm.NewClient(b.Client(t))
	var dg kadm.DescribedGroups
	kafkatest.Eventually(t, 10*time.Second, func() error {
		var err error
		if dg, err = adm.DescribeGroups(ctx, "g-split"); err != nil {
			return err
		}
		if d := dg["g-split"]; d.State != "Stable" || len(d.Members) != 3 {
			return fmt.Errorf("state %s with %d members", d.State, len(d.Members))
		}
		return nil
	})
	d := dg["g-split"]
	if d.Protocol != "range" || d.ProtocolType != "consumer" {
		t.Fatalf("protocol %q type %q", d.Protocol, d.ProtocolType)
	}
	held := map[int32]bool{}
	for _, m := range d.Members {
		ca, _ := m.Assigned.AsConsumer()
		for _, at := range ca.Topics {
			for _, p := range at.Partitions {
				if held[p] {
					t.Fatalf("partition %d assigned twice", p)
				}
				held[p] = true
			}
		}
		if m.ClientHost != "/127.0.0.1" {
			t.Errorf("client host %q", m.ClientHost)
		}
	}
	if len(held) != 12 {
		t.Fatalf("described assignment covers %d partitions", len(held))
	}
	lg, err := adm.ListGroups(ctx)
	if err != nil || len(lg) != 1 || lg["g-split"].State != "Stable" || lg["g-split"].ProtocolType != "consumer" {
		t.Fatalf("list groups: %v %+v", err, lg)
	}
	// A group with members cannot be deleted.
	dr, err := adm.DeleteGroups(ctx, "g-split")
	if err != nil || dr["g-split"].Err != kerr.NonEmptyGroup {
		t.Fatalf("delete active group: %v %+v", err, dr)
	}
}

// severable dials connections it can cut all at once, after which it
// refuses new ones: a client that dies without saying goodbye.
type severable struct {
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (s *severable) dial(ctx context.Context, network, host string) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return nil, fmt.Errorf("severed")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		s.conns = append(s.conns, c)
	}
	return c, err
}

func (s *severable) sever() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead = true
	for _, c := range s.conns {
		c.Close()
	}
}

func TestGroupDeadMemberReplacedAfterSessionTimeout(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	createTopic(t, b, "dead", 6, nil)
	var cut severable
	victim := groupMember(t, b, "g-dead", "dead", kgo.Dialer(cut.dial), kgo.SessionTimeout(time.Second))
	survivor := groupMember(t, b, "g-dead", "dead", kgo.SessionTimeout(time.Second))
	waitSplit(t, 6, []int{3, 3}, victim, survivor)
	start := time.Now()
	cut.sever()
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if n := len(survivor.assigned()); n != 6 {
			return fmt.Errorf("survivor holds %d partitions", n)
		}
		return nil
	})
	// Session timeout 1s, then one join round of the survivor.
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("the dead member was replaced after %v", took)
	}
}

func TestGroupCooperativeStickyMovesOnlyWhatItMust(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	createTopic(t, b, "coop", 12, nil)
	coop := kgo.Balancers(kgo.CooperativeStickyBalancer())
	a := groupMember(t, b, "g-coop", "coop", coop)
	c := groupMember(t, b, "g-coop", "coop", coop)
	before := waitSplit(t, 12, []int{6, 6}, a, c)
	n := groupMember(t, b, "g-coop", "coop", coop)
	after := waitSplit(t, 12, []int{4, 4, 4}, a, c, n)
	for i := 0; i < 2; i++ {
		kept := map[int32]bool{}
		for _, p := range before[i] {
			kept[p] = true
		}
		for _, p := range after[i] {
			if !kept[p] {
				t.Fatalf("member %d gained partition %d it did not have (before %v, after %v)", i, p, before[i], after[i])
			}
		}
	}
}

func TestGroupStaticMemberRestartsWithoutRebalance(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	createTopic(t, b, "static", 4, nil)
	opts := func(id string) []kgo.Opt {
		return []kgo.Opt{kgo.InstanceID(id), kgo.SessionTimeout(10 * time.Second), kgo.Balancers(kgo.RangeBalancer())}
	}
	s1 := groupMember(t, b, "g-static", "static", opts("one")...)
	s2 := groupMember(t, b, "g-static", "static", opts("two")...)
	waitSplit(t, 4, []int{2, 2}, s1, s2)
	_, gen := s2.cl.GroupMetadata()
	held := s1.assigned()
	s1.cl.Close() // a static member does not leave the group on close
	s1 = groupMember(t, b, "g-static", "static", opts("one")...)
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if fmt.Sprint(s1.assigned()) != fmt.Sprint(held) {
			return fmt.Errorf("restarted member holds %v, want %v", s1.assigned(), held)
		}
		return nil
	})
	if _, g1 := s1.cl.GroupMetadata(); g1 != gen {
		t.Fatalf("restarted static member is in generation %d, want %d", g1, gen)
	}
	time.Sleep(300 * time.Millisecond) // a rebalance would show by now (heartbeats every 100ms)
	if _, g2 := s2.cl.GroupMetadata(); g2 != gen {
		t.Fatalf("generation moved from %d to %d: the restart rebalanced", gen, g2)
	}
}

func TestGroupOffsetsSurviveRestart(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	createTopic(t, b, "resume", 3, nil)
	ctx := context.Background()
	produce := func(b *kafkatest.Broker, from, n int) {
		p := b.Client(t, kgo.DefaultProduceTopic("resume"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
		for i := from; i < from+n; i++ {
			if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(b, 0, 9)
	cl := b.Client(t, kgo.ConsumerGroup("g-resume"), kgo.ConsumeTopics("resume"), kgo.DisableAutoCommit())
	consume(t, cl, 9, 10*time.Second)
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	b = b.Restart(t)
	adm := kadm.NewClient(b.Client(t))
	offs, err := adm.FetchOffsets(ctx, "g-resume")
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 3; p++ {
		if o, ok := offs.Lookup("resume", p); !ok || o.At != 3 || o.Err != nil {
			t.Fatalf("partition %d after restart: %+v", p, o)
		}
	}
	produce(b, 9, 6)
	cl = b.Client(t, kgo.ConsumerGroup("g-resume"), kgo.ConsumeTopics("resume"))
	var got []string
	for _, r := range consume(t, cl, 6, 10*time.Second) {
		got = append(got, string(r.Value))
	}
	sort.Strings(got)
	if fmt.Sprint(got) != "[10 11 12 13 14 9]" {
		t.Fatalf("resumed with %v, want exactly the 6 records after the commit", got)
	}
}
