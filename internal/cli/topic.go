package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// samsa topic: create, list, describe, delete and alter topics through the
// Kafka admin APIs (CreateTopics, Metadata, DescribeConfigs, ListOffsets,
// DeleteTopics, IncrementalAlterConfigs, CreatePartitions), like
// kafka-topics.sh.

func init() { commands = append(commands, newTopicCmd) }

func newTopicCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topic",
		Short: "Create, list, describe, alter and delete topics",
		Long: `Manage topics over the Kafka admin APIs, like kafka-topics.sh. Works against
samsa or any Kafka cluster.`,
		Example: `  samsa topic create orders --partitions 6 --config retention.ms=86400000
  samsa topic list
  samsa topic describe orders
  samsa topic alter orders --partitions 12 --set cleanup.policy=compact
  samsa topic delete orders`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(newTopicCreateCmd(), newTopicListCmd(), newTopicDescribeCmd(),
		newTopicDeleteCmd(), newTopicAlterCmd())
	return cmd
}

func newTopicCreateCmd() *cobra.Command {
	var (
		cf           clientFlags
		partitions   int32
		replication  int16
		configs      []string
		ifNotExists  bool
		validateOnly bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a topic",
		Long: `Create a topic. Partitions and replication factor default to the broker's
num.partitions and default.replication.factor. --config sets topic configs
by their Kafka names (retention.ms, cleanup.policy, min.insync.replicas, ...).`,
		Example: `  samsa topic create orders
  samsa topic create orders --partitions 6 --replication-factor 3
  samsa topic create users --config cleanup.policy=compact --config min.insync.replicas=2
  samsa topic create orders --if-not-exists          # succeed if it is already there
  samsa topic create orders --partitions 6 --validate-only`,
		Args: argsBetween(1, 1, "topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			topic := args[0]
			cfgs, _, err := parseKV("config", configs)
			if err != nil {
				return err
			}
			if partitions == 0 || partitions < -1 {
				return usagef("--partitions must be positive, got %d", partitions)
			}
			if replication == 0 || replication < -1 {
				return usagef("--replication-factor must be positive, got %d", replication)
			}
			ctx := cmd.Context()
			adm, err := cf.admin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			create := adm.CreateTopics
			if validateOnly {
				create = adm.ValidateCreateTopics
			}
			resps, err := create(ctx, partitions, replication, cfgs, topic)
			if err != nil {
				return cf.requestErr("create topic", err)
			}
			r, ok := resps[topic]
			if !ok {
				return fmt.Errorf("create topic %q: the broker did not answer for it", topic)
			}
			out := cmd.OutOrStdout()
			if errors.Is(r.Err, kerr.TopicAlreadyExists) && ifNotExists {
				fmt.Fprintf(out, "Topic %q already exists.\n", topic)
				return nil
			}
			if r.Err != nil {
				return topicErr(topic, r.Err, r.ErrMessage)
			}
			verb := "Created"
			if validateOnly {
				verb = "Validated (not created)"
			}
			fmt.Fprintf(out, "%s topic %q%s.\n", verb, topic, createdShape(r))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.Int32VarP(&partitions, "partitions", "p", -1, "number of partitions (-1: broker default num.partitions)")
	fs.Int16VarP(&replication, "replication-factor", "r", -1,
		"replicas per partition (-1: broker default default.replication.factor)")
	fs.StringArrayVarP(&configs, "config", "c", nil, "topic config as key=value (repeatable)")
	fs.BoolVar(&ifNotExists, "if-not-exists", false, "succeed if the topic already exists")
	fs.BoolVar(&validateOnly, "validate-only", false, "ask the broker to validate the request without creating the topic")
	cf.register(fs)
	return cmd
}

// createdShape describes partitions and replication factor from a create
// response, when the broker reported them (CreateTopics v5+).
func createdShape(r kadm.CreateTopicResponse) string {
	if r.NumPartitions <= 0 {
		return ""
	}
	return fmt.Sprintf(" with %d partition%s, replication factor %d",
		r.NumPartitions, plural(int(r.NumPartitions)), r.ReplicationFactor)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// topicSummary is one topic in `topic list --format json`.
type topicSummary struct {
	Name              string `json:"name"`
	ID                string `json:"id"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Internal          bool   `json:"internal"`
}

func newTopicListCmd() *cobra.Command {
	var (
		cf       clientFlags
		internal bool
		format   string
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List topics",
		Long: `List topic names, one per line, sorted. --format json prints one JSON array of
{"name","id","partitions","replication_factor","internal"} objects.`,
		Example: `  samsa topic list
  samsa topic list --internal          # include __consumer_offsets and friends
  samsa topic list -o json | jq -r '.[] | select(.partitions > 1) | .name'`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			adm, err := cf.admin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			tds, err := adm.ListTopicsWithInternal(ctx)
			if err != nil {
				return cf.requestErr("list topics", err)
			}
			list := []topicSummary{}
			for _, name := range tds.Names() {
				td := tds[name]
				if td.IsInternal && !internal {
					continue
				}
				list = append(list, topicSummary{
					Name:              name,
					ID:                topicID(td.ID),
					Partitions:        len(td.Partitions),
					ReplicationFactor: replicationFactor(td),
					Internal:          td.IsInternal,
				})
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, list)
			}
			for _, t := range list {
				fmt.Fprintln(out, t.Name)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&internal, "internal", false, "include internal topics")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	cf.register(fs)
	return cmd
}

// topicID prints a topic ID the way Kafka's tools do: URL-safe base64
// without padding. The zero ID (no topic IDs on the broker) is empty.
func topicID(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func replicationFactor(td kadm.TopicDetail) int {
	if p, ok := td.Partitions[0]; ok {
		return len(p.Replicas)
	}
	for _, p := range td.Partitions {
		return len(p.Replicas)
	}
	return 0
}

// topicDescription is one topic in `topic describe --format json`.
type topicDescription struct {
	Name              string                 `json:"name"`
	ID                string                 `json:"id"`
	Internal          bool                   `json:"internal"`
	ReplicationFactor int                    `json:"replication_factor"`
	Configs           map[string]string      `json:"configs"`
	Partitions        []partitionDescription `json:"partitions"`
}

type partitionDescription struct {
	Partition       int32   `json:"partition"`
	Leader          int32   `json:"leader"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	Replicas        []int32 `json:"replicas"`
	ISR             []int32 `json:"isr"`
	OfflineReplicas []int32 `json:"offline_replicas"`
	LogStartOffset  int64   `json:"log_start_offset"`
	LogEndOffset    int64   `json:"log_end_offset"`
	Error           string  `json:"error,omitempty"`
}

func newTopicDescribeCmd() *cobra.Command {
	var (
		cf     clientFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "describe [NAME...]",
		Short: "Show partitions, leaders, replicas, ISR, offsets and configs of topics",
		Long: `Describe topics (all non-internal topics when no name is given): topic ID,
each partition's leader, replicas, in-sync replicas, log start offset and log
end offset (high watermark), and the configs set on the topic (broker defaults
are not shown).

--format json prints one JSON array with an object per topic:
{"name","id","internal","replication_factor","configs":{...},
 "partitions":[{"partition","leader","leader_epoch","replicas","isr",
 "offline_replicas","log_start_offset","log_end_offset"}]}`,
		Example: `  samsa topic describe orders
  samsa topic describe orders payments -o json`,
		Args: argsBetween(0, -1, "topic names"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			adm, err := cf.admin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			descs, errs := describeTopics(ctx, &cf, adm, args)
			out := cmd.OutOrStdout()
			if format == "json" {
				if descs == nil {
					descs = []topicDescription{}
				}
				if err := writeJSON(out, descs); err != nil {
					return err
				}
			} else {
				printTopicDescriptions(out, descs)
			}
			return reportErrs(cmd.ErrOrStderr(), errs)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	cf.register(fs)
	return cmd
}

// describeTopics gathers metadata, configs and offsets for topics (all
// non-internal topics if none are named). Topics that fail are left out of
// the result and reported in errs.
func describeTopics(ctx context.Context, cf *clientFlags, adm *kadm.Client, topics []string) ([]topicDescription, []error) {
	tds, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, []error{cf.requestErr("describe topics", err)}
	}
	if len(topics) == 0 {
		topics = tds.Names()
	}
	var errs []error
	var names []string
	for _, t := range topics {
		td, ok := tds[t]
		switch {
		case !ok:
			errs = append(errs, topicErr(t, kerr.UnknownTopicOrPartition, ""))
		case td.Err != nil:
			errs = append(errs, topicErr(t, td.Err, ""))
		case !slices.Contains(names, t):
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return nil, errs
	}

	// Configs and offsets are extras: if the broker cannot give them, still
	// show the partitions, and say what is missing.
	configs := map[string]map[string]string{}
	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		errs = append(errs, cf.requestErr("describe topic configs", err))
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			errs = append(errs, topicErr(rc.Name, rc.Err, rc.ErrMessage))
			continue
		}
		m := map[string]string{}
		for _, c := range rc.Configs {
			// Like kafka-topics.sh, show only what is set on the topic itself.
			if c.Source != kmsg.ConfigSourceDynamicTopicConfig {
				continue
			}
			v := c.MaybeValue()
			if c.Sensitive {
				v = "(sensitive)"
			}
			m[c.Key] = v
		}
		configs[rc.Name] = m
	}
	starts, err := adm.ListStartOffsets(ctx, names...)
	if err != nil {
		errs = append(errs, cf.requestErr("list log start offsets", err))
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		errs = append(errs, cf.requestErr("list log end offsets", err))
	}
	offset := func(lo kadm.ListedOffsets, t string, p int32) (int64, error) {
		o, ok := lo.Lookup(t, p)
		if !ok {
			return -1, nil
		}
		return o.Offset, o.Err
	}

	descs := make([]topicDescription, 0, len(names))
	for _, name := range names {
		td := tds[name]
		d := topicDescription{
			Name:              name,
			ID:                topicID(td.ID),
			Internal:          td.IsInternal,
			ReplicationFactor: replicationFactor(td),
			Configs:           configs[name],
			Partitions:        []partitionDescription{},
		}
		if d.Configs == nil {
			d.Configs = map[string]string{}
		}
		for _, p := range td.Partitions.Sorted() {
			pd := partitionDescription{
				Partition:       p.Partition,
				Leader:          p.Leader,
				LeaderEpoch:     p.LeaderEpoch,
				Replicas:        nonNil(p.Replicas),
				ISR:             nonNil(p.ISR),
				OfflineReplicas: nonNil(p.OfflineReplicas),
			}
			var perr error
			pd.LogStartOffset, perr = offset(starts, name, p.Partition)
			var eerr error
			pd.LogEndOffset, eerr = offset(ends, name, p.Partition)
			if perr = errors.Join(p.Err, perr, eerr); perr != nil {
				var ke *kerr.Error
				if errors.As(perr, &ke) {
					pd.Error = ke.Message
				} else {
					pd.Error = oneLine(perr.Error())
				}
			}
			d.Partitions = append(d.Partitions, pd)
		}
		descs = append(descs, d)
	}
	return descs, errs
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// printTopicDescriptions prints the layout kafka-topics.sh --describe uses,
// plus each partition's offsets, with partition columns aligned.
func printTopicDescriptions(w io.Writer, descs []topicDescription) {
	for _, d := range descs {
		keys := make([]string, 0, len(d.Configs))
		for k := range d.Configs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + d.Configs[k]
		}
		id := d.ID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(w, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
			d.Name, id, len(d.Partitions), d.ReplicationFactor, strings.Join(keys, ","))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, p := range d.Partitions {
			fmt.Fprintf(tw, "    Partition: %d\tLeader: %d\tReplicas: %s\tIsr: %s\tLogStartOffset: %d\tLogEndOffset: %d",
				p.Partition, p.Leader, joinInt32(p.Replicas), joinInt32(p.ISR), p.LogStartOffset, p.LogEndOffset)
			if len(p.OfflineReplicas) > 0 {
				fmt.Fprintf(tw, "\tOffline: %s", joinInt32(p.OfflineReplicas))
			}
			if p.Error != "" {
				fmt.Fprintf(tw, "\tError: %s", p.Error)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
}

func joinInt32(s []int32) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ",")
}

func newTopicDeleteCmd() *cobra.Command {
	var (
		cf       clientFlags
		ifExists bool
	)
	cmd := &cobra.Command{
		Use:     "delete NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete topics and all their records",
		Example: `  samsa topic delete orders
  samsa topic delete orders payments --if-exists`,
		Args: argsBetween(1, -1, "topic names"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			adm, err := cf.admin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			resps, err := adm.DeleteTopics(ctx, args...)
			if err != nil {
				return cf.requestErr("delete topics", err)
			}
			out := cmd.OutOrStdout()
			var errs []error
			for _, t := range args {
				r, ok := resps[t]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("delete topic %q: the broker did not answer for it", t))
				case errors.Is(r.Err, kerr.UnknownTopicOrPartition) && ifExists:
				case r.Err != nil:
					errs = append(errs, topicErr(t, r.Err, r.ErrMessage))
				default:
					fmt.Fprintf(out, "Deleted topic %q.\n", t)
				}
			}
			return reportErrs(cmd.ErrOrStderr(), errs)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&ifExists, "if-exists", false, "succeed for topics that do not exist")
	cf.register(fs)
	return cmd
}

func newTopicAlterCmd() *cobra.Command {
	var (
		cf         clientFlags
		partitions int
		set        []string
		del        []string
	)
	cmd := &cobra.Command{
		Use:   "alter NAME",
		Short: "Add partitions or change configs of a topic",
		Long: `Change a topic in place. --partitions sets the new total partition count
(CreatePartitions; it can only grow). --set and --delete-config change topic
configs one key at a time (IncrementalAlterConfigs), leaving other keys as
they are; a deleted key falls back to the broker default.`,
		Example: `  samsa topic alter orders --partitions 12
  samsa topic alter orders --set retention.ms=3600000 --set cleanup.policy=compact
  samsa topic alter orders --delete-config retention.ms`,
		Args: argsBetween(1, 1, "topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			topic := args[0]
			sets, order, err := parseKV("set", set)
			if err != nil {
				return err
			}
			if partitions == 0 && len(sets) == 0 && len(del) == 0 {
				return usagef("nothing to alter: give --partitions, --set or --delete-config (see '%s --help')", cmd.CommandPath())
			}
			if partitions < 0 {
				return usagef("--partitions must be positive, got %d", partitions)
			}
			var alters []kadm.AlterConfig
			for _, k := range order {
				alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: sets[k]})
			}
			for _, k := range del {
				if _, both := sets[k]; both {
					return usagef("config %q is both set and deleted", k)
				}
				alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
			}
			ctx := cmd.Context()
			adm, err := cf.admin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			out := cmd.OutOrStdout()
			if _, err := topicPartitions(ctx, &cf, adm, topic); err != nil {
				return err
			}
			if len(alters) > 0 {
				resps, err := adm.AlterTopicConfigs(ctx, alters, topic)
				if err != nil {
					return cf.requestErr("alter topic configs", err)
				}
				for _, r := range resps {
					if r.Err != nil {
						return topicErr(topic, r.Err, r.ErrMessage)
					}
				}
				fmt.Fprintf(out, "Altered configs of topic %q.\n", topic)
			}
			if partitions > 0 {
				resps, err := adm.UpdatePartitions(ctx, partitions, topic)
				if err != nil {
					return cf.requestErr("create partitions", err)
				}
				r, ok := resps[topic]
				if !ok {
					return fmt.Errorf("create partitions for %q: the broker did not answer for it", topic)
				}
				if r.Err != nil {
					return topicErr(topic, r.Err, r.ErrMessage)
				}
				fmt.Fprintf(out, "Topic %q now has %d partition%s.\n", topic, partitions, plural(partitions))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVarP(&partitions, "partitions", "p", 0, "new total number of partitions (must be larger than now)")
	fs.StringArrayVar(&set, "set", nil, "set a topic config as key=value (repeatable)")
	fs.StringArrayVar(&del, "delete-config", nil, "remove a topic config, back to the default (repeatable)")
	cf.register(fs)
	return cmd
}
