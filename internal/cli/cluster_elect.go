package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// samsa cluster elect: preferred or unclean leader elections over the
// ElectLeaders API (KIP-183, KIP-460), like kafka-leader-election.sh.

// electPlanJSON is kafka-leader-election.sh's --path-to-json-file format:
// {"partitions":[{"topic":"t","partition":0}]}.
type electPlanJSON struct {
	Partitions []struct {
		Topic     *string `json:"topic"`
		Partition *int32  `json:"partition"`
	} `json:"partitions"`
}

// parseElectPlan checks an election plan and returns its partitions in
// file order.
func parseElectPlan(data []byte) ([]tpKey, error) {
	var plan electPlanJSON
	if err := decodeStrict(data, &plan); err != nil {
		return nil, err
	}
	if len(plan.Partitions) == 0 {
		return nil, errors.New(`no partitions: want {"partitions":[{"topic":"t","partition":0}]}`)
	}
	var out []tpKey
	for i, p := range plan.Partitions {
		if p.Topic == nil || *p.Topic == "" {
			return nil, fmt.Errorf("partitions[%d] has no topic", i)
		}
		if p.Partition == nil {
			return nil, fmt.Errorf("partitions[%d] (topic %q) has no partition", i, *p.Topic)
		}
		k := tpKey{*p.Topic, *p.Partition}
		if k.Partition < 0 {
			return nil, fmt.Errorf("%s: the partition must be 0 or more", k)
		}
		if slices.Contains(out, k) {
			return nil, fmt.Errorf("%s appears more than once", k)
		}
		out = append(out, k)
	}
	return out, nil
}

// electionType maps --type to ElectLeaders' election type.
func electionType(s string) (int8, error) {
	switch strings.ToLower(s) {
	case "preferred":
		return 0, nil
	case "unclean":
		return 1, nil
	}
	return 0, usagef("--type %q: want preferred or unclean", s)
}

// electResult is one partition in `cluster elect -o json`.
type electResult struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Result is ELECTED or Kafka's error name (ELECTION_NOT_NEEDED, ...).
	Result  string `json:"result"`
	Message string `json:"message,omitempty"`
}

type clusterElectOptions struct {
	cf         clientFlags
	typ        string
	topic      string
	partitions []int32
	all        bool
	plan       string
	format     string
}

func newClusterElectCmd() *cobra.Command {
	var o clusterElectOptions
	cmd := &cobra.Command{
		Use:   "elect",
		Short: "Run preferred or unclean leader elections",
		Long: `Elect partition leaders over the ElectLeaders API, like
kafka-leader-election.sh.

  --type preferred   (default) the preferred replica, the first of the
                     replica list, becomes the leader if it is live and in
                     the ISR and is not leading already. Use it after a
                     broker came back, to give it back its leaderships.
  --type unclean     a partition without a leader gets one: an in-sync
                     replica if one is live, otherwise any live replica,
                     whose log wins; records only the lost replicas had are
                     gone (kafka-leader-election.sh --election-type unclean).

Which partitions (exactly one of):
  --topic T [--partition N ...]   these partitions of T (every one of T
                                  without --partition)
  --plan FILE                     kafka-leader-election.sh's
                                  --path-to-json-file ('-' reads stdin):
      {"partitions":[{"topic":"orders","partition":0}]}
  --all                           every partition (--all-topic-partitions);
                                  only those that needed an election are
                                  reported

Prints TOPIC PARTITION RESULT: ELECTED, ELECTION_NOT_NEEDED (the right
leader leads already) or Kafka's error name, such as
PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE or
UNKNOWN_TOPIC_OR_PARTITION, with the message on stderr. The exit status is
1 if any partition failed other than with ELECTION_NOT_NEEDED. -o json
prints an array of {"topic","partition","result","message"} objects.`,
		Example: `  samsa cluster elect --topic orders --partition 0
  samsa cluster elect --all
  samsa cluster elect --type unclean --topic orders --partition 3
  samsa cluster elect --plan election.json -o json`,
		Args: argsBetween(0, 0, "no arguments (name partitions with --topic, --plan or --all)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runClusterElect(cmd, &o) },
	}
	fs := cmd.Flags()
	fs.StringVar(&o.typ, "type", "preferred", "election type: preferred or unclean")
	fs.StringVar(&o.topic, "topic", "", "topic whose partitions to elect leaders for")
	fs.Int32SliceVar(&o.partitions, "partition", nil, "partitions of --topic (comma-separated or repeatable; default all)")
	fs.BoolVar(&o.all, "all", false, "every partition of every topic")
	fs.StringVar(&o.plan, "plan", "", "election JSON file in Kafka's format ('-' for stdin)")
	fs.Lookup("partition").DefValue = "" // no "(default [])" in --help
	fs.StringVarP(&o.format, "format", "o", "text", "output format: text or json")
	o.cf.register(fs)
	return cmd
}

func runClusterElect(cmd *cobra.Command, o *clusterElectOptions) error {
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	typ, err := electionType(o.typ)
	if err != nil {
		return err
	}
	set := cmd.Flags().Changed
	var chosen []string
	for _, f := range []string{"topic", "plan", "all"} {
		if set(f) {
			chosen = append(chosen, "--"+f)
		}
	}
	switch {
	case len(chosen) == 0:
		if set("partition") {
			return usagef("--partition needs --topic")
		}
		return usagef("say which partitions: --topic T [--partition N], --plan FILE or --all (see '%s --help')", cmd.CommandPath())
	case len(chosen) > 1:
		return usagef("%s cannot be combined: give exactly one", strings.Join(chosen, " and "))
	case set("partition") && !set("topic"):
		return usagef("--partition needs --topic")
	case set("topic") && o.topic == "":
		return usagef("--topic is empty")
	case set("plan") && o.plan == "":
		return usagef("--plan needs a file name ('-' for stdin)")
	case set("partition") && len(o.partitions) == 0:
		return usagef("--partition is empty")
	}
	for _, p := range o.partitions {
		if p < 0 {
			return usagef("--partition must be 0 or more, got %d", p)
		}
	}
	var parts []tpKey
	if set("plan") {
		data, err := readPlan(cmd, o.plan)
		if err != nil {
			return err
		}
		if parts, err = parseElectPlan(data); err != nil {
			return usagef("%s: %v", planName(o.plan), err)
		}
	}
	ctx := cmd.Context()
	cl, err := o.cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	if set("topic") {
		ps := o.partitions
		if len(ps) == 0 {
			n, err := topicPartitions(ctx, &o.cf, kadm.NewClient(cl), o.topic)
			if err != nil {
				return err
			}
			for p := range n {
				ps = append(ps, int32(p))
			}
		}
		for _, p := range ps {
			if k := (tpKey{o.topic, p}); !slices.Contains(parts, k) {
				parts = append(parts, k)
			}
		}
	}

	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = typ
	req.TimeoutMillis = int32(min(o.cf.timeout, time.Hour).Milliseconds())
	if !o.all { // a null list asks for every partition
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		for _, g := range groupByTopic(parts, func(k tpKey) string { return k.Topic }) {
			t := kmsg.NewElectLeadersRequestTopic()
			t.Topic = g.topic
			for _, k := range g.items {
				t.Partitions = append(t.Partitions, k.Partition)
			}
			req.Topics = append(req.Topics, t)
		}
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return o.cf.apiErr(ctx, cl, "elect leaders", kmsg.ElectLeaders, err)
	}
	if resp.ErrorCode != 0 {
		return topErr("elect leaders", resp.ErrorCode, nil)
	}
	if typ == 1 && resp.GetVersion() < 1 {
		// Version 0 has no election type: the broker ran preferred ones.
		return errors.New("elect leaders: the broker only serves ElectLeaders v0, which has no unclean elections; preferred elections were run instead")
	}
	results := []electResult{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			r := electResult{Topic: t.Topic, Partition: p.Partition, Result: "ELECTED"}
			if p.ErrorCode != 0 {
				r.Result, r.Message = codeName(p.ErrorCode), partMessage(p.ErrorCode, p.ErrorMessage)
			}
			results = append(results, r)
		}
	}
	slices.SortFunc(results, func(a, b electResult) int {
		return compareTP(tpKey{a.Topic, a.Partition}, tpKey{b.Topic, b.Partition})
	})
	var errs []error
	for _, r := range results {
		if r.Result != "ELECTED" && r.Result != kerr.ElectionNotNeeded.Message {
			errs = append(errs, partErr(r.Topic, r.Partition, r.Result, r.Message))
		}
	}
	out := cmd.OutOrStdout()
	if o.format == "json" {
		if err := writeJSON(out, results); err != nil {
			return err
		}
		return reportErrs(cmd.ErrOrStderr(), errs)
	}
	if len(results) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "no partition needed an election")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tRESULT")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", r.Topic, r.Partition, r.Result)
	}
	tw.Flush()
	return reportErrs(cmd.ErrOrStderr(), errs)
}
