package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// samsa cluster reassign: move partition replicas between brokers, cancel
// moves and list the moves in progress, over AlterPartitionReassignments
// and ListPartitionReassignments (KIP-455), like
// kafka-reassign-partitions.sh --execute, --cancel, --verify and --list.
// The plan file is Kafka's reassignment JSON, so plans written for (or by)
// Kafka's tool work unchanged.

// partitionMove is one partition's requested replica list; nil Replicas
// cancels the partition's reassignment.
type partitionMove struct {
	Topic     string
	Partition int32
	Replicas  []int32
}

// reassignPlanJSON is Kafka's reassignment JSON:
// {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}.
type reassignPlanJSON struct {
	Version    *int `json:"version"`
	Partitions []struct {
		Topic     *string  `json:"topic"`
		Partition *int32   `json:"partition"`
		Replicas  []int32  `json:"replicas"`
		LogDirs   []string `json:"log_dirs"`
	} `json:"partitions"`
}

// decodeStrict decodes one JSON value into v, refusing unknown fields (a
// misspelt "replica" must not turn into a cancel or an empty plan) and
// anything after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the file is empty")
		}
		return fmt.Errorf("bad JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("bad JSON: more data after the plan object")
	}
	return nil
}

// parseReassignPlan checks a reassignment plan and returns its moves in
// file order. With cancel the replica lists are not needed (Kafka's
// --cancel takes the same file and ignores them) and every move cancels.
func parseReassignPlan(data []byte, cancel bool) ([]partitionMove, error) {
	var plan reassignPlanJSON
	if err := decodeStrict(data, &plan); err != nil {
		return nil, err
	}
	if plan.Version != nil && *plan.Version != 1 {
		return nil, fmt.Errorf("version %d is not supported (want 1)", *plan.Version)
	}
	if len(plan.Partitions) == 0 {
		return nil, errors.New(`no partitions: want {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}`)
	}
	var moves []partitionMove
	seen := map[string]bool{}
	for i, p := range plan.Partitions {
		if p.Topic == nil || *p.Topic == "" {
			return nil, fmt.Errorf("partitions[%d] has no topic", i)
		}
		if p.Partition == nil {
			return nil, fmt.Errorf("partitions[%d] (topic %q) has no partition", i, *p.Topic)
		}
		name := fmt.Sprintf("%s-%d", *p.Topic, *p.Partition)
		if *p.Partition < 0 {
			return nil, fmt.Errorf("%s: the partition must be 0 or more", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s appears more than once", name)
		}
		seen[name] = true
		m := partitionMove{Topic: *p.Topic, Partition: *p.Partition}
		if !cancel {
			if err := checkReplicas(name, p.Replicas); err != nil {
				return nil, err
			}
			m.Replicas = p.Replicas
			if p.LogDirs != nil && len(p.LogDirs) != len(p.Replicas) {
				return nil, fmt.Errorf("%s: log_dirs %q has %d entries for %d replicas", name, p.LogDirs, len(p.LogDirs), len(p.Replicas))
			}
		}
		for _, d := range p.LogDirs {
			if d != "any" {
				return nil, fmt.Errorf(`%s: log_dirs %q: only "any" is supported (samsa does not move replicas between a broker's log dirs)`, name, p.LogDirs)
			}
		}
		moves = append(moves, m)
	}
	return moves, nil
}

// checkReplicas checks a target replica list as Kafka's tool does before
// sending it: not missing, not empty, no broker twice.
func checkReplicas(name string, replicas []int32) error {
	if replicas == nil {
		return fmt.Errorf("%s has no replicas (use --cancel to cancel its reassignment)", name)
	}
	if len(replicas) == 0 {
		return fmt.Errorf("%s: the replica list is empty", name)
	}
	for i, r := range replicas {
		if r < 0 {
			return fmt.Errorf("%s: replicas %s: broker ids are 0 or more", name, ints(replicas))
		}
		if slices.Contains(replicas[:i], r) {
			return fmt.Errorf("%s: replicas %s: broker %d appears twice", name, ints(replicas), r)
		}
	}
	return nil
}

// readPlan reads a plan file, or stdin for "-".
func readPlan(cmd *cobra.Command, file string) ([]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read the plan: %w", err)
	}
	return data, nil
}

// planName names the plan in messages.
func planName(file string) string {
	if file == "-" {
		return "plan (stdin)"
	}
	return "plan " + file
}

// codeName is Kafka's name of an error code, like INVALID_REPLICA_ASSIGNMENT.
func codeName(code int16) string {
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		return ke.Message
	}
	return fmt.Sprintf("error code %d", code)
}

// partMessage is the broker's message for a partition's error without a
// leading restatement of the code (samsa's messages start with one, as in
// "invalid replica assignment: ..."; "" if that is all there is), or
// Kafka's description of the code when the broker sent no message.
func partMessage(code int16, msg *string) string {
	name := codeName(code)
	if msg == nil || *msg == "" {
		var ke *kerr.Error
		if errors.As(kerr.ErrorForCode(code), &ke) {
			return kerrPhrase(ke)
		}
		return ""
	}
	m := oneLine(*msg)
	phrase := strings.ToLower(strings.ReplaceAll(name, "_", " "))
	head, tail, _ := strings.Cut(m, ": ")
	if strings.Contains(strings.ToLower(strings.TrimSuffix(head, ".")), phrase) {
		return tail
	}
	return m
}

// topErr is a whole request's error code as one line.
func topErr(what string, code int16, msg *string) error {
	if m := partMessage(code, msg); m != "" {
		return fmt.Errorf("%s: %s (%s)", what, m, codeName(code))
	}
	return fmt.Errorf("%s: %s", what, codeName(code))
}

// tpKey orders partitions by topic, then partition.
type tpKey struct {
	Topic     string
	Partition int32
}

func (k tpKey) String() string { return fmt.Sprintf("%s-%d", k.Topic, k.Partition) }

func compareTP(a, b tpKey) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

// reassignResult is one partition in `cluster reassign -o json`.
type reassignResult struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Result is STARTED or CANCELLED, or Kafka's error name.
	Result  string `json:"result"`
	Message string `json:"message,omitempty"`
	// With --wait, the partition once no longer reassigned.
	Leader   *int32  `json:"leader,omitempty"`
	Replicas []int32 `json:"replicas,omitempty"`
	ISR      []int32 `json:"isr,omitempty"`
}

// reassignListing is one partition in `cluster reassign --list -o json`.
type reassignListing struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
	Adding    []int32 `json:"adding"`
	Removing  []int32 `json:"removing"`
}

type clusterReassignOptions struct {
	cf        clientFlags
	plan      string
	topic     string
	partition int32
	replicas  []int32
	cancel    bool
	wait      bool
	list      bool
	format    string
}

func newClusterReassignCmd() *cobra.Command {
	var o clusterReassignOptions
	cmd := &cobra.Command{
		Use:   "reassign",
		Short: "Move partition replicas between brokers, cancel moves, list moves in progress",
		Long: `Change the brokers that hold a partition's replicas, like
kafka-reassign-partitions.sh, over the AlterPartitionReassignments and
ListPartitionReassignments APIs (KIP-455). The new replicas copy the log
from the leader first; once all of them are in sync the partition switches
to the new list, the first live new replica leads if the old leader was
removed, and the removed brokers delete their copies. The first replica of
the list is the preferred leader (see 'samsa cluster elect').

What to move:
  --plan FILE                 Kafka's reassignment JSON ('-' reads stdin),
                              the format kafka-reassign-partitions.sh
                              --execute reads and --generate writes:
      {"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[3,1,2]}]}
                              "log_dirs", if present, must be "any" for
                              every replica.
  --topic T --partition N --replicas 3,1,2
                              one partition.

  --cancel      cancel the reassignments of the plan's partitions (or of
                --topic/--partition): each goes back to its replicas
                without the ones being added (kafka-reassign-partitions.sh
                --cancel). Replica lists are not needed.
  --wait        wait, at most --timeout, until the partitions are no longer
                being reassigned, printing on stderr which ones still move,
                then show their leader, replicas and ISR
                (kafka-reassign-partitions.sh --verify, in a loop).
  --list        list the reassignments in progress: replicas, the brokers
                being added and being removed (kafka-reassign-partitions.sh
                --list).

Prints TOPIC PARTITION RESULT, where RESULT is STARTED (CANCELLED) or
Kafka's error name, such as INVALID_REPLICA_ASSIGNMENT (an empty list, a
broker twice, a broker that is not registered), UNKNOWN_TOPIC_OR_PARTITION
or NO_REASSIGNMENT_IN_PROGRESS; each failure's message goes to stderr and
the exit status is 1. -o json prints an array of {"topic","partition",
"result","message"} objects, with "leader", "replicas" and "isr" after
--wait.`,
		Example: `  samsa cluster reassign --topic orders --partition 0 --replicas 3,1,2 --wait
  samsa cluster reassign --plan reassignment.json --wait --timeout 10m
  samsa cluster reassign --plan reassignment.json --cancel
  samsa cluster reassign --list -o json`,
		Args: argsBetween(0, 0, "no arguments (name partitions with --plan or --topic)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runClusterReassign(cmd, &o) },
	}
	fs := cmd.Flags()
	fs.StringVar(&o.plan, "plan", "", "reassignment JSON file in Kafka's format ('-' for stdin)")
	fs.StringVar(&o.topic, "topic", "", "topic of the one partition to reassign")
	fs.Int32Var(&o.partition, "partition", 0, "partition to reassign (with --topic)")
	fs.Int32SliceVar(&o.replicas, "replicas", nil, "new replica list, preferred leader first (with --topic), e.g. 3,1,2")
	fs.BoolVar(&o.cancel, "cancel", false, "cancel the reassignments of these partitions")
	fs.BoolVar(&o.wait, "wait", false, "wait (at most --timeout) until the partitions are no longer being reassigned")
	fs.BoolVar(&o.list, "list", false, "list the reassignments in progress")
	fs.Lookup("replicas").DefValue = "" // no "(default [])" in --help
	fs.StringVarP(&o.format, "format", "o", "text", "output format: text or json")
	o.cf.register(fs)
	return cmd
}

// reassignMoves checks the flag combination and returns what to send.
func reassignMoves(cmd *cobra.Command, o *clusterReassignOptions) ([]partitionMove, error) {
	set := cmd.Flags().Changed
	if o.list {
		for _, f := range []string{"plan", "topic", "partition", "replicas", "cancel", "wait"} {
			if set(f) {
				return nil, usagef("--list cannot be combined with --%s", f)
			}
		}
		return nil, nil
	}
	if set("plan") {
		for _, f := range []string{"topic", "partition", "replicas"} {
			if set(f) {
				return nil, usagef("--plan cannot be combined with --%s: give the partitions in the plan", f)
			}
		}
		if o.plan == "" {
			return nil, usagef("--plan needs a file name ('-' for stdin)")
		}
		data, err := readPlan(cmd, o.plan)
		if err != nil {
			return nil, err
		}
		moves, err := parseReassignPlan(data, o.cancel)
		if err != nil {
			return nil, usagef("%s: %v", planName(o.plan), err)
		}
		return moves, nil
	}
	if !set("topic") {
		if set("partition") || set("replicas") {
			return nil, usagef("--partition and --replicas need --topic")
		}
		return nil, usagef("say what to reassign: --plan FILE, or --topic T --partition N --replicas LIST, or --list (see '%s --help')", cmd.CommandPath())
	}
	if o.topic == "" {
		return nil, usagef("--topic is empty")
	}
	if !set("partition") {
		return nil, usagef("--topic needs --partition")
	}
	if o.partition < 0 {
		return nil, usagef("--partition must be 0 or more, got %d", o.partition)
	}
	m := partitionMove{Topic: o.topic, Partition: o.partition}
	switch {
	case o.cancel && set("replicas"):
		return nil, usagef("--cancel takes no --replicas: a cancelled partition goes back to its replicas before the reassignment")
	case o.cancel:
	case !set("replicas"):
		return nil, usagef("--topic needs --replicas (or --cancel)")
	default:
		if err := checkReplicas("--replicas", o.replicas); err != nil {
			return nil, usageError{err}
		}
		m.Replicas = o.replicas
	}
	return []partitionMove{m}, nil
}

func runClusterReassign(cmd *cobra.Command, o *clusterReassignOptions) error {
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	moves, err := reassignMoves(cmd, o)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	cl, err := o.cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	if o.list {
		return runReassignList(cmd, o, cl)
	}
	timeoutMs := int32(min(o.cf.timeout, time.Hour).Milliseconds())
	deadline := time.Now().Add(o.cf.timeout)

	// A cancelled partition goes back to its replicas without the ones
	// being added: read them now, to know when --wait is over.
	var before map[tpKey]reassignListing
	if o.cancel && o.wait {
		if before, err = listReassignments(ctx, &o.cf, cl, moves, timeoutMs); err != nil {
			return err
		}
	}

	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = timeoutMs
	for _, g := range groupByTopic(moves, func(m partitionMove) string { return m.Topic }) {
		t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		t.Topic = g.topic
		for _, m := range g.items {
			p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
			p.Partition, p.Replicas = m.Partition, m.Replicas
			t.Partitions = append(t.Partitions, p)
		}
		req.Topics = append(req.Topics, t)
	}
	what := "reassign partitions"
	if o.cancel {
		what = "cancel partition reassignments"
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return o.cf.apiErr(ctx, cl, what, kmsg.AlterPartitionAssignments, err)
	}
	if resp.ErrorCode != 0 {
		return topErr(what, resp.ErrorCode, resp.ErrorMessage)
	}

	ok := "STARTED"
	if o.cancel {
		ok = "CANCELLED"
	}
	target := map[tpKey][]int32{}
	for _, m := range moves {
		target[tpKey{m.Topic, m.Partition}] = m.Replicas
	}
	var results []reassignResult
	var errs []error
	waitFor := map[tpKey][]int32{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			r := reassignResult{Topic: t.Topic, Partition: p.Partition, Result: ok}
			k := tpKey{t.Topic, p.Partition}
			if p.ErrorCode != 0 {
				r.Result, r.Message = codeName(p.ErrorCode), partMessage(p.ErrorCode, p.ErrorMessage)
			} else if o.wait {
				if o.cancel {
					if b, in := before[k]; in {
						waitFor[k] = without(b.Replicas, b.Adding)
					}
				} else {
					waitFor[k] = target[k]
				}
			}
			results = append(results, r)
		}
	}
	slices.SortFunc(results, func(a, b reassignResult) int {
		return compareTP(tpKey{a.Topic, a.Partition}, tpKey{b.Topic, b.Partition})
	})
	for _, r := range results {
		if r.Result != ok {
			errs = append(errs, partErr(r.Topic, r.Partition, r.Result, r.Message))
		}
	}

	var waitErr error
	if o.wait && len(waitFor) > 0 {
		var final map[tpKey]kmsg.MetadataResponseTopicPartition
		final, waitErr = waitReassigned(ctx, &o.cf, cl, cmd.ErrOrStderr(), waitFor, deadline, timeoutMs)
		for i := range results {
			if p, done := final[tpKey{results[i].Topic, results[i].Partition}]; done {
				results[i].Leader, results[i].Replicas, results[i].ISR = &p.Leader, p.Replicas, p.ISR
			}
		}
	}
	out := cmd.OutOrStdout()
	if o.format == "json" {
		if err := writeJSON(out, results); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		if o.wait {
			fmt.Fprintln(tw, "TOPIC\tPARTITION\tRESULT\tLEADER\tREPLICAS\tISR")
		} else {
			fmt.Fprintln(tw, "TOPIC\tPARTITION\tRESULT")
		}
		for _, r := range results {
			if !o.wait {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", r.Topic, r.Partition, r.Result)
				continue
			}
			leader, replicas, isr := "-", "-", "-"
			if r.Leader != nil {
				leader, replicas, isr = fmt.Sprint(*r.Leader), ints(r.Replicas), ints(r.ISR)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Topic, r.Partition, r.Result, leader, replicas, isr)
		}
		tw.Flush()
	}
	if waitErr != nil {
		errs = append(errs, waitErr)
	}
	return reportErrs(cmd.ErrOrStderr(), errs)
}

// partErr is one partition's failure as one line, like
// "orders-1: INVALID_REPLICA_ASSIGNMENT: ... no such broker is registered".
func partErr(topic string, partition int32, name, msg string) error {
	if msg == "" {
		return fmt.Errorf("%s-%d: %s", topic, partition, name)
	}
	return fmt.Errorf("%s-%d: %s: %s", topic, partition, name, msg)
}

// without returns the members of a not in b, in a's order.
func without(a, b []int32) []int32 {
	out := []int32{}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// topicGroup is the items of one topic, in their order.
type topicGroup[T any] struct {
	topic string
	items []T
}

// groupByTopic groups items by topic, topics in the order first seen:
// requests list each topic once with its partitions.
func groupByTopic[T any](items []T, topic func(T) string) []topicGroup[T] {
	var out []topicGroup[T]
	idx := map[string]int{}
	for _, it := range items {
		i, ok := idx[topic(it)]
		if !ok {
			i = len(out)
			idx[topic(it)] = i
			out = append(out, topicGroup[T]{topic: topic(it)})
		}
		out[i].items = append(out[i].items, it)
	}
	return out
}

// listReassignments asks which of moves (all partitions when moves is
// nil) are being reassigned.
func listReassignments(ctx context.Context, cf *clientFlags, cl *kgo.Client, moves []partitionMove, timeoutMs int32) (map[tpKey]reassignListing, error) {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = timeoutMs
	if moves != nil {
		req.Topics = []kmsg.ListPartitionReassignmentsRequestTopic{}
		for _, g := range groupByTopic(moves, func(m partitionMove) string { return m.Topic }) {
			t := kmsg.NewListPartitionReassignmentsRequestTopic()
			t.Topic = g.topic
			for _, m := range g.items {
				t.Partitions = append(t.Partitions, m.Partition)
			}
			req.Topics = append(req.Topics, t)
		}
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, cf.apiErr(ctx, cl, "list partition reassignments", kmsg.ListPartitionReassignments, err)
	}
	if resp.ErrorCode != 0 {
		return nil, topErr("list partition reassignments", resp.ErrorCode, resp.ErrorMessage)
	}
	out := map[tpKey]reassignListing{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[tpKey{t.Topic, p.Partition}] = reassignListing{Topic: t.Topic, Partition: p.Partition,
				Replicas: nonNil32(p.Replicas), Adding: nonNil32(p.AddingReplicas), Removing: nonNil32(p.RemovingReplicas)}
		}
	}
	return out, nil
}

func nonNil32(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

func runReassignList(cmd *cobra.Command, o *clusterReassignOptions, cl *kgo.Client) error {
	ctx := cmd.Context()
	got, err := listReassignments(ctx, &o.cf, cl, nil, int32(min(o.cf.timeout, time.Hour).Milliseconds()))
	if err != nil {
		return err
	}
	list := []reassignListing{}
	for _, l := range got {
		list = append(list, l)
	}
	slices.SortFunc(list, func(a, b reassignListing) int {
		return compareTP(tpKey{a.Topic, a.Partition}, tpKey{b.Topic, b.Partition})
	})
	out := cmd.OutOrStdout()
	if o.format == "json" {
		return writeJSON(out, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "no reassignments in progress")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tREPLICAS\tADDING\tREMOVING")
	for _, l := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", l.Topic, l.Partition, ints(l.Replicas), ints(l.Adding), ints(l.Removing))
	}
	return tw.Flush()
}

// movingLine describes the partitions still being reassigned, for the
// progress lines of --wait.
func movingLine(moving map[tpKey]reassignListing) string {
	keys := make([]tpKey, 0, len(moving))
	for k := range moving {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareTP)
	parts := make([]string, len(keys))
	for i, k := range keys {
		l := moving[k]
		var what []string
		if len(l.Adding) > 0 {
			what = append(what, "adding "+ints(l.Adding))
		}
		if len(l.Removing) > 0 {
			what = append(what, "removing "+ints(l.Removing))
		}
		parts[i] = fmt.Sprintf("%s (%s)", k, strings.Join(what, ", "))
	}
	return strings.Join(parts, ", ")
}

// waitPoll is how often --wait asks the cluster; waitRepeat is how often
// it repeats an unchanged progress line.
const (
	waitPoll   = 500 * time.Millisecond
	waitRepeat = 5 * time.Second
)

// waitReassigned waits until none of the partitions of want is being
// reassigned and the metadata shows each with the replicas it maps to,
// printing progress lines on progress. It returns the partitions' final
// state, and an error if the deadline passed first.
func waitReassigned(ctx context.Context, cf *clientFlags, cl *kgo.Client, progress io.Writer, want map[tpKey][]int32,
	deadline time.Time, timeoutMs int32) (map[tpKey]kmsg.MetadataResponseTopicPartition, error) {
	moves := make([]partitionMove, 0, len(want))
	topics := map[string]bool{}
	for k := range want {
		moves = append(moves, partitionMove{Topic: k.Topic, Partition: k.Partition})
		topics[k.Topic] = true
	}
	slices.SortFunc(moves, func(a, b partitionMove) int {
		return compareTP(tpKey{a.Topic, a.Partition}, tpKey{b.Topic, b.Partition})
	})
	final := map[tpKey]kmsg.MetadataResponseTopicPartition{}
	var last string
	var lastAt time.Time
	// No request may outlast the deadline either.
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	gaveUp := func() error {
		if last == "" {
			return fmt.Errorf("gave up waiting after %v (--timeout): no answer from the cluster", cf.timeout)
		}
		return fmt.Errorf("gave up waiting after %v (--timeout); %s", cf.timeout, last)
	}
	for {
		moving, err := listReassignments(wctx, cf, cl, moves, timeoutMs)
		if err != nil {
			if ctx.Err() == nil && wctx.Err() != nil {
				return final, gaveUp()
			}
			return final, err
		}
		var pending string
		if len(moving) > 0 {
			pending = "still moving: " + movingLine(moving)
		} else {
			// The controller is done; wait for the brokers' metadata too,
			// so that what is shown is the new assignment.
			req := kmsg.NewPtrMetadataRequest()
			for _, t := range slices.Sorted(maps.Keys(topics)) {
				rt := kmsg.NewMetadataRequestTopic()
				rt.Topic = kmsg.StringPtr(t)
				req.Topics = append(req.Topics, rt)
			}
			md, err := req.RequestWith(wctx, cl)
			if err != nil {
				if ctx.Err() == nil && wctx.Err() != nil {
					return final, gaveUp()
				}
				return final, cf.apiErr(ctx, cl, "read the metadata", kmsg.Metadata, err)
			}
			var stale []string
			for _, t := range md.Topics {
				for _, p := range t.Partitions {
					k := tpKey{*t.Topic, p.Partition}
					if r, ok := want[k]; ok && slices.Equal(p.Replicas, r) && p.Leader >= 0 {
						final[k] = p
					}
				}
			}
			for _, m := range moves {
				if _, ok := final[tpKey{m.Topic, m.Partition}]; !ok {
					stale = append(stale, tpKey{m.Topic, m.Partition}.String())
				}
			}
			if len(stale) == 0 {
				return final, nil
			}
			pending = "waiting for the metadata of " + strings.Join(stale, ", ")
		}
		now := time.Now()
		if pending != last || now.Sub(lastAt) >= waitRepeat {
			fmt.Fprintln(progress, pending)
			last, lastAt = pending, now
		}
		if now.Add(waitPoll).After(deadline) {
			return final, gaveUp()
		}
		select {
		case <-ctx.Done():
			return final, fmt.Errorf("waiting for the reassignments: interrupted")
		case <-time.After(waitPoll):
		}
	}
}
