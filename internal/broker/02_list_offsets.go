package broker

// ListOffsets, versions 0-9.
//
// Special timestamps: -1 latest (the high watermark, or the last stable
// offset for read_committed, v2+ KIP-98), -2 earliest (the log start offset),
// -3 the record with the largest timestamp (v7+, KIP-734), -4 earliest local
// (v8+, KIP-405; without tiered storage the log start offset), -5 latest
// tiered (v9+, KIP-1005; without tiered storage offset -1). Any other value
// finds the first record whose timestamp is at or after it; none (or one at
// or past the high watermark) answers offset -1, timestamp -1. v0 answers in
// OldStyleOffsets. v4+ checks CurrentLeaderEpoch (KIP-320) and returns the
// leader epoch of the found offset.

import (
	"context"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListOffsets, 0, 9, handleListOffsets) }

const (
	listLatest        = -1
	listEarliest      = -2
	listMaxTimestamp  = -3
	listEarliestLocal = -4
	listLatestTiered  = -5
)

func handleListOffsets(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.ListOffsetsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	readCommitted := req.Version >= 2 && req.IsolationLevel == 1
	for _, rt := range req.Topics {
		st := kmsg.ListOffsetsResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			p, code := b.leaderPartition(rt.Topic, rp.Partition)
			switch {
			case p == nil:
				sp.ErrorCode = code
			case req.Version >= 4 && rp.CurrentLeaderEpoch >= 0 && rp.CurrentLeaderEpoch < p.LeaderEpoch():
				sp.ErrorCode = kerr.FencedLeaderEpoch.Code
			case req.Version >= 4 && rp.CurrentLeaderEpoch > p.LeaderEpoch():
				sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
			default:
				ts, off, epoch, err := listOffset(p, rp.Timestamp, readCommitted)
				if err != nil {
					sp.ErrorCode = errorCode(err)
					b.log.Error("list offsets failed", "topic", rt.Topic, "partition", rp.Partition, "err", err)
					break
				}
				sp.Timestamp, sp.Offset, sp.LeaderEpoch = ts, off, epoch
				if req.Version == 0 {
					sp.OldStyleOffsets = []int64{}
					if off >= 0 && rp.MaxNumOffsets > 0 {
						sp.OldStyleOffsets = []int64{off}
					}
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// listOffset resolves one ListOffsets query to (timestamp, offset, epoch).
func listOffset(p *replica.Partition, ts int64, readCommitted bool) (int64, int64, int32, error) {
	fetchable := p.HighWatermark()
	if readCommitted {
		fetchable = p.LastStableOffset()
	}
	epoch := p.LeaderEpoch()
	switch ts {
	case listLatest:
		return -1, fetchable, epoch, nil
	case listEarliest, listEarliestLocal:
		return -1, p.LogStartOffset(), epoch, nil
	case listLatestTiered:
		return -1, -1, -1, nil
	case listMaxTimestamp:
		t, off, e, ok, err := p.Log().MaxTimestamp()
		if err != nil || !ok || off >= fetchable {
			return -1, -1, -1, err
		}
		return t, off, e, nil
	}
	off, t, e, ok, err := p.Log().OffsetForTimestamp(ts)
	if err != nil || !ok || off >= fetchable {
		return -1, -1, -1, err
	}
	return t, off, e, nil
}
