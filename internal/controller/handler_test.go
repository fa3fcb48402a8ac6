package controller

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The controller listener is reachable by any client, so it checks topic
// configs itself rather than trusting brokers to have done it.
func TestHandlerRefusesBadConfigs(t *testing.T) {
	h := &Handler{}
	ctx := context.Background()

	ct := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "t", 1, 1
	rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: kmsg.StringPtr("soon")}}
	ct.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	resp, err := h.Serve(ctx, ct)
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.(*kmsg.CreateTopicsResponse).Topics[0]; st.ErrorCode != kerr.InvalidConfig.Code || st.ErrorMessage == nil {
		t.Fatalf("bad retention.ms: %v %v", kerr.ErrorForCode(st.ErrorCode), st.ErrorMessage)
	}

	ac := kmsg.NewPtrAlterConfigsRequest()
	ac.Resources = []kmsg.AlterConfigsRequestResource{
		{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t", Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "no.such.key", Value: kmsg.StringPtr("1")}}},
		{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"},
	}
	resp, err = h.Serve(ctx, ac)
	if err != nil {
		t.Fatal(err)
	}
	rs := resp.(*kmsg.AlterConfigsResponse).Resources
	if rs[0].ErrorCode != kerr.InvalidConfig.Code || rs[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("alter configs: %v, %v", kerr.ErrorForCode(rs[0].ErrorCode), kerr.ErrorForCode(rs[1].ErrorCode))
	}
}
