package broker_test

import (
	"sync"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDeleteCreateSameTopicRace: a DeleteTopics racing a CreateTopics of the
// same name (two admin clients, or a producer's metadata auto-create) must
// leave the new topic with its partitions open, not closed and deleted by
// the delete that ran first in the metadata.
func TestDeleteCreateSameTopicRace(t *testing.T) {
	b := kafkatest.Start(t)
	r1, r2 := dialRaw(t, b.Addr), dialRaw(t, b.Addr)
	for i := range 150 {
		if st := do[*kmsg.CreateTopicsResponse](t, r1, createTopicsReq(7, false, newTopic("race", 4, 1))).Topics[0]; st.ErrorCode != 0 {
			t.Fatalf("round %d: create: error %d", i, st.ErrorCode)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			req := kmsg.NewPtrDeleteTopicsRequest()
			req.SetVersion(6)
			name := "race"
			req.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: &name}}
			if _, err := r1.try(req); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := r2.try(createTopicsReq(7, false, newTopic("race", 4, 1))); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if t.Failed() {
			return
		}
		if top := b.Metadata().Image().Topic("race"); top != nil {
			for p := range top.Partitions {
				part := b.Replicas().Partition("race", p)
				if part == nil || part.TopicID != top.ID {
					t.Fatalf("round %d: topic race (id %s) is in the metadata but partition %d is not open with that id", i, top.ID, p)
				}
			}
		}
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.SetVersion(5)
		req.TopicNames = []string{"race"}
		r1.try(req)
	}
}
