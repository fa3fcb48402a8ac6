package restproxy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

// pollRecords GETs records until want records arrived (or 10s pass) and
// returns their JSON objects joined with commas.
func (e *env) pollRecords(t *testing.T, inst, accept string, want int) string {
	t.Helper()
	var got []string
	kafkatest.Eventually(t, 15*time.Second, func() error {
		b := e.want(t, "GET", inst+"/records?timeout=500", "", "", 200, "*", "Accept", accept)
		b = strings.TrimSuffix(strings.TrimPrefix(compact(t, b), "["), "]")
		if b != "" {
			got = append(got, b)
		}
		if n := strings.Count(strings.Join(got, ","), `"offset":`); n < want {
			return fmt.Errorf("%d of %d records", n, want)
		}
		return nil
	})
	return strings.Join(got, ",")
}

func TestV2ConsumerSubscribe(t *testing.T) {
	e := start(t)
	e.createTopic(t, "t", 1)
	e.want(t, "POST", "/topics/t", ctBinary, fmt.Sprintf(`{"records":[{"key":%q,"value":%q},{"value":%q}]}`, b64("k"), b64("v0"), b64("v1")), 200, "*")

	e.want(t, "POST", "/consumers/g", ctV2, `{"name":"c1","format":"binary","auto.offset.reset":"earliest","auto.commit.enable":"false"}`, 200,
		fmt.Sprintf(`{"instance_id":"c1","base_uri":"%s/consumers/g/instances/c1"}`, e.url))
	e.wantErr(t, "POST", "/consumers/g", ctV2, `{"name":"c1"}`, 409, 40902)
	inst := "/consumers/g/instances/c1"
	e.want(t, "GET", inst+"/subscription", "", "", 200, `{"topics":[]}`)
	e.wantErr(t, "GET", inst+"/records", "", "", 409, 40903)
	e.want(t, "POST", inst+"/subscription", ctV2, `{"topics":["t"]}`, 204, "")
	e.want(t, "GET", inst+"/subscription", "", "", 200, `{"topics":["t"]}`)
	e.wantErr(t, "GET", inst+"/records", "", "", 406, 40601, "Accept", ctJSONv2)
	got := e.pollRecords(t, inst, ctBinary, 2)
	want := fmt.Sprintf(`{"topic":"t","key":%q,"value":%q,"partition":0,"offset":0},{"topic":"t","key":null,"value":%q,"partition":0,"offset":1}`, b64("k"), b64("v0"), b64("v1"))
	if got != want {
		t.Fatalf("records:\n got %s\nwant %s", got, want)
	}
	e.want(t, "GET", inst+"/assignments", "", "", 200, `{"partitions":[{"topic":"t","partition":0}]}`)

	// Commit: explicit offsets name the last record processed.
	e.want(t, "POST", inst+"/offsets", ctV2, `{"offsets":[{"topic":"t","partition":0,"offset":0}]}`, 200, "")
	if b := e.want(t, "GET", inst+"/offsets", ctV2, `{"partitions":[{"topic":"t","partition":0}]}`, 200, "*"); !strings.HasPrefix(b, `{"offsets":[{"topic":"t","partition":0,"offset":1,"metadata":"`) {
		t.Fatalf("committed: %s", b)
	}
	// No body: everything returned so far.
	e.want(t, "POST", inst+"/offsets", ctV2, ``, 200, "")
	if b := e.want(t, "GET", inst+"/offsets", ctV2, `{"partitions":[{"topic":"t","partition":0}]}`, 200, "*"); !strings.HasPrefix(b, `{"offsets":[{"topic":"t","partition":0,"offset":2,"metadata":"`) {
		t.Fatalf("committed: %s", b)
	}

	// Seek back and read again, max_bytes limits each answer (but one
	// record always comes).
	e.want(t, "POST", inst+"/positions", ctV2, `{"offsets":[{"topic":"t","partition":0,"offset":1}]}`, 204, "")
	if got := e.pollRecords(t, inst, ctBinary, 1); !strings.Contains(got, `"offset":1`) || strings.Contains(got, `"offset":0`) {
		t.Fatalf("after seek to 1: %s", got)
	}
	e.want(t, "POST", inst+"/positions/beginning", ctV2, `{"partitions":[{"topic":"t","partition":0}]}`, 204, "")
	var first string
	kafkatest.Eventually(t, 10*time.Second, func() error {
		first = e.want(t, "GET", inst+"/records?timeout=500&max_bytes=1", "", "", 200, "*")
		if first == "[]" {
			return fmt.Errorf("nothing yet")
		}
		return nil
	})
	if strings.Count(first, `"offset"`) != 1 || !strings.Contains(first, `"offset":0`) {
		t.Fatalf("max_bytes=1 after seek to beginning: %s", first)
	}
	second := e.want(t, "GET", inst+"/records?timeout=500&max_bytes=1", "", "", 200, "*")
	if strings.Count(second, `"offset"`) != 1 || !strings.Contains(second, `"offset":1`) {
		t.Fatalf("second max_bytes=1 answer: %s", second)
	}
	e.want(t, "POST", inst+"/positions/end", ctV2, `{"partitions":[{"topic":"t","partition":0}]}`, 204, "")
	e.want(t, "GET", inst+"/records?timeout=200", "", "", 200, `[]`)
	e.wantErr(t, "POST", inst+"/positions", ctV2, `{"offsets":[{"topic":"x","partition":0,"offset":1}]}`, 409, 40903)
	e.wantErr(t, "POST", inst+"/assignments", ctV2, `{"partitions":[{"topic":"t","partition":0}]}`, 409, 40903)

	e.want(t, "DELETE", inst+"/subscription", "", "", 204, "")
	e.want(t, "GET", inst+"/subscription", "", "", 200, `{"topics":[]}`)
	e.want(t, "DELETE", inst, "", "", 204, "")
	e.wantErr(t, "GET", inst+"/records", "", "", 404, 40403)
	e.wantErr(t, "DELETE", inst, "", "", 404, 40403)
}

func TestV2ConsumerAssignJSON(t *testing.T) {
	e := start(t)
	e.createTopic(t, "j", 2)
	e.want(t, "POST", "/topics/j/partitions/1", ctJSONv2, `{"records":[{"key":"a","value":{"n":1}},{"value":[true,null]}]}`, 200, "*")
	e.want(t, "POST", "/consumers/jg", ctV2, `{"name":"c","format":"json","auto.offset.reset":"earliest"}`, 200, "*")
	inst := "/consumers/jg/instances/c"
	e.wantErr(t, "POST", inst+"/assignments", ctV2, `{"partitions":[{"topic":"nope","partition":0}]}`, 404, 40401)
	e.wantErr(t, "POST", inst+"/assignments", ctV2, `{"partitions":[{"topic":"j","partition":5}]}`, 404, 40402)
	e.want(t, "POST", inst+"/assignments", ctV2, `{"partitions":[{"topic":"j","partition":1}]}`, 204, "")
	e.want(t, "GET", inst+"/assignments", "", "", 200, `{"partitions":[{"topic":"j","partition":1}]}`)
	e.wantErr(t, "POST", inst+"/subscription", ctV2, `{"topics":["j"]}`, 409, 40903)
	got := e.pollRecords(t, inst, ctJSONv2, 2)
	want := `{"topic":"j","key":"a","value":{"n":1},"partition":1,"offset":0},{"topic":"j","key":null,"value":[true,null],"partition":1,"offset":1}`
	if got != want {
		t.Fatalf("records:\n got %s\nwant %s", got, want)
	}
	// Commit in direct mode goes to the group as a simple consumer's would.
	e.want(t, "POST", inst+"/offsets", ctV2, `{"offsets":[{"topic":"j","partition":1,"offset":1}]}`, 200, "")
	e.want(t, "GET", inst+"/offsets", ctV2, `{"partitions":[{"topic":"j","partition":1},{"topic":"j","partition":0}]}`, 200,
		`{"offsets":[{"topic":"j","partition":1,"offset":2,"metadata":""},{"topic":"j","partition":0,"offset":-1,"metadata":""}]}`)
	// A new instance of the group assigned the partition starts at the commit.
	e.want(t, "POST", inst+"/positions/beginning", ctV2, `{"partitions":[{"topic":"j","partition":1}]}`, 204, "")
	e.want(t, "POST", "/topics/j/partitions/1", ctJSONv2, `{"records":[{"value":3}]}`, 200, "*")
	e.want(t, "POST", "/consumers/jg", ctV2, `{"name":"c2","format":"json"}`, 200, "*")
	e.want(t, "POST", "/consumers/jg/instances/c2/assignments", ctV2, `{"partitions":[{"topic":"j","partition":1}]}`, 204, "")
	if got := e.pollRecords(t, "/consumers/jg/instances/c2", ctJSONv2, 1); got != `{"topic":"j","key":null,"value":3,"partition":1,"offset":2}` {
		t.Fatalf("second instance: %s", got)
	}
}

func TestV2ConsumerBadInput(t *testing.T) {
	e := start(t)
	e.wantErr(t, "POST", "/consumers/g", ctV2, `{"format":"xml"}`, 422, 42204)
	e.wantErr(t, "POST", "/consumers/g", ctV2, `{"format":"avro"}`, 422, 42204)
	e.wantErr(t, "POST", "/consumers/g", ctV2, `{"auto.offset.reset":"sometimes"}`, 422, 42204)
	e.wantErr(t, "POST", "/consumers/g", ctV2, `{"bogus.key":"1"}`, 422, 42204)
	e.wantErr(t, "POST", "/consumers/g", ctV2, `{"name":`, 400, 400)
	e.wantErr(t, "POST", "/consumers/g", "text/plain", `{}`, 415, 415)
	b := e.want(t, "POST", "/consumers/g", ctV2, ``, 200, "*")
	if !strings.Contains(b, `"instance_id":"rest-consumer-`) {
		t.Fatalf("generated name: %s", b)
	}
	for _, ep := range []string{"/subscription", "/assignments", "/offsets"} {
		e.wantErr(t, "GET", "/consumers/g/instances/nope"+ep, "", "", 404, 40403)
	}
	e.wantErr(t, "POST", "/consumers/g/instances/nope/positions", ctV2, `{"offsets":[]}`, 404, 40403)
	e.want(t, "POST", "/consumers/g", ctV2, `{"name":"x"}`, 200, "*")
	e.wantErr(t, "POST", "/consumers/g/instances/x/subscription", ctV2, `{"topics":["a"],"topic_pattern":"b.*"}`, 409, 40902)
	e.wantErr(t, "POST", "/consumers/g/instances/x/subscription", ctV2, `{}`, 422, 422)
	e.wantErr(t, "POST", "/consumers/g/instances/x/subscription", ctV2, `{"topics":`, 400, 400)
	e.wantErr(t, "POST", "/consumers/g/instances/x/positions", ctV2, `{"offsets":[{"topic":"a","partition":0,"offset":-1}]}`, 422, 42202)
	e.wantErr(t, "GET", "/consumers/g/instances/x/records?timeout=abc", "", "", 400, 400)
}

func TestV2ConsumerExpiry(t *testing.T) {
	e := start(t, func(c *Config) { c.ConsumerInstanceTimeout = 300 * time.Millisecond })
	e.createTopic(t, "t", 1)
	e.want(t, "POST", "/consumers/g", ctV2, `{"name":"idle"}`, 200, "*")
	e.want(t, "POST", "/consumers/g", ctV2, `{"name":"busy","auto.offset.reset":"earliest"}`, 200, "*")
	e.want(t, "POST", "/consumers/g/instances/busy/subscription", ctV2, `{"topics":["t"]}`, 204, "")
	// busy keeps polling: each request restarts its idle clock, and a
	// poll longer than the timeout does not expire it.
	deadline := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(deadline) {
		e.want(t, "GET", "/consumers/g/instances/busy/records?timeout=400", "", "", 200, "*")
	}
	e.wantErr(t, "GET", "/consumers/g/instances/idle/subscription", "", "", 404, 40403)
	e.want(t, "GET", "/consumers/g/instances/busy/subscription", "", "", 200, `{"topics":["t"]}`)
	// The name is free again.
	e.want(t, "POST", "/consumers/g", ctV2, `{"name":"idle"}`, 200, "*")
}
