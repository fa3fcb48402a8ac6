// Command groupbench measures consumer-group costs of a Kafka broker with
// franz-go clients: how long a group of consumers takes to (re)balance, and
// how many OffsetCommits per second one client gets through. It is the group
// case of scripts/bench.sh (see docs/benchmarks.md), run against samsa and
// kfake alike. It is a development tool, not part of samsa.
//
//	go run ./tools/groupbench -bootstrap 127.0.0.1:19192
//
// Rebalances, per round (a new group each round, -rounds of them):
//
//   - initial: from starting 3 consumers (at once) until each holds
//     partitions and together they hold every partition of the topic exactly
//     once. A broker with group.initial.rebalance.delay.ms waits that long
//     for more members first.
//   - join: from starting a 4th consumer until the 4 are balanced the same
//     way.
//   - leave: from closing one of the 4 (it sends LeaveGroup) until the 3 left
//     are balanced.
//
// Members already in the group learn of a rebalance from a heartbeat
// response, so join and leave include up to one -heartbeat interval.
//
// Commits: -commits sequential OffsetCommit requests (one in flight) from
// one client for a group without members (generation -1, as tools and
// manually assigned consumers commit), with 1 partition and with all of the
// topic's partitions per request.
//
// Every run is bounded: -rounds rounds, -commits commits per case, and
// -timeout for each wait. Output is one JSON object (-format json) or text.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	bootstrap  = flag.String("bootstrap", "127.0.0.1:9092", "broker address")
	partitions = flag.Int("partitions", 12, "partitions of the topic the groups consume")
	rounds     = flag.Int("rounds", 3, "rebalance rounds (a new group each); the median is reported")
	commits    = flag.Int("commits", 5000, "OffsetCommit requests per commit case (0: no commit cases)")
	balancer   = flag.String("balancer", "range", "group balancer: range (eager) or cooperative-sticky")
	heartbeat  = flag.Duration("heartbeat", 100*time.Millisecond, "consumer heartbeat interval")
	timeout    = flag.Duration("timeout", 30*time.Second, "limit for each wait for a balanced group")
	format     = flag.String("format", "text", "output: text or json")
)

func main() {
	flag.Parse()
	res, err := runAll()
	if err != nil {
		fmt.Fprintf(os.Stderr, "groupbench: %v\n", err)
		os.Exit(1)
	}
	if *format == "json" {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
		return
	}
	fmt.Printf("rebalance (median of %d, %s, heartbeat %v): initial 3 members %.0f ms, 4th joins %.0f ms, 1 of 4 leaves %.0f ms\n",
		*rounds, *balancer, *heartbeat, res.InitialMs, res.JoinMs, res.LeaveMs)
	for _, c := range res.Commits {
		fmt.Printf("commit %d partition(s)/request: %.0f commits/s, p50 %.3f ms, p99 %.3f ms\n", c.Partitions, c.PerSec, c.P50Ms, c.P99Ms)
	}
}

type result struct {
	Balancer    string       `json:"balancer"`
	HeartbeatMs int64        `json:"heartbeat_ms"`
	Partitions  int          `json:"partitions"`
	Rounds      int          `json:"rounds"`
	InitialMs   float64      `json:"initial_ms"`
	JoinMs      float64      `json:"join_ms"`
	LeaveMs     float64      `json:"leave_ms"`
	RoundsMs    [][3]float64 `json:"rounds_ms"` // initial, join, leave of each round
	Commits     []commitRes  `json:"commits"`
}

type commitRes struct {
	Partitions int     `json:"partitions"`
	Commits    int     `json:"commits"`
	PerSec     float64 `json:"commits_per_sec"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
}

func runAll() (*result, error) {
	ctx := context.Background()
	admCl, err := kgo.NewClient(kgo.SeedBrokers(*bootstrap))
	if err != nil {
		return nil, err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	topic := fmt.Sprintf("groupbench-%d", time.Now().UnixNano())
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	resp, err := adm.CreateTopic(cctx, int32(*partitions), 1, nil, topic)
	cancel()
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return nil, fmt.Errorf("create topic %s: %w", topic, err)
	}
	// OffsetCommit v10 names topics by id (kfake serves it; samsa up to v9).
	cctx, cancel = context.WithTimeout(ctx, *timeout)
	tds, err := adm.ListTopics(cctx, topic)
	cancel()
	if err == nil {
		err = tds.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	topicID := tds[topic].ID
	res := &result{Balancer: *balancer, HeartbeatMs: heartbeat.Milliseconds(), Partitions: *partitions, Rounds: *rounds}
	var ini, join, leave []float64
	for r := range *rounds {
		times, err := rebalanceRound(ctx, topic, fmt.Sprintf("%s-g%d", topic, r))
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", r, err)
		}
		res.RoundsMs = append(res.RoundsMs, times)
		ini, join, leave = append(ini, times[0]), append(join, times[1]), append(leave, times[2])
	}
	res.InitialMs, res.JoinMs, res.LeaveMs = median(ini), median(join), median(leave)
	for _, n := range []int{1, *partitions} {
		if *commits <= 0 {
			break
		}
		c, err := commitCase(ctx, admCl, topic, topicID, n)
		if err != nil {
			return nil, err
		}
		res.Commits = append(res.Commits, c)
	}
	return res, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// member is one consumer and the partitions it holds, as its callbacks
// report them.
type member struct {
	cl     *kgo.Client
	mu     sync.Mutex
	held   map[int32]bool
	cancel context.CancelFunc
	done   chan struct{}
}

// group is the consumers of one round.
type group struct {
	topic, id string
	mu        sync.Mutex
	members   []*member
	changed   chan struct{} // a member's partitions changed
}

func (g *group) add() (*member, error) {
	m := &member{held: map[int32]bool{}, done: make(chan struct{})}
	update := func(ps map[string][]int32, add bool) {
		m.mu.Lock()
		for _, p := range ps[g.topic] {
			if add {
				m.held[p] = true
			} else {
				delete(m.held, p)
			}
		}
		m.mu.Unlock()
		select {
		case g.changed <- struct{}{}:
		default:
		}
	}
	bal := kgo.RangeBalancer()
	if *balancer == "cooperative-sticky" {
		bal = kgo.CooperativeStickyBalancer()
	} else if *balancer != "range" {
		return nil, fmt.Errorf("unknown -balancer %q", *balancer)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(*bootstrap), kgo.ConsumerGroup(g.id), kgo.ConsumeTopics(g.topic),
		kgo.Balancers(bal), kgo.HeartbeatInterval(*heartbeat), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, false) }))
	if err != nil {
		return nil, err
	}
	m.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() { // the topic is empty; polling only keeps the consumer going
		defer close(m.done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	g.mu.Lock()
	g.members = append(g.members, m)
	g.mu.Unlock()
	return m, nil
}

func (m *member) close() {
	m.cancel()
	<-m.done
	m.cl.Close() // revokes and sends LeaveGroup
}

// balanced reports whether every member holds partitions and together they
// hold each partition exactly once.
func (g *group) balanced(n int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) != n {
		return false
	}
	seen := map[int32]bool{}
	for _, m := range g.members {
		m.mu.Lock()
		held := len(m.held)
		for p := range m.held {
			if seen[p] {
				m.mu.Unlock()
				return false
			}
			seen[p] = true
		}
		m.mu.Unlock()
		if held == 0 {
			return false
		}
	}
	return len(seen) == *partitions
}

func (g *group) waitBalanced(n int, start time.Time, what string) (float64, error) {
	deadline := time.NewTimer(*timeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !g.balanced(n) {
		select {
		case <-g.changed:
		case <-tick.C:
		case <-deadline.C:
			return 0, fmt.Errorf("%s: %d members not balanced within %v", what, n, *timeout)
		}
	}
	return float64(time.Since(start).Microseconds()) / 1000, nil
}

// rebalanceRound returns the initial, join and leave times of one group.
func rebalanceRound(ctx context.Context, topic, id string) ([3]float64, error) {
	var out [3]float64
	g := &group{topic: topic, id: id, changed: make(chan struct{}, 1)}
	defer func() {
		for _, m := range g.members {
			m.close()
		}
	}()
	start := time.Now()
	for range 3 {
		if _, err := g.add(); err != nil {
			return out, err
		}
	}
	var err error
	if out[0], err = g.waitBalanced(3, start, "initial"); err != nil {
		return out, err
	}
	start = time.Now()
	if _, err := g.add(); err != nil {
		return out, err
	}
	if out[1], err = g.waitBalanced(4, start, "join"); err != nil {
		return out, err
	}
	start = time.Now()
	g.mu.Lock()
	leaving := g.members[0]
	g.members = g.members[1:]
	g.mu.Unlock()
	leaving.close()
	if out[2], err = g.waitBalanced(3, start, "leave"); err != nil {
		return out, err
	}
	return out, nil
}

// commitCase sends *commits OffsetCommits of n partitions each, one at a
// time, for a group without members.
func commitCase(ctx context.Context, cl *kgo.Client, topic string, topicID [16]byte, n int) (commitRes, error) {
	group := fmt.Sprintf("%s-commit%d", topic, n)
	lat := make([]time.Duration, 0, *commits)
	start := time.Now()
	for i := range *commits {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group = group
		req.Generation = -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = topic, topicID
		for p := range n {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition = int32(p)
			rp.Offset = int64(i)
			rp.LeaderEpoch = -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		t0 := time.Now()
		rctx, cancel := context.WithTimeout(ctx, *timeout)
		resp, err := req.RequestWith(rctx, cl)
		cancel()
		if err != nil {
			return commitRes{}, fmt.Errorf("commit %d: %w", i, err)
		}
		lat = append(lat, time.Since(t0))
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return commitRes{}, fmt.Errorf("commit %d, partition %d: %w", i, p.Partition, err)
				}
			}
		}
	}
	el := time.Since(start)
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	return commitRes{Partitions: n, Commits: *commits, PerSec: float64(*commits) / el.Seconds(), P50Ms: ms(0.5), P99Ms: ms(0.99)}, nil
}
