package broker

// DescribeLogDirs, versions 0-4 (KIP-113; v3 KIP-784 top-level error; v4
// KIP-827 total and usable bytes).
//
// Reports every log dir with the size of each partition this broker hosts,
// as leader or as follower (all of them for a null topic list, else only
// those asked for), and, for v4+, the file system's total and usable bytes
// (statfs). In a cluster each broker answers for its own replicas only, so
// a tool asks every broker (kadm's DescribeAllLogDirs does). Replicas are
// never "future" here (no intra-broker moves between log dirs); OffsetLag
// is Kafka's for a current replica, max(high watermark - log end offset,
// 0), which is 0 as a replica's high watermark never passes its log end.

import (
	"context"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/samsa-io/samsa/internal/protocol"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeLogDirs, 0, 4, handleDescribeLogDirs) }

func handleDescribeLogDirs(_ context.Context, b *Broker, _ *protocol.Conn, _ protocol.RequestHeader, req *kmsg.DescribeLogDirsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	var want map[string]map[int32]bool
	if req.Topics != nil {
		want = map[string]map[int32]bool{}
		for _, t := range req.Topics {
			if want[t.Topic] == nil {
				want[t.Topic] = map[int32]bool{}
			}
			for _, p := range t.Partitions {
				want[t.Topic][p] = true
			}
		}
	}
	byDir := map[string][]*replica.Partition{}
	for _, p := range b.replicas.All() {
		if want != nil && !want[p.Topic][p.Index] {
			continue
		}
		d := filepath.Dir(p.Log().Dir())
		byDir[d] = append(byDir[d], p)
	}
	for _, d := range b.replicas.Dirs() {
		sd := kmsg.NewDescribeLogDirsResponseDir()
		sd.Dir = d.Path()
		var st syscall.Statfs_t
		if err := syscall.Statfs(d.Path(), &st); err == nil {
			sd.TotalBytes = int64(st.Blocks) * st.Bsize
			sd.UsableBytes = int64(st.Bavail) * st.Bsize
		} else {
			sd.TotalBytes, sd.UsableBytes = -1, -1
		}
		parts := byDir[d.Path()]
		sort.Slice(parts, func(i, j int) bool {
			if parts[i].Topic != parts[j].Topic {
				return parts[i].Topic < parts[j].Topic
			}
			return parts[i].Index < parts[j].Index
		})
		for _, p := range parts {
			if n := len(sd.Topics); n == 0 || sd.Topics[n-1].Topic != p.Topic {
				sd.Topics = append(sd.Topics, kmsg.DescribeLogDirsResponseDirTopic{Topic: p.Topic})
			}
			t := &sd.Topics[len(sd.Topics)-1]
			t.Partitions = append(t.Partitions, kmsg.DescribeLogDirsResponseDirTopicPartition{
				Partition: p.Index, Size: p.Log().Size(), OffsetLag: max(p.HighWatermark()-p.LogEndOffset(), 0)})
		}
		resp.Dirs = append(resp.Dirs, sd)
	}
	return resp, nil
}
