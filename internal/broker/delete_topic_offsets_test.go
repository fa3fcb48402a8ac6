package broker_test

import (
	"context"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
)

// Deleting a topic deletes every group's committed offsets for it, as
// Kafka's GroupCoordinator.onPartitionsDeleted, so a topic created again
// under the same name starts without them, also after a restart. Offsets of
// other topics stay.
func TestDeleteTopicDeletesCommittedOffsets(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	ctx := context.Background()
	createTopic(t, b, "gone", 2, nil)
	createTopic(t, b, "kept", 1, nil)
	adm := kadm.NewClient(b.Client(t))
	var os kadm.Offsets
	os.AddOffset("gone", 0, 5, -1)
	os.AddOffset("gone", 1, 7, -1)
	os.AddOffset("kept", 0, 3, -1)
	for _, g := range []string{"g-del-1", "g-del-2"} {
		resp, err := adm.CommitOffsets(ctx, g, os)
		if err != nil || resp.Error() != nil {
			t.Fatalf("commit %s: %v %v", g, err, resp.Error())
		}
	}
	dr, err := adm.DeleteTopics(ctx, "gone")
	if err != nil || dr.Error() != nil {
		t.Fatalf("delete: %v %v", err, dr.Error())
	}
	createTopic(t, b, "gone", 2, nil)

	check := func(b *kafkatest.Broker, when string) {
		t.Helper()
		adm := kadm.NewClient(b.Client(t))
		for _, g := range []string{"g-del-1", "g-del-2"} {
			offs, err := adm.FetchOffsets(ctx, g)
			if err != nil {
				t.Fatalf("%s: fetch %s: %v", when, g, err)
			}
			for p := int32(0); p < 2; p++ {
				if o, ok := offs.Lookup("gone", p); ok && o.At >= 0 {
					t.Fatalf("%s: group %s still has offset %d for the deleted topic's partition %d", when, g, o.At, p)
				}
			}
			if o, ok := offs.Lookup("kept", 0); !ok || o.At != 3 {
				t.Fatalf("%s: group %s lost the offset of another topic: %+v %v", when, g, o, ok)
			}
		}
	}
	check(b, "after delete")
	b = b.Restart(t)
	check(b, "after restart")
}
