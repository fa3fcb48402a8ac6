package restproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// POST /v3/clusters/{cluster}/topics/{topic}/records: one record per JSON
// object. A body with one object (and a Content-Length) gets one answer
// with its status; a chunked body or several objects are the streaming
// mode: one delivery report per record, one JSON per line, in order, each
// with its own error_code (200 for success), under HTTP 200.

type v3Data struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	// The schema of AVRO, JSONSCHEMA and PROTOBUF data: a schema to
	// register, or a registered schema by id or by version of a subject.
	// A record without a type takes its type from the schema named by
	// schema_id or schema_version, or else from the latest schema of the
	// subject, as in the reference. The subject is subject, or the one
	// subject_name_strategy gives (TOPIC_NAME by default: TOPIC-key,
	// TOPIC-value).
	SchemaID            *int    `json:"schema_id"`
	SchemaVersion       *int    `json:"schema_version"`
	Schema              *string `json:"schema"`
	Subject             *string `json:"subject"`
	SubjectNameStrategy *string `json:"subject_name_strategy"`
}

func (d *v3Data) side() schemaSide {
	return schemaSide{text: d.Schema, id: d.SchemaID, version: d.SchemaVersion, subject: d.Subject, strategy: d.SubjectNameStrategy}
}

type v3ProduceRequest struct {
	PartitionID *int32 `json:"partition_id"`
	Headers     []struct {
		Name  string  `json:"name"`
		Value *string `json:"value"`
	} `json:"headers"`
	Key       *v3Data    `json:"key"`
	Value     *v3Data    `json:"value"`
	Timestamp *time.Time `json:"timestamp"`
}

type v3DataSize struct {
	Type          string  `json:"type"`
	Subject       *string `json:"subject,omitempty"`
	SchemaID      *int    `json:"schema_id,omitempty"`
	SchemaVersion *int    `json:"schema_version,omitempty"`
	Size          int     `json:"size"`
}

type v3ProduceResponse struct {
	ErrorCode   int         `json:"error_code"`
	Message     string      `json:"message,omitempty"`
	ClusterID   string      `json:"cluster_id,omitempty"`
	TopicName   string      `json:"topic_name,omitempty"`
	PartitionID *int32      `json:"partition_id,omitempty"`
	Offset      *int64      `json:"offset,omitempty"`
	Timestamp   *string     `json:"timestamp,omitempty"`
	Key         *v3DataSize `json:"key,omitempty"`
	Value       *v3DataSize `json:"value,omitempty"`
}

// v3Encode turns a v3 key or value of topic into bytes and describes it
// for the delivery report (without its size). An absent or null data is
// a nil key or value; a record without a type or schema is JSON.
func (p *Proxy) v3Encode(ctx context.Context, topic string, key bool, d *v3Data) ([]byte, v3DataSize, error) {
	if d == nil {
		return nil, v3DataSize{}, nil
	}
	typ := strings.ToUpper(d.Type)
	st, schemaType := schemaTypes[typ]
	side := d.side()
	if typ != "" && !schemaType {
		if !side.empty() {
			return nil, v3DataSize{Type: typ}, httpErr(http.StatusBadRequest, "type %s takes no schema, schema_id, schema_version, subject or subject_name_strategy", typ)
		}
		if isNull(d.Data) {
			return nil, v3DataSize{Type: typ}, nil
		}
		b, err := v3EncodePlain(typ, d)
		return b, v3DataSize{Type: typ}, err
	}
	if typ == "" && (p.reg == nil || isNull(d.Data)) && side.empty() {
		// Without a registry a typeless record is JSON; null data needs
		// no schema.
		if isNull(d.Data) {
			return nil, v3DataSize{Type: "JSON"}, nil
		}
		b, err := v3EncodePlain("JSON", d)
		return b, v3DataSize{Type: "JSON"}, err
	}
	res, err := p.codecFor(ctx, st, schemaType, topic, key, side)
	if err != nil {
		return nil, v3DataSize{Type: typ}, err
	}
	if res == nil {
		if schemaType {
			return nil, v3DataSize{Type: typ}, httpErr(http.StatusBadRequest, "type %s needs schema_id, schema_version or schema", typ)
		}
		// No type and no subject for the topic: JSON.
		if isNull(d.Data) {
			return nil, v3DataSize{Type: "JSON"}, nil
		}
		b, err := v3EncodePlain("JSON", d)
		return b, v3DataSize{Type: "JSON"}, err
	}
	id, version, subject := res.c.id, res.version, res.subject
	desc := v3DataSize{Type: typeName(res.c.typ), SchemaID: &id, SchemaVersion: &version, Subject: &subject}
	if isNull(d.Data) {
		return nil, desc, nil
	}
	b, err := res.c.encode(d.Data)
	if err != nil {
		return nil, desc, httpErr(http.StatusBadRequest, "%v", err)
	}
	return b, desc, nil
}

func v3EncodePlain(typ string, d *v3Data) ([]byte, error) {
	switch typ {
	case "BINARY":
		var s string
		if err := json.Unmarshal(d.Data, &s); err != nil {
			return nil, errors.New("BINARY data must be a base64 string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("BINARY data is not valid base64: %v", err)
		}
		return b, nil
	case "STRING":
		var s string
		if err := json.Unmarshal(d.Data, &s); err != nil {
			return nil, errors.New("STRING data must be a JSON string")
		}
		return []byte(s), nil
	case "JSON":
		var buf bytes.Buffer
		if err := json.Compact(&buf, d.Data); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown type %q (want BINARY, JSON, STRING, AVRO, JSONSCHEMA or PROTOBUF)", d.Type)
}

// limitedReader fails once more than limit bytes were read since the last
// reset: the per-record limit of a stream.
type limitedReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.n > l.limit {
		return 0, &http.MaxBytesError{Limit: l.limit}
	}
	if room := l.limit - l.n + 1; int64(len(b)) > room {
		b = b[:room]
	}
	n, err := l.r.Read(b)
	l.n += int64(n)
	return n, err
}

func (p *Proxy) produceRecordsV3(w http.ResponseWriter, r *http.Request) {
	fail := func(e *Error) { writeError(w, ctJSON, v3Err(e)) }
	ctx, cancel := p.ctx(r)
	md, _, err := p.cluster(ctx, r)
	if err != nil {
		cancel()
		fail(err.(*Error))
		return
	}
	topic := r.PathValue("topic")
	td, err := p.v3TopicMeta(ctx, topic)
	cancel()
	if err != nil {
		fail(err.(*Error))
		return
	}
	// The whole-body limit does not apply here; each record gets it
	// (plus the decoder's read-ahead).
	lr := &limitedReader{r: r.Body, limit: p.cfg.MaxRequestBytes + 64<<10}
	dec := json.NewDecoder(bufio.NewReader(lr))
	streaming := slices.Contains(r.TransferEncoding, "chunked")
	if streaming {
		// Reports go out while records still come in: HTTP/1 servers
		// otherwise stop reading the body at the first response write.
		http.NewResponseController(w).EnableFullDuplex()
	}
	produce := func(req v3ProduceRequest) v3ProduceResponse {
		bad := func(format string, a ...any) v3ProduceResponse {
			return v3ProduceResponse{ErrorCode: http.StatusBadRequest, Message: fmt.Sprintf(format, a...)}
		}
		// A schema problem keeps its status (422 for the reference's
		// 422xx codes, named in the message as the reference does); bad
		// data is 400.
		encodeFail := func(side string, err error) v3ProduceResponse {
			var e *Error
			if errors.As(err, &e) {
				msg := side + ": " + e.Message
				if e.Code != e.Status {
					msg = fmt.Sprintf("Error: %d : %s", e.Code, msg)
				}
				return v3ProduceResponse{ErrorCode: e.Status, Message: msg}
			}
			return bad("%s: %v", side, err)
		}
		rec := &kgo.Record{Topic: topic}
		ectx, ecancel := context.WithTimeout(r.Context(), p.cfg.RequestTimeout)
		defer ecancel()
		key, kdesc, err := p.v3Encode(ectx, topic, true, req.Key)
		if err != nil {
			return encodeFail("key", err)
		}
		val, vdesc, err := p.v3Encode(ectx, topic, false, req.Value)
		if err != nil {
			return encodeFail("value", err)
		}
		rec.Key, rec.Value = key, val
		for _, h := range req.Headers {
			var v []byte
			if h.Value != nil {
				if v, err = base64.StdEncoding.DecodeString(*h.Value); err != nil {
					return bad("header %q: value is not valid base64", h.Name)
				}
			}
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Name, Value: v})
		}
		if req.Timestamp != nil {
			rec.Timestamp = *req.Timestamp
		}
		pctx, cancel := context.WithTimeout(r.Context(), p.cfg.RequestTimeout)
		defer cancel()
		rec.Context = pctx
		if req.PartitionID != nil {
			if _, ok := td.Partitions[*req.PartitionID]; !ok {
				return v3ProduceResponse{ErrorCode: http.StatusNotFound, Message: "This server does not host this topic-partition."}
			}
			rec.Partition, rec.Context = *req.PartitionID, context.WithValue(pctx, explicitPartition{}, true)
		}
		res := p.cl.ProduceSync(rec.Context, rec)[0]
		if res.Err != nil {
			e := kafkaErr("produce", res.Err)
			return v3ProduceResponse{ErrorCode: e.Status, Message: e.Message}
		}
		ts := res.Record.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		out := v3ProduceResponse{ErrorCode: http.StatusOK, ClusterID: md.Cluster, TopicName: topic,
			PartitionID: &res.Record.Partition, Offset: &res.Record.Offset, Timestamp: &ts}
		if req.Key != nil {
			kdesc.Size = len(key)
			out.Key = &kdesc
		}
		if req.Value != nil {
			vdesc.Size = len(val)
			out.Value = &vdesc
		}
		return out
	}
	var results []v3ProduceResponse
	flusher, _ := w.(http.Flusher)
	started := false
	emit := func(res v3ProduceResponse) {
		if !started {
			w.Header().Set("Content-Type", ctJSON)
			w.WriteHeader(http.StatusOK)
			started = true
		}
		b, _ := json.Marshal(res)
		w.Write(append(b, '\n'))
		if flusher != nil {
			flusher.Flush()
		}
	}
	for {
		lr.n = 0
		var req v3ProduceRequest
		err := dec.Decode(&req)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e := v3Err(jsonErr(err).(*Error))
			res := v3ProduceResponse{ErrorCode: e.Status, Message: e.Message}
			if streaming || len(results) > 0 {
				emit(res)
			} else {
				fail(e)
			}
			return // the stream cannot be resynchronised
		}
		res := produce(req)
		if streaming {
			emit(res)
			continue
		}
		results = append(results, res)
	}
	switch {
	case streaming:
		if !started {
			w.WriteHeader(http.StatusOK)
		}
	case len(results) == 0:
		fail(httpErr(http.StatusBadRequest, "request body is empty"))
	case len(results) == 1:
		res := results[0]
		if res.ErrorCode != http.StatusOK {
			fail(httpErr(res.ErrorCode, "%s", res.Message))
			return
		}
		writeJSON(w, ctJSON, http.StatusOK, res)
	default:
		for _, res := range results {
			emit(res)
		}
	}
}
