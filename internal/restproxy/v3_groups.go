package restproxy

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/twmb/franz-go/pkg/kadm"
)

// v3 consumer groups, their consumers and their lags: DescribeGroups,
// OffsetFetch and ListOffsets through kadm (kadm.Lag). A lag is reported
// for each partition the group has committed an offset for.

// groupState turns Kafka's group state (PreparingRebalance) into the
// reference's (PREPARING_REBALANCE).
func groupState(s string) string {
	if s == "" {
		return "UNKNOWN"
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

func (p *Proxy) groupResource(cluster, cself string, g kadm.DescribedGroup) any {
	self := cself + "/consumer-groups/" + url.PathEscape(g.Group)
	return struct {
		Kind              string  `json:"kind"`
		Metadata          v3Meta  `json:"metadata"`
		ClusterID         string  `json:"cluster_id"`
		ConsumerGroupID   string  `json:"consumer_group_id"`
		IsSimple          bool    `json:"is_simple"`
		PartitionAssignor string  `json:"partition_assignor"`
		State             string  `json:"state"`
		Type              string  `json:"type"`
		Coordinator       related `json:"coordinator"`
		Consumers         related `json:"consumers"`
		LagSummary        related `json:"lag_summary"`
	}{"KafkaConsumerGroup", v3Meta{Self: self, ResourceName: crn("kafka="+cluster, "consumer-group="+g.Group)}, cluster, g.Group,
		g.ProtocolType == "", g.Protocol, groupState(g.State), "CLASSIC",
		related{cself + "/brokers/" + strconv.Itoa(int(g.Coordinator.NodeID))}, related{self + "/consumers"}, related{self + "/lag-summary"}}
}

// describeGroup describes the group named by {group}; a group the
// coordinator does not know (state Dead) is 404.
func (p *Proxy) describeGroup(ctx context.Context, r *http.Request) (kadm.DescribedGroup, error) {
	name := r.PathValue("group")
	gs, err := p.adm.DescribeGroups(ctx, name)
	if err != nil {
		return kadm.DescribedGroup{}, kafkaErr("describe groups", err)
	}
	g, ok := gs[name]
	if !ok || g.State == "Dead" {
		return g, httpErr(http.StatusNotFound, "Consumer group %s cannot be found.", name)
	}
	if g.Err != nil {
		return g, kafkaErr("describe group", g.Err)
	}
	return g, nil
}

func (p *Proxy) listGroupsV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, cself, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	listed, err := p.adm.ListGroups(ctx)
	if err != nil {
		return 0, nil, kafkaErr("list groups", err)
	}
	names := listed.Groups()
	var data []any
	if len(names) > 0 {
		gs, err := p.adm.DescribeGroups(ctx, names...)
		if err != nil {
			return 0, nil, kafkaErr("describe groups", err)
		}
		for _, g := range gs.Sorted() {
			if g.Err == nil && g.State != "Dead" {
				data = append(data, p.groupResource(md.Cluster, cself, g))
			}
		}
	}
	return http.StatusOK, listOf("KafkaConsumerGroupList", cself+"/consumer-groups", data), nil
}

func (p *Proxy) getGroupV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, cself, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	g, err := p.describeGroup(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p.groupResource(md.Cluster, cself, g), nil
}

func consumerResource(cluster, gself, group string, m kadm.DescribedGroupMember) any {
	self := gself + "/consumers/" + url.PathEscape(m.MemberID)
	return struct {
		Kind            string  `json:"kind"`
		Metadata        v3Meta  `json:"metadata"`
		ClusterID       string  `json:"cluster_id"`
		ConsumerGroupID string  `json:"consumer_group_id"`
		ConsumerID      string  `json:"consumer_id"`
		InstanceID      *string `json:"instance_id"`
		ClientID        string  `json:"client_id"`
		Assignments     related `json:"assignments"`
	}{"KafkaConsumer", v3Meta{Self: self, ResourceName: crn("kafka="+cluster, "consumer-group="+group, "consumer="+m.MemberID)},
		cluster, group, m.MemberID, m.InstanceID, m.ClientID, related{self + "/assignments"}}
}

func (p *Proxy) listConsumersV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, cself, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	g, err := p.describeGroup(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	gself := cself + "/consumer-groups/" + url.PathEscape(g.Group)
	var data []any
	for _, m := range g.Members {
		data = append(data, consumerResource(md.Cluster, gself, g.Group, m))
	}
	return http.StatusOK, listOf("KafkaConsumerList", gself+"/consumers", data), nil
}

func (p *Proxy) getConsumerV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, cself, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	g, err := p.describeGroup(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	gself := cself + "/consumer-groups/" + url.PathEscape(g.Group)
	for _, m := range g.Members {
		if m.MemberID == r.PathValue("consumer") {
			return http.StatusOK, consumerResource(md.Cluster, gself, g.Group, m), nil
		}
	}
	return 0, nil, httpErr(http.StatusNotFound, "Consumer %s cannot be found.", r.PathValue("consumer"))
}

// listAssignmentsV3 lists the partitions a consumer is assigned, from the
// member's consumer-protocol assignment (the target of the consumer
// resource's "assignments" link).
func (p *Proxy) listAssignmentsV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, cself, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	g, err := p.describeGroup(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("consumer")
	i := slices.IndexFunc(g.Members, func(m kadm.DescribedGroupMember) bool { return m.MemberID == id })
	if i < 0 {
		return 0, nil, httpErr(http.StatusNotFound, "Consumer %s cannot be found.", id)
	}
	self := cself + "/consumer-groups/" + url.PathEscape(g.Group) + "/consumers/" + url.PathEscape(id) + "/assignments"
	data := []any{}
	if a, ok := g.Members[i].Assigned.AsConsumer(); ok {
		for _, t := range a.Topics {
			parts := slices.Clone(t.Partitions)
			slices.Sort(parts)
			for _, part := range parts {
				pself := fmt.Sprintf("%s/%s/%d", self, url.PathEscape(t.Topic), part)
				data = append(data, struct {
					Kind            string  `json:"kind"`
					Metadata        v3Meta  `json:"metadata"`
					ClusterID       string  `json:"cluster_id"`
					ConsumerGroupID string  `json:"consumer_group_id"`
					ConsumerID      string  `json:"consumer_id"`
					TopicName       string  `json:"topic_name"`
					PartitionID     int32   `json:"partition_id"`
					Partition       related `json:"partition"`
				}{"KafkaConsumerAssignment", v3Meta{Self: pself, ResourceName: crn("kafka="+md.Cluster, "consumer-group="+g.Group,
					"consumer="+id, "topic="+t.Topic, fmt.Sprintf("partition=%d", part))},
					md.Cluster, g.Group, id, t.Topic, part,
					related{fmt.Sprintf("%s/topics/%s/partitions/%d", cself, url.PathEscape(t.Topic), part)}})
			}
		}
	}
	return http.StatusOK, listOf("KafkaConsumerAssignmentList", self, data), nil
}

// groupLags returns the group's lag per committed partition, sorted by
// topic and partition.
func (p *Proxy) groupLags(ctx context.Context, r *http.Request) (kadm.DescribedGroup, []kadm.GroupMemberLag, error) {
	g, err := p.describeGroup(ctx, r)
	if err != nil {
		return g, nil, err
	}
	lags, err := p.adm.Lag(ctx, g.Group)
	if err != nil {
		return g, nil, kafkaErr("lag", err)
	}
	l, ok := lags[g.Group]
	if !ok {
		return g, nil, httpErr(http.StatusNotFound, "Consumer group %s cannot be found.", g.Group)
	}
	if err := l.Error(); err != nil {
		return g, nil, kafkaErr("lag", err)
	}
	var out []kadm.GroupMemberLag
	for _, ml := range l.Lag.Sorted() {
		if ml.Commit.At >= 0 && ml.Err == nil {
			out = append(out, ml)
		}
	}
	return g, out, nil
}

type v3Lag struct {
	Kind            string  `json:"kind"`
	Metadata        v3Meta  `json:"metadata"`
	ClusterID       string  `json:"cluster_id"`
	ConsumerGroupID string  `json:"consumer_group_id"`
	TopicName       string  `json:"topic_name"`
	PartitionID     int32   `json:"partition_id"`
	CurrentOffset   int64   `json:"current_offset"`
	LogEndOffset    int64   `json:"log_end_offset"`
	Lag             int64   `json:"lag"`
	ConsumerID      string  `json:"consumer_id"`
	InstanceID      *string `json:"instance_id"`
	ClientID        string  `json:"client_id"`
}

// memberIDs are a lag's consumer, instance and client ids ("" without an
// active member).
func memberIDs(ml kadm.GroupMemberLag) (string, *string, string) {
	if ml.Member == nil {
		return "", nil, ""
	}
	return ml.Member.MemberID, ml.Member.InstanceID, ml.Member.ClientID
}

func lagResource(cluster, gself, group string, ml kadm.GroupMemberLag) v3Lag {
	part := strconv.Itoa(int(ml.Partition))
	cid, iid, client := memberIDs(ml)
	return v3Lag{"KafkaConsumerLag", v3Meta{Self: gself + "/lags/" + url.PathEscape(ml.Topic) + "/partitions/" + part,
		ResourceName: crn("kafka="+cluster, "consumer-group="+group, "lag="+ml.Topic, "partition="+part)},
		cluster, group, ml.Topic, ml.Partition, ml.Commit.At, ml.End.Offset, ml.Lag, cid, iid, client}
}

func (p *Proxy) listLagsV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, cself, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	g, lags, err := p.groupLags(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	gself := cself + "/consumer-groups/" + url.PathEscape(g.Group)
	var data []any
	for _, ml := range lags {
		data = append(data, lagResource(md.Cluster, gself, g.Group, ml))
	}
	return http.StatusOK, listOf("KafkaConsumerLagList", gself+"/lags", data), nil
}

func (p *Proxy) getLagV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, cself, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	g, lags, err := p.groupLags(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	topic, part := r.PathValue("topic"), r.PathValue("partition")
	i := slices.IndexFunc(lags, func(ml kadm.GroupMemberLag) bool {
		return ml.Topic == topic && strconv.Itoa(int(ml.Partition)) == part
	})
	if i < 0 {
		return 0, nil, httpErr(http.StatusNotFound, "Consumer lag for partition %s of topic %s in group %s cannot be found.", part, topic, g.Group)
	}
	return http.StatusOK, lagResource(md.Cluster, cself+"/consumer-groups/"+url.PathEscape(g.Group), g.Group, lags[i]), nil
}

func (p *Proxy) lagSummaryV3(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, cself, err := p.cluster(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	g, lags, err := p.groupLags(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	gself := cself + "/consumer-groups/" + url.PathEscape(g.Group)
	var total int64
	var maxLag *kadm.GroupMemberLag
	for i, ml := range lags {
		total += ml.Lag
		if maxLag == nil || ml.Lag > maxLag.Lag {
			maxLag = &lags[i]
		}
	}
	type summary struct {
		Kind              string   `json:"kind"`
		Metadata          v3Meta   `json:"metadata"`
		ClusterID         string   `json:"cluster_id"`
		ConsumerGroupID   string   `json:"consumer_group_id"`
		MaxLagConsumerID  string   `json:"max_lag_consumer_id"`
		MaxLagInstanceID  *string  `json:"max_lag_instance_id"`
		MaxLagClientID    string   `json:"max_lag_client_id"`
		MaxLagTopicName   string   `json:"max_lag_topic_name"`
		MaxLagPartitionID int32    `json:"max_lag_partition_id"`
		MaxLag            int64    `json:"max_lag"`
		TotalLag          int64    `json:"total_lag"`
		MaxLagConsumer    *related `json:"max_lag_consumer,omitempty"`
		MaxLagPartition   *related `json:"max_lag_partition,omitempty"`
	}
	s := summary{Kind: "KafkaConsumerGroupLagSummary",
		Metadata:  v3Meta{Self: gself + "/lag-summary", ResourceName: crn("kafka="+md.Cluster, "consumer-group="+g.Group, "lag-summary")},
		ClusterID: md.Cluster, ConsumerGroupID: g.Group, TotalLag: total}
	if maxLag != nil {
		s.MaxLagConsumerID, s.MaxLagInstanceID, s.MaxLagClientID = memberIDs(*maxLag)
		s.MaxLagTopicName, s.MaxLagPartitionID, s.MaxLag = maxLag.Topic, maxLag.Partition, maxLag.Lag
		s.MaxLagPartition = &related{cself + "/topics/" + url.PathEscape(maxLag.Topic) + "/partitions/" + strconv.Itoa(int(maxLag.Partition))}
		if s.MaxLagConsumerID != "" {
			s.MaxLagConsumer = &related{gself + "/consumers/" + url.PathEscape(s.MaxLagConsumerID)}
		}
	}
	return http.StatusOK, s, nil
}
