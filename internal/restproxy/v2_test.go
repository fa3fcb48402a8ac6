package restproxy

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (e *env) createTopic(t *testing.T, name string, partitions int32, configs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cm := map[string]*string{}
	for _, kv := range configs {
		k, v, _ := strings.Cut(kv, "=")
		cm[k] = &v
	}
	resp, err := e.b.Admin(t).CreateTopic(ctx, partitions, 1, cm, name)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", name, err, resp.Err)
	}
}

func TestV2TopicsAndBrokers(t *testing.T) {
	e := start(t)
	e.want(t, "GET", "/topics", "", "", 200, `[]`)
	e.createTopic(t, "b", 2, "retention.ms=12345")
	e.createTopic(t, "a", 1)
	e.want(t, "GET", "/topics", "", "", 200, `["a","b"]`)
	b := e.want(t, "GET", "/topics/b", "", "", 200, "*")
	for _, w := range []string{`"name":"b"`, `"retention.ms":"12345"`,
		`"partitions":[{"partition":0,"leader":1,"replicas":[{"broker":1,"leader":true,"in_sync":true}]},{"partition":1,"leader":1,"replicas":[{"broker":1,"leader":true,"in_sync":true}]}]`} {
		if !strings.Contains(b, w) {
			t.Fatalf("GET /topics/b lacks %s: %s", w, b)
		}
	}
	e.want(t, "GET", "/topics/b/partitions", "", "", 200,
		`[{"partition":0,"leader":1,"replicas":[{"broker":1,"leader":true,"in_sync":true}]},{"partition":1,"leader":1,"replicas":[{"broker":1,"leader":true,"in_sync":true}]}]`)
	e.want(t, "GET", "/topics/b/partitions/1", "", "", 200,
		`{"partition":1,"leader":1,"replicas":[{"broker":1,"leader":true,"in_sync":true}]}`)
	e.want(t, "GET", "/topics/b/partitions/1/offsets", "", "", 200, `{"beginning_offset":0,"end_offset":0}`)
	e.want(t, "GET", "/brokers", "", "", 200, `{"brokers":[1]}`)

	e.wantErr(t, "GET", "/topics/nope", "", "", 404, 40401)
	e.wantErr(t, "GET", "/topics/nope/partitions", "", "", 404, 40401)
	e.wantErr(t, "GET", "/topics/b/partitions/2", "", "", 404, 40402)
	e.wantErr(t, "GET", "/topics/b/partitions/x", "", "", 404, 40402)
	e.wantErr(t, "GET", "/nothing/here", "", "", 404, 404)
	e.wantErr(t, "DELETE", "/topics", "", "", 405, 405)
}

func TestV2Produce(t *testing.T) {
	e := start(t)
	e.createTopic(t, "t", 3)
	// Binary to an explicit partition, keyed, keyless and null values.
	body := fmt.Sprintf(`{"records":[{"key":%q,"value":%q,"partition":1},{"value":%q,"partition":1},{"key":%q,"value":null,"partition":1}]}`,
		b64("k1"), b64("v1"), b64("v2"), b64("k3"))
	e.want(t, "POST", "/topics/t", ctBinary, body, 200,
		`{"key_schema_id":null,"value_schema_id":null,"offsets":[{"partition":1,"offset":0,"error_code":null,"error":null},{"partition":1,"offset":1,"error_code":null,"error":null},{"partition":1,"offset":2,"error_code":null,"error":null}]}`)
	// JSON to a partition by path.
	e.want(t, "POST", "/topics/t/partitions/2", ctJSONv2, `{"records":[{"key":{"id":1},"value":{"a":[1,2, "x"]}},{"value":"s"}]}`, 200,
		`{"key_schema_id":null,"value_schema_id":null,"offsets":[{"partition":2,"offset":0,"error_code":null,"error":null},{"partition":2,"offset":1,"error_code":null,"error":null}]}`)
	e.want(t, "GET", "/topics/t/partitions/1/offsets", "", "", 200, `{"beginning_offset":0,"end_offset":3}`)

	// What a Kafka client reads back.
	cl := e.b.Client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"t": {1: kgo.NewOffset().AtStart(), 2: kgo.NewOffset().AtStart()}}))
	got := map[string]bool{}
	kafkatest.Eventually(t, 10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			got[fmt.Sprintf("%d/%d %q=%q nil=%v", r.Partition, r.Offset, r.Key, r.Value, r.Value == nil)] = true
		})
		if len(got) < 5 {
			return fmt.Errorf("got %d records", len(got))
		}
		return nil
	})
	for _, w := range []string{`1/0 "k1"="v1" nil=false`, `1/1 ""="v2" nil=false`, `1/2 "k3"="" nil=true`,
		`2/0 "{\"id\":1}"="{\"a\":[1,2,\"x\"]}" nil=false`, `2/1 ""="\"s\"" nil=false`} {
		if !got[w] {
			t.Errorf("record %s not found in %v", w, got)
		}
	}

	// Bad input.
	e.wantErr(t, "POST", "/topics/nope", ctBinary, `{"records":[{"value":null}]}`, 404, 40401)
	e.wantErr(t, "POST", "/topics/t/partitions/9", ctBinary, `{"records":[{"value":null}]}`, 404, 40402)
	e.wantErr(t, "POST", "/topics/t", ctBinary, `{"records":[{"value":null,"partition":7}]}`, 404, 40402)
	e.wantErr(t, "POST", "/topics/t", ctBinary, `{"records":[{"value":"not base64!"}]}`, 422, 422)
	e.wantErr(t, "POST", "/topics/t", ctBinary, `{"records":[{"value":`, 400, 400)
	e.wantErr(t, "POST", "/topics/t", ctBinary, `{"records":"x"}`, 422, 422)
	e.wantErr(t, "POST", "/topics/t", ctBinary, `{"records":[]}`, 422, 422)
	e.wantErr(t, "POST", "/topics/t", "text/plain", `{"records":[{"value":null}]}`, 415, 415)
	e.wantErr(t, "POST", "/topics/t", "", `{"records":[{"value":null}]}`, 415, 415)
	// A schema format without a schema registry: the reference's 42206.
	e.wantErr(t, "POST", "/topics/t", "application/vnd.kafka.avro.v2+json", `{"records":[{"value":null}]}`, 422, 42206)
	e.want(t, "GET", "/topics/t/partitions/1/offsets", "", "", 200, `{"beginning_offset":0,"end_offset":3}`)
	// Keyed records without a partition follow Kafka's murmur2 partitioner:
	// the same key always lands on the same partition.
	b := e.want(t, "POST", "/topics/t", ctJSONv2, `{"records":[{"key":"same","value":1},{"key":"same","value":2}]}`, 200, "*")
	var parts []string
	for _, s := range strings.Split(b, `"partition":`)[1:] {
		parts = append(parts, s[:1])
	}
	if len(parts) != 2 || parts[0] != parts[1] {
		t.Errorf("same key on different partitions: %s", b)
	}

}

func TestV2BodyLimit(t *testing.T) {
	e := start(t, func(c *Config) { c.MaxRequestBytes = 1000 })
	e.createTopic(t, "t", 1)
	big := fmt.Sprintf(`{"records":[{"value":%q}]}`, b64(strings.Repeat("x", 2000)))
	e.wantErr(t, "POST", "/topics/t", ctBinary, big, http.StatusRequestEntityTooLarge, 413)
	e.want(t, "GET", "/topics/t/partitions/0/offsets", "", "", 200, `{"beginning_offset":0,"end_offset":0}`)
	e.want(t, "POST", "/topics/t", ctBinary, fmt.Sprintf(`{"records":[{"value":%q}]}`, b64("small")), 200, "*")
}

// TestV2ProduceOffsetsInRequestOrder: the offsets of a produce that spans
// partitions come back in the order of the request's records, not in the
// order the partitions' writes completed.
func TestV2ProduceOffsetsInRequestOrder(t *testing.T) {
	e := start(t)
	e.createTopic(t, "spread", 4)
	var recs, want []string
	next := map[int]int{}
	for i := 0; i < 16; i++ {
		p := []int{0, 1, 2, 3, 2, 0, 3, 1}[i%8]
		recs = append(recs, fmt.Sprintf(`{"value":"dg==","partition":%d}`, p))
		want = append(want, fmt.Sprintf(`{"partition":%d,"offset":%d,"error_code":null,"error":null}`, p, next[p]))
		next[p]++
	}
	e.want(t, "POST", "/topics/spread", ctBinary, `{"records":[`+strings.Join(recs, ",")+`]}`, 200,
		`{"key_schema_id":null,"value_schema_id":null,"offsets":[`+strings.Join(want, ",")+`]}`)
}
