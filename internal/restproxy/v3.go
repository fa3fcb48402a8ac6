package restproxy

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// v3 resources: clusters, topics, partitions, topic configs, brokers,
// consumer groups and lags. Every resource has kind, metadata.self (an
// absolute URL built from the request's host) and a resource_name; links
// to related collections are {"related": url}.

type v3Meta struct {
	Self         string  `json:"self"`
	ResourceName *string `json:"resource_name,omitempty"`
	Next         *string `json:"next,omitempty"`
}

type related struct {
	Related string `json:"related"`
}

type v3List struct {
	Kind     string `json:"kind"`
	Metadata v3Meta `json:"metadata"`
	Data     []any  `json:"data"`
}

func listOf(kind, self string, data []any) v3List {
	if data == nil {
		data = []any{}
	}
	var next *string
	return v3List{Kind: kind, Metadata: v3Meta{Self: self, Next: next}, Data: data}
}

func crn(parts ...string) *string {
	s := "crn:///" + strings.Join(parts, "/")
	return &s
}

// cluster returns the metadata of the cluster named by {cluster}, or 404.
func (p *Proxy) cluster(ctx context.Context, r *http.Request) (kadm.Metadata, string, error) {
	md, err := p.adm.BrokerMetadata(ctx)
	if err != nil {
		return md, "", kafkaErr("metadata", err)
	}
	if c := r.PathValue("cluster"); c != "" && c != md.Cluster {
		return md, "", httpErr(http.StatusNotFound, "Cluster %s cannot be found.", c)
	}
	return md, baseURL(r) + "/v3/clusters/" + url.PathEscape(md.Cluster), nil
}

func (p *Proxy) clusterResource(md kadm.Metadata, self string) any {
	return struct {
		Kind                   string  `json:"kind"`
		Metadata               v3Meta  `json:"metadata"`
		ClusterID              string  `json:"cluster_id"`
		Controller             related `json:"controller"`
		ACLs                   related `json:"acls"`
		Brokers                related `json:"brokers"`
		BrokerConfigs          related `json:"broker_configs"`
		ConsumerGroups         related `json:"consumer_groups"`
		Topics                 related `json:"topics"`
		PartitionReassignments related `json:"partition_reassignments"`
	}{"KafkaCluster", v3Meta{Self: self, ResourceName: crn("kafka=" + md.Cluster)}, md.Cluster,
		related{self + "/brokers/" + strconv.Itoa(int(md.Controller))}, related{self + "/acls"}, related{self + "/brokers"},
		related{self + "/broker-configs"}, related{self + "/consumer-groups"}, related{self + "/topics"},
		related{self + "/topics/-/partitions/-/reassignment"}}
}

func (p *Proxy) listClustersV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listOf("KafkaClusterList", baseURL(r)+"/v3/clusters", []any{p.clusterResource(md, self)}), nil
}

func (p *Proxy) getClusterV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p.clusterResource(md, self), nil
}

type v3Topic struct {
	Kind                   string   `json:"kind"`
	Metadata               v3Meta   `json:"metadata"`
	ClusterID              string   `json:"cluster_id"`
	TopicName              string   `json:"topic_name"`
	IsInternal             bool     `json:"is_internal"`
	ReplicationFactor      int      `json:"replication_factor"`
	PartitionsCount        int      `json:"partitions_count"`
	Partitions             related  `json:"partitions"`
	Configs                related  `json:"configs"`
	PartitionReassignments related  `json:"partition_reassignments"`
	AuthorizedOperations   []string `json:"authorized_operations"`
}

func topicResource(cluster, cself string, td kadm.TopicDetail) v3Topic {
	self := cself + "/topics/" + url.PathEscape(td.Topic)
	rf := 0
	for _, pd := range td.Partitions {
		rf = max(rf, len(pd.Replicas))
	}
	return v3Topic{"KafkaTopic", v3Meta{Self: self, ResourceName: crn("kafka="+cluster, "topic="+td.Topic)}, cluster, td.Topic,
		td.IsInternal, rf, len(td.Partitions), related{self + "/partitions"}, related{self + "/configs"},
		related{self + "/partitions/-/reassignment"}, []string{}}
}

// v3TopicMeta is topicMeta with the v3 error.
func (p *Proxy) v3TopicMeta(ctx context.Context, topic string) (kadm.TopicDetail, error) {
	td, err := p.topicMeta(ctx, topic)
	var e *Error
	if errors.As(err, &e) && e.Code == codeTopicNotFound {
		return td, httpErr(http.StatusNotFound, "This server does not host this topic-partition.")
	}
	return td, err
}

func (p *Proxy) listTopicsV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	tds, err := p.adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return 0, nil, kafkaErr("list topics", err)
	}
	var data []any
	for _, td := range tds.Sorted() {
		data = append(data, topicResource(md.Cluster, self, td))
	}
	return http.StatusOK, listOf("KafkaTopicList", self+"/topics", data), nil
}

func (p *Proxy) getTopicV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	td, err := p.v3TopicMeta(ctx, r.PathValue("topic"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, topicResource(md.Cluster, self, td), nil
}

func (p *Proxy) createTopicV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		TopicName         string `json:"topic_name"`
		PartitionsCount   *int32 `json:"partitions_count"`
		ReplicationFactor *int16 `json:"replication_factor"`
		Configs           []struct {
			Name  string  `json:"name"`
			Value *string `json:"value"`
		} `json:"configs"`
	}
	if err := decodeBody(r, &req, false); err != nil {
		return 0, nil, err
	}
	if req.TopicName == "" {
		return 0, nil, httpErr(http.StatusBadRequest, "topic_name: required")
	}
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	parts, rf := int32(-1), int16(-1) // broker defaults
	if req.PartitionsCount != nil {
		parts = *req.PartitionsCount
	}
	if req.ReplicationFactor != nil {
		rf = *req.ReplicationFactor
	}
	configs := map[string]*string{}
	for _, c := range req.Configs {
		configs[c.Name] = c.Value
	}
	resp, err := p.adm.CreateTopic(ctx, parts, rf, configs, req.TopicName)
	if err == nil {
		err = resp.Err
	}
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
		return 0, nil, errorf(http.StatusBadRequest, codeTopicExists, "Topic '%s' already exists.", req.TopicName)
	case errors.Is(err, kerr.InvalidTopicException), errors.Is(err, kerr.InvalidPartitions),
		errors.Is(err, kerr.InvalidReplicationFactor), errors.Is(err, kerr.InvalidConfig), errors.Is(err, kerr.InvalidRequest):
		msg := resp.ErrMessage
		if msg == "" {
			msg = err.Error()
		}
		return 0, nil, httpErr(http.StatusBadRequest, "%s", msg)
	case err != nil:
		return 0, nil, kafkaErr("create topic", err)
	}
	td, err := p.v3TopicMeta(ctx, req.TopicName)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, topicResource(md.Cluster, self, td), nil
}

func (p *Proxy) deleteTopicV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	if _, _, err := p.cluster(ctx, r); err != nil {
		return 0, nil, err
	}
	topic := r.PathValue("topic")
	resp, err := p.adm.DeleteTopic(ctx, topic)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return 0, nil, httpErr(http.StatusNotFound, "This server does not host this topic-partition.")
	}
	if err != nil {
		return 0, nil, kafkaErr("delete topic", err)
	}
	return http.StatusNoContent, nil, nil
}

func partitionResource(cluster, cself, topic string, pd kadm.PartitionDetail) any {
	self := cself + "/topics/" + url.PathEscape(topic) + "/partitions/" + strconv.Itoa(int(pd.Partition))
	return struct {
		Kind         string  `json:"kind"`
		Metadata     v3Meta  `json:"metadata"`
		ClusterID    string  `json:"cluster_id"`
		TopicName    string  `json:"topic_name"`
		PartitionID  int32   `json:"partition_id"`
		Leader       related `json:"leader"`
		Replicas     related `json:"replicas"`
		Reassignment related `json:"reassignment"`
	}{"KafkaPartition", v3Meta{Self: self, ResourceName: crn("kafka="+cluster, "topic="+topic, "partition="+strconv.Itoa(int(pd.Partition)))},
		cluster, topic, pd.Partition, related{self + "/replicas/" + strconv.Itoa(int(pd.Leader))}, related{self + "/replicas"},
		related{self + "/reassignment"}}
}

func (p *Proxy) listPartitionsV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	td, err := p.v3TopicMeta(ctx, r.PathValue("topic"))
	if err != nil {
		return 0, nil, err
	}
	var data []any
	for _, pd := range td.Partitions.Sorted() {
		data = append(data, partitionResource(md.Cluster, self, td.Topic, pd))
	}
	return http.StatusOK, listOf("KafkaPartitionList", self+"/topics/"+url.PathEscape(td.Topic)+"/partitions", data), nil
}

func (p *Proxy) getPartitionV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	td, err := p.v3TopicMeta(ctx, r.PathValue("topic"))
	if err != nil {
		return 0, nil, err
	}
	part, err := partitionArg(r, td)
	if err != nil {
		return 0, nil, httpErr(http.StatusNotFound, "This server does not host this topic-partition.")
	}
	return http.StatusOK, partitionResource(md.Cluster, self, td.Topic, td.Partitions[part]), nil
}

type v3Synonym struct {
	Name   string  `json:"name"`
	Value  *string `json:"value"`
	Source string  `json:"source"`
}

type v3TopicConfig struct {
	Kind        string      `json:"kind"`
	Metadata    v3Meta      `json:"metadata"`
	ClusterID   string      `json:"cluster_id"`
	TopicName   string      `json:"topic_name"`
	Name        string      `json:"name"`
	Value       *string     `json:"value"`
	IsDefault   bool        `json:"is_default"`
	IsReadOnly  bool        `json:"is_read_only"`
	IsSensitive bool        `json:"is_sensitive"`
	Source      string      `json:"source"`
	Synonyms    []v3Synonym `json:"synonyms"`
}

// topicConfigs describes a topic's configs, sorted by name.
func (p *Proxy) topicConfigs(ctx context.Context, cluster, cself, topic string) ([]v3TopicConfig, error) {
	if _, err := p.v3TopicMeta(ctx, topic); err != nil {
		return nil, err
	}
	rcs, err := p.adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return nil, kafkaErr("describe configs", err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return nil, kafkaErr("describe configs", err)
	}
	var out []v3TopicConfig
	for _, c := range rc.Configs {
		self := cself + "/topics/" + url.PathEscape(topic) + "/configs/" + url.PathEscape(c.Key)
		tc := v3TopicConfig{Kind: "KafkaTopicConfig", Metadata: v3Meta{Self: self, ResourceName: crn("kafka="+cluster, "topic="+topic, "config="+c.Key)},
			ClusterID: cluster, TopicName: topic, Name: c.Key, Value: c.Value, IsSensitive: c.Sensitive,
			Source: c.Source.String(), IsDefault: c.Source == 5 /* DEFAULT_CONFIG */, IsReadOnly: false, Synonyms: []v3Synonym{}}
		if c.Sensitive {
			tc.Value = nil
		}
		for _, s := range c.Synonyms {
			v := s.Value
			if c.Sensitive {
				v = nil
			}
			tc.Synonyms = append(tc.Synonyms, v3Synonym{s.Key, v, s.Source.String()})
		}
		out = append(out, tc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (p *Proxy) listTopicConfigsV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	topic := r.PathValue("topic")
	cs, err := p.topicConfigs(ctx, md.Cluster, self, topic)
	if err != nil {
		return 0, nil, err
	}
	data := make([]any, len(cs))
	for i := range cs {
		data[i] = cs[i]
	}
	return http.StatusOK, listOf("KafkaTopicConfigList", self+"/topics/"+url.PathEscape(topic)+"/configs", data), nil
}

func (p *Proxy) getTopicConfigV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	cs, err := p.topicConfigs(ctx, md.Cluster, self, r.PathValue("topic"))
	if err != nil {
		return 0, nil, err
	}
	name := r.PathValue("name")
	i := slices.IndexFunc(cs, func(c v3TopicConfig) bool { return c.Name == name })
	if i < 0 {
		return 0, nil, httpErr(http.StatusNotFound, "Config %s cannot be found for topic %s.", name, r.PathValue("topic"))
	}
	return http.StatusOK, cs[i], nil
}

// alterTopicConfigs applies incremental changes (KIP-339) to a topic.
func (p *Proxy) alterTopicConfigs(r *http.Request, changes []kadm.AlterConfig) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	if _, _, err := p.cluster(ctx, r); err != nil {
		return 0, nil, err
	}
	topic := r.PathValue("topic")
	if _, err := p.v3TopicMeta(ctx, topic); err != nil {
		return 0, nil, err
	}
	resps, err := p.adm.AlterTopicConfigs(ctx, changes, topic)
	if err != nil {
		return 0, nil, kafkaErr("alter configs", err)
	}
	for _, rr := range resps {
		if rr.Err != nil {
			msg := rr.ErrMessage
			if msg == "" {
				msg = rr.Err.Error()
			}
			if errors.Is(rr.Err, kerr.InvalidConfig) || errors.Is(rr.Err, kerr.InvalidRequest) {
				return 0, nil, httpErr(http.StatusBadRequest, "%s", msg)
			}
			return 0, nil, kafkaErr("alter configs", rr.Err)
		}
	}
	return http.StatusNoContent, nil, nil
}

func (p *Proxy) updateTopicConfigV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Value *string `json:"value"`
	}
	if err := decodeBody(r, &req, false); err != nil {
		return 0, nil, err
	}
	return p.alterTopicConfigs(r, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: r.PathValue("name"), Value: req.Value}})
}

func (p *Proxy) resetTopicConfigV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	return p.alterTopicConfigs(r, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: r.PathValue("name")}})
}

func (p *Proxy) batchAlterTopicConfigsV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Data []struct {
			Name      string  `json:"name"`
			Value     *string `json:"value"`
			Operation string  `json:"operation"`
		} `json:"data"`
	}
	if err := decodeBody(r, &req, false); err != nil {
		return 0, nil, err
	}
	var changes []kadm.AlterConfig
	for _, d := range req.Data {
		switch strings.ToUpper(d.Operation) {
		case "", "SET":
			changes = append(changes, kadm.AlterConfig{Op: kadm.SetConfig, Name: d.Name, Value: d.Value})
		case "DELETE":
			changes = append(changes, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: d.Name})
		default:
			return 0, nil, httpErr(http.StatusBadRequest, "operation %q: want SET or DELETE", d.Operation)
		}
	}
	return p.alterTopicConfigs(r, changes)
}

func brokerResource(cluster, cself string, b kadm.BrokerDetail) any {
	self := cself + "/brokers/" + strconv.Itoa(int(b.NodeID))
	return struct {
		Kind              string  `json:"kind"`
		Metadata          v3Meta  `json:"metadata"`
		ClusterID         string  `json:"cluster_id"`
		BrokerID          int32   `json:"broker_id"`
		Host              string  `json:"host"`
		Port              int32   `json:"port"`
		Rack              *string `json:"rack"`
		Configs           related `json:"configs"`
		PartitionReplicas related `json:"partition_replicas"`
	}{"KafkaBroker", v3Meta{Self: self, ResourceName: crn("kafka="+cluster, "broker="+strconv.Itoa(int(b.NodeID)))}, cluster,
		b.NodeID, b.Host, b.Port, b.Rack, related{self + "/configs"}, related{self + "/partition-replicas"}}
}

func (p *Proxy) listBrokersV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	bs := slices.Clone(md.Brokers)
	slices.SortFunc(bs, func(a, b kadm.BrokerDetail) int { return int(a.NodeID - b.NodeID) })
	var data []any
	for _, b := range bs {
		data = append(data, brokerResource(md.Cluster, self, b))
	}
	return http.StatusOK, listOf("KafkaBrokerList", self+"/brokers", data), nil
}

func (p *Proxy) getBrokerV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, self, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	for _, b := range md.Brokers {
		if strconv.Itoa(int(b.NodeID)) == r.PathValue("broker") {
			return http.StatusOK, brokerResource(md.Cluster, self, b), nil
		}
	}
	return 0, nil, httpErr(http.StatusNotFound, "Broker %s cannot be found.", r.PathValue("broker"))
}
