package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cross-client consumer groups: confluent-kafka (librdkafka) and
// kafka-python as members, kadm, kafka-python's admin client and the samsa
// CLI describing the same group. The Python side is
// testdata/group_client.py.

const groupScript = "group_client.py"

// produceCounts writes counts[p] records to each partition p of topic, with
// values "p<P>-<I>" for I from first, and returns the records as rec
// (offsets from first).
func produceCounts(t *testing.T, addr, topic string, counts map[int32]int, first int) []rec {
	t.Helper()
	cl := kafkatest.NewClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var rs []*kgo.Record
	var out []rec
	for _, p := range slices.Sorted(maps.Keys(counts)) {
		for i := first; i < first+counts[p]; i++ {
			v := fmt.Sprintf("p%d-%d", p, i)
			rs = append(rs, &kgo.Record{Partition: p, Value: []byte(v)})
			out = append(out, rec{Partition: p, Offset: int64(i), Value: v})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	for i, r := range rs {
		if r.Offset != out[i].Offset {
			t.Fatalf("produce to %s: record %d acked at p%d@%d, want offset %d", topic, i, r.Partition, r.Offset, out[i].Offset)
		}
	}
	return out
}

// groupLine is any line of group_client.py.
type groupLine struct {
	Member     *int            `json:"member"`
	ClientID   string          `json:"client_id"`
	Assignment []int32         `json:"assignment"`
	Early      int             `json:"early"`
	Partition  *int32          `json:"partition"`
	Offset     int64           `json:"offset"`
	Value      string          `json:"value"`
	Committed  json.RawMessage `json:"committed"`
	Ready      bool            `json:"ready"`
	Closed     bool            `json:"closed"`
}

// ckGroup is what ck-members printed.
type ckGroup struct {
	clientID   map[int]string
	assignment map[int][]int32
	records    map[int][]rec
	committed  map[int]map[int32]int64
	early      int
	ready      bool
	closed     bool
}

func (g *ckGroup) add(t *testing.T, raw json.RawMessage) {
	t.Helper()
	l := decode[groupLine](t, raw)
	switch {
	case l.Ready:
		g.ready = true
	case l.Closed:
		g.closed = true
	case l.Member == nil:
		t.Fatalf("ck-members: unexpected line %s", raw)
	case l.Assignment != nil:
		g.clientID[*l.Member], g.assignment[*l.Member], g.early = l.ClientID, l.Assignment, l.Early
	case l.Committed != nil:
		var pairs [][2]int64
		if err := json.Unmarshal(l.Committed, &pairs); err != nil {
			t.Fatalf("ck-members: %s: %v", raw, err)
		}
		m := map[int32]int64{}
		for _, pr := range pairs {
			m[int32(pr[0])] = pr[1]
		}
		g.committed[*l.Member] = m
	case l.Partition != nil:
		g.records[*l.Member] = append(g.records[*l.Member], rec{Partition: *l.Partition, Offset: l.Offset, Value: l.Value})
	default:
		t.Fatalf("ck-members: unexpected line %s", raw)
	}
}

func newCKGroup() *ckGroup {
	return &ckGroup{clientID: map[int]string{}, assignment: map[int][]int32{}, records: map[int][]rec{},
		committed: map[int]map[int32]int64{}}
}

// checkSplit checks that the n members split partitions 0..parts-1 evenly
// with no overlap and no gap, that each read exactly the records of its
// partitions (want) and committed the end of each.
func (g *ckGroup) checkSplit(t *testing.T, n int, parts int32, want []rec) {
	t.Helper()
	if len(g.assignment) != n {
		t.Fatalf("confluent-kafka: %d members reported assignments, want %d: %v", len(g.assignment), n, g.assignment)
	}
	owner := map[int32]int{}
	for m, ps := range g.assignment {
		if len(ps) != int(parts)/n {
			t.Errorf("confluent-kafka member %d got partitions %v, want %d of the %d", m, ps, int(parts)/n, parts)
		}
		for _, p := range ps {
			if o, dup := owner[p]; dup {
				t.Fatalf("confluent-kafka: partition %d assigned to members %d and %d: %v", p, o, m, g.assignment)
			}
			owner[p] = m
		}
	}
	for p := range parts {
		if _, ok := owner[p]; !ok {
			t.Fatalf("confluent-kafka: partition %d assigned to no member: %v", p, g.assignment)
		}
	}
	for m := range n {
		var w []rec
		wantCommit := map[int32]int64{}
		for _, p := range g.assignment[m] {
			pw := inPartition(want, p, 0)
			w = append(w, pw...)
			wantCommit[p] = int64(len(pw))
		}
		got := slices.Clone(g.records[m])
		sortRecs(t, fmt.Sprintf("confluent-kafka member %d", m), got)
		wantRecords(t, fmt.Sprintf("confluent-kafka member %d (partitions %v; %d records read before the final assignment)", m, g.assignment[m], g.early), got, w)
		if !maps.Equal(g.committed[m], wantCommit) {
			t.Fatalf("confluent-kafka member %d committed %v, want %v", m, g.committed[m], wantCommit)
		}
	}
}

// fetchCommitted returns the group's committed offsets for topic via kadm.
func fetchCommitted(t *testing.T, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil || offs.Error() != nil {
		t.Fatalf("kadm fetch offsets of %s: %v %v", group, err, offs.Error())
	}
	out := map[int32]int64{}
	for p, o := range offs[topic] {
		out[p] = o.At
	}
	return out
}

// TestConfluentKafkaGroupSplit: two confluent-kafka Consumers in one Python
// process, same group.id, subscribe to a 4-partition topic. The group has
// no initial rebalance delay, so the first member usually gets all four
// partitions and the second one's join forces a rebalance. Both end with
// two partitions, no overlap and no gap, each reads exactly its partitions
// from offset 0 to the end and commits their ends, which kadm reads back.
func TestConfluentKafkaGroupSplit(t *testing.T) {
	needTool(t, "confluent-kafka")
	t.Parallel()
	b := kafkatest.Start(t, "group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=3")
	const topic, group = "ck-split", "ck-split-group"
	createTopic(t, b.Addr, topic, 4)
	counts := map[int32]int{0: 3, 1: 4, 2: 5, 3: 6}
	want := produceCounts(t, b.Addr, topic, counts, 0)

	g := newCKGroup()
	for _, l := range runPy(t, "", groupScript, "ck-members", b.Addr, topic, group, "2", "0") {
		g.add(t, l)
	}
	if !g.closed {
		t.Fatal("ck-members did not close its consumers")
	}
	g.checkSplit(t, 2, 4, want)
	t.Logf("confluent-kafka assignments %v (%d records read before the final assignment)", g.assignment, g.early)

	adm := b.Admin(t)
	wantCommit := map[int32]int64{}
	for p, n := range counts {
		wantCommit[p] = int64(n)
	}
	if got := fetchCommitted(t, adm, group, topic); !maps.Equal(got, wantCommit) {
		t.Fatalf("kadm: group %s committed %v, want %v", group, got, wantCommit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ds, err := adm.DescribeGroups(ctx, group)
	if err != nil || ds.Error() != nil {
		t.Fatalf("describe %s: %v %v", group, err, ds.Error())
	}
	if d := ds[group]; d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("after both members closed: state %s with %d members, want Empty with none", d.State, len(d.Members))
	}
}

// TestKafkaPythonGroupResume: kafka-python (OffsetCommit v2, OffsetFetch
// v1 and its old JoinGroup/SyncGroup versions) consumes part of a
// 3-partition topic as a group member, commits with commit() and closes; a
// second run of the same group resumes exactly after the committed offsets
// and reads the rest, including records produced in between.
func TestKafkaPythonGroupResume(t *testing.T) {
	needTool(t, "kafka-python")
	t.Parallel()
	b := kafkatest.Start(t, "group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=3")
	const topic, group = "kp-resume", "kp-resume-group"
	createTopic(t, b.Addr, topic, 3)
	want := produceCounts(t, b.Addr, topic, map[int32]int{0: 5, 1: 5, 2: 5}, 0)
	adm := b.Admin(t)

	// kpRun runs kp-consume and returns the records and what committed()
	// read back after commit().
	kpRun := func(max int) ([]rec, map[int32]int64) {
		lines := runPy(t, "", groupScript, "kp-consume", b.Addr, topic, group, strconv.Itoa(max))
		if len(lines) == 0 {
			t.Fatal("kp-consume printed nothing")
		}
		var rs []rec
		for _, l := range lines[:len(lines)-1] {
			rs = append(rs, decode[rec](t, l))
		}
		last := decode[struct {
			Committed map[string]*int64 `json:"committed"`
		}](t, lines[len(lines)-1])
		committed := map[int32]int64{}
		for k, v := range last.Committed {
			p, err := strconv.Atoi(k)
			if err != nil {
				t.Fatalf("kp-consume committed key %q", k)
			}
			if v != nil {
				committed[int32(p)] = *v
			}
		}
		return rs, committed
	}

	first, committed := kpRun(7)
	if len(first) != 7 {
		t.Fatalf("first kafka-python run read %d records, want 7: %v", len(first), first)
	}
	sortRecs(t, "kafka-python first run", first)
	consumed := map[int32]int64{}
	for _, r := range first {
		consumed[r.Partition]++
	}
	var wantFirst []rec
	for p := range int32(3) {
		wantFirst = append(wantFirst, inPartition(want, p, 0)[:consumed[p]]...)
	}
	wantRecords(t, "kafka-python first run (a prefix of each partition)", first, wantFirst)
	// commit() commits the position of every assigned partition, so one
	// nothing was read from may show 0 or nothing.
	check := func(who string, got map[int32]int64) {
		t.Helper()
		for p := range int32(3) {
			o, ok := got[p]
			if ok && o != consumed[p] || !ok && consumed[p] != 0 {
				t.Fatalf("%s: committed %v, want %v (partitions read from)", who, got, consumed)
			}
		}
	}
	check("kafka-python committed() after the first run", committed)
	check("kadm after kafka-python's first run", fetchCommitted(t, adm, group, topic))

	// Two more per partition, then the rest: exactly what was not read yet.
	want = append(want, produceCounts(t, b.Addr, topic, map[int32]int{0: 2, 1: 2, 2: 2}, 5)...)
	sortRecs(t, "want", want)
	second, committed := kpRun(100)
	sortRecs(t, "kafka-python second run", second)
	var wantSecond []rec
	for p := range int32(3) {
		wantSecond = append(wantSecond, inPartition(want, p, consumed[p])...)
	}
	wantRecords(t, "kafka-python second run (resumed after the commits)", second, wantSecond)
	ends := map[int32]int64{0: 7, 1: 7, 2: 7}
	if !maps.Equal(committed, ends) {
		t.Fatalf("kafka-python committed() after the second run: %v, want %v", committed, ends)
	}
	if got := fetchCommitted(t, adm, group, topic); !maps.Equal(got, ends) {
		t.Fatalf("kadm after kafka-python's second run: %v, want %v", got, ends)
	}
}

// pyProc is a long-running group_client.py whose JSON lines arrive on lines.
type pyProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan json.RawMessage
	done  chan error
	errb  *strings.Builder
}

func startPy(t *testing.T, args ...string) *pyProc {
	t.Helper()
	cmd := exec.Command(python, append([]string{filepath.Join("testdata", groupScript)}, args...)...)
	p := &pyProc{cmd: cmd, lines: make(chan json.RawMessage, 100), done: make(chan error, 1), errb: &strings.Builder{}}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			l := strings.TrimSpace(sc.Text())
			if l != "" && l[0] == '{' && json.Valid([]byte(l)) {
				p.lines <- json.RawMessage(l)
			}
		}
		close(p.lines)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	return p
}

// until feeds lines to add until stop says so; the process exiting or the
// timeout first fails the test.
func (p *pyProc) until(t *testing.T, timeout time.Duration, add func(json.RawMessage), stop func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for !stop() {
		select {
		case l, ok := <-p.lines:
			if !ok {
				err := <-p.done
				p.done <- err
				t.Fatalf("group_client.py exited (%v) early; stderr:\n%s", err, p.errb.String())
			}
			add(l)
		case <-deadline:
			t.Fatalf("group_client.py: nothing to go on within %v; stderr:\n%s", timeout, p.errb.String())
		}
	}
}

// memberView is one group member as every describer must show it.
type memberView struct {
	ClientID, Host string
	Assignment     string // "topic:p,p;..." sorted
}

func assignmentString(m map[string][]int32) string {
	var parts []string
	for _, topic := range slices.Sorted(maps.Keys(m)) {
		ps := slices.Clone(m[topic])
		slices.Sort(ps)
		var ss []string
		for _, p := range ps {
			ss = append(ss, strconv.Itoa(int(p)))
		}
		parts = append(parts, topic+":"+strings.Join(ss, ","))
	}
	return strings.Join(parts, ";")
}

// TestGroupDescribeAcrossClients: a group of two confluent-kafka members,
// kept alive by the Python process, is described by kadm, by the samsa
// binary's `group describe -o json` and by kafka-python's
// KafkaAdminClient (DescribeGroups and OffsetFetch through FindCoordinator
// v0): all show the same members (member id, client id, host, assignment),
// the same committed offsets, and the CLI and kadm the same lag.
func TestGroupDescribeAcrossClients(t *testing.T) {
	needTool(t, "confluent-kafka")
	needTool(t, "kafka-python")
	t.Parallel()
	bin := kafkatest.Binary(t)
	b := kafkatest.Start(t, "group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=3")
	const topic, group = "xdescribe", "xdescribe-group"
	createTopic(t, b.Addr, topic, 4)
	counts := map[int32]int{0: 2, 1: 3, 2: 4, 3: 5}
	want := produceCounts(t, b.Addr, topic, counts, 0)

	g := newCKGroup()
	py := startPy(t, "ck-members", b.Addr, topic, group, "2", "1")
	py.until(t, 40*time.Second, func(l json.RawMessage) { g.add(t, l) }, func() bool { return g.ready })
	g.checkSplit(t, 2, 4, want)

	// One more record per partition: the members may read them but do not
	// commit again, so every partition lags by one.
	for p, n := range counts {
		produceCounts(t, b.Addr, topic, map[int32]int{p: 1}, n)
	}
	wantCommit, wantEnd := map[int32]int64{}, map[int32]int64{}
	for p, n := range counts {
		wantCommit[p], wantEnd[p] = int64(n), int64(n+1)
	}
	// What confluent-kafka itself says: client id -> assignment.
	ckMembers := map[string]string{}
	for m, ps := range g.assignment {
		ckMembers[g.clientID[m]] = assignmentString(map[string][]int32{topic: ps})
	}

	// kadm.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := b.Admin(t)
	ds, err := adm.DescribeGroups(ctx, group)
	if err != nil || ds.Error() != nil {
		t.Fatalf("kadm describe: %v %v", err, ds.Error())
	}
	d := ds[group]
	if d.State != "Stable" || d.ProtocolType != "consumer" || len(d.Members) != 2 {
		t.Fatalf("kadm describe: state %q protocol type %q with %d members, want Stable consumer with 2", d.State, d.ProtocolType, len(d.Members))
	}
	kadmMembers := map[string]memberView{}
	for _, m := range d.Members {
		ca, ok := m.Assigned.AsConsumer()
		if !ok {
			t.Fatalf("kadm: member %s assignment is not a consumer assignment", m.MemberID)
		}
		as := map[string][]int32{}
		for _, tp := range ca.Topics {
			as[tp.Topic] = tp.Partitions
		}
		kadmMembers[m.MemberID] = memberView{m.ClientID, m.ClientHost, assignmentString(as)}
	}
	for id, m := range kadmMembers {
		if ckMembers[m.ClientID] != m.Assignment {
			t.Fatalf("kadm member %s (%s) assigned %q; confluent-kafka says %v", id, m.ClientID, m.Assignment, ckMembers)
		}
		if !strings.Contains(m.Host, "127.0.0.1") {
			t.Fatalf("kadm member %s host %q, want the loopback address", id, m.Host)
		}
	}
	if got := fetchCommitted(t, adm, group, topic); !maps.Equal(got, wantCommit) {
		t.Fatalf("kadm committed %v, want %v", got, wantCommit)
	}
	lags, err := adm.Lag(ctx, group)
	if err != nil || lags.Error() != nil {
		t.Fatalf("kadm lag: %v %v", err, lags.Error())
	}
	for p, l := range lags[group].Lag[topic] {
		if l.Lag != 1 || l.End.Offset != wantEnd[p] {
			t.Fatalf("kadm lag of p%d: %d (end %d), want 1 (end %d)", p, l.Lag, l.End.Offset, wantEnd[p])
		}
	}

	// The samsa binary.
	out := run(t, "", bin, "group", "describe", group, "-o", "json", "--bootstrap", b.Addr)
	var cli []struct {
		State        string `json:"state"`
		ProtocolType string `json:"protocol_type"`
		Members      []struct {
			MemberID   string `json:"member_id"`
			ClientID   string `json:"client_id"`
			Host       string `json:"host"`
			Assignment []struct {
				Topic      string  `json:"topic"`
				Partitions []int32 `json:"partitions"`
			} `json:"assignment"`
		} `json:"members"`
		Offsets []struct {
			Topic         string `json:"topic"`
			Partition     int32  `json:"partition"`
			CurrentOffset *int64 `json:"current_offset"`
			LogEndOffset  *int64 `json:"log_end_offset"`
			Lag           *int64 `json:"lag"`
			MemberID      string `json:"member_id"`
			ClientID      string `json:"client_id"`
			Host          string `json:"host"`
		} `json:"offsets"`
	}
	if err := json.Unmarshal([]byte(out), &cli); err != nil || len(cli) != 1 {
		t.Fatalf("samsa group describe -o json: %v\n%s", err, out)
	}
	cliMembers := map[string]memberView{}
	for _, m := range cli[0].Members {
		as := map[string][]int32{}
		for _, a := range m.Assignment {
			as[a.Topic] = a.Partitions
		}
		cliMembers[m.MemberID] = memberView{m.ClientID, m.Host, assignmentString(as)}
	}
	if !maps.Equal(cliMembers, kadmMembers) {
		t.Fatalf("samsa group describe members %+v\nkadm %+v", cliMembers, kadmMembers)
	}
	cliCommit := map[int32]int64{}
	for _, o := range cli[0].Offsets {
		if o.Topic != topic || o.CurrentOffset == nil || o.LogEndOffset == nil || o.Lag == nil {
			t.Fatalf("samsa group describe offset row %+v, want %s with offset, log end and lag", o, topic)
		}
		cliCommit[o.Partition] = *o.CurrentOffset
		if *o.LogEndOffset != wantEnd[o.Partition] || *o.Lag != 1 {
			t.Fatalf("samsa group describe p%d: log end %d lag %d, want %d and 1", o.Partition, *o.LogEndOffset, *o.Lag, wantEnd[o.Partition])
		}
		m, ok := kadmMembers[o.MemberID]
		if !ok || m.ClientID != o.ClientID || m.Host != o.Host || !strings.Contains(m.Assignment, strconv.Itoa(int(o.Partition))) {
			t.Fatalf("samsa group describe p%d: consumer %s %s %s, kadm members %+v", o.Partition, o.MemberID, o.ClientID, o.Host, kadmMembers)
		}
	}
	if !maps.Equal(cliCommit, wantCommit) {
		t.Fatalf("samsa group describe committed %v, want %v", cliCommit, wantCommit)
	}
	if cli[0].State != "Stable" || cli[0].ProtocolType != "consumer" {
		t.Fatalf("samsa group describe: state %q protocol type %q", cli[0].State, cli[0].ProtocolType)
	}

	// kafka-python's admin client.
	lines := runPy(t, "", groupScript, "kp-describe", b.Addr, group)
	if len(lines) != 2 {
		t.Fatalf("kp-describe: want 2 lines, got %s", lines)
	}
	kp := decode[struct {
		Group, State string
		ProtocolType string `json:"protocol_type"`
		Protocol     string
		Members      []struct {
			MemberID   string            `json:"member_id"`
			ClientID   string            `json:"client_id"`
			ClientHost string            `json:"client_host"`
			Assignment []json.RawMessage `json:"assignment"`
		}
	}](t, lines[0])
	if kp.Group != group || kp.State != "Stable" || kp.ProtocolType != "consumer" || kp.Protocol != d.Protocol {
		t.Fatalf("kafka-python describe: %s; kadm protocol %q", lines[0], d.Protocol)
	}
	kpMembers := map[string]memberView{}
	for _, m := range kp.Members {
		as := map[string][]int32{}
		for _, a := range m.Assignment {
			var pair []json.RawMessage
			if err := json.Unmarshal(a, &pair); err != nil || len(pair) != 2 {
				t.Fatalf("kafka-python assignment %s", a)
			}
			as[decode[string](t, pair[0])] = decode[[]int32](t, pair[1])
		}
		kpMembers[m.MemberID] = memberView{m.ClientID, m.ClientHost, assignmentString(as)}
	}
	if !maps.Equal(kpMembers, kadmMembers) {
		t.Fatalf("kafka-python describe members %+v\nkadm %+v", kpMembers, kadmMembers)
	}
	kpOffsets := decode[struct {
		Offsets [][]json.RawMessage `json:"offsets"`
	}](t, lines[1])
	kpCommit := map[int32]int64{}
	for _, o := range kpOffsets.Offsets {
		if len(o) != 4 || decode[string](t, o[0]) != topic {
			t.Fatalf("kafka-python offsets: %s", lines[1])
		}
		kpCommit[decode[int32](t, o[1])] = decode[int64](t, o[2])
	}
	if !maps.Equal(kpCommit, wantCommit) {
		t.Fatalf("kafka-python list_consumer_group_offsets %v, want %v", kpCommit, wantCommit)
	}

	// Let the members go.
	py.stdin.Close()
	py.until(t, 20*time.Second, func(l json.RawMessage) { g.add(t, l) }, func() bool { return g.closed })
}

// TestGroupCLIAgainstBroker runs `samsa group` (the built binary) against
// a samsa broker process: describe shows each partition's committed
// offset, log end and lag exactly while a franz-go member is active;
// reset-offsets is refused while it is, is a dry run without --execute,
// and after the member left --to-earliest --execute moves every offset to
// 0, from which a new member (whose reset policy is the log end, so only
// the commits can make it start at 0) reads everything again.
func TestGroupCLIAgainstBroker(t *testing.T) {
	t.Parallel()
	bin := kafkatest.Binary(t)
	srv := kafkatest.StartProcess(t, "", "group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=3")
	addr := srv.Addr
	const topic, group = "cli-g", "cli-group"
	createTopic(t, addr, topic, 4)
	want := produceCounts(t, addr, topic, map[int32]int{0: 10, 1: 10, 2: 10, 3: 10}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	samsa := func(args ...string) string {
		t.Helper()
		return run(t, "", bin, append(args, "--bootstrap", addr)...)
	}

	member := func(reset kgo.Offset) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("cli-member"), kgo.ConsumerGroup(group),
			kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(reset),
			kgo.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	// pollAll polls until n records came.
	pollAll := func(cl *kgo.Client, n int) []rec {
		var rs []rec
		for len(rs) < n {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("polled %d records, want %d", len(rs), n)
			}
			for _, e := range fs.Errors() {
				t.Fatalf("poll p%d: %v", e.Partition, e.Err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				rs = append(rs, rec{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
			})
		}
		sortRecs(t, "franz-go member", rs)
		return rs
	}

	cl := member(kgo.NewOffset().AtStart())
	wantRecords(t, "first member", pollAll(cl, 40), want)
	commit := map[int32]int64{0: 10, 1: 4, 2: 0} // nothing for 3
	offs := map[string]map[int32]kgo.EpochOffset{topic: {}}
	for p, o := range commit {
		offs[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	var commitErr error
	cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
		if err == nil {
			for _, rt := range resp.Topics {
				for _, rp := range rt.Partitions {
					if rp.ErrorCode != 0 {
						commitErr = fmt.Errorf("commit %s p%d: error code %d", rt.Topic, rp.Partition, rp.ErrorCode)
					}
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatal(commitErr)
	}

	type row struct {
		Topic         string `json:"topic"`
		Partition     int32  `json:"partition"`
		CurrentOffset *int64 `json:"current_offset"`
		LogEndOffset  *int64 `json:"log_end_offset"`
		Lag           *int64 `json:"lag"`
		ClientID      string `json:"client_id"`
	}
	type desc struct {
		State   string `json:"state"`
		Members []struct {
			ClientID string `json:"client_id"`
		} `json:"members"`
		Offsets []row `json:"offsets"`
	}
	describe := func() desc {
		t.Helper()
		out := samsa("group", "describe", group, "-o", "json")
		var ds []desc
		if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) != 1 {
			t.Fatalf("samsa group describe -o json: %v\n%s", err, out)
		}
		return ds[0]
	}
	i64 := func(v *int64) string {
		if v == nil {
			return "null"
		}
		return strconv.FormatInt(*v, 10)
	}
	checkRows := func(who string, rows []row, clientID string) {
		t.Helper()
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%s/%d current=%s end=%s lag=%s client=%s", r.Topic, r.Partition,
				i64(r.CurrentOffset), i64(r.LogEndOffset), i64(r.Lag), r.ClientID))
		}
		wantRows := []string{
			"cli-g/0 current=10 end=10 lag=0 client=" + clientID,
			"cli-g/1 current=4 end=10 lag=6 client=" + clientID,
			"cli-g/2 current=0 end=10 lag=10 client=" + clientID,
		}
		if clientID != "" { // p3 is assigned but has no commit
			wantRows = append(wantRows, "cli-g/3 current=null end=10 lag=null client="+clientID)
		}
		if !slices.Equal(got, wantRows) {
			t.Fatalf("%s:\n  %s\nwant\n  %s", who, strings.Join(got, "\n  "), strings.Join(wantRows, "\n  "))
		}
	}
	d := describe()
	if d.State != "Stable" || len(d.Members) != 1 || d.Members[0].ClientID != "cli-member" {
		t.Fatalf("describe with the member active: %+v", d)
	}
	checkRows("describe with the member active", d.Offsets, "cli-member")
	// The text view carries the same numbers.
	text := samsa("group", "describe", group)
	for _, w := range [][]string{{"cli-g", "1", "4", "10", "6"}, {"cli-g", "2", "0", "10", "10"}, {"cli-g", "3", "-", "10", "-"}} {
		found := false
		for _, line := range strings.Split(text, "\n") {
			f := strings.Fields(line)
			if len(f) >= 6 && slices.Equal(f[1:6], w) {
				found = true
			}
		}
		if !found {
			t.Fatalf("samsa group describe: no line with %v:\n%s", w, text)
		}
	}

	// Refused while the member is there (the CLI checks the group's state
	// first, as kafka-consumer-groups.sh does).
	cmd := exec.Command(bin, "group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute", "--bootstrap", addr)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "1 active member") {
		t.Fatalf("reset-offsets --execute with an active member: err %v, output:\n%s", err, out)
	}

	cl.Close() // LeaveGroup
	d = describe()
	if d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("describe after the member left: %+v", d)
	}
	checkRows("describe after the member left", d.Offsets, "")

	type plan struct {
		Group    string `json:"group"`
		Executed bool   `json:"executed"`
		Offsets  []struct {
			Partition     int32  `json:"partition"`
			CurrentOffset *int64 `json:"current_offset"`
			NewOffset     int64  `json:"new_offset"`
			Error         string `json:"error"`
		} `json:"offsets"`
	}
	resetPlan := func(args ...string) plan {
		t.Helper()
		out := samsa(append([]string{"group", "reset-offsets", group, "--topic", topic, "--to-earliest", "-o", "json"}, args...)...)
		p := decode[plan](t, json.RawMessage(out))
		var got []string
		for _, o := range p.Offsets {
			got = append(got, fmt.Sprintf("%d:%s->%d%s", o.Partition, i64(o.CurrentOffset), o.NewOffset, o.Error))
		}
		if w := []string{"0:10->0", "1:4->0", "2:0->0", "3:null->0"}; !slices.Equal(got, w) {
			t.Fatalf("reset-offsets %v plan %v, want %v", args, got, w)
		}
		return p
	}
	if p := resetPlan(); p.Executed {
		t.Fatal("reset-offsets without --execute says it executed")
	}
	adm := kadm.NewClient(kafkatest.NewClient(t, addr))
	if got := fetchCommitted(t, adm, group, topic); !maps.Equal(got, commit) {
		t.Fatalf("after the dry run: committed %v, want unchanged %v", got, commit)
	}
	if p := resetPlan("--execute"); !p.Executed {
		t.Fatal("reset-offsets --execute says it did not execute")
	}
	zero := map[int32]int64{0: 0, 1: 0, 2: 0, 3: 0}
	if got := fetchCommitted(t, adm, group, topic); !maps.Equal(got, zero) {
		t.Fatalf("after reset-offsets --to-earliest --execute: committed %v, want %v", got, zero)
	}
	d = describe()
	for _, r := range d.Offsets {
		if r.CurrentOffset == nil || *r.CurrentOffset != 0 || r.Lag == nil || *r.Lag != 10 {
			t.Fatalf("describe after the reset: %+v", d.Offsets)
		}
	}

	// A new member whose reset policy is the log end starts at the commits.
	cl2 := member(kgo.NewOffset().AtEnd())
	wantRecords(t, "member after the reset", pollAll(cl2, 40), want)
}
