package broker

import (
	"context"
	"time"

	"github.com/samsa-io/samsa/internal/replica"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// replicaID returns the id of the broker sending a Fetch as a follower, or
// -1 for consumers (Fetch v15 moved it into ReplicaState).
func replicaID(req *kmsg.FetchRequest) int32 {
	if req.Version >= 15 {
		return req.ReplicaState.ID
	}
	return req.ReplicaID
}

// handleReplicaFetch serves a follower's Fetch as the partitions' leader
// (Kafka's ReplicaManager.fetchMessages for a follower): it records the
// follower's position (its fetch offset is its log end), which may move the
// high watermark and grow the ISR; checks the follower's last fetched epoch
// against this log (KIP-320: a diverging follower gets the epoch and end
// offset to truncate to, and no records); and returns records up to the log
// end, not the high watermark. It waits up to MaxWaitMillis when there is
// nothing to send. No fetch sessions: followers send full requests.
func handleReplicaFetch(ctx context.Context, b *Broker, req *kmsg.FetchRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	follower := replicaID(req)
	im := b.meta.Image()
	type slot struct {
		sp *kmsg.FetchResponseTopicPartition
		rp *kmsg.FetchRequestTopicPartition
		p  *replica.Partition
	}
	var slots []slot
	var parts []*replica.Partition
	for ti := range req.Topics {
		rt := &req.Topics[ti]
		name := rt.Topic
		if req.Version >= 13 {
			name = topicNameForID(im, rt.TopicID)
		}
		st := kmsg.FetchResponseTopic{Topic: name, TopicID: rt.TopicID}
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		resp.Topics = append(resp.Topics, st)
		for pi := range rt.Partitions {
			rp := &rt.Partitions[pi]
			sp := &resp.Topics[len(resp.Topics)-1].Partitions[pi]
			*sp = kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			p, code := b.leaderPartition(name, rp.Partition)
			if p == nil {
				sp.ErrorCode = code
				continue
			}
			if cur := p.LeaderEpoch(); rp.CurrentLeaderEpoch >= 0 && rp.CurrentLeaderEpoch < cur {
				sp.ErrorCode = kerr.FencedLeaderEpoch.Code
				continue
			} else if rp.CurrentLeaderEpoch > cur {
				sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
				continue
			}
			slots = append(slots, slot{sp: sp, rp: rp, p: p})
			parts = append(parts, p)
		}
	}
	// Positions first, as they move the high watermark the response
	// reports; but only of followers whose log agrees with this one up to
	// their fetch offset: a diverging follower's offset says nothing about
	// what it has of this leader's log (KIP-320).
	for _, s := range slots {
		p, rp, sp := s.p, s.rp, s.sp
		if req.Version >= 12 && rp.LastFetchedEpoch >= 0 {
			epoch, end := p.Log().EndOffsetForEpoch(rp.LastFetchedEpoch)
			if epoch != rp.LastFetchedEpoch || end < rp.FetchOffset {
				sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset = epoch, end
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = p.HighWatermark(), p.LastStableOffset(), p.LogStartOffset()
				continue
			}
		}
		if rp.FetchOffset < p.LogStartOffset() || rp.FetchOffset > p.LogEndOffset() {
			sp.ErrorCode = kerr.OffsetOutOfRange.Code
			sp.HighWatermark, sp.LogStartOffset = p.HighWatermark(), p.LogStartOffset()
			continue
		}
		if err := p.UpdateFollower(follower, rp.FetchOffset, rp.LogStartOffset); err != nil {
			sp.ErrorCode = errorCode(err)
		}
	}
	fill := func() int {
		total := 0
		for _, s := range slots {
			if s.sp.ErrorCode != 0 || s.sp.DivergingEpoch.EndOffset >= 0 {
				continue
			}
			p, rp, sp := s.p, s.rp, s.sp
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = p.HighWatermark(), p.LastStableOffset(), p.LogStartOffset()
			leo := p.LogEndOffset()
			switch {
			case rp.FetchOffset < p.LogStartOffset() || rp.FetchOffset > leo:
				sp.ErrorCode = kerr.OffsetOutOfRange.Code
				continue
			case rp.FetchOffset == leo:
				continue
			}
			limit := int(rp.PartitionMaxBytes)
			if m := int(req.MaxBytes); m > 0 {
				limit = min(limit, max(m-total, 0))
			}
			data, err := p.ReadAppend(nil, rp.FetchOffset, limit, leo, total == 0)
			if err != nil {
				sp.ErrorCode = errorCode(err)
				continue
			}
			sp.RecordBatches = data
			total += len(data)
		}
		return total
	}
	n := fill()
	if n > 0 || req.MaxWaitMillis <= 0 || len(parts) == 0 {
		return resp, nil
	}
	for _, s := range slots {
		if s.sp.ErrorCode != 0 || s.sp.DivergingEpoch.EndOffset >= 0 {
			return resp, nil
		}
	}
	w := replica.NewWaiter(parts)
	defer w.Close()
	timer := time.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	defer timer.Stop()
	hw := make([]int64, len(slots))
	for i, s := range slots {
		hw[i] = s.sp.HighWatermark
	}
	for {
		select {
		case <-ctx.Done():
			return resp, nil
		case <-timer.C:
			fill()
			return resp, nil
		case <-w.C():
		}
		moved := false
		for i, s := range slots {
			if s.p.LogEndOffset() > s.rp.FetchOffset || s.p.HighWatermark() != hw[i] || !s.p.IsLeader() {
				moved = true
			}
		}
		if moved {
			fill()
			return resp, nil
		}
	}
}
