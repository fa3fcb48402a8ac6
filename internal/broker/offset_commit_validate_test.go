package broker_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit validation as Kafka 3.9's OffsetMetadataManager and
// ClassicGroup.validateOffsetCommit do it.
func TestOffsetCommitValidationKafka39(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	createTopic(t, b, "ocv", 1, nil)
	r := dialRaw(t, b.Addr)

	// A generation for a group that does not exist: GROUP_ID_NOT_FOUND
	// from v9, ILLEGAL_GENERATION before.
	for v := int16(1); v <= 9; v++ {
		want := kerr.IllegalGeneration
		if v >= 9 {
			want = kerr.GroupIDNotFound
		}
		g := fmt.Sprint("g-ocv-missing-", v)
		if got := commitCode(do[*kmsg.OffsetCommitResponse](t, r, commitReq(v, g, "m", 3, "ocv", 0, ""))); got.Code != want.Code {
			t.Fatalf("v%d unknown group, generation 3: %v, want %v", v, got.Message, want.Message)
		}
	}

	// Generation -1 on an Empty group is accepted whatever member id it
	// names, and the offset is stored.
	for _, v := range []int16{1, 5, 8, 9} {
		g := fmt.Sprint("g-ocv-empty-", v)
		if got := commitCode(do[*kmsg.OffsetCommitResponse](t, r, commitReq(v, g, "", -1, "ocv", 0, ""))); got.Code != 0 {
			t.Fatalf("v%d create: %v", v, got.Message)
		}
		req := commitReq(v, g, "some-member", -1, "ocv", 0, "")
		req.Topics[0].Partitions[0].Offset = 77
		if v >= 7 {
			req.InstanceID = sp("some-instance")
		}
		if got := commitCode(do[*kmsg.OffsetCommitResponse](t, r, req)); got.Code != 0 {
			t.Fatalf("v%d generation -1 with member id on an Empty group: %v", v, got.Message)
		}
		f := kmsg.NewPtrOffsetFetchRequest()
		f.SetVersion(5)
		f.Group = g
		ft := kmsg.NewOffsetFetchRequestTopic()
		ft.Topic, ft.Partitions = "ocv", []int32{0}
		f.Topics = append(f.Topics, ft)
		fr := do[*kmsg.OffsetFetchResponse](t, r, f)
		if o := fr.Topics[0].Partitions[0].Offset; o != 77 {
			t.Fatalf("v%d committed offset %d, want 77", v, o)
		}
	}
}
