package group

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memStore is an in-memory __consumer_offsets: batches appended per
// partition with offsets assigned, read back from an offset.
type memStore struct {
	mu      sync.Mutex
	batches map[int32][][]byte
	next    map[int32]int64
}

func newMemStore() *memStore {
	return &memStore{batches: map[int32][][]byte{}, next: map[int32]int64{}}
}

func (s *memStore) Append(p int32, h record.Header) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append([]byte(nil), h...)
	base := s.next[p]
	record.Header(b).SetBaseOffset(base)
	s.next[p] += int64(record.Header(b).LastOffsetDelta()) + 1
	s.batches[p] = append(s.batches[p], b)
	return base, nil
}

func (s *memStore) WriteMarker(int32, int64, int16, bool, int32) (int64, error) {
	return 0, errors.New("memStore keeps no transactions")
}

func (s *memStore) Read(p int32, offset int64, maxBytes int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []byte
	for _, b := range s.batches[p] {
		h := record.Header(b)
		if h.LastOffset() < offset {
			continue
		}
		if len(out) > 0 && len(out)+len(b) > maxBytes {
			break
		}
		out = append(out, b...)
	}
	return out, nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func commit(t *testing.T, c *Coordinator, group string, partition int32, offset int64) {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(8)
	req.Group, req.Generation, req.MemberID = group, -1, ""
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "orders"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := c.CommitOffsets(req, func(string, int32) bool { return true })
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("commit %s/%d: error %d", group, partition, code)
	}
}

func committed(t *testing.T, c *Coordinator, group string) map[int32]int64 {
	t.Helper()
	topics, code := c.FetchOffsets(group, nil, true, nil, -1, false)
	if code != 0 {
		t.Fatalf("fetch offsets of %s: error %d", group, code)
	}
	out := map[int32]int64{}
	for _, ft := range topics {
		for _, p := range ft.Partitions {
			if p.Offset >= 0 {
				out[p.Partition] = p.Offset
			}
		}
	}
	return out
}

// Offsets of a group without a protocol type (manual assignment) expire
// offsets.retention.minutes after their commit (KIP-211), the expiry is
// written as tombstones so it survives a reload, and younger offsets stay.
func TestOffsetsExpireAfterRetention(t *testing.T) {
	store := newMemStore()
	clock := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	cfg := Config{OffsetsRetention: time.Hour, RetentionCheck: time.Hour, Now: clock.Now}
	c := New(cfg, 1, store, nil)
	defer c.Close()
	if err := c.LoadPartition(0); err != nil {
		t.Fatal(err)
	}
	commit(t, c, "manual", 0, 10)
	clock.add(40 * time.Minute)
	commit(t, c, "manual", 1, 20)

	clock.add(30 * time.Minute) // partition 0's commit is 70 minutes old, partition 1's 30
	c.ExpireOffsets()
	if got := committed(t, c, "manual"); len(got) != 1 || got[1] != 20 {
		t.Fatalf("after the first expiry pass: %v, want only partition 1 at 20", got)
	}

	// A fresh coordinator over the same log sees the same state.
	c2 := New(cfg, 1, store, nil)
	defer c2.Close()
	if err := c2.LoadPartition(0); err != nil {
		t.Fatal(err)
	}
	if got := committed(t, c2, "manual"); len(got) != 1 || got[1] != 20 {
		t.Fatalf("after reload: %v, want only partition 1 at 20", got)
	}

	clock.add(31 * time.Minute)
	c2.ExpireOffsets()
	if got := committed(t, c2, "manual"); len(got) != 0 {
		t.Fatalf("after everything expired: %v", got)
	}
	c3 := New(cfg, 1, store, nil)
	defer c3.Close()
	if err := c3.LoadPartition(0); err != nil {
		t.Fatal(err)
	}
	if got := committed(t, c3, "manual"); len(got) != 0 {
		t.Fatalf("expired offsets came back after reload: %v", got)
	}
}
