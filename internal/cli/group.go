package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// samsa group: list, describe, delete consumer groups and reset their
// committed offsets through the Kafka admin APIs (ListGroups, DescribeGroups,
// ConsumerGroupDescribe, OffsetFetch, ListOffsets, DeleteGroups,
// OffsetCommit), like kafka-consumer-groups.sh.

func init() { commands = append(commands, newGroupCmd) }

func newGroupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "group",
		Aliases: []string{"groups"},
		Short:   "List, describe and delete consumer groups, reset their offsets",
		Long: `Manage consumer groups over the Kafka admin APIs, like kafka-consumer-groups.sh.
Works against samsa or any Kafka cluster.`,
		Example: `  samsa group list
  samsa group describe audit
  samsa group describe audit --members
  samsa group reset-offsets audit --topic orders --to-earliest            # dry run
  samsa group reset-offsets audit --topic orders --to-earliest --execute
  samsa group delete audit`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(newGroupListCmd(), newGroupDescribeCmd(), newGroupDeleteCmd(), newGroupResetCmd())
	return cmd
}

// groupStates are the states a group can be in, as ListGroups and
// DescribeGroups name them: the classic protocol's and KIP-848's.
var groupStates = []string{"PreparingRebalance", "CompletingRebalance", "Stable", "Empty", "Dead",
	"Assigning", "Reconciling"}

// groupErr describes a Kafka error code returned for one group as one line,
// for example `group "x" does not exist (GROUP_ID_NOT_FOUND)`. msg is the
// broker's optional error message.
func groupErr(group string, err error, msg string) error {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return fmt.Errorf("group %q: %s", group, oneLine(err.Error()))
	}
	var what string
	switch ke {
	case kerr.GroupIDNotFound:
		what = " does not exist"
	case kerr.NonEmptyGroup:
		what = " still has active members; stop its consumers first"
	case kerr.GroupAuthorizationFailed:
		what = " is not authorized"
	default:
		d := strings.TrimSuffix(ke.Description, ".")
		if i := strings.Index(d, ". "); i > 0 {
			d = d[:i] // the first sentence is enough
		}
		if d == "" {
			d = strings.ToLower(strings.ReplaceAll(ke.Message, "_", " "))
		}
		what = ": " + strings.ToLower(d[:1]) + d[1:]
	}
	if msg != "" && !strings.EqualFold(msg, ke.Message) {
		if strings.HasPrefix(what, ":") {
			what += ": " + oneLine(msg)
		} else {
			what += " (" + oneLine(msg) + ")"
		}
	}
	return fmt.Errorf("group %q%s (%s)", group, what, ke.Message)
}

// groupSummary is one group in `group list -o json`.
type groupSummary struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
	Coordinator  int32  `json:"coordinator"`
}

func newGroupListCmd() *cobra.Command {
	var (
		cf     clientFlags
		states []string
		format string
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List consumer groups with their state and protocol type",
		Long: `List the groups of the cluster, sorted by id, with their state and protocol
type ("consumer" for Kafka consumers, "connect" for Kafka Connect workers,
empty for groups that only commit offsets). --state keeps only groups in the
given states: ` + strings.Join(groupStates, ", ") + ` (any case).

-o json prints one JSON array of {"group","state","protocol_type","coordinator"}
objects; coordinator is the broker id of the group's coordinator.`,
		Example: `  samsa group list
  samsa group list --state Empty,Dead              # groups without members
  samsa group list -o json | jq -r '.[] | select(.state == "Stable") | .group'`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			filter, err := parseGroupStates(states)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			adm, err := cf.admin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			listed, err := adm.ListGroups(ctx, filter...)
			var errs []error
			if err != nil {
				if len(listed) == 0 {
					return cf.requestErr("list groups", err)
				}
				// Some brokers answered: show what they said, then why
				// the list may be incomplete.
				errs = append(errs, cf.requestErr("list groups (the list may be incomplete)", err))
			}
			list := []groupSummary{}
			for _, g := range listed.Sorted() {
				// Brokers that predate the state filter ignore it.
				if len(filter) > 0 && !slices.Contains(filter, g.State) {
					continue
				}
				list = append(list, groupSummary{Group: g.Group, State: g.State,
					ProtocolType: g.ProtocolType, Coordinator: g.Coordinator})
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if err := writeJSON(out, list); err != nil {
					return err
				}
				return reportErrs(cmd.ErrOrStderr(), errs)
			}
			if len(list) > 0 {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE")
				for _, g := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Group, dash(g.State), dash(g.ProtocolType))
				}
				tw.Flush()
			} else if len(errs) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no groups match")
			}
			return reportErrs(cmd.ErrOrStderr(), errs)
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&states, "state", nil, "only groups in these states (comma-separated or repeatable)")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	cf.register(fs)
	return cmd
}

// parseGroupStates checks --state values and spells them as Kafka does.
func parseGroupStates(in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		i := slices.IndexFunc(groupStates, func(st string) bool { return strings.EqualFold(st, s) })
		if i < 0 {
			return nil, usagef("--state %q: want one of %s", s, strings.Join(groupStates, ", "))
		}
		if !slices.Contains(out, groupStates[i]) {
			out = append(out, groupStates[i])
		}
	}
	return out, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// groupInfo is what DescribeGroups (classic protocol) or
// ConsumerGroupDescribe (KIP-848) says about a group.
type groupInfo struct {
	Group        string
	State        string
	ProtocolType string
	Protocol     string
	Coordinator  kadm.BrokerDetail
	Members      []groupMember
	Err          error
	ErrMessage   string
}

type groupMember struct {
	MemberID   string
	InstanceID *string
	ClientID   string
	Host       string
	Assigned   kadm.TopicsSet // nil if the assignment is not a consumer one
}

// inactive reports whether the group has no members, so that its offsets
// may be reset and it may be deleted.
func (g *groupInfo) inactive() bool {
	return len(g.Members) == 0 && (g.State == "Empty" || g.State == "Dead" || g.State == "")
}

// err is the group's error as one line.
func (g *groupInfo) err() error {
	var ke *kerr.Error
	if errors.As(g.Err, &ke) {
		return groupErr(g.Group, g.Err, g.ErrMessage)
	}
	return g.Err // already a line made by requestErr
}

// groupAdmin is clientFlags.admin that also returns the kgo client, for the
// ConsumerGroupDescribe request that describeGroupInfos makes itself.
func groupAdmin(ctx context.Context, cf *clientFlags) (*kgo.Client, *kadm.Client, error) {
	cl, err := cf.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(cf.timeout, time.Hour).Milliseconds()))
	return cl, adm, nil
}

// describeGroupInfos describes groups with DescribeGroups (classic
// protocol) and ConsumerGroupDescribe (KIP-848), like Kafka's admin client:
// a group of the new protocol is described by the second (Kafka answers the
// first with GROUP_ID_NOT_FOUND for it), any other by the first. Brokers
// without ConsumerGroupDescribe just fail that request. Groups the broker
// did not answer for get the request's error.
func describeGroupInfos(ctx context.Context, cf *clientFlags, cl *kgo.Client, adm *kadm.Client, groups []string) map[string]groupInfo {
	out := describeConsumerGroups(ctx, cl, adm, groups)
	described, err := adm.DescribeGroups(ctx, groups...)
	for _, name := range groups {
		if _, ok := out[name]; ok {
			continue
		}
		d, ok := described[name]
		if !ok {
			e := err
			if e == nil {
				e = errors.New("the broker did not answer for it")
			}
			out[name] = groupInfo{Group: name, Err: cf.requestErr(fmt.Sprintf("describe group %q", name), e)}
			continue
		}
		gi := groupInfo{
			Group:        name,
			State:        d.State,
			ProtocolType: d.ProtocolType,
			Protocol:     d.Protocol,
			Coordinator:  d.Coordinator,
			Err:          d.Err,
			ErrMessage:   d.ErrMessage,
		}
		for _, m := range d.Members {
			gm := groupMember{MemberID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID, Host: m.ClientHost}
			if a, ok := m.Assigned.AsConsumer(); ok {
				gm.Assigned = make(kadm.TopicsSet)
				for _, t := range a.Topics {
					gm.Assigned.Add(t.Topic, t.Partitions...)
				}
			}
			gi.Members = append(gi.Members, gm)
		}
		out[name] = gi
	}
	return out
}

// describeConsumerGroups returns the groups that ConsumerGroupDescribe
// describes without error: the groups of the KIP-848 protocol. It sends the
// request itself rather than through kadm to keep the topic IDs of the
// assignment, which name the topics when the broker leaves names out.
func describeConsumerGroups(ctx context.Context, cl *kgo.Client, adm *kadm.Client, groups []string) map[string]groupInfo {
	out := map[string]groupInfo{}
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = groups
	type pending struct {
		set kadm.TopicsSet // a member's assignment, to add to
		id  kadm.TopicID
		ps  []int32
	}
	var byID []pending
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			continue // an older broker, or no coordinator: DescribeGroups decides
		}
		resp := shard.Resp.(*kmsg.ConsumerGroupDescribeResponse)
		for _, rg := range resp.Groups {
			if rg.ErrorCode != 0 {
				continue
			}
			gi := groupInfo{
				Group:        rg.Group,
				State:        rg.State,
				ProtocolType: "consumer",
				Protocol:     rg.AssignorName,
				Coordinator:  shard.Meta,
			}
			for _, rm := range rg.Members {
				m := groupMember{MemberID: rm.MemberID, InstanceID: rm.InstanceID, ClientID: rm.ClientID,
					Host: rm.ClientHost, Assigned: make(kadm.TopicsSet)}
				for _, tp := range rm.Assignment.TopicPartitions {
					if tp.Topic != "" {
						m.Assigned.Add(tp.Topic, tp.Partitions...)
						continue
					}
					byID = append(byID, pending{m.Assigned, kadm.TopicID(tp.TopicID), tp.Partitions})
				}
				gi.Members = append(gi.Members, m)
			}
			sort.Slice(gi.Members, func(i, j int) bool { return gi.Members[i].MemberID < gi.Members[j].MemberID })
			out[rg.Group] = gi
		}
	}
	if len(byID) == 0 {
		return out
	}
	names := map[kadm.TopicID]string{}
	if tds, err := adm.ListTopicsWithInternal(ctx); err == nil {
		for _, td := range tds {
			names[td.ID] = td.Topic
		}
	}
	for _, p := range byID {
		name, ok := names[p.id]
		if !ok {
			name = topicID(p.id) // a topic deleted meanwhile: show its id
		}
		p.set.Add(name, p.ps...)
	}
	return out
}

// groupDescription is one group in `group describe -o json`.
type groupDescription struct {
	Group        string            `json:"group"`
	State        string            `json:"state"`
	ProtocolType string            `json:"protocol_type"`
	Protocol     string            `json:"protocol"`
	Coordinator  groupCoordinator  `json:"coordinator"`
	Members      []groupMemberDesc `json:"members"`
	Offsets      []groupOffsetDesc `json:"offsets"`
}

type groupCoordinator struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
}

type groupMemberDesc struct {
	MemberID   string                `json:"member_id"`
	InstanceID *string               `json:"instance_id"`
	ClientID   string                `json:"client_id"`
	Host       string                `json:"host"`
	Assignment []topicPartitionsDesc `json:"assignment"`
}

type topicPartitionsDesc struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// groupOffsetDesc is one partition the group committed an offset for or
// has assigned to a member. Absent values are null in JSON and "-" in text.
type groupOffsetDesc struct {
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	CurrentOffset *int64 `json:"current_offset"`
	LogEndOffset  *int64 `json:"log_end_offset"`
	Lag           *int64 `json:"lag"`
	MemberID      string `json:"member_id,omitempty"`
	Host          string `json:"host,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	Error         string `json:"error,omitempty"`
}

func newGroupDescribeCmd() *cobra.Command {
	var (
		cf        clientFlags
		format    string
		members   bool
		state     bool
		allGroups bool
	)
	cmd := &cobra.Command{
		Use:   "describe GROUP...",
		Short: "Show a group's committed offsets, lag, members and assignment",
		Long: `Describe consumer groups, like kafka-consumer-groups.sh --describe.

The default view has one line per partition the group committed an offset
for or has assigned: GROUP TOPIC PARTITION CURRENT-OFFSET (the committed
offset) LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID. Partitions no member
is assigned show "-" for the consumer columns; members without partitions get
a line with "-" for topic and partition.

--members lists the members with their assignment instead; --state shows the
group's coordinator, protocol type, assignment strategy, state and number of
members.

-o json prints one JSON array with everything, whatever the view:
[{"group","state","protocol_type","protocol",
  "coordinator":{"id","host","port"},
  "members":[{"member_id","instance_id","client_id","host",
              "assignment":[{"topic","partitions":[...]}]}],
  "offsets":[{"topic","partition","current_offset","log_end_offset","lag",
              "member_id","host","client_id"}]}]
A missing offset or lag is null.`,
		Example: `  samsa group describe audit
  samsa group describe audit billing --members
  samsa group describe audit --state
  samsa group describe --all-groups -o json | jq '.[] | {group, lag: ([.offsets[].lag] | add)}'`,
		Args: argsBetween(0, -1, "group ids"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			if members && state {
				return usagef("--members and --state exclude each other")
			}
			if len(args) == 0 && !allGroups {
				return usagef("missing group ids: name groups or give --all-groups (see '%s --help')", cmd.CommandPath())
			}
			if len(args) > 0 && allGroups {
				return usagef("--all-groups and group ids exclude each other")
			}
			ctx := cmd.Context()
			cl, adm, err := groupAdmin(ctx, &cf)
			if err != nil {
				return err
			}
			defer adm.Close()
			groups := dedupe(args)
			if allGroups {
				listed, err := adm.ListGroups(ctx)
				if err != nil && len(listed) == 0 {
					return cf.requestErr("list groups", err)
				}
				groups = listed.Groups()
			}
			withOffsets := format == "json" || (!members && !state)
			descs, errs := describeGroups(ctx, &cf, cl, adm, groups, withOffsets)
			out := cmd.OutOrStdout()
			switch {
			case format == "json":
				if descs == nil {
					descs = []groupDescription{}
				}
				if err := writeJSON(out, descs); err != nil {
					return err
				}
			case members:
				printGroupMembers(out, descs)
			case state:
				printGroupStates(out, descs)
			default:
				printGroupOffsets(out, descs)
			}
			return reportErrs(cmd.ErrOrStderr(), errs)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&members, "members", false, "list the members and their assignment")
	fs.BoolVar(&state, "state", false, "show coordinator, protocol, state and member count")
	fs.BoolVar(&allGroups, "all-groups", false, "describe every group of the cluster")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	cf.register(fs)
	return cmd
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// describeGroups gathers members, assignment and (withOffsets) committed
// offsets, log end offsets and lag of groups. Groups that fail are left out
// and reported in errs.
func describeGroups(ctx context.Context, cf *clientFlags, cl *kgo.Client, adm *kadm.Client, groups []string, withOffsets bool) ([]groupDescription, []error) {
	if len(groups) == 0 {
		return nil, nil
	}
	infos := describeGroupInfos(ctx, cf, cl, adm, groups)
	var (
		errs    []error
		descs   []groupDescription
		commits = map[string]kadm.OffsetResponses{}
		topics  []string
	)
	for _, name := range groups {
		gi := infos[name]
		notFound := errors.Is(gi.Err, kerr.GroupIDNotFound)
		if gi.Err != nil && !notFound {
			errs = append(errs, gi.err())
			continue
		}
		var committed kadm.OffsetResponses
		if withOffsets {
			var err error
			committed, err = adm.FetchOffsets(ctx, name)
			if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
				errs = append(errs, offsetFetchErr(cf, name, err))
				continue
			}
		}
		// Kafka answers for a group it does not know with state Dead
		// (GROUP_ID_NOT_FOUND from DescribeGroups v6).
		if (notFound || gi.State == "Dead") && len(gi.Members) == 0 && len(committed) == 0 {
			errs = append(errs, groupErr(name, kerr.GroupIDNotFound, ""))
			continue
		}
		if notFound {
			gi.State = "Empty" // offsets alone, no group metadata
		}
		d := groupDescription{
			Group:        name,
			State:        gi.State,
			ProtocolType: gi.ProtocolType,
			Protocol:     gi.Protocol,
			Coordinator: groupCoordinator{ID: gi.Coordinator.NodeID, Host: gi.Coordinator.Host,
				Port: gi.Coordinator.Port},
			Members: []groupMemberDesc{},
			Offsets: []groupOffsetDesc{},
		}
		if gi.Coordinator.Host == "" && gi.Coordinator.NodeID == 0 {
			d.Coordinator.ID = -1
		}
		owner := map[kadm.Partition]int{}
		for i, m := range gi.Members {
			md := groupMemberDesc{MemberID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID,
				Host: m.Host, Assignment: []topicPartitionsDesc{}}
			for _, tp := range m.Assigned.Sorted() {
				ps := slices.Clone(tp.Partitions)
				slices.Sort(ps)
				md.Assignment = append(md.Assignment, topicPartitionsDesc{Topic: tp.Topic, Partitions: ps})
				for _, p := range ps {
					owner[kadm.Partition{Topic: tp.Topic, Partition: p}] = i
				}
			}
			d.Members = append(d.Members, md)
		}
		if withOffsets {
			parts := map[kadm.Partition]bool{}
			committed.Each(func(o kadm.OffsetResponse) { parts[kadm.Partition{Topic: o.Topic, Partition: o.Partition}] = true })
			for p := range owner {
				parts[p] = true
			}
			for p := range parts {
				od := groupOffsetDesc{Topic: p.Topic, Partition: p.Partition}
				if o, ok := committed.Lookup(p.Topic, p.Partition); ok {
					if o.Err != nil {
						od.Error = kerrName(o.Err)
					} else if o.At >= 0 {
						at := o.At
						od.CurrentOffset = &at
					}
				}
				if i, ok := owner[p]; ok {
					m := gi.Members[i]
					od.MemberID, od.Host, od.ClientID = m.MemberID, m.Host, m.ClientID
				}
				d.Offsets = append(d.Offsets, od)
				if !slices.Contains(topics, p.Topic) {
					topics = append(topics, p.Topic)
				}
			}
			sort.Slice(d.Offsets, func(i, j int) bool {
				a, b := d.Offsets[i], d.Offsets[j]
				return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
			})
			commits[name] = committed
		}
		descs = append(descs, d)
	}
	if len(topics) == 0 {
		return descs, errs
	}
	sort.Strings(topics)
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		errs = append(errs, cf.requestErr("list log end offsets", err))
	}
	for i := range descs {
		for j := range descs[i].Offsets {
			od := &descs[i].Offsets[j]
			lo, ok := ends.Lookup(od.Topic, od.Partition)
			if !ok {
				if tl, ok := ends.Lookup(od.Topic, -1); ok && tl.Err != nil {
					lo, ok = tl, true // the whole topic failed, e.g. it was deleted
				}
			}
			switch {
			case !ok:
			case lo.Err != nil:
				if od.Error == "" {
					od.Error = kerrName(lo.Err)
				}
			default:
				end := lo.Offset
				od.LogEndOffset = &end
				if od.CurrentOffset != nil {
					lag := end - *od.CurrentOffset
					od.Lag = &lag
				}
			}
		}
	}
	return descs, errs
}

// offsetFetchErr turns an OffsetFetch failure for group into one line.
func offsetFetchErr(cf *clientFlags, group string, err error) error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return groupErr(group, err, "")
	}
	return cf.requestErr(fmt.Sprintf("fetch committed offsets of group %q", group), err)
}

// kerrName is the Kafka name of err (UNKNOWN_TOPIC_OR_PARTITION), or its text.
func kerrName(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return oneLine(err.Error())
}

func optInt(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

// groupNotes prints the lines kafka-consumer-groups.sh prints above a
// group's table: no members, or a rebalance under way.
func groupNotes(w io.Writer, d groupDescription) {
	switch {
	case len(d.Members) == 0:
		fmt.Fprintf(w, "Consumer group %q has no active members.\n", d.Group)
	case d.State == "PreparingRebalance" || d.State == "CompletingRebalance" ||
		d.State == "Assigning" || d.State == "Reconciling":
		fmt.Fprintf(w, "Consumer group %q is rebalancing (state %s): the assignment may be incomplete.\n", d.Group, d.State)
	}
}

// printGroupOffsets prints the default describe view: a line per partition.
func printGroupOffsets(w io.Writer, descs []groupDescription) {
	for i, d := range descs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		groupNotes(w, d)
		assigned := map[string]bool{}
		for _, o := range d.Offsets {
			assigned[o.MemberID] = true
		}
		var idle []groupMemberDesc
		for _, m := range d.Members {
			if !assigned[m.MemberID] {
				idle = append(idle, m)
			}
		}
		if len(d.Offsets) == 0 && len(idle) == 0 {
			if len(d.Members) > 0 {
				fmt.Fprintf(w, "Consumer group %q has no committed offsets and no assigned partitions.\n", d.Group)
			}
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID\tHOST\tCLIENT-ID")
		for _, o := range d.Offsets {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s", d.Group, o.Topic, o.Partition,
				optInt(o.CurrentOffset), optInt(o.LogEndOffset), optInt(o.Lag),
				dash(o.MemberID), dash(o.Host), dash(o.ClientID))
			if o.Error != "" {
				fmt.Fprintf(tw, "\tError: %s", o.Error)
			}
			fmt.Fprintln(tw)
		}
		for _, m := range idle {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t%s\t%s\t%s\n", d.Group, m.MemberID, dash(m.Host), dash(m.ClientID))
		}
		tw.Flush()
	}
}

// assignmentString prints an assignment as kafka-consumer-groups.sh does:
// orders(0,1),payments(2).
func assignmentString(a []topicPartitionsDesc) string {
	if len(a) == 0 {
		return "-"
	}
	parts := make([]string, len(a))
	for i, tp := range a {
		parts[i] = tp.Topic + "(" + joinInt32(tp.Partitions) + ")"
	}
	return strings.Join(parts, ",")
}

func printGroupMembers(w io.Writer, descs []groupDescription) {
	for i, d := range descs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		groupNotes(w, d)
		if len(d.Members) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tCONSUMER-ID\tGROUP-INSTANCE-ID\tHOST\tCLIENT-ID\t#PARTITIONS\tASSIGNMENT")
		for _, m := range d.Members {
			n := 0
			for _, tp := range m.Assignment {
				n += len(tp.Partitions)
			}
			inst := "-"
			if m.InstanceID != nil {
				inst = *m.InstanceID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.Group, m.MemberID, inst, dash(m.Host),
				dash(m.ClientID), n, assignmentString(m.Assignment))
		}
		tw.Flush()
	}
}

func printGroupStates(w io.Writer, descs []groupDescription) {
	if len(descs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tCOORDINATOR (ID)\tPROTOCOL-TYPE\tASSIGNMENT-STRATEGY\tSTATE\t#MEMBERS")
	for _, d := range descs {
		coord := "-"
		if d.Coordinator.ID >= 0 {
			coord = fmt.Sprintf("%s (%d)", netJoin(d.Coordinator.Host, d.Coordinator.Port), d.Coordinator.ID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", d.Group, coord, dash(d.ProtocolType), dash(d.Protocol),
			dash(d.State), len(d.Members))
	}
	tw.Flush()
}

func netJoin(host string, port int32) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

func newGroupDeleteCmd() *cobra.Command {
	var (
		cf       clientFlags
		ifExists bool
	)
	cmd := &cobra.Command{
		Use:     "delete GROUP...",
		Aliases: []string{"rm"},
		Short:   "Delete groups and their committed offsets",
		Long: `Delete consumer groups with their committed offsets. Only a group without
active members can be deleted: stop its consumers first.`,
		Example: `  samsa group delete audit
  samsa group delete audit billing --if-exists`,
		Args: argsBetween(1, -1, "group ids"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			adm, err := cf.admin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			groups := dedupe(args)
			resps, err := adm.DeleteGroups(ctx, groups...)
			if err != nil && len(resps) == 0 {
				return cf.requestErr("delete groups", err)
			}
			out := cmd.OutOrStdout()
			var errs []error
			for _, g := range groups {
				r, ok := resps[g]
				switch {
				case !ok && err != nil:
					errs = append(errs, cf.requestErr(fmt.Sprintf("delete group %q", g), err))
				case !ok:
					errs = append(errs, fmt.Errorf("delete group %q: the broker did not answer for it", g))
				case errors.Is(r.Err, kerr.GroupIDNotFound) && ifExists:
				case r.Err != nil:
					errs = append(errs, groupErr(g, r.Err, r.ErrMessage))
				default:
					fmt.Fprintf(out, "Deleted group %q.\n", g)
				}
			}
			return reportErrs(cmd.ErrOrStderr(), errs)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&ifExists, "if-exists", false, "succeed for groups that do not exist")
	cf.register(fs)
	return cmd
}

// resetOptions are the flags of `group reset-offsets`.
type resetOptions struct {
	cf         clientFlags
	topics     []string
	allTopics  bool
	toEarliest bool
	toLatest   bool
	toOffset   int64
	toDatetime string
	shiftBy    int64
	execute    bool
	dryRun     bool
	format     string
}

// resetPlanRow is one partition in `group reset-offsets -o json`.
type resetPlanRow struct {
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	CurrentOffset *int64 `json:"current_offset"`
	NewOffset     int64  `json:"new_offset"`
	Error         string `json:"error,omitempty"`
}

// resetResult is the output of `group reset-offsets -o json`.
type resetResult struct {
	Group    string         `json:"group"`
	Executed bool           `json:"executed"`
	Offsets  []resetPlanRow `json:"offsets"`
}

func newGroupResetCmd() *cobra.Command {
	var o resetOptions
	cmd := &cobra.Command{
		Use:   "reset-offsets GROUP (--topic TOPIC[:P,P...]... | --all-topics) --to-...",
		Short: "Move a group's committed offsets (a dry run unless --execute)",
		Long: `Reset the committed offsets of an inactive consumer group, like
kafka-consumer-groups.sh --reset-offsets. The group must have no active
members: stop its consumers first.

Choose the partitions with --topic (all partitions of the topic, or the listed
ones: --topic orders:0,2; repeatable) or --all-topics (every partition the group
has committed offsets for), and exactly one target:

  --to-earliest        the log start offset
  --to-latest          the log end offset
  --to-offset N        offset N
  --to-datetime T      the first record with a timestamp at or after T (RFC 3339
                       like 2024-05-01T12:00:00Z, local time without a zone,
                       or Unix milliseconds); the log end if there is none
  --shift-by N         the committed offset plus N (N may be negative)

Like Kafka, a new offset outside the log is moved to the log start or end.

Without --execute this is a dry run: it prints the plan (GROUP TOPIC
PARTITION CURRENT-OFFSET NEW-OFFSET) and changes nothing. -o json prints
{"group","executed","offsets":[{"topic","partition","current_offset",
"new_offset"}]}.`,
		Example: `  samsa group reset-offsets audit --topic orders --to-earliest             # show the plan
  samsa group reset-offsets audit --topic orders --to-earliest --execute   # apply it
  samsa group reset-offsets audit --topic orders:0,1 --shift-by -100 --execute
  samsa group reset-offsets audit --all-topics --to-datetime 2024-05-01T00:00:00Z
  samsa group reset-offsets audit --all-topics --to-latest --execute -o json`,
		Args: argsBetween(1, 1, "group id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGroupReset(cmd, args[0], &o)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&o.topics, "topic", "t", nil, "reset this topic, or TOPIC:P,P... for some partitions (repeatable)")
	fs.BoolVar(&o.allTopics, "all-topics", false, "reset every partition the group has committed offsets for")
	fs.BoolVar(&o.toEarliest, "to-earliest", false, "reset to the log start offset")
	fs.BoolVar(&o.toLatest, "to-latest", false, "reset to the log end offset")
	fs.Int64Var(&o.toOffset, "to-offset", 0, "reset to this offset")
	fs.StringVar(&o.toDatetime, "to-datetime", "", "reset to the first record at or after this time: RFC 3339 or Unix milliseconds")
	fs.Int64Var(&o.shiftBy, "shift-by", 0, "move the committed offset by N (negative: back)")
	fs.BoolVar(&o.execute, "execute", false, "commit the new offsets (default: only print the plan)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "only print the plan (the default; for kafka-consumer-groups.sh habits)")
	fs.StringVarP(&o.format, "format", "o", "text", "output format: text or json")
	o.cf.register(fs)
	return cmd
}

// resetTarget is how the new offset of a partition is chosen.
type resetTarget int

const (
	toEarliest resetTarget = iota
	toLatest
	toOffset
	toDatetime
	shiftBy
)

func (o *resetOptions) target(cmd *cobra.Command) (resetTarget, int64, error) {
	fs := cmd.Flags()
	var (
		n      int
		t      resetTarget
		arg    int64
		chosen []string
	)
	pick := func(set bool, name string, tt resetTarget) {
		if set {
			n++
			t = tt
			chosen = append(chosen, "--"+name)
		}
	}
	pick(o.toEarliest, "to-earliest", toEarliest)
	pick(o.toLatest, "to-latest", toLatest)
	pick(fs.Changed("to-offset"), "to-offset", toOffset)
	pick(fs.Changed("to-datetime"), "to-datetime", toDatetime)
	pick(fs.Changed("shift-by"), "shift-by", shiftBy)
	switch {
	case n == 0:
		return 0, 0, usagef("say where to reset to: --to-earliest, --to-latest, --to-offset, --to-datetime or --shift-by (see '%s --help')", cmd.CommandPath())
	case n > 1:
		return 0, 0, usagef("%s exclude each other: give one target", strings.Join(chosen, " and "))
	}
	switch t {
	case toOffset:
		if o.toOffset < 0 {
			return 0, 0, usagef("--to-offset must not be negative, got %d", o.toOffset)
		}
		arg = o.toOffset
	case toDatetime:
		ms, err := parseResetDatetime(o.toDatetime)
		if err != nil {
			return 0, 0, err
		}
		arg = ms
	case shiftBy:
		arg = o.shiftBy
	}
	return t, arg, nil
}

// parseResetDatetime reads --to-datetime: Unix milliseconds, RFC 3339, or
// Kafka's YYYY-MM-DDTHH:mm:SS[.sss] in local time.
func parseResetDatetime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 {
			return 0, usagef("--to-datetime %q: must not be negative", s)
		}
		return ms, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixMilli(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local); err == nil {
		return t.UnixMilli(), nil
	}
	return 0, usagef("--to-datetime %q: want RFC 3339 like 2024-05-01T12:00:00Z or Unix milliseconds", s)
}

// parseResetTopics reads --topic values: TOPIC or TOPIC:P,P,...; nil
// partitions mean all of them.
func parseResetTopics(vals []string) (map[string][]int32, []string, error) {
	out := map[string][]int32{}
	all := map[string]bool{}
	var order []string
	for _, v := range vals {
		topic, list, hasParts := strings.Cut(v, ":")
		topic = strings.TrimSpace(topic)
		if topic == "" {
			return nil, nil, usagef("--topic %q: want TOPIC or TOPIC:P,P,...", v)
		}
		if !slices.Contains(order, topic) {
			order = append(order, topic)
		}
		if !hasParts {
			all[topic] = true
			continue
		}
		for _, f := range strings.Split(list, ",") {
			p, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil || p < 0 {
				return nil, nil, usagef("--topic %q: %q is not a partition number", v, f)
			}
			out[topic] = append(out[topic], int32(p))
		}
	}
	for _, t := range order {
		if all[t] {
			out[t] = nil
			continue
		}
		slices.Sort(out[t])
		out[t] = slices.Compact(out[t])
	}
	return out, order, nil
}

func runGroupReset(cmd *cobra.Command, group string, o *resetOptions) error {
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	target, arg, err := o.target(cmd)
	if err != nil {
		return err
	}
	if o.execute && o.dryRun {
		return usagef("--execute and --dry-run exclude each other")
	}
	if len(o.topics) > 0 && o.allTopics {
		return usagef("--topic and --all-topics exclude each other")
	}
	if len(o.topics) == 0 && !o.allTopics {
		return usagef("say which partitions to reset: --topic TOPIC[:P,P...] or --all-topics (see '%s --help')", cmd.CommandPath())
	}
	wanted, order, err := parseResetTopics(o.topics)
	if err != nil {
		return err
	}
	cf := &o.cf
	ctx := cmd.Context()
	cl, adm, err := groupAdmin(ctx, cf)
	if err != nil {
		return err
	}
	defer adm.Close()

	// Like Kafka's tool, only an inactive group may be reset: a live
	// consumer would overwrite the new offsets with its next commit.
	gi := describeGroupInfos(ctx, cf, cl, adm, []string{group})[group]
	if gi.Err != nil && !errors.Is(gi.Err, kerr.GroupIDNotFound) {
		return gi.err()
	}
	if !gi.inactive() {
		return fmt.Errorf("group %q has %d active member%s (state %s); offsets can only be reset while the group is inactive: stop its consumers first",
			group, len(gi.Members), plural(len(gi.Members)), dash(gi.State))
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return offsetFetchErr(cf, group, err)
	}

	// The partitions to reset.
	parts := kadm.TopicsSet{}
	if o.allTopics {
		committed.Each(func(r kadm.OffsetResponse) {
			if r.Err == nil && r.At >= 0 {
				parts.Add(r.Topic, r.Partition)
			}
		})
		if len(parts) == 0 {
			return fmt.Errorf("group %q has no committed offsets; name the topics with --topic", group)
		}
	} else {
		tds, err := adm.ListTopics(ctx, order...)
		if err != nil {
			return cf.requestErr("describe topics", err)
		}
		for _, t := range order {
			td, ok := tds[t]
			switch {
			case !ok:
				return topicErr(t, kerr.UnknownTopicOrPartition, "")
			case td.Err != nil:
				return topicErr(t, td.Err, "")
			}
			if wanted[t] == nil {
				for p := range td.Partitions {
					parts.Add(t, p)
				}
				continue
			}
			for _, p := range wanted[t] {
				if _, ok := td.Partitions[p]; !ok {
					return fmt.Errorf("topic %q has no partition %d (it has %d partition%s)",
						t, p, len(td.Partitions), plural(len(td.Partitions)))
				}
				parts.Add(t, p)
			}
		}
	}
	topics := parts.Topics()

	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return cf.requestErr("list log start offsets", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return cf.requestErr("list log end offsets", err)
	}
	var byTime kadm.ListedOffsets
	if target == toDatetime {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, arg, topics...); err != nil {
			return cf.requestErr("list offsets by time", err)
		}
	}
	listed := func(lo kadm.ListedOffsets, what, t string, p int32) (int64, error) {
		l, ok := lo.Lookup(t, p)
		if !ok {
			if tl, ok := lo.Lookup(t, -1); ok && tl.Err != nil {
				return 0, topicErr(t, tl.Err, "")
			}
			return 0, fmt.Errorf("topic %q partition %d: the broker did not give its %s", t, p, what)
		}
		if l.Err != nil {
			return 0, fmt.Errorf("topic %q partition %d: cannot list its %s: %s", t, p, what, kerrName(l.Err))
		}
		return l.Offset, nil
	}

	res := resetResult{Group: group, Executed: o.execute, Offsets: []resetPlanRow{}}
	var errs []error
	for _, tp := range parts.Sorted() {
		ps := slices.Clone(tp.Partitions)
		slices.Sort(ps)
		for _, p := range ps {
			row := resetPlanRow{Topic: tp.Topic, Partition: p}
			if c, ok := committed.Lookup(tp.Topic, p); ok && c.Err == nil && c.At >= 0 {
				at := c.At
				row.CurrentOffset = &at
			}
			start, err1 := listed(starts, "log start offset", tp.Topic, p)
			end, err2 := listed(ends, "log end offset", tp.Topic, p)
			if err := errors.Join(err1, err2); err != nil {
				errs = append(errs, err1, err2)
				continue
			}
			var n int64
			switch target {
			case toEarliest:
				n = start
			case toLatest:
				n = end
			case toOffset:
				n = arg
			case toDatetime:
				if n, err = listed(byTime, "offset by time", tp.Topic, p); err != nil {
					errs = append(errs, err)
					continue
				}
			case shiftBy:
				if row.CurrentOffset == nil {
					errs = append(errs, fmt.Errorf("cannot shift topic %q partition %d: group %q has no committed offset for it", tp.Topic, p, group))
					continue
				}
				n = *row.CurrentOffset + arg
			}
			row.NewOffset = max(start, min(n, end)) // like Kafka: keep it inside the log
			res.Offsets = append(res.Offsets, row)
		}
	}
	if errs = slices.DeleteFunc(errs, func(e error) bool { return e == nil }); len(errs) > 0 {
		// Nothing is committed unless every partition has a plan.
		return reportErrs(cmd.ErrOrStderr(), errs)
	}

	if o.execute {
		var offs kadm.Offsets
		for _, r := range res.Offsets {
			offs.AddOffset(r.Topic, r.Partition, r.NewOffset, -1)
		}
		resps, err := adm.CommitOffsets(ctx, group, offs)
		if err != nil {
			return cf.requestErr(fmt.Sprintf("commit offsets of group %q", group), err)
		}
		for i := range res.Offsets {
			r := &res.Offsets[i]
			if c, ok := resps.Lookup(r.Topic, r.Partition); ok && c.Err != nil {
				r.Error = kerrName(c.Err)
				errs = append(errs, commitErr(group, r.Topic, r.Partition, c.Err))
			}
		}
	}

	out, note := cmd.OutOrStdout(), cmd.OutOrStdout()
	if o.format == "json" {
		if err := writeJSON(out, res); err != nil {
			return err
		}
		note = cmd.ErrOrStderr()
	} else {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET")
		for _, r := range res.Offsets {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d", group, r.Topic, r.Partition, optInt(r.CurrentOffset), r.NewOffset)
			if r.Error != "" {
				fmt.Fprintf(tw, "\tError: %s", r.Error)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	switch {
	case !o.execute:
		fmt.Fprintln(note, "Dry run: no offsets were changed. Add --execute to commit these offsets.")
	case len(errs) == 0:
		fmt.Fprintf(note, "Committed new offsets for %d partition%s of group %q.\n", len(res.Offsets), plural(len(res.Offsets)), group)
	}
	return reportErrs(cmd.ErrOrStderr(), errs)
}

// commitErr describes a failed offset commit of one partition.
func commitErr(group, topic string, p int32, err error) error {
	switch {
	case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.IllegalGeneration),
		errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.StaleMemberEpoch):
		return fmt.Errorf("commit topic %q partition %d: group %q became active meanwhile; stop its consumers first (%s)",
			topic, p, group, kerrName(err))
	}
	return fmt.Errorf("commit topic %q partition %d of group %q: %s", topic, p, group, kerrName(err))
}
