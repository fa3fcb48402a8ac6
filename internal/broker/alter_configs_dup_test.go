package broker_test

import (
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A resource named twice in one request fails every copy with
// INVALID_REQUEST and changes nothing; the other resources are served.
func TestAlterConfigsDuplicateResources(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "d1", 1, nil)
	createTopic(t, b, "d2", 1, nil)
	r := dialRaw(t, b.Addr)
	v := "1000"

	legacy := kmsg.NewPtrAlterConfigsRequest()
	for _, name := range []string{"d1", "d2", "d1"} {
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, name
		rr.Configs = []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: &v}}
		legacy.Resources = append(legacy.Resources, rr)
	}
	lr := do[*kmsg.AlterConfigsResponse](t, r, legacy)
	if len(lr.Resources) != 3 || lr.Resources[0].ErrorCode != kerr.InvalidRequest.Code ||
		lr.Resources[1].ErrorCode != 0 || lr.Resources[2].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("legacy: %+v", lr.Resources)
	}

	inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for _, name := range []string{"d2", "d2", "d1"} {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, name
		rr.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "segment.ms", Op: kmsg.IncrementalAlterConfigOpSet, Value: &v}}
		inc.Resources = append(inc.Resources, rr)
	}
	ir := do[*kmsg.IncrementalAlterConfigsResponse](t, r, inc)
	if len(ir.Resources) != 3 || ir.Resources[0].ErrorCode != kerr.InvalidRequest.Code ||
		ir.Resources[1].ErrorCode != kerr.InvalidRequest.Code || ir.Resources[2].ErrorCode != 0 {
		t.Fatalf("incremental: %+v", ir.Resources)
	}
	im := b.Metadata().Image()
	if got := im.Topic("d1").Configs; got["retention.ms"] != "" || got["segment.ms"] != "1000" {
		t.Fatalf("d1 overrides %v: the duplicated legacy change must not apply, the incremental one must", got)
	}
	if got := im.Topic("d2").Configs; got["retention.ms"] != "1000" || got["segment.ms"] != "" {
		t.Fatalf("d2 overrides %v", got)
	}
}
