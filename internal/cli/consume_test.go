package cli

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func parseJSONRecords(t *testing.T, out string) []jsonRecord {
	t.Helper()
	var recs []jsonRecord
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var r jsonRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func str(s string) *string { return &s }

func TestProduceConsumeJSON(t *testing.T) {
	addr := startFake(t, kfake.SeedTopics(3, "events"))
	before := time.Now().UnixMilli()
	_, stderr, err := runCLI(t, "alpha:one\nbeta:two\ngamma:three", "produce", "events", "-b", addr,
		"--key-separator", ":", "--header", "source=test", "--header", "v=1")
	if err != nil {
		t.Fatalf("produce: %v (%s)", err, stderr)
	}
	if !strings.Contains(stderr, "produced 3 records") {
		t.Errorf("produce summary = %q", stderr)
	}

	out := mustRun(t, "", "consume", "events", "-b", addr, "--from-beginning", "--count", "3", "--format", "json")
	got := parseJSONRecords(t, out)

	// Expected placement is Java's: murmur2 of the key (checked against
	// Java's values in TestKeyedPartitioningMatchesJava), and offsets count
	// up from 0 within each partition in the order the lines came.
	part := kgo.StickyKeyPartitioner(nil).ForTopic("events")
	next := map[int32]int64{}
	headers := []jsonHeader{{Key: "source", Value: str("test")}, {Key: "v", Value: str("1")}}
	var want []jsonRecord
	for _, kv := range [][2]string{{"alpha", "one"}, {"beta", "two"}, {"gamma", "three"}} {
		p := int32(part.Partition(&kgo.Record{Key: []byte(kv[0])}, 3))
		want = append(want, jsonRecord{Topic: "events", Partition: p, Offset: next[p],
			Key: str(kv[0]), Value: str(kv[1]), Headers: headers})
		next[p]++
	}
	order := func(rs []jsonRecord) {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Partition != rs[j].Partition {
				return rs[i].Partition < rs[j].Partition
			}
			return rs[i].Offset < rs[j].Offset
		})
	}
	order(got)
	order(want)
	if len(got) != 3 {
		t.Fatalf("consumed %d records: %s", len(got), out)
	}
	for i := range got {
		if ts := got[i].Timestamp; ts < before || ts > time.Now().UnixMilli() {
			t.Errorf("record %d timestamp %d out of range", i, ts)
		}
		got[i].Timestamp = 0
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("consumed\n%+v\nwant\n%+v", got, want)
	}

	// Text output, one partition, the last record of it.
	p := want[0].Partition
	out = mustRun(t, "", "consume", "events", "-b", addr, "--partition", strconv.Itoa(int(p)),
		"--offset", "-1", "--count", "1", "--print-key", "--key-separator", "=")
	last := want[0]
	for _, r := range want {
		if r.Partition == p {
			last = r
		}
	}
	if wantOut := *last.Key + "=" + *last.Value + "\n"; out != wantOut {
		t.Errorf("text consume = %q, want %q", out, wantOut)
	}
}

func TestConsumeBinaryAndNull(t *testing.T) {
	addr := startFake(t, kfake.SeedTopics(1, "bin"))
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := &kgo.Record{Topic: "bin", Value: []byte{0xff, 0x00, 0xfe},
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte{0xc3}}}}
	if err := cl.ProduceSync(t.Context(), r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "", "consume", "bin", "-b", addr, "--from-beginning", "-c", "1", "-o", "json")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m["key"] != nil || m["value"] != "/wD+" || m["value_encoding"] != "base64" || m["key_encoding"] != nil {
		t.Errorf("binary record = %s", out)
	}
	h := m["headers"].([]any)[0].(map[string]any)
	if h["key"] != "h" || h["value"] != "ww==" || h["value_encoding"] != "base64" {
		t.Errorf("binary header = %v", h)
	}
}

func TestConsumeFromTimestamp(t *testing.T) {
	addr := startFake(t, kfake.SeedTopics(1, "ts"))
	mustRun(t, "old1\nold2\n", "produce", "ts", "-b", addr)
	// Record timestamps have millisecond precision: step past the last one.
	time.Sleep(5 * time.Millisecond)
	cut := time.Now()
	time.Sleep(5 * time.Millisecond)
	mustRun(t, "new1\nnew2\n", "produce", "ts", "-b", addr)

	for _, from := range []string{strconv.FormatInt(cut.UnixMilli(), 10), cut.UTC().Format(time.RFC3339Nano)} {
		out := mustRun(t, "", "consume", "ts", "-b", addr, "--from-timestamp", from, "--idle-exit", "300ms")
		if out != "new1\nnew2\n" {
			t.Errorf("--from-timestamp %s: got %q", from, out)
		}
	}
	// Latest (the default) sees nothing that was produced before it started.
	if out := mustRun(t, "", "consume", "ts", "-b", addr, "--idle-exit", "200ms"); out != "" {
		t.Errorf("consume from latest printed %q", out)
	}
}

func TestConsumeGroupCommits(t *testing.T) {
	addr := startFake(t, kfake.SeedTopics(1, "g"))
	mustRun(t, "a\nb\nc\n", "produce", "g", "-b", addr)
	if out := mustRun(t, "", "consume", "g", "-b", addr, "--group", "grp", "--from-beginning", "-c", "2"); out != "a\nb\n" {
		t.Fatalf("first run: %q", out)
	}
	if out := mustRun(t, "", "consume", "g", "-b", addr, "--group", "grp", "--from-beginning", "-c", "1"); out != "c\n" {
		t.Fatalf("second run resumed with %q, want c", out)
	}
}

func TestConsumeMissingTopic(t *testing.T) {
	addr := startFake(t)
	_, _, err := runCLI(t, "", "consume", "ghost", "-b", addr, "--idle-exit", "100ms")
	if want := `topic "ghost" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestConsumeIsolation reads a partition holding committed, aborted,
// non-transactional and open-transaction records with both isolation
// levels.
func TestConsumeIsolation(t *testing.T) {
	b := kafkatest.Start(t)
	createTopics(t, b, 1, "iso")
	ctx := context.Background()
	txc := b.Client(t, kgo.TransactionalID("iso-writer"), kgo.DefaultProduceTopic("iso"))
	txn := func(commit bool, values ...string) {
		t.Helper()
		if err := txc.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if err := txc.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := txc.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	txn(true, "c1", "c2")
	txn(false, "a1")
	txn(true, "c3")
	plain := b.Client(t, kgo.DefaultProduceTopic("iso"))
	if err := plain.ProduceSync(ctx, kgo.StringRecord("p1")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := txc.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txc.ProduceSync(ctx, kgo.StringRecord("o1")).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// read_committed stops at the open transaction: waiting longer shows nothing more.
	committed := "c1\nc2\nc3\np1\n"
	out := mustRun(t, "", "consume", "iso", "-b", b.Addr, "--from-beginning", "--isolation", "read_committed", "--idle-exit", "500ms")
	if out != committed {
		t.Errorf("read_committed: %q, want %q", out, committed)
	}
	all := "c1\nc2\na1\nc3\np1\no1\n"
	for _, args := range [][]string{{"--isolation", "read_uncommitted"}, nil, {"--isolation", "READ_UNCOMMITTED"}} {
		out := mustRun(t, "", append([]string{"consume", "iso", "-b", b.Addr, "--from-beginning", "--count", "6"}, args...)...)
		if out != all {
			t.Errorf("consume %s: %q, want %q", strings.Join(args, " "), out, all)
		}
	}
	// Kafka's flag name, and the old --read-committed (with a warning).
	out = mustRun(t, "", "consume", "iso", "-b", b.Addr, "--from-beginning", "--isolation-level", "read_committed", "--count", "4")
	if out != committed {
		t.Errorf("--isolation-level read_committed: %q, want %q", out, committed)
	}
	// cobra prints the warning with Command.Print: to stderr in the binary,
	// to the output writer runCLI sets here.
	out, _, err := runCLI(t, "", "consume", "iso", "-b", b.Addr, "--from-beginning", "--read-committed", "--count", "4")
	const warning = "Flag --read-committed has been deprecated, use --isolation read_committed\n"
	if err != nil || out != warning+committed {
		t.Errorf("--read-committed: err %v, output %q, want %q", err, out, warning+committed)
	}

	// Committing the open transaction releases o1.
	if err := txc.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "", "consume", "iso", "-b", b.Addr, "--from-beginning", "--isolation", "read_committed", "--count", "5")
	if out != committed+"o1\n" {
		t.Errorf("read_committed after the commit: %q", out)
	}
}

func TestConsumeBadIsolation(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--isolation", "serializable"}, `--isolation "serializable": want read_uncommitted or read_committed`},
		{[]string{"--isolation-level", "committed"}, `--isolation-level "committed": want read_uncommitted or read_committed`},
		{[]string{"--read-committed", "--isolation", "read_uncommitted"}, `--read-committed and --isolation read_uncommitted contradict each other`},
	} {
		_, _, err := runCLI(t, "", append([]string{"consume", "t", "-b", "127.0.0.1:1"}, tc.args...)...)
		var ue usageError
		if !errors.As(err, &ue) || err.Error() != tc.want {
			t.Errorf("consume %s: %v (%T), want usage error %q", strings.Join(tc.args, " "), err, err, tc.want)
		}
	}
	if code := Main([]string{"consume", "t", "-b", "127.0.0.1:1", "--isolation", "serializable"}); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
}
