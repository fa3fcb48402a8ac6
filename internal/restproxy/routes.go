package restproxy

import "net/http"

// routes registers every endpoint. NOTE: an endpoint added here belongs in
// the package tests' endpoint list as well.
func (p *Proxy) routes() {
	m := http.NewServeMux()
	p.mux = m

	// v2
	m.HandleFunc("GET /topics", p.v2(p.listTopicsV2))
	m.HandleFunc("GET /topics/{topic}", p.v2(p.getTopicV2))
	m.HandleFunc("POST /topics/{topic}", p.v2(p.produceTopicV2))
	m.HandleFunc("GET /topics/{topic}/partitions", p.v2(p.listPartitionsV2))
	m.HandleFunc("GET /topics/{topic}/partitions/{partition}", p.v2(p.getPartitionV2))
	m.HandleFunc("POST /topics/{topic}/partitions/{partition}", p.v2(p.producePartitionV2))
	m.HandleFunc("GET /topics/{topic}/partitions/{partition}/offsets", p.v2(p.partitionOffsetsV2))
	m.HandleFunc("GET /brokers", p.v2(p.listBrokersV2))

	m.HandleFunc("POST /consumers/{group}", p.v2(p.createInstance))
	inst := "/consumers/{group}/instances/{instance}"
	m.HandleFunc("DELETE "+inst, p.v2(p.withInstance(p.deleteInstance)))
	m.HandleFunc("POST "+inst+"/subscription", p.v2(p.withInstance(p.subscribe)))
	m.HandleFunc("GET "+inst+"/subscription", p.v2(p.withInstance(p.getSubscription)))
	m.HandleFunc("DELETE "+inst+"/subscription", p.v2(p.withInstance(p.unsubscribe)))
	m.HandleFunc("POST "+inst+"/assignments", p.v2(p.withInstance(p.assign)))
	m.HandleFunc("GET "+inst+"/assignments", p.v2(p.withInstance(p.getAssignments)))
	m.HandleFunc("POST "+inst+"/positions", p.v2(p.withInstance(p.seekPositions)))
	m.HandleFunc("POST "+inst+"/positions/beginning", p.v2(p.withInstance(p.seekBeginning)))
	m.HandleFunc("POST "+inst+"/positions/end", p.v2(p.withInstance(p.seekEnd)))
	m.HandleFunc("GET "+inst+"/records", p.v2(p.withInstance(p.records)))
	m.HandleFunc("POST "+inst+"/offsets", p.v2(p.withInstance(p.commitOffsets)))
	m.HandleFunc("GET "+inst+"/offsets", p.v2(p.withInstance(p.fetchOffsets)))

	// v3
	c := "/v3/clusters/{cluster}"
	m.HandleFunc("GET /v3/clusters", p.v3(p.listClustersV3))
	m.HandleFunc("GET "+c, p.v3(p.getClusterV3))
	m.HandleFunc("GET "+c+"/brokers", p.v3(p.listBrokersV3))
	m.HandleFunc("GET "+c+"/brokers/{broker}", p.v3(p.getBrokerV3))
	m.HandleFunc("GET "+c+"/topics", p.v3(p.listTopicsV3))
	m.HandleFunc("POST "+c+"/topics", p.v3(p.createTopicV3))
	m.HandleFunc("GET "+c+"/topics/{topic}", p.v3(p.getTopicV3))
	m.HandleFunc("DELETE "+c+"/topics/{topic}", p.v3(p.deleteTopicV3))
	m.HandleFunc("GET "+c+"/topics/{topic}/partitions", p.v3(p.listPartitionsV3))
	m.HandleFunc("GET "+c+"/topics/{topic}/partitions/{partition}", p.v3(p.getPartitionV3))
	m.HandleFunc("GET "+c+"/topics/{topic}/configs", p.v3(p.listTopicConfigsV3))
	m.HandleFunc("GET "+c+"/topics/{topic}/configs/{name}", p.v3(p.getTopicConfigV3))
	m.HandleFunc("PUT "+c+"/topics/{topic}/configs/{name}", p.v3(p.updateTopicConfigV3))
	m.HandleFunc("DELETE "+c+"/topics/{topic}/configs/{name}", p.v3(p.resetTopicConfigV3))
	m.HandleFunc("POST "+c+"/topics/{topic}/configs:alter", p.v3(p.batchAlterTopicConfigsV3))
	m.HandleFunc("POST "+c+"/topics/{topic}/records", p.produceRecordsV3)
	g := c + "/consumer-groups/{group}"
	m.HandleFunc("GET "+c+"/consumer-groups", p.v3(p.listGroupsV3))
	m.HandleFunc("GET "+g, p.v3(p.getGroupV3))
	m.HandleFunc("GET "+g+"/consumers", p.v3(p.listConsumersV3))
	m.HandleFunc("GET "+g+"/consumers/{consumer}", p.v3(p.getConsumerV3))
	m.HandleFunc("GET "+g+"/consumers/{consumer}/assignments", p.v3(p.listAssignmentsV3))
	m.HandleFunc("GET "+g+"/lags", p.v3(p.listLagsV3))
	m.HandleFunc("GET "+g+"/lags/{topic}/partitions/{partition}", p.v3(p.getLagV3))
	m.HandleFunc("GET "+g+"/lag-summary", p.v3(p.lagSummaryV3))
}
