package restproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// v2 topic, partition, broker and produce endpoints.

// topicMeta returns the metadata of one topic, or 40401.
func (p *Proxy) topicMeta(ctx context.Context, topic string) (kadm.TopicDetail, error) {
	md, err := p.adm.Metadata(ctx, topic)
	if err != nil {
		return kadm.TopicDetail{}, kafkaErr("metadata", err)
	}
	td, ok := md.Topics[topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return kadm.TopicDetail{}, errorf(http.StatusNotFound, codeTopicNotFound, "Topic %s not found.", topic)
	}
	if td.Err != nil {
		return kadm.TopicDetail{}, kafkaErr("topic "+topic, td.Err)
	}
	return td, nil
}

// topicMetaTTL is how long produce trusts a topic's metadata: without it
// every produce request pays a Metadata round trip before its Produce.
// Only topics found are cached, so a topic created a moment ago is seen at
// once; a topic deleted within the TTL fails at the produce itself.
const topicMetaTTL = time.Second

type cachedTopicMeta struct {
	td kadm.TopicDetail
	at time.Time
}

// producerTopicMeta is topicMeta for the produce path, cached for
// topicMetaTTL.
func (p *Proxy) producerTopicMeta(ctx context.Context, topic string) (kadm.TopicDetail, error) {
	now := time.Now()
	p.metaMu.Lock()
	c, ok := p.meta[topic]
	p.metaMu.Unlock()
	if ok && now.Sub(c.at) < topicMetaTTL {
		return c.td, nil
	}
	td, err := p.topicMeta(ctx, topic)
	if err != nil {
		return td, err
	}
	p.metaMu.Lock()
	if p.meta == nil || len(p.meta) > 10000 {
		p.meta = map[string]cachedTopicMeta{}
	}
	p.meta[topic] = cachedTopicMeta{td: td, at: now}
	p.metaMu.Unlock()
	return td, nil
}

// partitionArg parses the {partition} path value of a topic with td's
// partitions, or 40402.
func partitionArg(r *http.Request, td kadm.TopicDetail) (int32, error) {
	s := r.PathValue("partition")
	n, err := strconv.ParseInt(s, 10, 32)
	if _, ok := td.Partitions[int32(n)]; err != nil || !ok {
		return 0, errorf(http.StatusNotFound, codePartitionNotFound, "Partition %s of topic %s not found.", s, td.Topic)
	}
	return int32(n), nil
}

type v2Replica struct {
	Broker int32 `json:"broker"`
	Leader bool  `json:"leader"`
	InSync bool  `json:"in_sync"`
}

type v2Partition struct {
	Partition int32       `json:"partition"`
	Leader    int32       `json:"leader"`
	Replicas  []v2Replica `json:"replicas"`
}

func v2PartitionOf(pd kadm.PartitionDetail) v2Partition {
	out := v2Partition{Partition: pd.Partition, Leader: pd.Leader, Replicas: []v2Replica{}}
	for _, r := range pd.Replicas {
		out.Replicas = append(out.Replicas, v2Replica{Broker: r, Leader: r == pd.Leader, InSync: slices.Contains(pd.ISR, r)})
	}
	return out
}

func v2Partitions(td kadm.TopicDetail) []v2Partition {
	out := []v2Partition{}
	for _, pd := range td.Partitions.Sorted() {
		out = append(out, v2PartitionOf(pd))
	}
	return out
}

func (p *Proxy) listTopicsV2(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	tds, err := p.adm.ListTopics(ctx) // internal topics are left out, as in the reference
	if err != nil {
		return 0, nil, kafkaErr("list topics", err)
	}
	names := tds.Names()
	sort.Strings(names)
	if names == nil {
		names = []string{}
	}
	return http.StatusOK, names, nil
}

func (p *Proxy) getTopicV2(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	topic := r.PathValue("topic")
	td, err := p.topicMeta(ctx, topic)
	if err != nil {
		return 0, nil, err
	}
	configs := map[string]string{}
	rcs, err := p.adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return 0, nil, kafkaErr("describe configs", err)
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			return 0, nil, kafkaErr("describe configs", rc.Err)
		}
		for _, c := range rc.Configs {
			if c.Value != nil && !c.Sensitive {
				configs[c.Key] = *c.Value
			}
		}
	}
	return http.StatusOK, struct {
		Name       string            `json:"name"`
		Configs    map[string]string `json:"configs"`
		Partitions []v2Partition     `json:"partitions"`
	}{topic, configs, v2Partitions(td)}, nil
}

func (p *Proxy) listPartitionsV2(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	td, err := p.topicMeta(ctx, r.PathValue("topic"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v2Partitions(td), nil
}

func (p *Proxy) getPartitionV2(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	td, err := p.topicMeta(ctx, r.PathValue("topic"))
	if err != nil {
		return 0, nil, err
	}
	part, err := partitionArg(r, td)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v2PartitionOf(td.Partitions[part]), nil
}

func (p *Proxy) partitionOffsetsV2(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	topic := r.PathValue("topic")
	td, err := p.topicMeta(ctx, topic)
	if err != nil {
		return 0, nil, err
	}
	part, err := partitionArg(r, td)
	if err != nil {
		return 0, nil, err
	}
	start, end, err := p.bounds(ctx, topic, part)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Beginning int64 `json:"beginning_offset"`
		End       int64 `json:"end_offset"`
	}{start, end}, nil
}

// bounds returns a partition's log start offset and high watermark.
func (p *Proxy) bounds(ctx context.Context, topic string, part int32) (start, end int64, err error) {
	so, err := p.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, 0, kafkaErr("list offsets", err)
	}
	eo, err := p.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, 0, kafkaErr("list offsets", err)
	}
	s, ok1 := so.Lookup(topic, part)
	e, ok2 := eo.Lookup(topic, part)
	if !ok1 || !ok2 {
		return 0, 0, errorf(http.StatusNotFound, codePartitionNotFound, "Partition %d of topic %s not found.", part, topic)
	}
	if s.Err != nil {
		return 0, 0, kafkaErr("list offsets", s.Err)
	}
	if e.Err != nil {
		return 0, 0, kafkaErr("list offsets", e.Err)
	}
	return s.Offset, e.Offset, nil
}

func (p *Proxy) listBrokersV2(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := p.ctx(r)
	defer cancel()
	md, err := p.adm.BrokerMetadata(ctx)
	if err != nil {
		return 0, nil, kafkaErr("metadata", err)
	}
	ids := []int32{}
	for _, b := range md.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	return http.StatusOK, struct {
		Brokers []int32 `json:"brokers"`
	}{ids}, nil
}

// v2ProduceRequest is the body of POST /topics/{t} and
// POST /topics/{t}/partitions/{p}. The schema fields belong to the schema
// formats; binary and json ignore them, as the reference does.
type v2ProduceRequest struct {
	KeySchema     *string    `json:"key_schema"`
	KeySchemaID   *int       `json:"key_schema_id"`
	ValueSchema   *string    `json:"value_schema"`
	ValueSchemaID *int       `json:"value_schema_id"`
	Records       []v2Record `json:"records"`
}

type v2Record struct {
	Key       json.RawMessage `json:"key"`
	Value     json.RawMessage `json:"value"`
	Partition *int32          `json:"partition"`
}

type v2Offset struct {
	Partition *int32  `json:"partition"`
	Offset    *int64  `json:"offset"`
	ErrorCode *int    `json:"error_code"`
	Error     *string `json:"error"`
}

type v2ProduceResponse struct {
	KeySchemaID   *int       `json:"key_schema_id"`
	ValueSchemaID *int       `json:"value_schema_id"`
	Offsets       []v2Offset `json:"offsets"`
}

func (p *Proxy) produceTopicV2(w http.ResponseWriter, r *http.Request) (int, any, error) {
	return p.produceV2(r, false)
}

func (p *Proxy) producePartitionV2(w http.ResponseWriter, r *http.Request) (int, any, error) {
	return p.produceV2(r, true)
}

// produceV2 produces the records of a v2 request and answers each one's
// partition and offset (or error) in request order.
func (p *Proxy) produceV2(r *http.Request, toPartition bool) (int, any, error) {
	f, err := p.produceFormat(r)
	if err != nil {
		return 0, nil, err
	}
	var req v2ProduceRequest
	if err := decodeBody(r, &req, false); err != nil {
		return 0, nil, err
	}
	if len(req.Records) == 0 {
		return 0, nil, httpErr(http.StatusUnprocessableEntity, "records: must not be empty")
	}
	ctx, cancel := p.ctx(r)
	defer cancel()
	topic := r.PathValue("topic")
	td, err := p.producerTopicMeta(ctx, topic)
	if err != nil {
		return 0, nil, err
	}
	var fixed *int32
	if toPartition {
		part, err := partitionArg(r, td)
		if err != nil {
			return 0, nil, err
		}
		fixed = &part
	}
	encKey, encValue := f.Encode, f.Encode
	var resp v2ProduceResponse
	if sf, ok := f.(schemaFormat); ok {
		kc, vc, err := p.produceCodecs(ctx, sf, topic, &req)
		if err != nil {
			return 0, nil, err
		}
		encKey, resp.KeySchemaID = codecEncoder(kc, codeKeySchemaMissing, "key")
		encValue, resp.ValueSchemaID = codecEncoder(vc, codeValueSchemaMissing, "value")
	}
	explicitCtx := context.WithValue(ctx, explicitPartition{}, true)
	recs := make([]*kgo.Record, len(req.Records))
	for i, rec := range req.Records {
		kr := &kgo.Record{Topic: topic, Context: ctx}
		if kr.Key, err = encKey(rec.Key); err != nil {
			return 0, nil, encodeErr(err, "records[%d].key", i)
		}
		if kr.Value, err = encValue(rec.Value); err != nil {
			return 0, nil, encodeErr(err, "records[%d].value", i)
		}
		part := rec.Partition
		if fixed != nil {
			part = fixed
		}
		if part != nil {
			if _, ok := td.Partitions[*part]; !ok {
				return 0, nil, errorf(http.StatusNotFound, codePartitionNotFound, "Partition %d of topic %s not found.", *part, topic)
			}
			kr.Partition, kr.Context = *part, explicitCtx
		}
		recs[i] = kr
	}
	// ProduceSync returns results in completion order, which differs from
	// the request's once records go to several partitions; the response
	// lists them in request order, as the reference does.
	at := make(map[*kgo.Record]int, len(recs))
	for i, r := range recs {
		at[r] = i
	}
	results := p.cl.ProduceSync(ctx, recs...)
	resp.Offsets = make([]v2Offset, len(results))
	for _, res := range results {
		i := at[res.Record]
		if res.Err != nil {
			code, msg := produceErrCode(res.Err)
			resp.Offsets[i] = v2Offset{ErrorCode: &code, Error: &msg}
			continue
		}
		part, off := res.Record.Partition, res.Record.Offset
		resp.Offsets[i] = v2Offset{Partition: &part, Offset: &off}
	}
	return http.StatusOK, resp, nil
}

// produceErrCode is the per-record error of a failed produce.
func produceErrCode(err error) (int, string) {
	e := kafkaErr("produce", err)
	if errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) {
		return codeTooLarge, e.Message
	}
	return e.Code, e.Message
}

// produceCodecs resolves the key and value schemas of a schema format
// request: registered from key_schema/value_schema under TOPIC-key and
// TOPIC-value, or looked up by key_schema_id/value_schema_id (which must
// be registered under that subject, as in the reference). A side without
// either is nil.
func (p *Proxy) produceCodecs(ctx context.Context, f schemaFormat, topic string, req *v2ProduceRequest) (kc, vc *resolved, err error) {
	if kc, err = p.codecFor(ctx, f.typ, true, topic, true, schemaSide{text: req.KeySchema, id: req.KeySchemaID}); err != nil {
		return nil, nil, err
	}
	if vc, err = p.codecFor(ctx, f.typ, true, topic, false, schemaSide{text: req.ValueSchema, id: req.ValueSchemaID}); err != nil {
		return nil, nil, err
	}
	return kc, vc, nil
}

// codecEncoder is the encoder of one side of a schema format request and
// the schema id its response reports: null stays null; data without a
// schema is refused with missingCode; data its schema does not admit is a
// 400, as in the reference.
func codecEncoder(res *resolved, missingCode int, side string) (func(json.RawMessage) ([]byte, error), *int) {
	return func(data json.RawMessage) ([]byte, error) {
		if isNull(data) {
			return nil, nil
		}
		if res == nil {
			return nil, errorf(http.StatusUnprocessableEntity, missingCode,
				"Request includes %ss but does not include %s schema (%s_schema or %s_schema_id)", side, side, side, side)
		}
		b, err := res.c.encode(data)
		if err != nil {
			return nil, httpErr(http.StatusBadRequest, "%v", err)
		}
		return b, nil
	}, schemaIDOf(res)
}

func schemaIDOf(res *resolved) *int {
	if res == nil {
		return nil
	}
	id := res.c.id
	return &id
}

// encodeErr places an encoding error at its record; an *Error keeps its
// status and code.
func encodeErr(err error, where string, i int) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Status: e.Status, Code: e.Code, Message: fmt.Sprintf(where, i) + ": " + e.Message}
	}
	return httpErr(http.StatusUnprocessableEntity, where+": %v", i, err)
}
