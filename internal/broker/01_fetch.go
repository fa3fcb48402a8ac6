package broker

// Fetch, versions 0-17.
//
// A fetch reads whole batches from each requested partition at its fetch
// offset, never past the high watermark (read_uncommitted) or the last
// stable offset (read_committed, v4+: below the first offset of the oldest
// open transaction). A read_committed answer lists the aborted
// transactions (producer id, first offset) overlapping the fetched range,
// from the segments' .txnindex, so the client drops their records (Kafka's
// collectAbortedTransactions); read_uncommitted pays nothing for it. Limits: PartitionMaxBytes per partition and MaxBytes
// (v3+) per response, except that the first partition with data always
// returns at least one whole batch even if it is larger (KIP-74), so a
// consumer can never get stuck behind a big batch.
//
// Long poll: if fewer than MinBytes are ready, the request waits up to
// MaxWaitMillis, woken by every append to a partition it reads (a waiter
// registered with each partition, Kafka's delayed-fetch purgatory). Errors
// answer at once.
//
// v7+ may use incremental fetch sessions (KIP-227, fetch_session.go). v9+
// carries CurrentLeaderEpoch for fencing (KIP-320): older than ours is
// FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. v12+ is flexible; v13+
// names topics by id (KIP-516). v15+ moves the replica id into
// ReplicaState; v16+ answers NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH
// with the current leader and its endpoint (KIP-951, leader_hints.go); v17
// adds a KRaft directory id no consumer uses.
//
// Fetch from the closest replica (KIP-392), v11+, in a cluster. A consumer
// fetch of v11 or later may read a partition this broker follows, as in
// Kafka (FetchParams.fetchOnlyLeader): up to the follower's high watermark,
// which it learns from its leader's fetch responses, so it never serves a
// record the leader has not committed. An offset between that high
// watermark and the follower's log end gets nothing yet (the consumer
// waits, as at a leader's high watermark); one below the follower's log
// start or past its log end is OFFSET_OUT_OF_RANGE, after which clients go
// back to the leader. Kafka's brokers answer Fetch with OFFSET_NOT_AVAILABLE
// in no case (only ListOffsets does), and neither do we. Older versions,
// Produce and ListOffsets (consumers use replica id -1) stay leader-only:
// NOT_LEADER_OR_FOLLOWER on a follower. With replica.selector.class set to
// Kafka's RackAwareReplicaSelector, the leader answers a v11+ consumer
// whose rack (client.rack) is not the leader's broker.rack, for each
// partition with an in-sync follower in that rack, with no records and
// PreferredReadReplica naming the follower (see preferredReadReplica);
// otherwise PreferredReadReplica is -1. A follower never redirects. The
// leader's answer is immediate, like an error, and an incremental session
// always carries it. As in Kafka, a follower that leaves the ISR goes on
// serving what it has up to its high watermark; the leader stops choosing
// it, which the consumer learns when it comes back to the leader (its
// preferred replica expires after a while, or an error sends it back:
// FENCED_LEADER_EPOCH when the leadership moves, as the follower checks
// CurrentLeaderEpoch like a leader, or OFFSET_OUT_OF_RANGE).

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Fetch, 0, 17, handleFetch) }

// fetchRead is what one pass over the partitions produced.
type fetchRead struct {
	part      *cachedPartition
	p         *replica.Partition
	err       int16
	preferred int32              // KIP-392 preferred read replica, -1 for none
	records   []byte             // fileMark when the batches are in file
	file      *storage.FileRange // batches left in their segment file (sendfile)
	hw        int64
	lso       int64
	start     int64
	aborted   []storage.AbortedTxn // read_committed only
}

// fetchBufs recycles the buffers partitions are read into: one per Fetch,
// holding every partition's batches back to back. A buffer goes back once
// the connection's writer has written the response (Conn.AfterWrite); the
// response's RecordBatches point into it until then.
var fetchBufs = sync.Pool{New: func() any { return new(fetchBuf) }}

type fetchBuf struct {
	b     []byte
	files []*storage.FileRange // ranges of the current pass, closed on release
}

// fileMark stands in for records left in a file, for code that only asks
// whether a partition returned any.
var fileMark = []byte{0}

func (f *fetchBuf) closeFiles() {
	for _, r := range f.files {
		r.Close()
	}
	clear(f.files)
	f.files = f.files[:0]
}

// maxPooledFetchBuf bounds the buffers kept for reuse; rarer bigger
// responses get a fresh one that the GC reclaims.
const maxPooledFetchBuf = 16 << 20

func (f *fetchBuf) release() {
	f.closeFiles()
	if cap(f.b) > maxPooledFetchBuf {
		return
	}
	f.b = f.b[:0]
	fetchBufs.Put(f)
}

func handleFetch(ctx context.Context, b *Broker, c *protocol.Conn, _ protocol.RequestHeader, req *kmsg.FetchRequest) (kmsg.Response, error) {
	if replicaID(req) >= 0 && b.cluster != nil {
		return handleReplicaFetch(ctx, b, req)
	}
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	now := time.Now()
	im := b.meta.Image()

	// Resolve the request's partitions (names from ids on v13+).
	var reqParts []cachedPartition
	for _, rt := range req.Topics {
		name := rt.Topic
		if req.Version >= 13 {
			name = topicNameForID(im, rt.TopicID)
		}
		for _, rp := range rt.Partitions {
			reqParts = append(reqParts, cachedPartition{
				partKey: partKey{topic: name, partition: rp.Partition}, topicID: rt.TopicID,
				fetchOffset: rp.FetchOffset, maxBytes: rp.PartitionMaxBytes,
				currentLeaderEpoch: rp.CurrentLeaderEpoch,
			})
		}
	}

	// Session handling (KIP-227).
	var sess *fetchSession
	incremental := false
	const finalEpoch = -1
	if req.Version >= 7 {
		switch {
		case req.SessionID == 0 && req.SessionEpoch == 0:
			sess = b.sessions.create(now)
		case req.SessionID != 0 && req.SessionEpoch == finalEpoch:
			b.sessions.remove(req.SessionID)
		case req.SessionID != 0 && req.SessionEpoch == 0:
			b.sessions.remove(req.SessionID)
			sess = b.sessions.create(now)
		case req.SessionID != 0:
			sess = b.sessions.get(req.SessionID)
			if sess == nil {
				resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
				return resp, nil
			}
			incremental = true
		case req.SessionEpoch != finalEpoch:
			// An incremental epoch without a session id: Kafka looks up
			// session 0, which never exists.
			resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
			return resp, nil
		}
	}
	var parts []*cachedPartition
	if sess != nil {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		if incremental && req.SessionEpoch != sess.epoch {
			resp.ErrorCode = kerr.InvalidFetchSessionEpoch.Code
			return resp, nil
		}
		for _, cp := range reqParts {
			sess.upsert(cp)
		}
		for _, ft := range req.ForgottenTopics {
			name := ft.Topic
			if req.Version >= 13 {
				name = topicNameForID(im, ft.TopicID)
			}
			for _, p := range ft.Partitions {
				sess.forget(partKey{topic: name, partition: p})
			}
		}
		if incremental && len(sess.parts) == 0 {
			// Everything was forgotten: Kafka drops the session and
			// answers as a sessionless fetch (session id 0).
			b.sessions.remove(sess.id)
			return resp, nil
		}
		sess.epoch++
		if sess.epoch < 0 {
			sess.epoch = 1
		}
		parts = sess.parts
		resp.SessionID = sess.id
	} else {
		parts = make([]*cachedPartition, len(reqParts))
		for i := range reqParts {
			reqParts[i].hw, reqParts[i].lso, reqParts[i].logStart = -1, -1, -1
			parts[i] = &reqParts[i]
		}
	}

	maxBytes := int(req.MaxBytes)
	if req.Version < 3 || maxBytes <= 0 {
		maxBytes = math.MaxInt32
	}
	o := fetchOpts{maxBytes: maxBytes, readCommitted: req.Version >= 4 && req.IsolationLevel == 1}
	if req.Version >= 11 && b.cluster != nil {
		o.followerReads, o.rack = true, req.Rack
	}
	if c != nil {
		o.listener = c.Listener
	}
	readCommitted := o.readCommitted
	maxWait := time.Duration(req.MaxWaitMillis) * time.Millisecond
	deadline := now.Add(maxWait)

	reads := make([]fetchRead, len(parts))
	buf := new(fetchBuf)
	// Large responses go out with sendfile from the segment files (Kafka's
	// FileRecords.writeTo): fetchOnce takes file ranges rather than bytes,
	// and what turns out smaller than protocol.MinSpliceBytes is read
	// below, since copying is cheaper then.
	if c != nil {
		buf = fetchBufs.Get().(*fetchBuf)
		c.AfterWrite(buf.release)
		o.files = c.CanSendFile()
	}
	useFiles := o.files
	var waiter *replica.Waiter
	var timer *time.Timer
	defer func() {
		if waiter != nil {
			waiter.Close()
		}
		if timer != nil {
			timer.Stop()
		}
	}()
	total := 0
	for {
		var answerNow bool
		total, answerNow = b.fetchOnce(parts, reads, buf, o)
		if answerNow || total >= int(req.MinBytes) || maxWait <= 0 || ctx.Err() != nil {
			break
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		if waiter == nil {
			ps := make([]*replica.Partition, 0, len(reads))
			for i := range reads {
				if reads[i].p != nil {
					ps = append(ps, reads[i].p)
				}
			}
			waiter = replica.NewWaiter(ps)
			timer = time.NewTimer(left)
			// An append may have landed between the read and registering.
			if total, _ = b.fetchOnce(parts, reads, buf, o); total >= int(req.MinBytes) {
				break
			}
		} else {
			timer.Reset(left)
		}
		select {
		case <-waiter.C():
		case <-timer.C:
		case <-ctx.Done():
		}
	}

	if useFiles && total < protocol.MinSpliceBytes {
		b.readFiles(reads, buf)
	}

	// Build the response; an incremental one carries only what changed.
	var cur *kmsg.FetchResponseTopic
	rotate := false
	for i := range reads {
		r := &reads[i]
		cp := r.part
		if incremental && r.err == 0 && r.preferred < 0 && len(r.records) == 0 &&
			r.hw == cp.hw && r.lso == cp.lso && r.start == cp.logStart {
			continue
		}
		cp.hw, cp.lso, cp.logStart = r.hw, r.lso, r.start
		if cur == nil || cur.Topic != cp.topic || (req.Version >= 13 && cur.TopicID != cp.topicID) {
			resp.Topics = append(resp.Topics, kmsg.FetchResponseTopic{Topic: cp.topic, TopicID: cp.topicID})
			cur = &resp.Topics[len(resp.Topics)-1]
		}
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.Partition = cp.partition
		rp.ErrorCode = r.err
		rp.HighWatermark = r.hw
		rp.LastStableOffset = r.lso
		rp.LogStartOffset = r.start
		rp.PreferredReadReplica = r.preferred
		rp.RecordBatches = r.records
		if readCommitted {
			rp.AbortedTransactions = make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, 0, len(r.aborted))
			for _, a := range r.aborted {
				at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
				at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
				rp.AbortedTransactions = append(rp.AbortedTransactions, at)
			}
		}
		if r.file != nil {
			rp.RecordBatches = []byte{}
			c.SendFile(len(resp.Topics)-1, len(cur.Partitions), r.file)
		}
		rotate = rotate || len(r.records) > 0
		if rp.RecordBatches == nil {
			// Kafka always sends a (possibly empty) record set; librdkafka
			// rejects a null one.
			rp.RecordBatches = []byte{}
		}
		cur.Partitions = append(cur.Partitions, rp)
	}
	if sess != nil {
		if rotate {
			sess.rotate(reads)
		}
		b.sessions.touch(sess, time.Now())
	}
	b.addFetchLeaderHints(resp, o.listener)
	return resp, nil
}

// topicNameForID resolves a topic id for the session's keys. An unknown id
// gets a key of its own (it cannot be a topic name: names never contain
// NUL), so two unknown topics never overwrite each other's partitions.
func topicNameForID(im *metadata.Image, id [16]byte) string {
	if t := im.TopicByID(id); t != nil {
		return t.Name
	}
	return "\x00" + string(id[:])
}

func unknownTopicID(name string) bool { return name == "" || name[0] == 0 }

// fetchOpts are a consumer Fetch's settings for fetchOnce.
type fetchOpts struct {
	maxBytes      int
	readCommitted bool
	files         bool   // take batches as file ranges (sendfile)
	followerReads bool   // v11+ in a cluster: followers serve too (KIP-392)
	rack          string // the client's rack (v11+)
	listener      string // the listener the request came in on
}

// fetchOnce reads every partition once into reads, their batches into buf
// (reset first: a pass replaces the previous one). It reports the bytes read
// and whether the fetch must be answered at once: a partition failed, or
// the leader sends the client to a preferred read replica.
//
// With o.files it takes the batches as file ranges (buf.files) instead.
func (b *Broker) fetchOnce(parts []*cachedPartition, reads []fetchRead, buf *fetchBuf, o fetchOpts) (total int, answerNow bool) {
	maxBytes, readCommitted, files := o.maxBytes, o.readCommitted, o.files
	buf.b = buf.b[:0]
	buf.closeFiles()
	minOne := true
	failed := false
	for i, cp := range parts {
		r := &reads[i]
		*r = fetchRead{part: cp, preferred: -1, hw: -1, lso: -1, start: -1}
		if unknownTopicID(cp.topic) {
			r.err = kerr.UnknownTopicID.Code
			failed = true
			continue
		}
		p, code := b.fetchPartition(cp.topic, cp.partition, o.followerReads)
		if p == nil {
			r.err = code
			failed = true
			continue
		}
		r.p = p
		r.hw, r.lso, r.start = p.HighWatermark(), p.LastStableOffset(), p.LogStartOffset()
		if e := cp.currentLeaderEpoch; e >= 0 {
			if cur := p.LeaderEpoch(); e < cur {
				r.err = kerr.FencedLeaderEpoch.Code
				failed = true
				continue
			} else if e > cur {
				r.err = kerr.UnknownLeaderEpoch.Code
				failed = true
				continue
			}
		}
		if o.rack != "" && p.IsLeader() {
			// Kafka's ReplicaManager.readFromLog: a preferred replica
			// replaces the read.
			if id := b.preferredReadReplica(p, cp.fetchOffset, o.rack, o.listener); id >= 0 {
				r.preferred = id
				failed = true
				continue
			}
		}
		limit := min(int(cp.maxBytes), maxBytes-total)
		if limit <= 0 && !minOne {
			continue
		}
		upTo := r.hw
		if readCommitted {
			upTo = r.lso
		}
		var err error
		if cp.fetchOffset > upTo && cp.fetchOffset <= p.LogEndOffset() {
			continue // between the high watermark and the log end: nothing yet
		}
		// Earlier partitions' records stay valid if buf.b grows: they keep
		// the old array alive.
		n := 0
		if files {
			var fr *storage.FileRange
			fr, err = p.ReadRange(cp.fetchOffset, max(limit, 0), upTo, minOne)
			if fr != nil {
				buf.files = append(buf.files, fr)
				r.file, r.records, n = fr, fileMark, int(fr.Len())
			}
		} else {
			start := len(buf.b)
			buf.b, err = p.ReadAppend(buf.b, cp.fetchOffset, max(limit, 0), upTo, minOne)
			if len(buf.b) > start {
				r.records = buf.b[start:len(buf.b):len(buf.b)]
				n = len(r.records)
			}
		}
		if err != nil {
			r.err = errorCode(err)
			if !errors.Is(err, storage.ErrOffsetOutOfRange) {
				b.log.Error("fetch read failed", "topic", cp.topic, "partition", cp.partition, "err", err)
			}
			failed = true
			continue
		}
		if n > 0 {
			total += n
			minOne = false
			if readCommitted {
				// Every transaction aborted within [fetch offset, LSO) covers
				// at most what was returned and what a later fetch gets.
				r.aborted = p.Log().AbortedTransactions(cp.fetchOffset, upTo)
			}
		}
	}
	return total, failed
}

// fetchPartition returns the partition a consumer fetch may read here: one
// this broker leads or, with followerReads (Fetch v11+ in a cluster,
// KIP-392), one it follows. Otherwise it returns the error code for the
// client, as leaderPartition does.
func (b *Broker) fetchPartition(topic string, idx int32, followerReads bool) (*replica.Partition, int16) {
	if followerReads {
		if p := b.replicas.Partition(topic, idx); p != nil && p.IsFollower() {
			return p, 0
		}
	}
	return b.leaderPartition(topic, idx)
}

// preferredReadReplica is the replica that a consumer in rack, reading p at
// fetchOffset, should fetch from instead of this leader, or -1 for this
// leader, following Kafka's RackAwareReplicaSelector as
// ReplicaManager.findPreferredReadReplica drives it: only with that
// selector configured; never when this leader is in the client's rack;
// otherwise the in-sync followers in that rack whose logs hold fetchOffset
// (replica.ReadReplicas) and that are alive with an endpoint on the
// client's listener, the one with the largest log end offset winning, then
// the one caught up most recently, then the highest id.
func (b *Broker) preferredReadReplica(p *replica.Partition, fetchOffset int64, rack, listener string) int32 {
	if b.cfg.ReplicaSelectorClass != config.RackAwareReplicaSelector || b.cluster == nil || rack == "" || rack == b.cfg.BrokerRack {
		return -1
	}
	im := b.cluster.Image()
	best := replica.ReadReplica{ID: -1}
	for _, rr := range p.ReadReplicas(fetchOffset, time.Now()) {
		br := im.Brokers[rr.ID]
		if br == nil || br.Fenced || br.Rack != rack {
			continue
		}
		if _, ok := br.Endpoint(listener); !ok && listener != "" {
			continue
		}
		if best.ID < 0 || betterReadReplica(rr, best) {
			best = rr
		}
	}
	return best.ID
}

// betterReadReplica orders candidates as Kafka's ReplicaView.comparator,
// whose largest the rack-aware selector picks: the larger log end offset,
// then the shorter time since last caught up, then the larger id.
func betterReadReplica(a, b replica.ReadReplica) bool {
	if a.LogEndOffset != b.LogEndOffset {
		return a.LogEndOffset > b.LogEndOffset
	}
	if a.SinceCaughtUp != b.SinceCaughtUp {
		return a.SinceCaughtUp < b.SinceCaughtUp
	}
	return a.ID > b.ID
}

// readFiles reads the file ranges of reads into buf (the copy path, for a
// response too small to be worth sendfile).
func (b *Broker) readFiles(reads []fetchRead, buf *fetchBuf) {
	for i := range reads {
		r := &reads[i]
		if r.file == nil {
			continue
		}
		start := len(buf.b)
		var err error
		buf.b, err = r.file.AppendTo(buf.b)
		r.file, r.records = nil, nil
		if err != nil {
			r.err = errorCode(err)
			b.log.Error("fetch read failed", "topic", r.part.topic, "partition", r.part.partition, "err", err)
			continue
		}
		// Earlier partitions' records stay valid if buf.b grows.
		r.records = buf.b[start:len(buf.b):len(buf.b)]
	}
	buf.closeFiles()
}
