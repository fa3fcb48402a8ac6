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
}
