package restproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// v2 consumer instance endpoints: /consumers/{group}[/instances/{instance}/...].

// codeIllegalState is a 409 for calls in the wrong state (subscribing
// while assigned, seeking an unassigned partition, polling with neither).
const codeIllegalState = 40903

// configString reads a consumer config value given as a JSON string or
// number (clients send both).
func configString(raw json.RawMessage) (string, bool) {
	if isNull(raw) {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return strings.TrimSpace(string(raw)), true
}

func (p *Proxy) createInstance(w http.ResponseWriter, r *http.Request) (int, any, error) {
	if err := checkContentType(r); err != nil {
		return 0, nil, err
	}
	var req map[string]json.RawMessage
	if err := decodeBody(r, &req, true); err != nil {
		return 0, nil, err
	}
	group := r.PathValue("group")
	in := &instance{
		reqTimeout:  p.cfg.ConsumerRequestTimeout,
		maxReqBytes: p.cfg.ConsumerRequestMaxBytes,
		autoCommit:  true, // the Kafka consumer's enable.auto.commit default
		consumed:    map[tp]int64{},
		groupAssign: map[string][]int32{},
		lastUsed:    time.Now(),
	}
	conf := func(msg string, a ...any) error {
		return errorf(http.StatusUnprocessableEntity, codeInvalidConsumerConf, msg, a...)
	}
	name := ""
	format := "binary"
	for k, raw := range req {
		v, set := configString(raw)
		if !set {
			continue
		}
		switch k {
		case "name", "id":
			name = v
		case "format":
			format = strings.ToLower(v)
		case "auto.offset.reset":
			switch strings.ToLower(v) {
			case "earliest", "smallest":
				in.resetEarly = true
			case "latest", "largest":
			default:
				return 0, nil, conf("auto.offset.reset %q: want earliest or latest", v)
			}
		case "auto.commit.enable", "enable.auto.commit":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return 0, nil, conf("%s %q: want true or false", k, v)
			}
			in.autoCommit = b
		case "fetch.min.bytes":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < 0 {
				return 0, nil, conf("fetch.min.bytes %q: want a non-negative integer", v)
			}
			in.minBytes = int32(n)
		case "consumer.request.timeout.ms":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return 0, nil, conf("consumer.request.timeout.ms %q: want a non-negative integer", v)
			}
			in.reqTimeout = time.Duration(n) * time.Millisecond
		default:
			return 0, nil, conf("unknown consumer config %q", k)
		}
	}
	f, err := p.lookupFormat(format, http.StatusUnprocessableEntity, codeInvalidConsumerConf)
	if err != nil {
		return 0, nil, err
	}
	in.format = f
	if name == "" {
		var b [8]byte
		rand.Read(b[:])
		name = "rest-consumer-" + hex.EncodeToString(b[:])
	}
	if strings.ContainsAny(name, "/?#") {
		return 0, nil, conf("name %q: must not contain '/', '?' or '#'", name)
	}
	in.key = instanceKey{group, name}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, nil, httpErr(http.StatusServiceUnavailable, "the REST proxy is shutting down")
	}
	if _, dup := p.instances[in.key]; dup {
		return 0, nil, errorf(http.StatusConflict, codeInstanceExists,
			"Consumer with specified consumer ID already exists in the specified consumer group.")
	}
	p.instances[in.key] = in
	return http.StatusOK, struct {
		InstanceID string `json:"instance_id"`
		BaseURI    string `json:"base_uri"`
	}{name, baseURL(r) + "/consumers/" + url.PathEscape(group) + "/instances/" + url.PathEscape(name)}, nil
}

// withInstance runs h on the instance of the request, held for the call.
func (p *Proxy) withInstance(h func(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error)) func(w http.ResponseWriter, r *http.Request) (int, any, error) {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			if err := checkContentType(r); err != nil && r.ContentLength != 0 {
				return 0, nil, err
			}
		}
		in, err := p.acquire(r)
		if err != nil {
			return 0, nil, err
		}
		defer p.release(in)
		return h(in, w, r)
	}
}

func (p *Proxy) deleteInstance(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	p.mu.Lock()
	if p.instances[in.key] == in {
		delete(p.instances, in.key)
	}
	p.mu.Unlock()
	in.resetClient()
	in.closed = true
	return http.StatusNoContent, nil, nil
}

func (p *Proxy) subscribe(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Topics       []string `json:"topics"`
		TopicPattern string   `json:"topic_pattern"`
	}
	if err := decodeBody(r, &req, false); err != nil {
		return 0, nil, err
	}
	switch {
	case len(req.Topics) > 0 && req.TopicPattern != "":
		return 0, nil, errorf(http.StatusConflict, 40902,
			"Subscription to topics, partitions and pattern are mutually exclusive.")
	case len(req.Topics) == 0 && req.TopicPattern == "":
		return 0, nil, httpErr(http.StatusUnprocessableEntity, "topics or topic_pattern: one must be given")
	case len(in.assigned) > 0:
		return 0, nil, errorf(http.StatusConflict, codeIllegalState,
			"Subscription to topics, partitions and pattern are mutually exclusive: the instance has assigned partitions.")
	}
	if req.TopicPattern != "" {
		if err := validPattern(req.TopicPattern); err != nil {
			return 0, nil, httpErr(http.StatusUnprocessableEntity, "%v", err)
		}
	}
	for _, t := range req.Topics {
		if t == "" {
			return 0, nil, httpErr(http.StatusUnprocessableEntity, "topics: empty topic name")
		}
	}
	in.resetClient()
	cl, err := p.newInstanceClient(in, req.Topics, req.TopicPattern, nil)
	if err != nil {
		return 0, nil, kafkaErr("subscribe", err)
	}
	in.cl, in.topics, in.pattern = cl, slices.Clone(req.Topics), req.TopicPattern
	return http.StatusNoContent, nil, nil
}

func (p *Proxy) getSubscription(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	topics := slices.Clone(in.topics)
	if in.pattern != "" {
		in.assignmentMu.Lock()
		for t := range in.groupAssign {
			topics = append(topics, t)
		}
		in.assignmentMu.Unlock()
		slices.Sort(topics)
	}
	if topics == nil {
		topics = []string{}
	}
	return http.StatusOK, struct {
		Topics []string `json:"topics"`
	}{topics}, nil
}

func (p *Proxy) unsubscribe(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	if in.assigned == nil {
		in.resetClient()
	}
	return http.StatusNoContent, nil, nil
}

type partitionsBody struct {
	Partitions []tp `json:"partitions"`
}

// checkPartitions checks that every partition exists: 40401 or 40402.
func (p *Proxy) checkPartitions(ctx context.Context, tps []tp) error {
	topics := map[string]bool{}
	for _, x := range tps {
		topics[x.Topic] = true
	}
	for t := range topics {
		td, err := p.topicMeta(ctx, t)
		if err != nil {
			return err
		}
		for _, x := range tps {
			if _, ok := td.Partitions[x.Partition]; x.Topic == t && !ok {
				return errorf(http.StatusNotFound, codePartitionNotFound, "Partition %d of topic %s not found.", x.Partition, t)
			}
		}
	}
	return nil
}

func (p *Proxy) assign(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req partitionsBody
	if err := decodeBody(r, &req, false); err != nil {
		return 0, nil, err
	}
	if in.cl != nil && in.assigned == nil {
		return 0, nil, errorf(http.StatusConflict, codeIllegalState,
			"Subscription to topics, partitions and pattern are mutually exclusive: the instance is subscribed.")
	}
	ctx, cancel := p.ctx(r)
	defer cancel()
	if err := p.checkPartitions(ctx, req.Partitions); err != nil {
		return 0, nil, err
	}
	in.resetClient()
	if len(req.Partitions) == 0 {
		return http.StatusNoContent, nil, nil
	}
	// Start where the group committed, else at auto.offset.reset.
	committed, err := p.adm.FetchOffsets(ctx, in.key.group)
	if err != nil {
		return 0, nil, kafkaErr("fetch committed offsets", err)
	}
	reset := kgo.NewOffset().AtEnd()
	if in.resetEarly {
		reset = kgo.NewOffset().AtStart()
	}
	offsets := map[string]map[int32]kgo.Offset{}
	for _, x := range req.Partitions {
		if offsets[x.Topic] == nil {
			offsets[x.Topic] = map[int32]kgo.Offset{}
		}
		o := reset
		if c, ok := committed.Lookup(x.Topic, x.Partition); ok && c.Err == nil && c.At >= 0 {
			o = kgo.NewOffset().At(c.At)
		}
		offsets[x.Topic][x.Partition] = o
	}
	cl, err := p.newInstanceClient(in, nil, "", offsets)
	if err != nil {
		return 0, nil, kafkaErr("assign", err)
	}
	in.cl = cl
	in.assigned = slices.Clone(req.Partitions)
	return http.StatusNoContent, nil, nil
}

// assignment is the instance's current partitions, sorted.
func (in *instance) assignment() []tp {
	out := slices.Clone(in.assigned)
	if in.assigned == nil {
		in.assignmentMu.Lock()
		for t, ps := range in.groupAssign {
			for _, p := range ps {
				out = append(out, tp{t, p})
			}
		}
		in.assignmentMu.Unlock()
	}
	slices.SortFunc(out, func(a, b tp) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	if out == nil {
		out = []tp{}
	}
	return out
}

func (p *Proxy) getAssignments(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	return http.StatusOK, partitionsBody{in.assignment()}, nil
}

type offsetEntry struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Metadata  string `json:"metadata"`
}

// seek moves the instance's positions; every partition must be assigned.
func (in *instance) seek(to map[tp]int64) error {
	if in.cl == nil {
		return errorf(http.StatusConflict, codeIllegalState, "the consumer instance is neither subscribed nor assigned partitions")
	}
	assigned := in.assignment()
	set := map[string]map[int32]kgo.EpochOffset{}
	for x, off := range to {
		if !slices.Contains(assigned, x) {
			return errorf(http.StatusConflict, codeIllegalState, "partition %d of topic %s is not assigned to this consumer instance", x.Partition, x.Topic)
		}
		if set[x.Topic] == nil {
			set[x.Topic] = map[int32]kgo.EpochOffset{}
		}
		set[x.Topic][x.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
	}
	in.cl.SetOffsets(set)
	in.pending = slices.DeleteFunc(in.pending, func(r *kgo.Record) bool {
		_, moved := to[tp{r.Topic, r.Partition}]
		return moved
	})
	return nil
}

func (p *Proxy) seekPositions(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Offsets []offsetEntry `json:"offsets"`
	}
	if err := decodeBody(r, &req, false); err != nil {
		return 0, nil, err
	}
	to := map[tp]int64{}
	for _, o := range req.Offsets {
		if o.Offset < 0 {
			return 0, nil, errorf(http.StatusUnprocessableEntity, codeInvalidOffset, "offset %d of partition %d of topic %s: must not be negative", o.Offset, o.Partition, o.Topic)
		}
		to[tp{o.Topic, o.Partition}] = o.Offset
	}
	if err := in.seek(to); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (p *Proxy) seekBeginning(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	return p.seekEdge(in, r, true)
}

func (p *Proxy) seekEnd(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	return p.seekEdge(in, r, false)
}

func (p *Proxy) seekEdge(in *instance, r *http.Request, beginning bool) (int, any, error) {
	var req partitionsBody
	if err := decodeBody(r, &req, false); err != nil {
		return 0, nil, err
	}
	ctx, cancel := p.ctx(r)
	defer cancel()
	to := map[tp]int64{}
	for _, x := range req.Partitions {
		start, end, err := p.bounds(ctx, x.Topic, x.Partition)
		if err != nil {
			return 0, nil, err
		}
		to[x] = end
		if beginning {
			to[x] = start
		}
	}
	if err := in.seek(to); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// v2 records in a GET .../records answer.
type v2ConsumerRecord struct {
	Topic     string          `json:"topic"`
	Key       json.RawMessage `json:"key"`
	Value     json.RawMessage `json:"value"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
}

// acceptFormat checks that the Accept header, if it names an embedded
// format, names the instance's: 406 40601 otherwise.
func acceptFormat(r *http.Request, in *instance) error {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		name, ok := formatOf(mt)
		if !ok || name == in.format.Name() {
			return nil
		}
	}
	if strings.TrimSpace(r.Header.Get("Accept")) == "" {
		return nil
	}
	return errorf(http.StatusNotAcceptable, codeNotAcceptableFormat,
		"The requested embedded data format does not match the deserializer for this consumer instance (%s).", in.format.Name())
}

func (p *Proxy) records(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	if err := acceptFormat(r, in); err != nil {
		return 0, nil, err
	}
	timeout, maxBytes := in.reqTimeout, in.maxReqBytes
	q := r.URL.Query()
	if s := q.Get("timeout"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, nil, httpErr(http.StatusBadRequest, "timeout %q: want milliseconds", s)
		}
		timeout = min(time.Duration(n)*time.Millisecond, p.cfg.RequestTimeout)
	}
	if s := q.Get("max_bytes"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, nil, httpErr(http.StatusBadRequest, "max_bytes %q: want a byte count", s)
		}
		maxBytes = min(n, in.maxReqBytes)
	}
	if in.cl == nil {
		return 0, nil, errorf(http.StatusConflict, codeIllegalState, "the consumer instance is neither subscribed nor assigned partitions")
	}
	if len(in.pending) == 0 {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		fs := in.cl.PollFetches(ctx)
		cancel()
		in.pending = fs.Records()
		var ferr error
		fs.EachError(func(t string, part int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
				return
			}
			p.log.Debug("rest proxy: consumer fetch error", "group", in.key.group, "instance", in.key.name,
				"topic", t, "partition", part, "err", err)
			if ferr == nil {
				ferr = err
			}
		})
		if len(in.pending) == 0 && ferr != nil && r.Context().Err() == nil {
			return 0, nil, kafkaErr("fetch", ferr)
		}
	}
	out := []v2ConsumerRecord{}
	var size int64
	n := 0
	for _, rec := range in.pending {
		sz := int64(len(rec.Key) + len(rec.Value))
		if n > 0 && size+sz > maxBytes {
			break
		}
		k, err := in.format.Decode(rec.Key)
		if err == nil {
			var v json.RawMessage
			v, err = in.format.Decode(rec.Value)
			if err == nil {
				out = append(out, v2ConsumerRecord{rec.Topic, k, v, rec.Partition, rec.Offset})
			}
		}
		if err != nil {
			if n > 0 {
				break // answer what decoded; the bad record fails the next call
			}
			if e, ok := err.(*Error); ok && e.Code == codeSchemaRegistry {
				return 0, nil, errorf(e.Status, e.Code, "record at offset %d of partition %d of topic %s: %s", rec.Offset, rec.Partition, rec.Topic, e.Message)
			}
			return 0, nil, errorf(http.StatusInternalServerError, codeKafka,
				"record at offset %d of partition %d of topic %s: %v for format %s", rec.Offset, rec.Partition, rec.Topic, err, in.format.Name())
		}
		size += sz
		n++
	}
	for _, rec := range in.pending[:n] {
		in.consumed[tp{rec.Topic, rec.Partition}] = rec.Offset + 1
	}
	if in.autoCommit && in.assigned == nil {
		in.cl.MarkCommitRecords(in.pending[:n]...)
	}
	in.pending = in.pending[n:]
	return http.StatusOK, out, nil
}

func (p *Proxy) commitOffsets(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req struct {
		Offsets []offsetEntry `json:"offsets"`
	}
	if err := decodeBody(r, &req, true); err != nil {
		return 0, nil, err
	}
	// An explicit offset names the last record processed, so the committed
	// position is the one after it, as in the reference; no body commits
	// everything this instance has returned.
	commit := map[string]map[int32]kgo.EpochOffset{}
	add := func(t string, part int32, next int64) {
		if commit[t] == nil {
			commit[t] = map[int32]kgo.EpochOffset{}
		}
		commit[t][part] = kgo.EpochOffset{Epoch: -1, Offset: next}
	}
	if req.Offsets == nil {
		for x, next := range in.consumed {
			add(x.Topic, x.Partition, next)
		}
	}
	for _, o := range req.Offsets {
		if o.Offset < 0 {
			return 0, nil, errorf(http.StatusUnprocessableEntity, codeInvalidOffset, "offset %d of partition %d of topic %s: must not be negative", o.Offset, o.Partition, o.Topic)
		}
		add(o.Topic, o.Partition, o.Offset+1)
	}
	if len(commit) == 0 {
		return http.StatusOK, nil, nil
	}
	ctx, cancel := p.ctx(r)
	defer cancel()
	if in.cl != nil && in.assigned == nil {
		var cerr error
		in.cl.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, pr := range t.Partitions {
					if err := kerrOf(pr.ErrorCode); err != nil && cerr == nil {
						cerr = err
					}
				}
			}
		})
		if cerr != nil {
			return 0, nil, kafkaErr("commit offsets", cerr)
		}
		return http.StatusOK, nil, nil
	}
	offs := kadm.Offsets{}
	for t, ps := range commit {
		for part, eo := range ps {
			offs.Add(kadm.Offset{Topic: t, Partition: part, At: eo.Offset, LeaderEpoch: -1})
		}
	}
	resps, err := p.adm.CommitOffsets(ctx, in.key.group, offs)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		return 0, nil, kafkaErr("commit offsets", err)
	}
	return http.StatusOK, nil, nil
}

func (p *Proxy) fetchOffsets(in *instance, w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req partitionsBody
	if err := decodeBody(r, &req, true); err != nil {
		return 0, nil, err
	}
	ctx, cancel := p.ctx(r)
	defer cancel()
	committed, err := p.adm.FetchOffsets(ctx, in.key.group)
	if err != nil {
		return 0, nil, kafkaErr("fetch committed offsets", err)
	}
	want := req.Partitions
	if want == nil {
		want = in.assignment()
	}
	out := []offsetEntry{}
	for _, x := range want {
		e := offsetEntry{Topic: x.Topic, Partition: x.Partition, Offset: -1}
		if c, ok := committed.Lookup(x.Topic, x.Partition); ok && c.Err == nil {
			e.Offset, e.Metadata = c.At, c.Metadata
		}
		out = append(out, e)
	}
	return http.StatusOK, struct {
		Offsets []offsetEntry `json:"offsets"`
	}{out}, nil
}
