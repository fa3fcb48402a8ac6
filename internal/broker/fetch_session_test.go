package broker_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// When fetch.max.bytes lets only one partition answer, an incremental
// session serves partitions in turn: the one that returned data moves to
// the back (Kafka's IncrementalFetchContext), so none starves.
func TestFetchSessionRotatesServedPartitions(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "rot", 3, nil)
	r := dialRaw(t, b.Addr)
	for p := int32(0); p < 3; p++ {
		v := bytes.Repeat([]byte{'a' + byte(p)}, 2000)
		if pr := produceOne(t, r, "rot", p, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: 1, value: v})); pr.ErrorCode != 0 {
			t.Fatalf("produce p%d: %d", p, pr.ErrorCode)
		}
	}
	req := sessionFetch(0, 0, "rot", map[int32]int64{0: 0, 1: 0, 2: 0})
	req.MaxBytes = 1 // only the first partition with data answers (KIP-74)
	resp := do[*kmsg.FetchResponse](t, r, req)
	if got := partitionsIn(t, resp); resp.ErrorCode != 0 || got != "p0:1 p1:0 p2:0" {
		t.Fatalf("full fetch: error %d carried %q", resp.ErrorCode, got)
	}
	id := resp.SessionID
	// The client keeps asking from offset 0 everywhere (nothing changes in
	// the request), so only rotation decides who is served.
	var served []string
	for epoch := int32(1); epoch <= 4; epoch++ {
		req := sessionFetch(id, epoch, "rot", nil)
		req.MaxBytes = 1
		resp := do[*kmsg.FetchResponse](t, r, req)
		if resp.ErrorCode != 0 {
			t.Fatalf("epoch %d: error %d", epoch, resp.ErrorCode)
		}
		served = append(served, partitionsIn(t, resp))
	}
	if got, want := served, []string{"p1:1", "p2:1", "p0:1", "p1:1"}; !slices.Equal(got, want) {
		t.Fatalf("served in turn %q, want %q", got, want)
	}
}

// Forgetting every partition ends the session: the response has session
// id 0 and the old id is gone, as in Kafka.
func TestFetchSessionEmptiedIsClosed(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "gone", 1, nil)
	r := dialRaw(t, b.Addr)
	resp := do[*kmsg.FetchResponse](t, r, sessionFetch(0, 0, "gone", map[int32]int64{0: 0}))
	id := resp.SessionID
	if resp.ErrorCode != 0 || id == 0 {
		t.Fatalf("create: error %d id %d", resp.ErrorCode, id)
	}
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, 1, "gone", nil, 0))
	if resp.ErrorCode != 0 || resp.SessionID != 0 || len(resp.Topics) != 0 {
		t.Fatalf("forget all: error %d session %d topics %d", resp.ErrorCode, resp.SessionID, len(resp.Topics))
	}
	resp = do[*kmsg.FetchResponse](t, r, sessionFetch(id, 2, "gone", nil))
	if resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("emptied session still answers: error %d", resp.ErrorCode)
	}
}
