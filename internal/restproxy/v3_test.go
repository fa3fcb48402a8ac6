package restproxy

import (
	"fmt"
	"strings"
	"testing"
)

func TestV3Admin(t *testing.T) {
	e := start(t)
	e.createTopic(t, "a", 2)
	cid := e.b.ClusterID()
	cs := e.url + "/v3/clusters/" + cid
	c := "/v3/clusters/" + cid
	cluster := fmt.Sprintf(`{"kind":"KafkaCluster","metadata":{"self":"%[1]s","resource_name":"crn:///kafka=%[2]s"},"cluster_id":"%[2]s",`+
		`"controller":{"related":"%[1]s/brokers/1"},"acls":{"related":"%[1]s/acls"},"brokers":{"related":"%[1]s/brokers"},`+
		`"broker_configs":{"related":"%[1]s/broker-configs"},"consumer_groups":{"related":"%[1]s/consumer-groups"},`+
		`"topics":{"related":"%[1]s/topics"},"partition_reassignments":{"related":"%[1]s/topics/-/partitions/-/reassignment"}}`, cs, cid)
	e.want(t, "GET", "/v3/clusters", "", "", 200, fmt.Sprintf(`{"kind":"KafkaClusterList","metadata":{"self":"%s/v3/clusters"},"data":[%s]}`, e.url, cluster))
	e.want(t, "GET", c, "", "", 200, cluster)
	e.wantErr(t, "GET", "/v3/clusters/nope", "", "", 404, 404)
	e.wantErr(t, "GET", "/v3/clusters/nope/topics", "", "", 404, 404)

	host, port, _ := strings.Cut(e.b.Addr, ":")
	e.want(t, "GET", c+"/brokers/1", "", "", 200, fmt.Sprintf(`{"kind":"KafkaBroker","metadata":{"self":"%[1]s/brokers/1","resource_name":"crn:///kafka=%[2]s/broker=1"},`+
		`"cluster_id":"%[2]s","broker_id":1,"host":"%[3]s","port":%[4]s,"rack":null,"configs":{"related":"%[1]s/brokers/1/configs"},`+
		`"partition_replicas":{"related":"%[1]s/brokers/1/partition-replicas"}}`, cs, cid, host, port))
	if b := e.want(t, "GET", c+"/brokers", "", "", 200, "*"); !strings.HasPrefix(b, `{"kind":"KafkaBrokerList"`) || !strings.Contains(b, `"broker_id":1`) {
		t.Fatalf("brokers: %s", b)
	}
	e.wantErr(t, "GET", c+"/brokers/7", "", "", 404, 404)

	topicA := fmt.Sprintf(`{"kind":"KafkaTopic","metadata":{"self":"%[1]s/topics/a","resource_name":"crn:///kafka=%[2]s/topic=a"},"cluster_id":"%[2]s",`+
		`"topic_name":"a","is_internal":false,"replication_factor":1,"partitions_count":2,"partitions":{"related":"%[1]s/topics/a/partitions"},`+
		`"configs":{"related":"%[1]s/topics/a/configs"},"partition_reassignments":{"related":"%[1]s/topics/a/partitions/-/reassignment"},"authorized_operations":[]}`, cs, cid)
	e.want(t, "GET", c+"/topics/a", "", "", 200, topicA)
	e.want(t, "GET", c+"/topics", "", "", 200, fmt.Sprintf(`{"kind":"KafkaTopicList","metadata":{"self":"%s/topics"},"data":[%s]}`, cs, topicA))
	e.wantErr(t, "GET", c+"/topics/nope", "", "", 404, 404)

	// Create, with a config; again is 400 40002.
	b := e.want(t, "POST", c+"/topics", ctJSON, `{"topic_name":"n","partitions_count":3,"replication_factor":1,"configs":[{"name":"cleanup.policy","value":"compact"}]}`, 201, "*")
	if !strings.Contains(b, `"topic_name":"n"`) || !strings.Contains(b, `"partitions_count":3`) {
		t.Fatalf("create: %s", b)
	}
	e.wantErr(t, "POST", c+"/topics", ctJSON, `{"topic_name":"n","partitions_count":1}`, 400, 40002)
	e.wantErr(t, "POST", c+"/topics", ctJSON, `{"topic_name":`, 400, 400)
	e.wantErr(t, "POST", c+"/topics", ctJSON, `{"partitions_count":1}`, 400, 400)

	e.want(t, "GET", c+"/topics/n/partitions/2", "", "", 200, fmt.Sprintf(`{"kind":"KafkaPartition","metadata":{"self":"%[1]s/topics/n/partitions/2",`+
		`"resource_name":"crn:///kafka=%[2]s/topic=n/partition=2"},"cluster_id":"%[2]s","topic_name":"n","partition_id":2,`+
		`"leader":{"related":"%[1]s/topics/n/partitions/2/replicas/1"},"replicas":{"related":"%[1]s/topics/n/partitions/2/replicas"},`+
		`"reassignment":{"related":"%[1]s/topics/n/partitions/2/reassignment"}}`, cs, cid))
	if b := e.want(t, "GET", c+"/topics/n/partitions", "", "", 200, "*"); strings.Count(b, `"kind":"KafkaPartition"`) != 3 {
		t.Fatalf("partitions: %s", b)
	}
	e.wantErr(t, "GET", c+"/topics/n/partitions/3", "", "", 404, 404)

	// Configs.
	cp := e.want(t, "GET", c+"/topics/n/configs/cleanup.policy", "", "", 200, "*")
	for _, w := range []string{`"kind":"KafkaTopicConfig"`, `"name":"cleanup.policy"`, `"value":"compact"`, `"is_default":false`, `"source":"DYNAMIC_TOPIC_CONFIG"`, `"topic_name":"n"`} {
		if !strings.Contains(cp, w) {
			t.Fatalf("config lacks %s: %s", w, cp)
		}
	}
	e.want(t, "PUT", c+"/topics/n/configs/retention.ms", ctJSON, `{"value":"60000"}`, 204, "")
	if b := e.want(t, "GET", c+"/topics/n/configs/retention.ms", "", "", 200, "*"); !strings.Contains(b, `"value":"60000"`) {
		t.Fatalf("after PUT: %s", b)
	}
	e.want(t, "DELETE", c+"/topics/n/configs/cleanup.policy", "", "", 204, "")
	if b := e.want(t, "GET", c+"/topics/n/configs/cleanup.policy", "", "", 200, "*"); !strings.Contains(b, `"value":"delete"`) || !strings.Contains(b, `"is_default":true`) {
		t.Fatalf("after reset: %s", b)
	}
	e.want(t, "POST", c+"/topics/n/configs:alter", ctJSON, `{"data":[{"name":"retention.ms","operation":"DELETE"},{"name":"max.message.bytes","value":"2048"}]}`, 204, "")
	list := e.want(t, "GET", c+"/topics/n/configs", "", "", 200, "*")
	if !strings.HasPrefix(list, `{"kind":"KafkaTopicConfigList"`) || !strings.Contains(list, `"name":"max.message.bytes","value":"2048"`) {
		t.Fatalf("configs: %s", list)
	}
	e.wantErr(t, "GET", c+"/topics/n/configs/no.such", "", "", 404, 404)
	e.wantErr(t, "PUT", c+"/topics/n/configs/retention.ms", ctJSON, `{"value":"soon"}`, 400, 400)

	// Delete.
	e.want(t, "DELETE", c+"/topics/n", "", "", 204, "")
	e.wantErr(t, "DELETE", c+"/topics/n", "", "", 404, 404)
	e.wantErr(t, "GET", c+"/topics/n", "", "", 404, 404)
}
