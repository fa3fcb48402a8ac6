package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupFixture is a kfake cluster with topic "orders": partition 0 holds 10
// records stamped base+0s..base+9s, partition 1 holds 6 records stamped
// base+100s..base+105s.
type groupFixture struct {
	addr string
	base time.Time
	adm  *kadm.Client
}

func newGroupFixture(t *testing.T) *groupFixture {
	t.Helper()
	addr := startFake(t, kfake.SeedTopics(2, "orders"))
	f := &groupFixture{addr: addr, base: time.Now().Add(-time.Hour).Truncate(time.Second)}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	f.adm = kadm.NewClient(cl)
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: 0, Value: []byte(fmt.Sprint(i)),
			Timestamp: f.base.Add(time.Duration(i) * time.Second)})
	}
	for i := 0; i < 6; i++ {
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: 1, Value: []byte(fmt.Sprint(i)),
			Timestamp: f.base.Add(time.Duration(100+i) * time.Second)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return f
}

// committed returns the group's committed offsets of orders 0 and 1 (-1 if none).
func (f *groupFixture) committed(t *testing.T, group string) [2]int64 {
	t.Helper()
	got := [2]int64{-1, -1}
	resps, err := f.adm.FetchOffsets(context.Background(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return got
	}
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		if o, ok := resps.Lookup("orders", p); ok && o.Err == nil {
			got[p] = o.At
		}
	}
	return got
}

// startConsumer joins group, reads every record of orders and commits
// offsets 4 and 6, leaving the consumer in the group.
func startConsumer(t *testing.T, f *groupFixture, group string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.addr), kgo.ClientID("audit-consumer"),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics("orders"), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n := 0; n < 16; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll after %d records: %v", n, err)
		}
		n += fs.NumRecords()
	}
	var commitErr error
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{
		"orders": {0: {Epoch: -1, Offset: 4}, 1: {Epoch: -1, Offset: 6}},
	}, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
		if err == nil {
			for _, rt := range resp.Topics {
				for _, rp := range rt.Partitions {
					if rp.ErrorCode != 0 {
						commitErr = fmt.Errorf("partition %d: error code %d", rp.Partition, rp.ErrorCode)
					}
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	return cl
}

func describeGroupJSON(t *testing.T, addr string, groups ...string) []groupDescription {
	t.Helper()
	out := mustRun(t, "", append([]string{"group", "describe", "-b", addr, "-o", "json"}, groups...)...)
	var descs []groupDescription
	if err := json.Unmarshal([]byte(out), &descs); err != nil {
		t.Fatalf("describe output %q: %v", out, err)
	}
	return descs
}

func i64(p *int64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func TestGroupCommands(t *testing.T) {
	f := newGroupFixture(t)
	addr := f.addr
	cons := startConsumer(t, f, "audit")
	memberID, _ := cons.GroupMetadata()

	// list
	out := mustRun(t, "", "group", "list", "-b", addr)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 ||
		strings.Join(strings.Fields(lines[0]), " ") != "GROUP STATE PROTOCOL-TYPE" ||
		strings.Join(strings.Fields(lines[1]), " ") != "audit Stable consumer" {
		t.Errorf("group list printed:\n%s", out)
	}
	var list []groupSummary
	if err := json.Unmarshal([]byte(mustRun(t, "", "group", "list", "-b", addr, "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0] != (groupSummary{Group: "audit", State: "Stable", ProtocolType: "consumer", Coordinator: list[0].Coordinator}) {
		t.Errorf("list json = %+v", list)
	}
	if out := mustRun(t, "", "group", "list", "-b", addr, "--state", "empty,Dead"); out != "" {
		t.Errorf("list --state Empty,Dead printed %q, want nothing", out)
	}
	if out := mustRun(t, "", "group", "list", "-b", addr, "--state", "Stable"); !strings.Contains(out, "audit") {
		t.Errorf("list --state Stable printed %q", out)
	}

	// describe while the consumer is in the group
	descs := describeGroupJSON(t, addr, "audit")
	if len(descs) != 1 {
		t.Fatalf("describe returned %d groups", len(descs))
	}
	d := descs[0]
	if d.State != "Stable" || d.ProtocolType != "consumer" || d.Protocol == "" || len(d.Members) != 1 {
		t.Errorf("describe = %+v", d)
	}
	if m := d.Members[0]; m.MemberID != memberID || m.ClientID != "audit-consumer" ||
		len(m.Assignment) != 1 || m.Assignment[0].Topic != "orders" || fmt.Sprint(m.Assignment[0].Partitions) != "[0 1]" {
		t.Errorf("member = %+v, want %s with orders 0 and 1", m, memberID)
	}
	want := [][3]string{{"4", "10", "6"}, {"6", "6", "0"}}
	if len(d.Offsets) != 2 {
		t.Fatalf("offsets = %+v", d.Offsets)
	}
	for i, o := range d.Offsets {
		got := [3]string{i64(o.CurrentOffset), i64(o.LogEndOffset), i64(o.Lag)}
		if o.Topic != "orders" || o.Partition != int32(i) || got != want[i] ||
			o.MemberID != memberID || o.ClientID != "audit-consumer" || o.Host == "" {
			t.Errorf("offsets[%d] = %+v (current, end, lag = %v), want %v", i, o, got, want[i])
		}
	}
	text := mustRun(t, "", "group", "describe", "audit", "-b", addr)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") !=
		"GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID" {
		t.Fatalf("describe text:\n%s", text)
	}
	if f := strings.Fields(lines[1]); len(f) != 9 || strings.Join(f[:7], " ") != "audit orders 0 4 10 6 "+memberID || f[8] != "audit-consumer" {
		t.Errorf("describe line %q", lines[1])
	}
	text = mustRun(t, "", "group", "describe", "audit", "-b", addr, "--members")
	if !strings.Contains(text, memberID) || !strings.Contains(text, "orders(0,1)") || !strings.Contains(text, "#PARTITIONS") {
		t.Errorf("describe --members:\n%s", text)
	}
	text = mustRun(t, "", "group", "describe", "audit", "-b", addr, "--state")
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != 2 ||
		!strings.Contains(lines[1], "consumer") || !strings.Contains(lines[1], "Stable") ||
		!strings.HasSuffix(lines[1], " 1") {
		t.Errorf("describe --state:\n%s", text)
	}

	// An active group can be neither deleted nor reset.
	_, _, err := runCLI(t, "", "group", "delete", "audit", "-b", addr)
	if want := `group "audit" still has active members; stop its consumers first (NON_EMPTY_GROUP)`; err == nil || err.Error() != want {
		t.Errorf("delete active group: %v, want %q", err, want)
	}
	_, _, err = runCLI(t, "", "group", "reset-offsets", "audit", "-b", addr, "--topic", "orders", "--to-earliest", "--execute")
	if err == nil || !strings.Contains(err.Error(), "1 active member") || !strings.Contains(err.Error(), "stop its consumers first") {
		t.Errorf("reset active group: %v", err)
	}
	if got := f.committed(t, "audit"); got != [2]int64{4, 6} {
		t.Errorf("after refused reset: committed %v, want [4 6]", got)
	}

	// The consumer leaves: offsets and lag stay, consumer columns are "-".
	cons.Close()
	waitGroupState(t, f.adm, "audit", "Empty")
	text = mustRun(t, "", "group", "describe", "audit", "-b", addr)
	lines = strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 4 || lines[0] != `Consumer group "audit" has no active members.` ||
		strings.Join(strings.Fields(lines[2]), " ") != "audit orders 0 4 10 6 - - -" ||
		strings.Join(strings.Fields(lines[3]), " ") != "audit orders 1 6 6 0 - - -" {
		t.Errorf("describe empty group:\n%s", text)
	}

	// reset-offsets: a dry run by default.
	out, _, err = runCLI(t, "", "group", "reset-offsets", "audit", "-b", addr, "--topic", "orders", "--to-earliest")
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "GROUP TOPIC PARTITION CURRENT-OFFSET NEW-OFFSET" ||
		strings.Join(strings.Fields(lines[1]), " ") != "audit orders 0 4 0" ||
		strings.Join(strings.Fields(lines[2]), " ") != "audit orders 1 6 0" ||
		!strings.HasPrefix(lines[3], "Dry run: no offsets were changed") {
		t.Errorf("dry run printed:\n%s", out)
	}
	if got := f.committed(t, "audit"); got != [2]int64{4, 6} {
		t.Errorf("after dry run: committed %v, want [4 6]", got)
	}

	reset := func(want [2]int64, args ...string) {
		t.Helper()
		out := mustRun(t, "", append([]string{"group", "reset-offsets", "audit", "-b", addr, "--execute"}, args...)...)
		if !strings.Contains(out, `Committed new offsets for`) {
			t.Errorf("reset %v printed:\n%s", args, out)
		}
		if got := f.committed(t, "audit"); got != want {
			t.Errorf("reset %v: committed %v, want %v", args, got, want)
		}
	}
	reset([2]int64{0, 0}, "--topic", "orders", "--to-earliest")
	reset([2]int64{0, 0}, "--all-topics", "--shift-by", "-1") // clamped at the log start
	reset([2]int64{10, 6}, "--all-topics", "--to-offset", "100")
	reset([2]int64{3, 6}, "--topic", "orders:0", "--shift-by", "-7")
	reset([2]int64{2, 6}, "--topic", "orders:0", "--to-offset", "2")
	reset([2]int64{2, 6}, "--topic", "orders:1", "--to-latest")
	// 4.5 s after base: partition 0's first record at or after is offset 5;
	// all of partition 1 is later, so offset 0.
	reset([2]int64{5, 0}, "--topic", "orders", "--to-datetime", f.base.Add(4500*time.Millisecond).Format(time.RFC3339Nano))
	// 102 s after base, as Unix milliseconds: past partition 0 (its end, 10), offset 2 of partition 1.
	reset([2]int64{10, 2}, "--topic", "orders", "--to-datetime", fmt.Sprint(f.base.Add(102*time.Second).UnixMilli()))

	// JSON plan of a dry run.
	out, stderr, err := runCLI(t, "", "group", "reset-offsets", "audit", "-b", addr, "--all-topics", "--shift-by", "-3", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var plan resetResult
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("json plan %q: %v", out, err)
	}
	if plan.Group != "audit" || plan.Executed || len(plan.Offsets) != 2 ||
		i64(plan.Offsets[0].CurrentOffset) != "10" || plan.Offsets[0].NewOffset != 7 ||
		i64(plan.Offsets[1].CurrentOffset) != "2" || plan.Offsets[1].NewOffset != 0 {
		t.Errorf("json plan = %+v", plan)
	}
	if !strings.Contains(stderr, "Dry run") {
		t.Errorf("json dry run stderr = %q", stderr)
	}
	if got := f.committed(t, "audit"); got != [2]int64{10, 2} {
		t.Errorf("after json dry run: committed %v, want [10 2]", got)
	}

	// Bad partitions and topics.
	_, _, err = runCLI(t, "", "group", "reset-offsets", "audit", "-b", addr, "--topic", "orders:7", "--to-earliest")
	if want := `topic "orders" has no partition 7 (it has 2 partitions)`; err == nil || err.Error() != want {
		t.Errorf("reset of a missing partition: %v, want %q", err, want)
	}
	_, _, err = runCLI(t, "", "group", "reset-offsets", "audit", "-b", addr, "--topic", "nope", "--to-earliest")
	if want := `topic "nope" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`; err == nil || err.Error() != want {
		t.Errorf("reset of a missing topic: %v, want %q", err, want)
	}

	// delete
	if out := mustRun(t, "", "group", "delete", "audit", "-b", addr); out != "Deleted group \"audit\".\n" {
		t.Errorf("delete printed %q", out)
	}
	if out := mustRun(t, "", "group", "list", "-b", addr); out != "" {
		t.Errorf("list after delete: %q", out)
	}
	notFound := `group "audit" does not exist (GROUP_ID_NOT_FOUND)`
	if _, _, err := runCLI(t, "", "group", "describe", "audit", "-b", addr); err == nil || err.Error() != notFound {
		t.Errorf("describe deleted group: %v, want %q", err, notFound)
	}
	if _, _, err := runCLI(t, "", "group", "delete", "audit", "-b", addr); err == nil || err.Error() != notFound {
		t.Errorf("delete deleted group: %v, want %q", err, notFound)
	}
	if out := mustRun(t, "", "group", "delete", "audit", "-b", addr, "--if-exists"); out != "" {
		t.Errorf("delete --if-exists printed %q", out)
	}
	if got := f.committed(t, "audit"); got != [2]int64{-1, -1} {
		t.Errorf("offsets after delete: %v", got)
	}
}

// TestGroupResetCreatesOffsets: resetting a group that does not exist yet
// commits offsets for it, as Kafka's tool does; shift-by needs a committed
// offset.
func TestGroupResetCreatesOffsets(t *testing.T) {
	f := newGroupFixture(t)
	_, _, err := runCLI(t, "", "group", "reset-offsets", "fresh", "-b", f.addr, "--topic", "orders", "--shift-by", "1")
	if err == nil || !strings.Contains(err.Error(), `group "fresh" has no committed offset`) {
		t.Errorf("shift-by without commits: %v", err)
	}
	_, _, err = runCLI(t, "", "group", "reset-offsets", "fresh", "-b", f.addr, "--all-topics", "--to-latest")
	if err == nil || err.Error() != `group "fresh" has no committed offsets; name the topics with --topic` {
		t.Errorf("--all-topics without commits: %v", err)
	}
	mustRun(t, "", "group", "reset-offsets", "fresh", "-b", f.addr, "--topic", "orders:1", "--to-latest", "--execute")
	if got := f.committed(t, "fresh"); got != [2]int64{-1, 6} {
		t.Errorf("committed %v, want [-1 6]", got)
	}
	d := describeGroupJSON(t, f.addr, "fresh")
	if len(d) != 1 || len(d[0].Offsets) != 1 || i64(d[0].Offsets[0].Lag) != "0" || d[0].Offsets[0].MemberID != "" {
		t.Errorf("describe = %+v", d)
	}
}

// TestGroupNewProtocol: a group of the KIP-848 protocol is described through
// ConsumerGroupDescribe, whose assignment names topics by id.
func TestGroupNewProtocol(t *testing.T) {
	f := newGroupFixture(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.addr), kgo.ClientID("c848"),
		kgo.ConsumerGroup("g848"), kgo.ConsumeTopics("orders"), kgo.ServerSideBalancer(),
		kgo.Balancers(kgo.RangeBalancer()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n := 0; n < 16; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		n += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	memberID, _ := cl.GroupMetadata()
	d := describeGroupJSON(t, f.addr, "g848")[0]
	if d.ProtocolType != "consumer" || d.Protocol != "range" || len(d.Members) != 1 ||
		d.Members[0].MemberID != memberID || assignmentString(d.Members[0].Assignment) != "orders(0,1)" {
		t.Errorf("describe = %+v", d)
	}
	if len(d.Offsets) != 2 || d.Offsets[0].MemberID != memberID || i64(d.Offsets[0].Lag) != "0" || i64(d.Offsets[1].CurrentOffset) != "6" {
		t.Errorf("offsets = %+v", d.Offsets)
	}
	_, _, err = runCLI(t, "", "group", "reset-offsets", "g848", "-b", f.addr, "--all-topics", "--to-earliest")
	if err == nil || !strings.Contains(err.Error(), "1 active member") {
		t.Errorf("reset of an active group: %v", err)
	}
	cl.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(describeGroupJSON(t, f.addr, "g848")[0].Members) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the member did not leave")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustRun(t, "", "group", "reset-offsets", "g848", "-b", f.addr, "--all-topics", "--to-earliest", "--execute")
	if got := f.committed(t, "g848"); got != [2]int64{0, 0} {
		t.Errorf("committed %v after reset, want [0 0]", got)
	}
}

func TestGroupUsageErrors(t *testing.T) {
	cases := [][]string{
		{"group", "describe"},
		{"group", "describe", "g", "--all-groups"},
		{"group", "describe", "g", "--members", "--state"},
		{"group", "list", "--state", "Sleeping"},
		{"group", "delete"},
		{"group", "reset-offsets", "g", "--topic", "t"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"},
		{"group", "reset-offsets", "g", "--to-earliest"},
		{"group", "reset-offsets", "g", "--topic", "t", "--all-topics", "--to-earliest"},
		{"group", "reset-offsets", "g", "--topic", "t:x", "--to-earliest"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "yesterday"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-offset", "-1"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--execute", "--dry-run"},
		{"group", "reset-offsets", "--topic", "t", "--to-earliest"},
		{"group", "frobnicate"},
	}
	for _, args := range cases {
		_, _, err := runCLI(t, "", append(args, "-b", "127.0.0.1:1")...)
		var ue usageError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
			t.Errorf("samsa %s: %v, want a one-line usage error", strings.Join(args, " "), err)
		}
	}
	for _, sub := range []string{"list", "describe", "delete", "reset-offsets"} {
		out := mustRun(t, "", "group", sub, "--help")
		if !strings.Contains(out, "Examples:") {
			t.Errorf("group %s --help has no examples", sub)
		}
	}
}

func waitGroupState(t *testing.T, adm *kadm.Client, group, state string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, err := adm.DescribeGroups(context.Background(), group)
		if err == nil && ds[group].State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %q did not reach state %s: %+v %v", group, state, ds[group], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
