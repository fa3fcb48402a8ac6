package broker_test

import (
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// On a single node nothing is ever led elsewhere: Produce and Fetch
// answers carry no KIP-951 hint (CurrentLeader stays at its -1 defaults,
// so the tagged field is not even sent), and a rack-aware replica selector
// leaves every consumer on the leader (KIP-392).
func TestSingleNodeNoLeaderHints(t *testing.T) {
	b := kafkatest.Start(t, "replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector", "broker.rack=a")
	createTopic(t, b, "hints", 1, nil)
	r := dialRaw(t, b.Addr)
	for _, v := range []int16{9, 10, 11} {
		batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: time.Now().UnixMilli(), value: []byte("x")})
		resp := do[*kmsg.ProduceResponse](t, r, produceReq(v, -1, "hints", 0, batch))
		sp := resp.Topics[0].Partitions[0]
		if sp.ErrorCode != 0 || sp.CurrentLeader.LeaderID != -1 || sp.CurrentLeader.LeaderEpoch != -1 || len(resp.Brokers) != 0 {
			t.Fatalf("produce v%d: error %d, current leader %+v, endpoints %+v", v, sp.ErrorCode, sp.CurrentLeader, resp.Brokers)
		}
	}
	for _, v := range []int16{11, 12} {
		req := fetchReq("hints", 0, 0, 0, 0)
		req.SetVersion(v)
		req.Rack = "b"
		resp := do[*kmsg.FetchResponse](t, r, req)
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.PreferredReadReplica != -1 || p.CurrentLeader.LeaderID != -1 || len(resp.Brokers) != 0 {
			t.Fatalf("fetch v%d: error %d, preferred %d, current leader %+v", v, p.ErrorCode, p.PreferredReadReplica, p.CurrentLeader)
		}
		if recs, _ := decodeBatches(t, p.RecordBatches); len(recs) != 3 || recs[2].offset != 2 {
			t.Fatalf("fetch v%d: %d records", v, len(recs))
		}
	}
}
