package restproxy

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestV3ProduceRecords(t *testing.T) {
	e := start(t, func(c *Config) { c.MaxRequestBytes = 4096 })
	e.createTopic(t, "r", 2)
	c := "/v3/clusters/" + e.b.ClusterID()
	cid := e.b.ClusterID()

	b := e.want(t, "POST", c+"/topics/r/records", ctJSON,
		`{"partition_id":1,"headers":[{"name":"h","value":"aGk="}],"key":{"type":"STRING","data":"k"},"value":{"type":"JSON","data":{"x":1}},"timestamp":"2024-01-02T03:04:05.006Z"}`, 200, "*")
	if want := fmt.Sprintf(`{"error_code":200,"cluster_id":"%s","topic_name":"r","partition_id":1,"offset":0,"timestamp":"2024-01-02T03:04:05.006Z","key":{"type":"STRING","size":1},"value":{"type":"JSON","size":7}}`, cid); b != want {
		t.Fatalf("produce:\n got %s\nwant %s", b, want)
	}
	// Several objects in one body: one report per line.
	b = e.want(t, "POST", c+"/topics/r/records", ctJSON,
		`{"partition_id":1,"value":{"type":"BINARY","data":"AAE="}} {"partition_id":1,"value":{"type":"BINARY","data":"!"}} {"partition_id":1}`, 200, "*")
	lines := strings.Split(b, "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"partition_id":1,"offset":1`) || !strings.Contains(lines[0], `"value":{"type":"BINARY","size":2}`) ||
		!strings.HasPrefix(lines[1], `{"error_code":400,"message":"value: BINARY data is not valid base64`) || !strings.Contains(lines[2], `"offset":2`) {
		t.Fatalf("multi:\n%s", b)
	}

	// Streaming: a chunked body, each report arrives before the next record is sent.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", e.url+c+"/topics/r/records", pr)
	req.Header.Set("Content-Type", ctJSON)
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			pr.Close()
		}
		respc <- resp
	}()
	io.WriteString(pw, `{"partition_id":0,"value":{"data":"one"}}`+"\n")
	resp := <-respc
	if resp == nil {
		t.FailNow()
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(line, `"partition_id":0,"offset":0`) {
		t.Fatalf("first streamed report %q %v", line, err)
	}
	io.WriteString(pw, `{"partition_id":0,"value":{"data":"two"}}`)
	line, _ = rd.ReadString('\n')
	if !strings.Contains(line, `"partition_id":0,"offset":1`) {
		t.Fatalf("second streamed report %q", line)
	}
	io.WriteString(pw, `{"partition_id":9}`)
	line, _ = rd.ReadString('\n')
	if !strings.HasPrefix(line, `{"error_code":404`) {
		t.Fatalf("third streamed report %q", line)
	}
	pw.Close()
	if rest, _ := io.ReadAll(rd); len(rest) != 0 {
		t.Fatalf("after the stream: %q", rest)
	}

	// Errors of a single record are the HTTP status.
	e.wantErr(t, "POST", c+"/topics/nope/records", ctJSON, `{"value":{"data":1}}`, 404, 404)
	e.wantErr(t, "POST", c+"/topics/r/records", ctJSON, `{"partition_id":5,"value":{"data":1}}`, 404, 404)
	// A schema type without a schema registry: 422 (the reference's 42206).
	e.wantErr(t, "POST", c+"/topics/r/records", ctJSON, `{"value":{"type":"AVRO","data":1}}`, 422, 422)
	e.wantErr(t, "POST", c+"/topics/r/records", ctJSON, `{"value":{"schema_id":1,"data":1}}`, 422, 422)
	e.wantErr(t, "POST", c+"/topics/r/records", ctJSON, `{"value":{"type":"JSON","schema_id":1,"data":1}}`, 400, 400)
	e.wantErr(t, "POST", c+"/topics/r/records", ctJSON, `{"value":`, 400, 400)
	e.wantErr(t, "POST", c+"/topics/r/records", ctJSON, ``, 400, 400)
	big := fmt.Sprintf(`{"value":{"type":"STRING","data":%q}}`, strings.Repeat("x", 100<<10))
	e.wantErr(t, "POST", c+"/topics/r/records", ctJSON, big, 413, 413)
	e.want(t, "GET", "/topics/r/partitions/0/offsets", "", "", 200, `{"beginning_offset":0,"end_offset":2}`)
}
