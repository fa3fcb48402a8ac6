package cli

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
)

// These tests run the commands against a real samsa broker: kfake's
// transaction coordinator is not the one we ship.

// createTopics creates topics with partitions partitions each on b.
func createTopics(t *testing.T, b *kafkatest.Broker, partitions int32, topics ...string) {
	t.Helper()
	resps, err := b.Admin(t).CreateTopics(context.Background(), partitions, 1, nil, topics...)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// txnFixture is a broker with topic "orders" (2 partitions) where
// transactional id "tx-done" committed a transaction that wrote d0 and d1
// to partitions 0 and 1, and "tx-open" then wrote o0 and o1 to them in a
// transaction it left open.
type txnFixture struct {
	b                   *kafkatest.Broker
	donePID, openPID    int64
	openBefore, openAft int64 // ms around the open transaction's first write
}

func newTxnFixture(t *testing.T) *txnFixture {
	t.Helper()
	b := kafkatest.Start(t)
	createTopics(t, b, 2, "orders")
	ctx := context.Background()
	f := &txnFixture{b: b}
	write := func(id string, commit bool, values ...string) (int64, *kgo.Client) {
		t.Helper()
		cl := b.Client(t, kgo.TransactionalID(id), kgo.DefaultProduceTopic("orders"),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionTimeout(45*time.Second))
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i, v := range values {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v), Partition: int32(i)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
		pid, _, err := cl.ProducerID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return pid, cl
	}
	f.donePID, _ = write("tx-done", true, "d0", "d1")
	f.openBefore = time.Now().UnixMilli()
	f.openPID, _ = write("tx-open", false, "o0", "o1")
	f.openAft = time.Now().UnixMilli()
	if f.donePID == f.openPID {
		t.Fatalf("both transactional ids use producer id %d", f.donePID)
	}
	return f
}

// tableRows splits a table printed by the CLI into the fields of each line.
func tableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Fields(line))
		}
	}
	return rows
}

func TestTxnList(t *testing.T) {
	f := newTxnFixture(t)
	addr := f.b.Addr
	done, open := strconv.FormatInt(f.donePID, 10), strconv.FormatInt(f.openPID, 10)
	header := []string{"TRANSACTIONAL-ID", "PRODUCER-ID", "STATE"}
	doneRow := []string{"tx-done", done, "CompleteCommit"}
	openRow := []string{"tx-open", open, "Ongoing"}

	for _, tc := range []struct {
		args []string
		want [][]string
	}{
		{nil, [][]string{header, doneRow, openRow}},
		{[]string{"--state", "Ongoing"}, [][]string{header, openRow}},
		{[]string{"--state", "completecommit,ONGOING"}, [][]string{header, doneRow, openRow}},
		{[]string{"--state", "CompleteAbort"}, nil},
		{[]string{"--producer-id", done}, [][]string{header, doneRow}},
		{[]string{"--producer-id", done, "--producer-id", open, "--state", "Ongoing"}, [][]string{header, openRow}},
		{[]string{"--min-duration", "1ms"}, [][]string{header, doneRow, openRow}},
		{[]string{"--min-duration", "1h"}, nil},
	} {
		out := mustRun(t, "", append([]string{"txn", "list", "-b", addr}, tc.args...)...)
		if got := tableRows(out); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("txn list %s:\n%s\nwant rows %q", strings.Join(tc.args, " "), out, tc.want)
		}
	}
	// Nothing matching says so on stderr, keeping stdout empty for scripts.
	if out, errOut, err := runCLI(t, "", "txn", "list", "-b", addr, "--min-duration", "1h"); err != nil || out != "" || errOut != "no transactional ids match\n" {
		t.Errorf("empty txn list: stdout %q stderr %q err %v", out, errOut, err)
	}

	var got []txnListing
	out := mustRun(t, "", "txn", "list", "-b", addr, "-o", "json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("txn list -o json: %q: %v", out, err)
	}
	want := []txnListing{
		{TransactionalID: "tx-done", ProducerID: f.donePID, State: "CompleteCommit", Coordinator: 1},
		{TransactionalID: "tx-open", ProducerID: f.openPID, State: "Ongoing", Coordinator: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("txn list -o json = %+v, want %+v", got, want)
	}
	if out := mustRun(t, "", "txn", "list", "-b", addr, "-o", "json", "--state", "Dead"); out != "[]\n" {
		t.Errorf("empty list in JSON = %q, want []", out)
	}
}

func TestTxnDescribe(t *testing.T) {
	f := newTxnFixture(t)
	addr := f.b.Addr

	out := mustRun(t, "", "txn", "describe", "-b", addr, "tx-open", "tx-done", "-o", "json")
	var got []txnDescription
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("txn describe -o json: %q: %v", out, err)
	}
	if len(got) != 2 {
		t.Fatalf("described %d ids: %s", len(got), out)
	}
	open, done := got[0], got[1]
	if s := open.StartTimestamp; s == nil || *s < f.openBefore || *s > f.openAft {
		t.Errorf("tx-open start %v, want between %d and %d", s, f.openBefore, f.openAft)
	}
	if d := open.DurationMs; d == nil || *d < 0 || *d > time.Now().UnixMilli()-f.openBefore {
		t.Errorf("tx-open duration %v", d)
	}
	if done.StartTimestamp == nil || *done.StartTimestamp > f.openBefore {
		t.Errorf("tx-done start %v, want before %d", done.StartTimestamp, f.openBefore)
	}
	openStart, doneStart := open.StartTimestamp, done.StartTimestamp
	open.StartTimestamp, open.DurationMs, done.StartTimestamp = nil, nil, nil
	wantOpen := txnDescription{TransactionalID: "tx-open", Coordinator: 1, State: "Ongoing", ProducerID: f.openPID,
		TimeoutMs: 45000, Partitions: []topicPartitionsDesc{{Topic: "orders", Partitions: []int32{0, 1}}}}
	wantDone := txnDescription{TransactionalID: "tx-done", Coordinator: 1, State: "CompleteCommit", ProducerID: f.donePID,
		TimeoutMs: 45000, Partitions: []topicPartitionsDesc{}}
	if !reflect.DeepEqual(open, wantOpen) {
		t.Errorf("tx-open described as\n%+v\nwant\n%+v", open, wantOpen)
	}
	if !reflect.DeepEqual(done, wantDone) {
		t.Errorf("tx-done described as\n%+v\nwant\n%+v", done, wantDone)
	}

	// The text view: the same, one row per id in the order given.
	out = mustRun(t, "", "txn", "describe", "-b", addr, "tx-done", "tx-open")
	rows := tableRows(out)
	if len(rows) != 3 {
		t.Fatalf("txn describe printed\n%s", out)
	}
	if want := []string{"TRANSACTIONAL-ID", "PRODUCER-ID", "EPOCH", "STATE", "TIMEOUT-MS", "START-TIME", "START-MS",
		"DURATION", "PARTITIONS"}; !reflect.DeepEqual(rows[0], want) {
		t.Errorf("header %q", rows[0])
	}
	wantDoneRow := []string{"tx-done", strconv.FormatInt(f.donePID, 10), "0", "CompleteCommit", "45000",
		msTime(*doneStart), strconv.FormatInt(*doneStart, 10), "-", "-"}
	if !reflect.DeepEqual(rows[1], wantDoneRow) {
		t.Errorf("tx-done row %q, want %q", rows[1], wantDoneRow)
	}
	openRow := rows[2]
	if len(openRow) == 9 {
		if _, err := time.ParseDuration(openRow[7]); err != nil {
			t.Errorf("tx-open duration %q: %v", openRow[7], err)
		}
		openRow[7] = "D"
	}
	wantOpenRow := []string{"tx-open", strconv.FormatInt(f.openPID, 10), "0", "Ongoing", "45000",
		msTime(*openStart), strconv.FormatInt(*openStart, 10), "D", "orders(0,1)"}
	if !reflect.DeepEqual(openRow, wantOpenRow) {
		t.Errorf("tx-open row %q, want %q", openRow, wantOpenRow)
	}
	if !strings.HasPrefix(msTime(*openStart), time.UnixMilli(*openStart).UTC().Format("2006-01-02T15:04:05.")) ||
		!strings.HasSuffix(msTime(*openStart), "Z") {
		t.Errorf("start time printed as %q", msTime(*openStart))
	}
}

func TestTxnDescribeUnknown(t *testing.T) {
	f := newTxnFixture(t)
	addr := f.b.Addr
	const notFound = `transactional id "ghost" does not exist (TRANSACTIONAL_ID_NOT_FOUND)`
	out, stderr, err := runCLI(t, "", "txn", "describe", "-b", addr, "ghost")
	if err == nil || err.Error() != notFound || out != "" || stderr != "" {
		t.Errorf("describe ghost: err %v, stdout %q, stderr %q; want error %q", err, out, stderr, notFound)
	}
	var ue usageError
	if errors.As(err, &ue) {
		t.Errorf("an unknown id is a usage error: %v", err)
	}
	if code := Main([]string{"txn", "describe", "-b", addr, "ghost"}); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}

	// Known ids are shown; the unknown one is the error.
	out, stderr, err = runCLI(t, "", "txn", "describe", "-b", addr, "ghost", "tx-done", "-o", "json")
	var got []txnDescription
	if jerr := json.Unmarshal([]byte(out), &got); jerr != nil || len(got) != 1 || got[0].TransactionalID != "tx-done" {
		t.Errorf("describe ghost tx-done printed %q (%v)", out, jerr)
	}
	if err == nil || err.Error() != notFound || stderr != "" {
		t.Errorf("describe ghost tx-done: err %v, stderr %q", err, stderr)
	}
}

// TestTxnProducers checks `txn producers` on the fixture: each partition has
// the committed producer and the one with an open transaction.
func TestTxnProducers(t *testing.T) {
	f := newTxnFixture(t)
	addr := f.b.Addr
	out := mustRun(t, "", "txn", "producers", "orders", "-b", addr, "-o", "json")
	var got []txnProducer
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("txn producers -o json: %q: %v", out, err)
	}
	for i := range got {
		if ts := got[i].LastTimestamp; ts == nil || *ts < f.openBefore-60_000 || *ts > time.Now().UnixMilli() {
			t.Errorf("producer %+v: last timestamp out of range", got[i])
		}
		got[i].LastTimestamp = nil
	}
	// Each partition holds d (offset 0), the commit marker (1) and o (2).
	off := func(v int64) *int64 { return &v }
	var want []txnProducer
	for p := int32(0); p < 2; p++ {
		for _, pr := range []txnProducer{
			{ProducerID: f.donePID, LastSequence: 0, CoordinatorEpoch: 0},
			{ProducerID: f.openPID, LastSequence: 0, CoordinatorEpoch: -1, CurrentTxnStartOffset: off(2)},
		} {
			pr.Topic, pr.Partition = "orders", p
			want = append(want, pr)
		}
	}
	if f.openPID < f.donePID {
		for i := 0; i < len(want); i += 2 {
			want[i], want[i+1] = want[i+1], want[i]
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("txn producers -o json:\n%s\nwant %+v", out, want)
	}

	out = mustRun(t, "", "txn", "producers", "orders", "-b", addr, "--partition", "1")
	rows := tableRows(out)
	if len(rows) != 3 || rows[1][1] != "1" || rows[2][1] != "1" {
		t.Errorf("txn producers --partition 1:\n%s", out)
	}
	_, _, err := runCLI(t, "", "txn", "producers", "orders", "-b", addr, "--partition", "2")
	if want := `topic "orders" has 2 partitions; there is no partition 2`; err == nil || err.Error() != want {
		t.Errorf("partition 2: %v, want %q", err, want)
	}
	_, _, err = runCLI(t, "", "txn", "producers", "nope", "-b", addr)
	if want := `topic "nope" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`; err == nil || err.Error() != want {
		t.Errorf("missing topic: %v, want %q", err, want)
	}
}

// TestTxnOldBroker checks the errors against brokers that predate an API
// or a filter: kfake advertising Kafka 2.7 (no DescribeProducers,
// ListTransactions or DescribeTransactions) and 3.7 (ListTransactions v0,
// without the duration filter).
func TestTxnOldBroker(t *testing.T) {
	addr := startFake(t, kfake.MaxVersions(kversion.V2_7_0()), kfake.SeedTopics(1, "t"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"producers", "t"}, `describe producers of topic "t": the broker does not serve DescribeProducers (API key 61)`},
		{[]string{"list"}, `list transactions on broker 0: the broker does not serve ListTransactions (API key 66)`},
		{[]string{"describe", "x"}, `describe transactional id "x": the broker does not serve DescribeTransactions (API key 65)`},
	} {
		_, _, err := runCLI(t, "", append([]string{"txn", "-b", addr, "--timeout", "5s"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("txn %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}

	addr = startFake(t, kfake.MaxVersions(kversion.V3_7_0()))
	mustRun(t, "", "txn", "list", "-b", addr)
	_, _, err := runCLI(t, "", "txn", "list", "-b", addr, "--min-duration", "1m")
	want := "list transactions on broker 0: the broker cannot filter by --min-duration (it needs ListTransactions v1, Kafka 3.8+); its transactions are left out"
	if err == nil || err.Error() != want {
		t.Errorf("--min-duration against Kafka 3.7: %v, want %q", err, want)
	}
}
