package restproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestV3ConsumerGroupsAndLag(t *testing.T) {
	e := start(t)
	e.createTopic(t, "l", 3)
	cid := e.b.ClusterID()
	cs := e.url + "/v3/clusters/" + cid
	c := "/v3/clusters/" + cid

	// 5, 3 and 2 records in partitions 0, 1 and 2.
	cl := e.b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for part, n := range []int{5, 3, 2} {
		for range n {
			rec := &kgo.Record{Topic: "l", Partition: int32(part), Value: []byte("v")}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.want(t, "GET", c+"/consumer-groups", "", "", 200, fmt.Sprintf(`{"kind":"KafkaConsumerGroupList","metadata":{"self":"%s/consumer-groups"},"data":[]}`, cs))
	e.wantErr(t, "GET", c+"/consumer-groups/lg", "", "", 404, 404)

	// Committed offsets 2, 3 and 0: lags 3, 0 and 2.
	adm := kadm.NewClient(cl)
	offs := kadm.Offsets{}
	offs.AddOffset("l", 0, 2, -1)
	offs.AddOffset("l", 1, 3, -1)
	offs.AddOffset("l", 2, 0, -1)
	if err := adm.CommitAllOffsets(ctx, "lg", offs); err != nil {
		t.Fatal(err)
	}
	gs := cs + "/consumer-groups/lg"
	group := fmt.Sprintf(`{"kind":"KafkaConsumerGroup","metadata":{"self":"%[1]s","resource_name":"crn:///kafka=%[2]s/consumer-group=lg"},`+
		`"cluster_id":"%[2]s","consumer_group_id":"lg","is_simple":true,"partition_assignor":"","state":"EMPTY","type":"CLASSIC",`+
		`"coordinator":{"related":"%[3]s/brokers/1"},"consumers":{"related":"%[1]s/consumers"},"lag_summary":{"related":"%[1]s/lag-summary"}}`, gs, cid, cs)
	e.want(t, "GET", c+"/consumer-groups/lg", "", "", 200, group)
	e.want(t, "GET", c+"/consumer-groups", "", "", 200, fmt.Sprintf(`{"kind":"KafkaConsumerGroupList","metadata":{"self":"%s/consumer-groups"},"data":[%s]}`, cs, group))
	e.want(t, "GET", c+"/consumer-groups/lg/consumers", "", "", 200, fmt.Sprintf(`{"kind":"KafkaConsumerList","metadata":{"self":"%s/consumers"},"data":[]}`, gs))

	lag := func(part, cur, end, lag int) string {
		return fmt.Sprintf(`{"kind":"KafkaConsumerLag","metadata":{"self":"%[1]s/lags/l/partitions/%[3]d","resource_name":"crn:///kafka=%[2]s/consumer-group=lg/lag=l/partition=%[3]d"},`+
			`"cluster_id":"%[2]s","consumer_group_id":"lg","topic_name":"l","partition_id":%[3]d,"current_offset":%[4]d,"log_end_offset":%[5]d,"lag":%[6]d,`+
			`"consumer_id":"","instance_id":null,"client_id":""}`, gs, cid, part, cur, end, lag)
	}
	e.want(t, "GET", c+"/consumer-groups/lg/lags", "", "", 200, fmt.Sprintf(`{"kind":"KafkaConsumerLagList","metadata":{"self":"%s/lags"},"data":[%s,%s,%s]}`,
		gs, lag(0, 2, 5, 3), lag(1, 3, 3, 0), lag(2, 0, 2, 2)))
	e.want(t, "GET", c+"/consumer-groups/lg/lags/l/partitions/2", "", "", 200, lag(2, 0, 2, 2))
	e.wantErr(t, "GET", c+"/consumer-groups/lg/lags/l/partitions/9", "", "", 404, 404)
	e.want(t, "GET", c+"/consumer-groups/lg/lag-summary", "", "", 200, fmt.Sprintf(`{"kind":"KafkaConsumerGroupLagSummary",`+
		`"metadata":{"self":"%[1]s/lag-summary","resource_name":"crn:///kafka=%[2]s/consumer-group=lg/lag-summary"},"cluster_id":"%[2]s","consumer_group_id":"lg",`+
		`"max_lag_consumer_id":"","max_lag_instance_id":null,"max_lag_client_id":"","max_lag_topic_name":"l","max_lag_partition_id":0,"max_lag":3,"total_lag":5,`+
		`"max_lag_partition":{"related":"%[3]s/topics/l/partitions/0"}}`, gs, cid, cs))

	// A live member: the group is STABLE and its consumer shows up.
	live := e.b.Client(t, kgo.ConsumerGroup("lg2"), kgo.ConsumeTopics("l"), kgo.ClientID("lagger"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	kafkatest.Eventually(t, 15*time.Second, func() error {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer pcancel()
		live.PollFetches(pctx)
		live.CommitUncommittedOffsets(ctx)
		b := e.want(t, "GET", c+"/consumer-groups/lg2", "", "", 200, "*")
		if !strings.Contains(b, `"state":"STABLE"`) {
			return fmt.Errorf("group: %s", b)
		}
		b = e.want(t, "GET", c+"/consumer-groups/lg2/lag-summary", "", "", 200, "*")
		if !strings.Contains(b, `"total_lag":0`) {
			return fmt.Errorf("lag summary: %s", b)
		}
		if lags := e.want(t, "GET", c+"/consumer-groups/lg2/lags", "", "", 200, "*"); strings.Count(lags, `"lag":0`) != 3 {
			return fmt.Errorf("lags: %s", lags)
		}
		return nil
	})
	b := e.want(t, "GET", c+"/consumer-groups/lg2/consumers", "", "", 200, "*")
	if !strings.Contains(b, `"client_id":"lagger"`) || !strings.Contains(b, `"kind":"KafkaConsumer"`) {
		t.Fatalf("consumers: %s", b)
	}
	e.wantErr(t, "GET", c+"/consumer-groups/lg2/consumers/nope", "", "", 404, 404)
	// The consumer's "assignments" link lists its partitions: all three of
	// "l", the group having one member.
	var consumers struct {
		Data []struct {
			ConsumerID  string `json:"consumer_id"`
			Assignments struct {
				Related string `json:"related"`
			} `json:"assignments"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(b), &consumers); err != nil || len(consumers.Data) != 1 {
		t.Fatalf("consumers: %s %v", b, err)
	}
	link := strings.TrimPrefix(consumers.Data[0].Assignments.Related, e.url)
	as := e.want(t, "GET", link, "", "", 200, "*")
	var al struct {
		Kind string `json:"kind"`
		Data []struct {
			Kind        string `json:"kind"`
			ConsumerID  string `json:"consumer_id"`
			TopicName   string `json:"topic_name"`
			PartitionID int32  `json:"partition_id"`
			Partition   struct {
				Related string `json:"related"`
			} `json:"partition"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(as), &al); err != nil || al.Kind != "KafkaConsumerAssignmentList" || len(al.Data) != 3 {
		t.Fatalf("assignments: %s %v", as, err)
	}
	for i, a := range al.Data {
		if a.Kind != "KafkaConsumerAssignment" || a.ConsumerID != consumers.Data[0].ConsumerID || a.TopicName != "l" || a.PartitionID != int32(i) ||
			a.Partition.Related != fmt.Sprintf("%s/topics/l/partitions/%d", cs, i) {
			t.Fatalf("assignment %d: %+v", i, a)
		}
	}
	e.wantErr(t, "GET", c+"/consumer-groups/lg2/consumers/nope/assignments", "", "", 404, 404)
	b = e.want(t, "GET", c+"/consumer-groups/lg2/lag-summary", "", "", 200, "*")
	if !strings.Contains(b, `"max_lag_client_id":"lagger"`) || !strings.Contains(b, `"max_lag_consumer":{"related":"`) {
		t.Fatalf("lag summary of a live group: %s", b)
	}
}
