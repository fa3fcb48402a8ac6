package broker_test

import (
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCreateTopicsPartitionCap: like Kafka's controller (MAX_PARTITIONS_PER_BATCH),
// a CreateTopics asking for more than 10000 partitions in total fails every
// topic with POLICY_VIOLATION instead of opening them all; the check applies
// to ValidateOnly too. CreatePartitions is capped the same way.
func TestCreateTopicsPartitionCap(t *testing.T) {
	b := kafkatest.Start(t)
	r := dialRaw(t, b.Addr)
	for _, tc := range []struct {
		name   string
		topics []kmsg.CreateTopicsRequestTopic
	}{
		{"one", []kmsg.CreateTopicsRequestTopic{newTopic("huge", 10001, 1)}},
		{"sum", []kmsg.CreateTopicsRequestTopic{newTopic("a", 5000, 1), newTopic("b", 5001, 1), newTopic("c", 1, 1)}},
		{"max", []kmsg.CreateTopicsRequestTopic{newTopic("max", 1<<31-1, 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, true, tc.topics...))
			if len(resp.Topics) != len(tc.topics) {
				t.Fatalf("%d topics in response, want %d", len(resp.Topics), len(tc.topics))
			}
			for _, st := range resp.Topics {
				if st.ErrorCode != kerr.PolicyViolation.Code || st.ErrorMessage == nil {
					t.Fatalf("topic %s: error %d (%v), want POLICY_VIOLATION", st.Topic, st.ErrorCode, st.ErrorMessage)
				}
			}
		})
	}
	// Exactly the cap passes validation.
	st := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, true, newTopic("ok", 10000, 1))).Topics[0]
	if st.ErrorCode != 0 {
		t.Fatalf("10000 partitions: error %d (%v)", st.ErrorCode, st.ErrorMessage)
	}

	createTopic(t, b, "grow", 1, nil)
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.SetVersion(3)
	req.ValidateOnly = true
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = "grow", 1<<31-1
	req.Topics = append(req.Topics, rt)
	cp := do[*kmsg.CreatePartitionsResponse](t, r, req).Topics[0]
	if cp.ErrorCode != kerr.PolicyViolation.Code {
		t.Fatalf("CreatePartitions to %d: error %d (%v), want POLICY_VIOLATION", rt.Count, cp.ErrorCode, cp.ErrorMessage)
	}
}
