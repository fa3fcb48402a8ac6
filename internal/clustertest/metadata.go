package clustertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// probeTimeout bounds one question the harness asks one node. The nodes it
// asks are live, so an answer is normally milliseconds away; the bound
// keeps a node that froze between the liveness check and the request from
// stalling a wait loop.
const probeTimeout = 2 * time.Second

// pollInterval is how often the wait helpers ask again.
const pollInterval = 20 * time.Millisecond

// plainProbe returns the harness's own client on the PLAINTEXT proxies of
// the brokers. Its seed brokers are those nodes in order, so a request
// goes to one chosen node (see ask), never to whichever broker kgo would
// pick.
func (c *Cluster) plainProbe() *kgo.Client {
	c.probeOnce.Do(func() {
		c.probe = c.newProbe(c.Brokers(), func(n *node) string { return n.plain.Addr() })
	})
	return c.probe
}

// controllerProbe is plainProbe for the CONTROLLER proxies of the
// controllers.
func (c *Cluster) controllerProbe() *kgo.Client {
	c.ctrlOnce.Do(func() {
		c.ctrlProbe = c.newProbe(c.Controllers(), func(n *node) string { return n.ctrl.Addr() })
	})
	return c.ctrlProbe
}

func (c *Cluster) newProbe(ids []int, addr func(*node) string) *kgo.Client {
	seeds := make([]string, len(ids))
	for i, id := range ids {
		seeds[i] = addr(c.nodes[id-1])
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DialTimeout(time.Second))
	if err != nil {
		// Only bad options fail here, and ours are fixed.
		panic(fmt.Sprintf("clustertest: probe client: %v", err))
	}
	return cl
}

// ask sends req to node id through cl (a probe whose seeds are the nodes
// ids lists, in order) and waits at most probeTimeout.
func (c *Cluster) ask(cl *kgo.Client, ids []int, id int, req kmsg.Request) (kmsg.Response, error) {
	if cl == nil {
		return nil, errors.New("cluster shut down")
	}
	i := slices.Index(ids, id)
	if i < 0 {
		return nil, fmt.Errorf("node %d has no such listener (process.roles)", id)
	}
	seeds := cl.SeedBrokers()
	if len(seeds) != len(ids) {
		return nil, fmt.Errorf("probe has %d seeds for %d nodes", len(seeds), len(ids))
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	resp, err := seeds[i].Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("node %d: %w", id, err)
	}
	return resp, nil
}

// Metadata sends a Metadata request for topics (none: brokers only) to
// node n, a broker, and returns its answer. Auto topic creation is off.
func (c *Cluster) Metadata(n int, topics ...string) (*kmsg.MetadataResponse, error) {
	if nd := c.node(n); nd == nil {
		return nil, fmt.Errorf("no node %d", n)
	} else if !nd.broker {
		return nil, fmt.Errorf("node %d is controller-only: it answers no Metadata", n)
	}
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = false
	req.Topics = []kmsg.MetadataRequestTopic{}
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := c.ask(c.plainProbe(), c.Brokers(), n, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// WaitReady waits until every live broker (see LiveBrokers) answers a
// Metadata request listing exactly the live brokers, each at its proxy
// address. A killed, paused or cut broker must therefore have been fenced
// by the rest of the cluster too, which takes up to
// broker.session.timeout.ms. Controller-only nodes are neither asked nor
// expected in the lists. It calls t.Fatalf on timeout with what each
// node last said.
func (c *Cluster) WaitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := c.ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: cluster not ready within %v: %v", timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// ready checks WaitReady's condition once.
func (c *Cluster) ready() error {
	live := c.LiveBrokers()
	if len(live) == 0 {
		return errors.New("no live broker")
	}
	want := make([]string, len(live))
	for i, id := range live {
		want[i] = fmt.Sprintf("%d@%s", id, c.nodes[id-1].plain.Addr())
	}
	var errs []error
	for _, id := range live {
		resp, err := c.Metadata(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got := make([]string, 0, len(resp.Brokers))
		for _, b := range resp.Brokers {
			got = append(got, fmt.Sprintf("%d@%s", b.NodeID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("node %d lists brokers [%s], want [%s]", id, strings.Join(got, " "), strings.Join(want, " ")))
		}
	}
	return errors.Join(errs...)
}

// partitionLeader returns the leader node n names for topic/partition and
// its leader epoch (-1 if the version has none). A partition without a
// leader gives -1; a missing topic or partition, or a node that does not
// answer, gives an error.
func (c *Cluster) partitionLeader(n int, topic string, partition int32) (leader, epoch int32, err error) {
	resp, err := c.Metadata(n, topic)
	if err != nil {
		return -1, -1, err
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return -1, -1, fmt.Errorf("node %d: topic %s: %w", n, topic, err)
		}
		for _, p := range t.Partitions {
			if p.Partition != partition {
				continue
			}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil && !errors.Is(err, kerr.LeaderNotAvailable) {
				return -1, -1, fmt.Errorf("node %d: %s/%d: %w", n, topic, partition, err)
			}
			return p.Leader, p.LeaderEpoch, nil
		}
		return -1, -1, fmt.Errorf("node %d: %s has no partition %d", n, topic, partition)
	}
	return -1, -1, fmt.Errorf("node %d: no topic %s in the answer", n, topic)
}

// LeaderOf returns the leader of topic/partition according to the first
// live broker, in node order, that answers a Metadata request about it; -1
// if no live node answers or the partition has no leader. Nodes may
// disagree for a moment after a change; WaitLeader waits for agreement
// with the leader itself.
func (c *Cluster) LeaderOf(topic string, partition int32) int32 {
	for _, id := range c.LiveBrokers() {
		if l, _, err := c.partitionLeader(id, topic, partition); err == nil {
			return l
		}
	}
	return -1
}

// WaitLeader waits until topic/partition has a leader other than not
// (pass -1 to accept any leader): some live broker names a leader L != not,
// L is itself live, and L's own Metadata names L. It returns L and how
// long the wait took, measured from the call, so calling it right after a
// fault (Kill, Pause, Cut) measures the failover time. On timeout it
// marks the test failed (t.Errorf, so it may run on any goroutine) and
// returns -1.
func (c *Cluster) WaitLeader(topic string, partition int32, not int32, timeout time.Duration) (leader int32, took time.Duration) {
	start := time.Now()
	var last error
	for {
		l, err := c.confirmedLeader(topic, partition, not)
		if err == nil {
			return l, time.Since(start)
		}
		last = err
		if time.Since(start) > timeout {
			c.t.Errorf("clustertest: %s/%d: no leader other than %d within %v: %v", topic, partition, not, timeout, last)
			return -1, time.Since(start)
		}
		time.Sleep(pollInterval)
	}
}

func (c *Cluster) confirmedLeader(topic string, partition int32, not int32) (int32, error) {
	live := c.LiveBrokers()
	var errs []error
	for _, id := range live {
		l, _, err := c.partitionLeader(id, topic, partition)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if l < 0 || l == not {
			errs = append(errs, fmt.Errorf("node %d names leader %d", id, l))
			continue
		}
		if !slices.Contains(live, int(l)) {
			errs = append(errs, fmt.Errorf("node %d names leader %d, which is not live", id, l))
			continue
		}
		self, _, err := c.partitionLeader(int(l), topic, partition)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if self != l {
			errs = append(errs, fmt.Errorf("node %d names leader %d, but node %d names %d", id, l, l, self))
			continue
		}
		return l, nil
	}
	if len(live) == 0 {
		return -1, errors.New("no live broker")
	}
	return -1, errors.Join(errs...)
}

// QuorumLeader asks the live controllers' CONTROLLER listeners, in node order,
// for the metadata quorum (DescribeQuorum on __cluster_metadata-0) and
// returns the leader and its epoch from the first that answers without
// error.
func (c *Cluster) QuorumLeader() (leader, epoch int32, err error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rp := kmsg.NewDescribeQuorumRequestTopicPartition()
	rp.Partition = 0
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	var errs []error
	ctls := c.Controllers()
	for _, id := range c.Live() {
		if !slices.Contains(ctls, id) {
			continue
		}
		kresp, err := c.ask(c.controllerProbe(), ctls, id, req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp := kresp.(*kmsg.DescribeQuorumResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			errs = append(errs, fmt.Errorf("node %d: DescribeQuorum: %w", id, err))
			continue
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			errs = append(errs, fmt.Errorf("node %d: DescribeQuorum answered %d topics", id, len(resp.Topics)))
			continue
		}
		p := resp.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			errs = append(errs, fmt.Errorf("node %d: DescribeQuorum: %w", id, err))
			continue
		}
		return p.LeaderID, p.LeaderEpoch, nil
	}
	if len(errs) == 0 {
		return -1, -1, errors.New("no live node")
	}
	return -1, -1, errors.Join(errs...)
}

// WaitQuorumLeader waits until QuorumLeader names a live leader other
// than not (-1: any), and returns it and the time taken since the call.
// On timeout it marks the test failed (t.Errorf) and returns -1.
func (c *Cluster) WaitQuorumLeader(not int32, timeout time.Duration) (leader int32, took time.Duration) {
	start := time.Now()
	for {
		l, _, err := c.QuorumLeader()
		if err == nil && l >= 0 && l != not && slices.Contains(c.Live(), int(l)) {
			return l, time.Since(start)
		}
		if err == nil {
			err = fmt.Errorf("quorum leader is %d", l)
		}
		if time.Since(start) > timeout {
			c.t.Errorf("clustertest: no metadata quorum leader other than %d within %v: %v", not, timeout, err)
			return -1, time.Since(start)
		}
		time.Sleep(pollInterval)
	}
}
