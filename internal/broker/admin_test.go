package broker_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func createTopicsReq(version int16, validateOnly bool, topics ...kmsg.CreateTopicsRequestTopic) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(version)
	req.TimeoutMillis = 5000
	req.ValidateOnly = validateOnly
	req.Topics = topics
	return req
}

func newTopic(name string, partitions int32, rf int16) kmsg.CreateTopicsRequestTopic {
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = name, partitions, rf
	return t
}

func TestCreateTopicsErrors(t *testing.T) {
	b := kafkatest.Start(t)
	r := dialRaw(t, b.Addr)
	createTopic(t, b, "exists", 2, nil)

	long := strings.Repeat("x", 250)
	for _, tc := range []struct {
		name  string
		topic kmsg.CreateTopicsRequestTopic
		code  int16
	}{
		{"alreadyExists", newTopic("exists", 1, 1), kerr.TopicAlreadyExists.Code},
		{"replicationFactor3", newTopic("rf3", 1, 3), kerr.InvalidReplicationFactor.Code},
		{"replicationFactor0", newTopic("rf0", 1, 0), kerr.InvalidReplicationFactor.Code},
		{"zeroPartitions", newTopic("p0", 0, 1), kerr.InvalidPartitions.Code},
		{"slash", newTopic("bad/name", 1, 1), kerr.InvalidTopicException.Code},
		{"empty", newTopic("", 1, 1), kerr.InvalidTopicException.Code},
		{"dot", newTopic(".", 1, 1), kerr.InvalidTopicException.Code},
		{"dotdot", newTopic("..", 1, 1), kerr.InvalidTopicException.Code},
		{"tooLong", newTopic(long, 1, 1), kerr.InvalidTopicException.Code},
		{"space", newTopic("has space", 1, 1), kerr.InvalidTopicException.Code},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, false, tc.topic)).Topics[0]
			if st.ErrorCode != tc.code {
				t.Fatalf("error %d (%v), want %d", st.ErrorCode, st.ErrorMessage, tc.code)
			}
			if st.ErrorMessage == nil || *st.ErrorMessage == "" {
				t.Errorf("no error message")
			}
		})
	}
	t.Run("rf3Message", func(t *testing.T) {
		st := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, false, newTopic("rf3", 1, 3))).Topics[0]
		if st.ErrorMessage == nil || !strings.Contains(*st.ErrorMessage, "replication factor of 3") {
			t.Fatalf("message %v", st.ErrorMessage)
		}
	})
	t.Run("duplicateInOneRequest", func(t *testing.T) {
		resp := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, false, newTopic("dup", 1, 1), newTopic("dup", 2, 1), newTopic("single", 1, 1)))
		if len(resp.Topics) != 3 || resp.Topics[0].ErrorCode != kerr.InvalidRequest.Code ||
			resp.Topics[1].ErrorCode != kerr.InvalidRequest.Code || resp.Topics[2].ErrorCode != 0 {
			t.Fatalf("%+v", resp.Topics)
		}
		if b.Metadata().Image().Topic("dup") != nil {
			t.Fatal("dup was created")
		}
	})
	t.Run("collision", func(t *testing.T) {
		createTopic(t, b, "a.b", 1, nil)
		st := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, false, newTopic("a_b", 1, 1))).Topics[0]
		if st.ErrorCode != kerr.InvalidTopicException.Code {
			t.Fatalf("a_b next to a.b: error %d", st.ErrorCode)
		}
	})
	t.Run("validateOnly", func(t *testing.T) {
		st := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, true, newTopic("vo", 4, 1))).Topics[0]
		if st.ErrorCode != 0 || st.NumPartitions != 4 || st.ReplicationFactor != 1 {
			t.Fatalf("%+v", st)
		}
		if b.Metadata().Image().Topic("vo") != nil {
			t.Fatal("validate-only created the topic")
		}
	})
	t.Run("defaultsAndV5Configs", func(t *testing.T) {
		st := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, false, newTopic("defaults", -1, -1))).Topics[0]
		if st.ErrorCode != 0 || st.NumPartitions != 1 || st.ReplicationFactor != 1 || st.TopicID == [16]byte{} || len(st.Configs) < 20 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("replicaAssignment", func(t *testing.T) {
		tp := newTopic("assigned", -1, -1)
		tp.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 1, Replicas: []int32{1}}, {Partition: 0, Replicas: []int32{1}}}
		bad := newTopic("assigned-bad", -1, -1)
		bad.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{2}}}
		resp := do[*kmsg.CreateTopicsResponse](t, r, createTopicsReq(7, false, tp, bad))
		if resp.Topics[0].ErrorCode != 0 || resp.Topics[0].NumPartitions != 2 || resp.Topics[1].ErrorCode != kerr.InvalidReplicaAssignment.Code {
			t.Fatalf("%+v", resp.Topics)
		}
	})
}

func TestCreatePartitions(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "grow", 2, nil)
	adm := b.Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := adm.UpdatePartitions(ctx, 5, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if rr, _ := res.On("grow", nil); rr.Err != nil {
		t.Fatal(rr.Err)
	}
	r := dialRaw(t, b.Addr)
	if m := metadataFor(t, r, 12, false, "grow"); len(m.Topics[0].Partitions) != 5 {
		t.Fatalf("%d partitions after growing to 5", len(m.Topics[0].Partitions))
	}
	// The new partitions take produce.
	batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: time.Now().UnixMilli(), value: []byte("x")})
	if pr := produceOne(t, r, "grow", 4, batch); pr.ErrorCode != 0 {
		t.Fatal(pr.ErrorCode)
	}
	for _, tc := range []struct {
		topic string
		count int32
		code  int16
	}{{"grow", 3, kerr.InvalidPartitions.Code}, {"grow", 5, kerr.InvalidPartitions.Code}, {"missing", 3, kerr.UnknownTopicOrPartition.Code}} {
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.SetVersion(3)
		req.TimeoutMillis = 5000
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = tc.topic, tc.count
		req.Topics = append(req.Topics, rt)
		if st := do[*kmsg.CreatePartitionsResponse](t, r, req).Topics[0]; st.ErrorCode != tc.code {
			t.Errorf("%s to %d: error %d, want %d", tc.topic, tc.count, st.ErrorCode, tc.code)
		}
	}
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if m := metadataFor(t, r, 12, false, "grow"); len(m.Topics[0].Partitions) != 5 {
		t.Fatalf("%d partitions after restart", len(m.Topics[0].Partitions))
	}
	if p := listOffset(t, r, 9, "grow", 4, -1); p.Offset != 1 {
		t.Fatalf("partition 4 hw %d after restart", p.Offset)
	}
}

func TestDeleteTopics(t *testing.T) {
	b := kafkatest.Start(t)
	for _, n := range []string{"del-name", "del-id", "keep"} {
		createTopic(t, b, n, 2, nil)
	}
	r := dialRaw(t, b.Addr)
	batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: time.Now().UnixMilli(), value: []byte("x")})
	produceOne(t, r, "del-name", 0, batch)

	adm := b.Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dr, err := adm.DeleteTopics(ctx, "del-name")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := dr.On("del-name", nil); d.Err != nil || d.ID == (kadm.TopicID{}) {
		t.Fatalf("delete by name: %+v", d)
	}

	id := b.Metadata().Image().Topic("del-id").ID
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.SetVersion(6)
	req.TimeoutMillis = 5000
	req.Topics = []kmsg.DeleteTopicsRequestTopic{{TopicID: id}, {TopicID: [16]byte{1, 2, 3}}, {Topic: sp("keep"), TopicID: id}, {Topic: sp("never")}}
	resp := do[*kmsg.DeleteTopicsResponse](t, r, req)
	ts := resp.Topics
	if len(ts) != 4 || ts[0].ErrorCode != 0 || ts[0].Topic == nil || *ts[0].Topic != "del-id" ||
		ts[1].ErrorCode != kerr.UnknownTopicID.Code || ts[2].ErrorCode != kerr.InvalidRequest.Code ||
		ts[3].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("delete v6: %+v", ts)
	}
	check := func(r *rawConn) {
		t.Helper()
		if names := strings.Join(topicNames(metadataFor(t, r, 12, false)), ","); names != "keep" {
			t.Fatalf("topics %q, want keep", names)
		}
		if pr := produceOne(t, r, "del-name", 0, batch); pr.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("produce to deleted topic: error %d", pr.ErrorCode)
		}
	}
	check(r)
	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	check(r)
	// The name can be reused; the new topic starts empty with a new id.
	createTopic(t, b, "del-name", 1, nil)
	if p := listOffset(t, r, 9, "del-name", 0, -1); p.Offset != 0 {
		t.Fatalf("recreated topic hw %d", p.Offset)
	}
	if [16]byte(b.Metadata().Image().Topic("del-name").ID) == [16]byte(dr["del-name"].ID) {
		t.Fatal("recreated topic reused the id")
	}
}

func TestDescribeClusterAndLogDirs(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "ld", 2, nil)
	r := dialRaw(t, b.Addr)
	ts := time.Now().UnixMilli()
	for i := range 5 {
		produceOne(t, r, "ld", 0, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: ts, value: []byte{byte(i)}}))
	}

	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.SetVersion(1)
	dc.EndpointType = 1
	c := do[*kmsg.DescribeClusterResponse](t, r, dc)
	if c.ErrorCode != 0 || c.ClusterID != b.ClusterID() || c.ControllerID != 1 || len(c.Brokers) != 1 ||
		c.Brokers[0].NodeID != 1 || c.Brokers[0].Host+":"+itoa(c.Brokers[0].Port) != b.Addr {
		t.Fatalf("describe cluster: %+v", c)
	}
	dc.EndpointType = 2
	if c := do[*kmsg.DescribeClusterResponse](t, r, dc); c.ErrorCode != kerr.UnsupportedEndpointType.Code {
		t.Fatalf("controller endpoints: error %d", c.ErrorCode)
	}

	ld := kmsg.NewPtrDescribeLogDirsRequest()
	ld.SetVersion(4)
	dirs := do[*kmsg.DescribeLogDirsResponse](t, r, ld).Dirs
	if len(dirs) != 1 || dirs[0].Dir != b.Dir || dirs[0].TotalBytes <= 0 || dirs[0].UsableBytes <= 0 {
		t.Fatalf("log dirs: %+v", dirs)
	}
	sizes := map[int32]int64{}
	for _, tp := range dirs[0].Topics {
		if tp.Topic != "ld" {
			t.Fatalf("unexpected topic %s", tp.Topic)
		}
		for _, p := range tp.Partitions {
			sizes[p.Partition] = p.Size
		}
	}
	if len(sizes) != 2 || sizes[0] <= 0 || sizes[1] != 0 {
		t.Fatalf("partition sizes %v, want p0 > 0 and p1 = 0", sizes)
	}
	// Only the partitions asked for.
	ld.Topics = []kmsg.DescribeLogDirsRequestTopic{{Topic: "ld", Partitions: []int32{1}}}
	dirs = do[*kmsg.DescribeLogDirsResponse](t, r, ld).Dirs
	if len(dirs[0].Topics) != 1 || len(dirs[0].Topics[0].Partitions) != 1 || dirs[0].Topics[0].Partitions[0].Partition != 1 {
		t.Fatalf("filtered log dirs: %+v", dirs[0].Topics)
	}
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

func TestDescribeTopicPartitionsPagination(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "five", 5, nil)
	createTopic(t, b, "two", 2, nil)
	r := dialRaw(t, b.Addr)

	page := func(cursor *kmsg.DescribeTopicPartitionsRequestCursor, limit int32, topics ...string) *kmsg.DescribeTopicPartitionsResponse {
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		req.ResponsePartitionLimit = limit
		req.Cursor = cursor
		for _, tp := range topics {
			req.Topics = append(req.Topics, kmsg.DescribeTopicPartitionsRequestTopic{Topic: tp})
		}
		return do[*kmsg.DescribeTopicPartitionsResponse](t, r, req)
	}
	summary := func(resp *kmsg.DescribeTopicPartitionsResponse) string {
		var parts []string
		for _, tp := range resp.Topics {
			s := *tp.Topic + ":"
			for _, p := range tp.Partitions {
				s += itoa(p.Partition)
			}
			if tp.ErrorCode != 0 {
				s += "!" + itoa(int32(tp.ErrorCode))
			}
			parts = append(parts, s)
		}
		if c := resp.NextCursor; c != nil {
			parts = append(parts, "next="+c.Topic+"/"+itoa(c.Partition))
		}
		return strings.Join(parts, " ")
	}

	p1 := page(nil, 3, "five")
	if got := summary(p1); got != "five:012 next=five/3" {
		t.Fatalf("page 1: %s", got)
	}
	p2 := page(&kmsg.DescribeTopicPartitionsRequestCursor{Topic: "five", Partition: 3}, 3, "five")
	if got := summary(p2); got != "five:34" {
		t.Fatalf("page 2: %s", got)
	}
	// All topics (name order), pages of 3 across topic boundaries.
	if got := summary(page(nil, 3)); got != "five:012 next=five/3" {
		t.Fatalf("all, page 1: %s", got)
	}
	if got := summary(page(&kmsg.DescribeTopicPartitionsRequestCursor{Topic: "five", Partition: 3}, 3)); got != "five:34 two:0 next=two/1" {
		t.Fatalf("all, page 2: %s", got)
	}
	if got := summary(page(&kmsg.DescribeTopicPartitionsRequestCursor{Topic: "two", Partition: 1}, 3)); got != "two:1" {
		t.Fatalf("all, page 3: %s", got)
	}
	// Exactly filling a page with the last topic leaves no cursor.
	if got := summary(page(nil, 7)); got != "five:01234 two:01" {
		t.Fatalf("all in one page: %s", got)
	}
	if got := summary(page(nil, 5)); got != "five:01234 next=two/0" {
		t.Fatalf("page ending at a topic boundary: %s", got)
	}
	if got := summary(page(nil, 0, "nope", "two")); got != "nope:!3 two:01" {
		t.Fatalf("unknown topic: %s", got)
	}
}

func TestOffsetForLeaderEpoch(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "ofle", 1, nil)
	r := dialRaw(t, b.Addr)
	ts := time.Now().UnixMilli()
	for range 3 {
		produceOne(t, r, "ofle", 0, buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: ts, value: []byte("x")}, rec{ts: ts, value: []byte("y")}))
	}
	m := metadataFor(t, r, 12, false, "ofle")
	epoch := m.Topics[0].Partitions[0].LeaderEpoch

	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.SetVersion(4)
	req.ReplicaID = -1
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = "ofle"
	for _, e := range []struct{ cur, le int32 }{{-1, epoch}, {epoch, epoch}, {epoch + 1, epoch}, {-1, epoch + 5}} {
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = 0, e.cur, e.le
		rt.Partitions = append(rt.Partitions, rp)
	}
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch = 3, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ps := do[*kmsg.OffsetForLeaderEpochResponse](t, r, req).Topics[0].Partitions
	if ps[0].ErrorCode != 0 || ps[0].LeaderEpoch != epoch || ps[0].EndOffset != 6 {
		t.Fatalf("epoch %d: %+v", epoch, ps[0])
	}
	if ps[1].ErrorCode != 0 || ps[1].EndOffset != 6 {
		t.Fatalf("with current epoch: %+v", ps[1])
	}
	if ps[2].ErrorCode != kerr.UnknownLeaderEpoch.Code {
		t.Fatalf("future current epoch: %+v", ps[2])
	}
	// An epoch past the latest is unknown: -1/-1, as Kafka's
	// LeaderEpochFileCache.endOffsetFor answers.
	if ps[3].ErrorCode != 0 || ps[3].LeaderEpoch != -1 || ps[3].EndOffset != -1 {
		t.Fatalf("epoch past latest: %+v", ps[3])
	}
	if ps[4].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown partition: %+v", ps[4])
	}
}
