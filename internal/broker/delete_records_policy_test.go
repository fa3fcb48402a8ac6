package broker_test

import (
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDeleteRecordsCompactOnly: as in Kafka (Partition.deleteRecordsOnLeader),
// records of a topic whose cleanup.policy lacks "delete" cannot be deleted:
// POLICY_VIOLATION, and the log start offset stays.
func TestDeleteRecordsCompactOnly(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "compacted", 1, map[string]*string{"cleanup.policy": sp("compact")})
	createTopic(t, b, "both", 1, map[string]*string{"cleanup.policy": sp("compact,delete")})
	r := dialRaw(t, b.Addr)
	for _, topic := range []string{"compacted", "both"} {
		batch := buildBatch(t, record.NonIdempotent, record.CodecNone,
			rec{ts: 1, key: []byte("k"), value: []byte("a")}, rec{ts: 2, key: []byte("k"), value: []byte("b")})
		if p := produceOne(t, r, topic, 0, batch); p.ErrorCode != 0 {
			t.Fatalf("produce %s: error %d", topic, p.ErrorCode)
		}
	}
	for _, tc := range []struct {
		topic string
		code  int16
		start int64
	}{
		{"compacted", kerr.PolicyViolation.Code, 0},
		{"both", 0, 1},
	} {
		req := kmsg.NewPtrDeleteRecordsRequest()
		req.SetVersion(2)
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = tc.topic
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Offset = 1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		sp := do[*kmsg.DeleteRecordsResponse](t, r, req).Topics[0].Partitions[0]
		if sp.ErrorCode != tc.code {
			t.Errorf("%s: error %d, want %d", tc.topic, sp.ErrorCode, tc.code)
		}
		if got := b.Replicas().Partition(tc.topic, 0).LogStartOffset(); got != tc.start {
			t.Errorf("%s: log start offset %d, want %d", tc.topic, got, tc.start)
		}
	}
}
