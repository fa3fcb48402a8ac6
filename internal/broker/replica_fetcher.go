package broker

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// Replica fetchers (Kafka's ReplicaFetcherThread): one goroutine per leader
// broker fetches every partition this broker follows from that leader,
// with the Fetch API as a replica (Fetch v12: replica id, last fetched
// epoch). The leader answers a follower whose log diverged from its own
// with the diverging epoch and its end (KIP-320); the follower truncates
// there and fetches again. The reconcile loop assigns and removes
// partitions; the fetcher owns the fetch positions (its partitions' logs).

type fetchers struct {
	c  *cluster
	mu sync.Mutex
	by map[int32]*fetcher // leader id -> fetcher
	of map[replica.TopicPartition]int32
	// stopped are fetchers left without partitions: told to stop, and
	// waited for by close.
	stopped []*fetcher
}

func newFetchers(c *cluster) *fetchers {
	return &fetchers{c: c, by: map[int32]*fetcher{}, of: map[replica.TopicPartition]int32{}}
}

type fetchPart struct {
	p     *replica.Partition
	epoch int32
}

type fetcher struct {
	fs     *fetchers
	leader int32
	mu     sync.Mutex
	parts  map[replica.TopicPartition]*fetchPart
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	cl     *kgo.Client
	addr   string
}

// assign makes tp follow leader at epoch.
func (f *fetchers) assign(tp replica.TopicPartition, p *replica.Partition, leader, epoch int32, changed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.of[tp]; ok && old != leader {
		f.removeLocked(old, tp)
	}
	if leader < 0 {
		delete(f.of, tp)
		return
	}
	ft := f.by[leader]
	if ft == nil {
		// A stopped fetcher of this leader may still be applying its last
		// response: two fetchers must never append to one partition.
		// (The fetcher goroutines never take f.mu.)
		live := f.stopped[:0]
		for _, old := range f.stopped {
			if old.leader == leader {
				<-old.done
			}
			select {
			case <-old.done:
			default:
				live = append(live, old)
			}
		}
		clear(f.stopped[len(live):])
		f.stopped = live
		ft = &fetcher{fs: f, leader: leader, parts: map[replica.TopicPartition]*fetchPart{}, wake: make(chan struct{}, 1),
			stop: make(chan struct{}), done: make(chan struct{})}
		f.by[leader] = ft
		go ft.run()
	}
	f.of[tp] = leader
	ft.mu.Lock()
	ft.parts[tp] = &fetchPart{p: p, epoch: epoch}
	ft.mu.Unlock()
	select {
	case ft.wake <- struct{}{}:
	default:
	}
}

func (f *fetchers) remove(tp replica.TopicPartition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.of[tp]; ok {
		f.removeLocked(old, tp)
		delete(f.of, tp)
	}
}

// removeLocked takes tp from leader's fetcher and stops the fetcher (and
// its connection) when it has nothing left to fetch.
func (f *fetchers) removeLocked(leader int32, tp replica.TopicPartition) {
	ft := f.by[leader]
	if ft == nil {
		return
	}
	ft.mu.Lock()
	delete(ft.parts, tp)
	empty := len(ft.parts) == 0
	ft.mu.Unlock()
	if empty {
		delete(f.by, leader)
		close(ft.stop)
		f.stopped = append(f.stopped, ft)
	}
}

func (f *fetchers) close() {
	f.mu.Lock()
	fts := make([]*fetcher, 0, len(f.by))
	for _, ft := range f.by {
		close(ft.stop)
		fts = append(fts, ft)
	}
	fts = append(fts, f.stopped...)
	f.by, f.stopped = map[int32]*fetcher{}, nil
	f.mu.Unlock()
	for _, ft := range fts {
		<-ft.done
	}
}

func (ft *fetcher) client() (*kgo.Client, error) {
	c := ft.fs.c
	br := c.q.Image().Brokers[ft.leader]
	if br == nil {
		return nil, errors.New("leader is not registered")
	}
	ep, ok := br.Endpoint(c.b.cfg.InterBrokerListenerName)
	if !ok {
		return nil, errors.New("leader has no inter-broker listener")
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	if ft.cl != nil && ft.addr == addr {
		return ft.cl, nil
	}
	if ft.cl != nil {
		ft.cl.Close()
	}
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(kmsg.Fetch.Int16(), 12)
	cl, err := controller.NodeClient(addr, c.localHost, "samsa-replica-fetcher",
		kgo.MaxVersions(versions), kgo.BrokerMaxReadBytes(256<<20))
	if err != nil {
		return nil, err
	}
	ft.cl, ft.addr = cl, addr
	return cl, nil
}

func (ft *fetcher) run() {
	defer close(ft.done)
	defer func() {
		if ft.cl != nil {
			ft.cl.Close()
		}
	}()
	c := ft.fs.c
	backoff := time.Duration(max(c.b.cfg.ReplicaFetchBackoffMs, 10)) * time.Millisecond
	for {
		select {
		case <-ft.stop:
			return
		default:
		}
		ft.mu.Lock()
		parts := make(map[replica.TopicPartition]*fetchPart, len(ft.parts))
		for tp, fp := range ft.parts {
			parts[tp] = fp
		}
		ft.mu.Unlock()
		if len(parts) == 0 {
			select {
			case <-ft.stop:
				return
			case <-ft.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		if err := ft.fetchOnce(parts); err != nil {
			select {
			case <-ft.stop:
				return
			case <-time.After(backoff):
			}
		}
	}
}

func (ft *fetcher) fetchOnce(parts map[replica.TopicPartition]*fetchPart) error {
	c := ft.fs.c
	cl, err := ft.client()
	if err != nil {
		return err
	}
	seeds := cl.SeedBrokers()
	if len(seeds) == 0 {
		return errors.New("no connection")
	}
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = c.b.nodeID
	req.MaxWaitMillis = c.b.cfg.ReplicaFetchWaitMaxMs
	req.MinBytes = max(c.b.cfg.ReplicaFetchMinBytes, 1)
	req.MaxBytes = c.b.cfg.ReplicaFetchResponseMaxBytes
	req.SessionID, req.SessionEpoch = 0, -1
	byTopic := map[string]int{}
	for tp, fp := range parts {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[tp.Topic] = i
			req.Topics = append(req.Topics, kmsg.FetchRequestTopic{Topic: tp.Topic})
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = tp.Partition
		rp.CurrentLeaderEpoch = fp.epoch
		rp.FetchOffset = fp.p.LogEndOffset()
		rp.LastFetchedEpoch = fp.p.Log().LatestEpoch()
		rp.LogStartOffset = fp.p.LogStartOffset()
		rp.PartitionMaxBytes = c.b.cfg.ReplicaFetchMaxBytes
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(req.MaxWaitMillis)*time.Millisecond+10*time.Second)
	defer cancel()
	go func() {
		select {
		case <-ft.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	r, err := seeds[0].Request(ctx, req)
	if err != nil {
		return err
	}
	resp := r.(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		return kerr.ErrorForCode(resp.ErrorCode)
	}
	var failed error
	for _, t := range resp.Topics {
		for _, sp := range t.Partitions {
			tp := replica.TopicPartition{Topic: t.Topic, Partition: sp.Partition}
			fp := parts[tp]
			if fp == nil {
				continue
			}
			if err := ft.handle(tp, fp, sp); err != nil {
				failed = err
			}
		}
	}
	return failed
}

func (ft *fetcher) handle(tp replica.TopicPartition, fp *fetchPart, sp kmsg.FetchResponseTopicPartition) error {
	c := ft.fs.c
	p := fp.p
	switch sp.ErrorCode {
	case 0:
	case kerr.OffsetOutOfRange.Code:
		// Behind the leader's log start (retention moved it): start over
		// there. Ahead of its log end cannot happen with epochs checked.
		if p.LogEndOffset() < sp.LogStartOffset {
			c.log.Warn("follower is behind the leader's log start; restarting the replica there", "topic", tp.Topic, "partition", tp.Partition, "leader_log_start", sp.LogStartOffset)
			return p.RestartAt(sp.LogStartOffset, fp.epoch)
		}
		return kerr.ErrorForCode(sp.ErrorCode)
	default:
		// NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH: wait for the
		// metadata to catch up; the reconcile loop reassigns.
		return kerr.ErrorForCode(sp.ErrorCode)
	}
	if de := sp.DivergingEpoch; de.EndOffset >= 0 || de.Epoch >= 0 {
		// Our log has records the leader does not: cut back to where the
		// two agree, as Kafka's fetcher does. When both logs have the
		// diverging epoch, to the smaller of their ends of it; when ours
		// does not, to the end of our last epoch before it, and ask again;
		// when the leader has no epoch that old, to our high watermark.
		var to int64
		switch myEpoch, myEnd := p.Log().EndOffsetForEpoch(de.Epoch); {
		case de.Epoch < 0:
			to = p.HighWatermark()
		case myEpoch == de.Epoch:
			to = min(de.EndOffset, myEnd)
		default:
			to = myEnd
		}
		c.log.Info("truncating a follower whose log diverged from the leader's", "topic", tp.Topic, "partition", tp.Partition,
			"from", p.LogEndOffset(), "to", to, "epoch", de.Epoch)
		return p.TruncateTo(to, fp.epoch)
	}
	if len(sp.RecordBatches) > 0 {
		if err := p.AppendAsFollower(sp.RecordBatches, fp.epoch); err != nil {
			if errors.Is(err, replica.ErrStale) {
				return nil // the reconcile loop has moved the partition
			}
			c.log.Warn("appending replicated records failed", "topic", tp.Topic, "partition", tp.Partition, "err", err)
			return err
		}
	}
	p.SetFollowerHW(sp.HighWatermark)
	// The leader's log start (DeleteRecords, retention) moves the
	// follower's too, so a later leader does not serve deleted records.
	if start := min(sp.LogStartOffset, p.LogEndOffset()); start > p.LogStartOffset() {
		if _, err := p.Log().DeleteRecordsBefore(start); err != nil {
			return err
		}
	}
	return nil
}
