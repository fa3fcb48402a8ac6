package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Debian packages of the Python clients install for the system
// interpreter, which need not be the python3 first on PATH.
const (
	python = "/usr/bin/python3"
	kcat   = "kcat"
)

// requireTools reports whether a missing client must fail the test rather
// than skip it.
func requireTools() bool {
	return os.Getenv("CI") != "" || os.Getenv("SAMSA_REQUIRE_TOOLS") != ""
}

type toolCheck struct {
	once sync.Once
	err  error
}

var tools = map[string]*toolCheck{"kcat": {}, "kafka-python": {}, "confluent-kafka": {}}

// needTool skips (or, under CI or SAMSA_REQUIRE_TOOLS, fails) the test if
// the named client is not installed.
func needTool(t *testing.T, name string) {
	t.Helper()
	tc := tools[name]
	tc.once.Do(func() {
		var cmd *exec.Cmd
		switch name {
		case "kcat":
			cmd = exec.Command(kcat, "-V")
		case "kafka-python":
			cmd = exec.Command(python, "-c", "import kafka")
		case "confluent-kafka":
			cmd = exec.Command(python, "-c", "import confluent_kafka")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			tc.err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
		}
	})
	if tc.err == nil {
		return
	}
	msg := fmt.Sprintf("%s is not installed (%v); ./scripts/test.sh installs it (Debian packages kcat, python3-kafka, python3-confluent-kafka)", name, tc.err)
	if requireTools() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// run executes a client with a deadline and returns its stdout; a non-zero
// exit fails the test with stderr.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// runPy runs testdata/<script> with args and decodes its JSON lines.
func runPy(t *testing.T, stdin, script string, args ...string) []json.RawMessage {
	t.Helper()
	out := run(t, stdin, python, append([]string{filepath.Join("testdata", script)}, args...)...)
	return jsonLines(t, out)
}

func jsonLines(t *testing.T, out string) []json.RawMessage {
	t.Helper()
	var lines []json.RawMessage
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] != '{' {
			continue // kcat's "% Reached end" notices go to stderr, but be lenient
		}
		if !json.Valid([]byte(l)) {
			t.Fatalf("not JSON: %q", l)
		}
		lines = append(lines, json.RawMessage(l))
	}
	return lines
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// rec is a record as every client sees it. Key nil is a null key.
type rec struct {
	Partition int32       `json:"partition"`
	Offset    int64       `json:"offset"`
	Key       *string     `json:"key"`
	Value     string      `json:"value"`
	Headers   [][2]string `json:"headers"`
}

func (r rec) String() string {
	k := "<null>"
	if r.Key != nil {
		k = fmt.Sprintf("%q", *r.Key)
	}
	return fmt.Sprintf("p%d@%d key=%s value=%q headers=%v", r.Partition, r.Offset, k, r.Value, r.Headers)
}

func strp(s string) *string { return &s }

// wantRecords fails unless got equals want exactly, in order.
func wantRecords(t *testing.T, who string, got, want []rec) {
	t.Helper()
	gs, ws := make([]string, len(got)), make([]string, len(want))
	for i, r := range got {
		gs[i] = r.String()
	}
	for i, r := range want {
		ws[i] = r.String()
	}
	if !slices.Equal(gs, ws) {
		t.Fatalf("%s: records differ\ngot (%d):\n  %s\nwant (%d):\n  %s", who, len(gs), strings.Join(gs, "\n  "), len(ws), strings.Join(ws, "\n  "))
	}
}

// pyRecords turns the JSON lines of a Python consume into recs.
func pyRecords(t *testing.T, lines []json.RawMessage) []rec {
	t.Helper()
	var out []rec
	for _, l := range lines {
		out = append(out, decode[rec](t, l))
	}
	return out
}

// pyInput encodes records as the JSON lines the Python drivers read.
func pyInput(rs []rec) string {
	var sb strings.Builder
	for _, r := range rs {
		b, _ := json.Marshal(r)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// kcatJSON is one message of `kcat -C -J`.
type kcatJSON struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	TS        int64    `json:"ts"`
	Headers   []string `json:"headers"`
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
}

// sortRecs checks that each partition's records came in offset order and
// then orders them by partition and offset.
func sortRecs(t *testing.T, who string, rs []rec) {
	t.Helper()
	last := map[int32]int64{}
	for _, r := range rs {
		if l, ok := last[r.Partition]; ok && r.Offset <= l {
			t.Fatalf("%s: partition %d went from offset %d to %d", who, r.Partition, l, r.Offset)
		}
		last[r.Partition] = r.Offset
	}
	slices.SortStableFunc(rs, func(a, b rec) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
}

// kcatConsume reads partition p (-1: all) of topic from offset spec off
// (kcat -o syntax) to the end, with -J, sorted by partition and offset.
func kcatConsume(t *testing.T, addr, topic string, p int32, off string) []rec {
	t.Helper()
	args := []string{"-b", addr, "-C", "-t", topic, "-o", off, "-e", "-J", "-q"}
	if p >= 0 {
		args = append(args, "-p", fmt.Sprint(p))
	}
	out := run(t, "", kcat, args...)
	var rs []rec
	for _, l := range jsonLines(t, out) {
		m := decode[kcatJSON](t, l)
		if m.Topic != topic {
			t.Fatalf("kcat: message of topic %q, want %q", m.Topic, topic)
		}
		r := rec{Partition: m.Partition, Offset: m.Offset, Key: m.Key}
		if m.Payload != nil {
			r.Value = *m.Payload
		}
		if len(m.Headers)%2 != 0 {
			t.Fatalf("kcat: odd headers array %v", m.Headers)
		}
		for i := 0; i < len(m.Headers); i += 2 {
			r.Headers = append(r.Headers, [2]string{m.Headers[i], m.Headers[i+1]})
		}
		rs = append(rs, r)
	}
	sortRecs(t, "kcat", rs)
	return rs
}

// createTopic creates topic with n partitions through kadm.
func createTopic(t *testing.T, addr, topic string, n int32) {
	t.Helper()
	adm := kadm.NewClient(kafkatest.NewClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, n, 1, nil, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
}

// readAll consumes every partition of topic from its start to its end with
// franz-go and returns the records per partition.
func readAll(t *testing.T, addr, topic string) map[int32][]*kgo.Record {
	t.Helper()
	adm := kadm.NewClient(kafkatest.NewClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("list end offsets: %v %v", err, ends.Error())
	}
	want := map[int32]int64{}
	parts := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		parts[o.Partition] = kgo.NewOffset().AtStart()
		want[o.Partition] = o.Offset
	})
	out := map[int32][]*kgo.Record{}
	for p := range want {
		out[p] = nil
	}
	done := func() bool {
		for p, end := range want {
			rs := out[p]
			if end > 0 && (len(rs) == 0 || rs[len(rs)-1].Offset < end-1) {
				return false
			}
		}
		return true
	}
	if done() {
		return out
	}
	cl := kafkatest.NewClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchMaxWait(200*time.Millisecond))
	for !done() {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("readAll %s: timed out; have %d partitions, want ends %v", topic, len(out), want)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("readAll %s: fetch p%d: %v", topic, e.Partition, e.Err)
		}
		fs.EachRecord(func(r *kgo.Record) { out[r.Partition] = append(out[r.Partition], r) })
	}
	return out
}

// batch is the frame of one record batch in a .log segment.
type batch struct {
	pos, size        int64
	base, lastOffset int64
}

// segmentBatches walks the batches of a .log file by their length fields.
func segmentBatches(t *testing.T, path string) []batch {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []batch
	for pos := int64(0); pos < int64(len(b)); {
		if int64(len(b))-pos < 61 {
			t.Fatalf("%s: %d stray bytes at %d", path, int64(len(b))-pos, pos)
		}
		base := int64(binary.BigEndian.Uint64(b[pos:]))
		size := 12 + int64(binary.BigEndian.Uint32(b[pos+8:]))
		delta := int64(binary.BigEndian.Uint32(b[pos+23:]))
		out = append(out, batch{pos: pos, size: size, base: base, lastOffset: base + delta})
		pos += size
	}
	return out
}

// serverRuns splits a process's log into one string per start.
func serverRuns(log string) []string {
	var runs []string
	for _, part := range strings.SplitAfter(log, "\n") {
		if strings.Contains(part, `msg="starting samsa"`) || len(runs) == 0 {
			runs = append(runs, "")
		}
		runs[len(runs)-1] += part
	}
	return runs
}
