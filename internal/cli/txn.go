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

// samsa txn: list and describe transactions, and the producers writing to a
// topic's partitions, over the Kafka admin APIs ListTransactions,
// DescribeTransactions and DescribeProducers, like kafka-transactions.sh.

func init() { commands = append(commands, newTxnCmd) }

func newTxnCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "txn",
		Aliases: []string{"transactions"},
		Short:   "List and describe transactions and the producers of a topic",
		Long: `Inspect Kafka transactions over the admin APIs, like kafka-transactions.sh.
Works against samsa or any Kafka cluster.`,
		Example: `  samsa txn list
  samsa txn list --state Ongoing --min-duration 5m     # transactions open for over 5 minutes
  samsa txn describe payments-processor
  samsa txn producers orders --partition 0`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(newTxnListCmd(), newTxnDescribeCmd(), newTxnProducersCmd())
	return cmd
}

// txnStates are the states of a transactional id, as Kafka names them.
var txnStates = kmsg.TransactionStateStrings()

// txnOpen reports whether a transaction in state is still running, so that
// its start time says how long it has been open.
func txnOpen(state string) bool {
	switch state {
	case "Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence":
		return true
	}
	return false
}

// txnErr describes a Kafka error code returned for one transactional id as
// one line, for example
// `transactional id "x" does not exist (TRANSACTIONAL_ID_NOT_FOUND)`.
func txnErr(id string, err error) error {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return fmt.Errorf("transactional id %q: %s", id, oneLine(err.Error()))
	}
	var what string
	switch ke {
	case kerr.TransactionalIDNotFound:
		what = " does not exist"
	case kerr.TransactionalIDAuthorizationFailed:
		what = " is not authorized"
	default:
		what = ": " + kerrPhrase(ke)
	}
	return fmt.Errorf("transactional id %q%s (%s)", id, what, ke.Message)
}

// kerrPhrase is the first sentence of Kafka's description of ke, starting
// in lower case, for the middle of a line.
func kerrPhrase(ke *kerr.Error) string {
	d := strings.TrimSuffix(ke.Description, ".")
	if i := strings.Index(d, ". "); i > 0 {
		d = d[:i]
	}
	if d == "" {
		d = strings.ToLower(strings.ReplaceAll(ke.Message, "_", " "))
	}
	return strings.ToLower(d[:1]) + d[1:]
}

// notServed reports whether the brokers answer ApiVersions and none of them
// serves key: then a failed request is explained by that rather than by the
// client's generic error.
func notServed(ctx context.Context, cl *kgo.Client, key kmsg.Key) bool {
	vs, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil || len(vs) == 0 {
		return false
	}
	for _, v := range vs {
		if v.Err != nil {
			return false
		}
		if _, ok := v.KeyMaxVersion(int16(key)); ok {
			return false
		}
	}
	return true
}

// apiErr is requestErr for a request of API key, saying so when the
// brokers do not serve that API at all.
func (f *clientFlags) apiErr(ctx context.Context, cl *kgo.Client, what string, key kmsg.Key, err error) error {
	if notServed(ctx, cl, key) {
		return fmt.Errorf("%s: the broker does not serve %s (API key %d)", what, key.Name(), key)
	}
	return f.requestErr(what, err)
}

// parseTxnStates checks --state values and spells them as Kafka does.
func parseTxnStates(in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		i := slices.IndexFunc(txnStates, func(st string) bool { return strings.EqualFold(st, s) })
		if i < 0 {
			return nil, usagef("--state %q: want one of %s", s, strings.Join(txnStates, ", "))
		}
		if !slices.Contains(out, txnStates[i]) {
			out = append(out, txnStates[i])
		}
	}
	return out, nil
}

// txnListing is one transactional id in `txn list -o json`.
type txnListing struct {
	TransactionalID string `json:"transactional_id"`
	ProducerID      int64  `json:"producer_id"`
	State           string `json:"state"`
	Coordinator     int32  `json:"coordinator"`
}

type txnListOptions struct {
	cf          clientFlags
	states      []string
	producerIDs []int64
	minDuration time.Duration
	format      string
}

func newTxnListCmd() *cobra.Command {
	var o txnListOptions
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List transactional ids with their producer id and state",
		Long: `List the transactional ids the transaction coordinators know, sorted by id:
TRANSACTIONAL-ID PRODUCER-ID STATE. An id stays listed after its transaction
ends (state CompleteCommit or CompleteAbort, or Empty before the first one)
until transactional.id.expiration.ms passes without use.

Filters, all applied by the brokers:
  --state S          only ids in these states (any case; comma-separated or
                     repeatable): Empty, Ongoing, PrepareCommit, PrepareAbort,
                     CompleteCommit, CompleteAbort, Dead, PrepareEpochFence
  --producer-id N    only ids using these producer ids (repeatable)
  --min-duration D   only ids whose current or last transaction started more
                     than D ago (a Go duration like 90s or 5m; needs
                     ListTransactions v1, Kafka 3.8+). With --state Ongoing
                     this finds transactions that hang.

-o json prints one JSON array of {"transactional_id","producer_id","state",
"coordinator"} objects; coordinator is the broker id of the id's coordinator.`,
		Example: `  samsa txn list
  samsa txn list --state Ongoing --min-duration 5m
  samsa txn list --producer-id 1000 -o json | jq -r '.[].transactional_id'`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error { return runTxnList(cmd, &o) },
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&o.states, "state", nil, "only ids in these states (comma-separated or repeatable)")
	fs.Int64SliceVar(&o.producerIDs, "producer-id", nil, "only ids using these producer ids (comma-separated or repeatable)")
	fs.DurationVar(&o.minDuration, "min-duration", 0, "only ids whose transaction started more than this long ago")
	fs.StringVarP(&o.format, "format", "o", "text", "output format: text or json")
	o.cf.register(fs)
	return cmd
}

func runTxnList(cmd *cobra.Command, o *txnListOptions) error {
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	states, err := parseTxnStates(o.states)
	if err != nil {
		return err
	}
	for _, id := range o.producerIDs {
		if id < 0 {
			return usagef("--producer-id must be 0 or more, got %d", id)
		}
	}
	minSet := cmd.Flags().Changed("min-duration")
	if o.minDuration < 0 {
		return usagef("--min-duration must not be negative, got %v", o.minDuration)
	}
	ctx := cmd.Context()
	cl, err := o.cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()

	// kadm.ListTransactions has no duration filter, so the request is
	// built here; like kadm, it goes to every broker.
	req := kmsg.NewPtrListTransactionsRequest()
	req.StateFilters = states
	req.ProducerIDFilters = o.producerIDs
	if minSet {
		req.DurationFilterMillis = o.minDuration.Milliseconds()
	}
	var (
		list []txnListing
		errs []error
		ok   int
	)
	for _, shard := range cl.RequestSharded(ctx, req) {
		what := "list transactions"
		if shard.Meta.NodeID >= 0 {
			what = fmt.Sprintf("list transactions on broker %d", shard.Meta.NodeID)
		}
		if shard.Err != nil {
			errs = append(errs, o.cf.apiErr(ctx, cl, what, kmsg.ListTransactions, shard.Err))
			continue
		}
		resp := shard.Resp.(*kmsg.ListTransactionsResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			errs = append(errs, o.cf.requestErr(what, err))
			continue
		}
		if minSet && resp.GetVersion() < 1 {
			errs = append(errs, fmt.Errorf("%s: the broker cannot filter by --min-duration (it needs ListTransactions v1, Kafka 3.8+); its transactions are left out", what))
			continue
		}
		ok++
		for _, ts := range resp.TransactionStates {
			list = append(list, txnListing{TransactionalID: ts.TransactionalID, ProducerID: ts.ProducerID,
				State: ts.TransactionState, Coordinator: shard.Meta.NodeID})
		}
	}
	if ok == 0 && len(errs) > 0 {
		return reportErrs(cmd.ErrOrStderr(), errs)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].TransactionalID < list[j].TransactionalID })
	out := cmd.OutOrStdout()
	if o.format == "json" {
		if list == nil {
			list = []txnListing{}
		}
		if err := writeJSON(out, list); err != nil {
			return err
		}
		return reportErrs(cmd.ErrOrStderr(), errs)
	}
	if len(list) > 0 {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TRANSACTIONAL-ID\tPRODUCER-ID\tSTATE")
		for _, l := range list {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", l.TransactionalID, l.ProducerID, l.State)
		}
		tw.Flush()
	} else if len(errs) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "no transactional ids match")
	}
	return reportErrs(cmd.ErrOrStderr(), errs)
}

// txnDescription is one transactional id in `txn describe -o json`.
type txnDescription struct {
	TransactionalID string                `json:"transactional_id"`
	Coordinator     int32                 `json:"coordinator"`
	State           string                `json:"state"`
	ProducerID      int64                 `json:"producer_id"`
	ProducerEpoch   int16                 `json:"producer_epoch"`
	TimeoutMs       int32                 `json:"timeout_ms"`
	StartTimestamp  *int64                `json:"start_timestamp"`
	DurationMs      *int64                `json:"duration_ms"`
	Partitions      []topicPartitionsDesc `json:"partitions"`
}

func newTxnDescribeCmd() *cobra.Command {
	var (
		cf     clientFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "describe TRANSACTIONAL-ID...",
		Short: "Show a transactional id's state, producer, timeout, start and partitions",
		Long: `Describe transactional ids, like kafka-transactions.sh describe. One line per
id: TRANSACTIONAL-ID PRODUCER-ID EPOCH STATE TIMEOUT-MS START-TIME START-MS
DURATION PARTITIONS.

START-TIME (UTC) and START-MS (Unix milliseconds) are when the current
transaction, or the last one if none is running, started; "-" if there was
none. DURATION is how long the current transaction has been open (only for
Ongoing and Prepare* states). PARTITIONS are those the running transaction
has written to, as topic(partition,...); a finished transaction has none.

-o json prints one JSON array of {"transactional_id","coordinator","state",
"producer_id","producer_epoch","timeout_ms","start_timestamp","duration_ms",
"partitions":[{"topic","partitions":[...]}]}; a missing start or duration is
null. An unknown id is an error (exit status 1) after the others are shown.`,
		Example: `  samsa txn describe payments-processor
  samsa txn describe tx-1 tx-2 -o json | jq '.[] | {transactional_id, state, duration_ms}'`,
		Args: argsBetween(1, -1, "transactional ids"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, adm, err := groupAdmin(ctx, &cf)
			if err != nil {
				return err
			}
			defer adm.Close()
			ids := dedupe(args)
			described, err := adm.DescribeTransactions(ctx, ids...)
			now := time.Now().UnixMilli()
			var (
				errs  []error
				descs = []txnDescription{}
			)
			if err != nil && len(described) == 0 {
				what := "describe transactions"
				if len(ids) == 1 {
					what = fmt.Sprintf("describe transactional id %q", ids[0])
				}
				return cf.apiErr(ctx, cl, what, kmsg.DescribeTransactions, err)
			}
			for _, id := range ids {
				d, ok := described[id]
				switch {
				case !ok && err != nil:
					errs = append(errs, cf.requestErr(fmt.Sprintf("describe transactional id %q", id), err))
					continue
				case !ok:
					errs = append(errs, fmt.Errorf("describe transactional id %q: the broker did not answer for it", id))
					continue
				case d.Err != nil:
					errs = append(errs, txnErr(id, d.Err))
					continue
				}
				td := txnDescription{TransactionalID: id, Coordinator: d.Coordinator, State: d.State,
					ProducerID: d.ProducerID, ProducerEpoch: d.ProducerEpoch, TimeoutMs: d.TimeoutMillis,
					Partitions: []topicPartitionsDesc{}}
				if d.StartTimestamp >= 0 {
					start := d.StartTimestamp
					td.StartTimestamp = &start
					if txnOpen(d.State) {
						dur := max(now-start, 0)
						td.DurationMs = &dur
					}
				}
				for _, tp := range d.Topics.Sorted() {
					ps := slices.Clone(tp.Partitions)
					slices.Sort(ps)
					td.Partitions = append(td.Partitions, topicPartitionsDesc{Topic: tp.Topic, Partitions: ps})
				}
				descs = append(descs, td)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if err := writeJSON(out, descs); err != nil {
					return err
				}
				return reportErrs(cmd.ErrOrStderr(), errs)
			}
			printTxnDescriptions(out, descs)
			return reportErrs(cmd.ErrOrStderr(), errs)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	cf.register(fs)
	return cmd
}

func printTxnDescriptions(w io.Writer, descs []txnDescription) {
	if len(descs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRANSACTIONAL-ID\tPRODUCER-ID\tEPOCH\tSTATE\tTIMEOUT-MS\tSTART-TIME\tSTART-MS\tDURATION\tPARTITIONS")
	for _, d := range descs {
		startTime, startMs, dur := "-", "-", "-"
		if d.StartTimestamp != nil {
			startTime = msTime(*d.StartTimestamp)
			startMs = strconv.FormatInt(*d.StartTimestamp, 10)
		}
		if d.DurationMs != nil {
			dur = (time.Duration(*d.DurationMs) * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", d.TransactionalID, d.ProducerID, d.ProducerEpoch,
			d.State, d.TimeoutMs, startTime, startMs, dur, assignmentString(d.Partitions))
	}
	tw.Flush()
}

// msTime prints Unix milliseconds as an RFC 3339 time in UTC with
// milliseconds, such as 2024-05-01T12:00:00.123Z.
func msTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// txnProducer is one producer of a partition in `txn producers -o json`.
type txnProducer struct {
	Topic                 string `json:"topic"`
	Partition             int32  `json:"partition"`
	ProducerID            int64  `json:"producer_id"`
	ProducerEpoch         int16  `json:"producer_epoch"`
	LastSequence          int32  `json:"last_sequence"`
	LastTimestamp         *int64 `json:"last_timestamp"`
	CoordinatorEpoch      int32  `json:"coordinator_epoch"`
	CurrentTxnStartOffset *int64 `json:"current_txn_start_offset"`
}

func newTxnProducersCmd() *cobra.Command {
	var (
		cf         clientFlags
		partitions []int32
		format     string
	)
	cmd := &cobra.Command{
		Use:   "producers TOPIC",
		Short: "Show the producers a topic's partitions know, with their open transactions",
		Long: `Show the producer state each partition of a topic keeps (DescribeProducers,
like kafka-transactions.sh describe-producers): every idempotent or
transactional producer that wrote to it recently, one line per partition and
producer: TOPIC PARTITION PRODUCER-ID EPOCH LAST-SEQUENCE LAST-TIMESTAMP
COORDINATOR-EPOCH TXN-START-OFFSET.

TXN-START-OFFSET is the first offset of the producer's open transaction in
that partition ("-" if none): a transaction that stays open holds back
read_committed consumers at that offset. LAST-TIMESTAMP is the timestamp of
its last batch, in UTC.

-o json prints one JSON array of {"topic","partition","producer_id",
"producer_epoch","last_sequence","last_timestamp","coordinator_epoch",
"current_txn_start_offset"}; last_timestamp is in Unix milliseconds, and it
and current_txn_start_offset are null when unknown or none.`,
		Example: `  samsa txn producers orders
  samsa txn producers orders --partition 0 -o json`,
		Args: argsBetween(1, 1, "topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			topic := args[0]
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			for _, p := range partitions {
				if p < 0 {
					return usagef("--partition must be 0 or more, got %d", p)
				}
			}
			ctx := cmd.Context()
			cl, adm, err := groupAdmin(ctx, &cf)
			if err != nil {
				return err
			}
			defer adm.Close()
			n, err := topicPartitions(ctx, &cf, adm, topic)
			if err != nil {
				return err
			}
			ps := dedupeInt32(partitions)
			for _, p := range ps {
				if int(p) >= n {
					return fmt.Errorf("topic %q has %d partition%s; there is no partition %d", topic, n, plural(n), p)
				}
			}
			if len(ps) == 0 {
				for p := range int32(n) {
					ps = append(ps, p)
				}
			}
			slices.Sort(ps)
			set := kadm.TopicsSet{}
			set.Add(topic, ps...)
			described, err := adm.DescribeProducers(ctx, set)
			dt := described[topic]
			if err != nil && len(dt.Partitions) == 0 {
				return cf.apiErr(ctx, cl, fmt.Sprintf("describe producers of topic %q", topic), kmsg.DescribeProducers, err)
			}
			var errs []error
			list := []txnProducer{}
			for _, p := range ps {
				dp, ok := dt.Partitions[p]
				switch {
				case !ok && err != nil:
					errs = append(errs, cf.requestErr(fmt.Sprintf("describe producers of topic %q partition %d", topic, p), err))
					continue
				case !ok:
					errs = append(errs, fmt.Errorf("describe producers of topic %q partition %d: the broker did not answer for it", topic, p))
					continue
				case dp.Err != nil:
					errs = append(errs, fmt.Errorf("partition %d: %w", p, topicErr(topic, dp.Err, dp.ErrMessage)))
					continue
				}
				for _, pr := range dp.ActiveProducers.Sorted() {
					tp := txnProducer{Topic: topic, Partition: p, ProducerID: pr.ProducerID, ProducerEpoch: pr.ProducerEpoch,
						LastSequence: pr.LastSequence, CoordinatorEpoch: pr.CoordinatorEpoch}
					if pr.LastTimestamp >= 0 {
						ts := pr.LastTimestamp
						tp.LastTimestamp = &ts
					}
					if pr.CurrentTxnStartOffset >= 0 {
						off := pr.CurrentTxnStartOffset
						tp.CurrentTxnStartOffset = &off
					}
					list = append(list, tp)
				}
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
				fmt.Fprintln(tw, "TOPIC\tPARTITION\tPRODUCER-ID\tEPOCH\tLAST-SEQUENCE\tLAST-TIMESTAMP\tCOORDINATOR-EPOCH\tTXN-START-OFFSET")
				for _, p := range list {
					ts := "-"
					if p.LastTimestamp != nil {
						ts = msTime(*p.LastTimestamp)
					}
					fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\n", p.Topic, p.Partition, p.ProducerID, p.ProducerEpoch,
						p.LastSequence, ts, p.CoordinatorEpoch, optInt(p.CurrentTxnStartOffset))
				}
				tw.Flush()
			} else if len(errs) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no active producers")
			}
			return reportErrs(cmd.ErrOrStderr(), errs)
		},
	}
	fs := cmd.Flags()
	fs.Int32SliceVarP(&partitions, "partition", "p", nil, "only these partitions (repeatable or comma-separated; default all)")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	cf.register(fs)
	return cmd
}

func dedupeInt32(s []int32) []int32 {
	var out []int32
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
