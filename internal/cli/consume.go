package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// samsa consume: print records of a topic, like kcat -C or
// kafka-console-consumer.sh. Without --group it assigns partitions directly
// and needs no group APIs on the broker.

func init() { commands = append(commands, newConsumeCmd) }

type consumeOptions struct {
	cf            clientFlags
	fromBeginning bool
	offset        string
	fromTimestamp string
	partitions    []int32
	count         int
	idleExit      time.Duration
	format        string
	printKey      bool
	keySep        string
	group         string
	isolation     string
	readCommitted bool // deprecated spelling of --isolation read_committed
	serde         serdeFlags
	deser         *deserializer
}

func newConsumeCmd() *cobra.Command {
	var o consumeOptions
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print records of a topic",
		Long: `Print the records of a topic to stdout until interrupted, --count records
have been printed, or nothing arrived for --idle-exit.

Like kafka-console-consumer.sh, it starts at the end of each partition (only
new records) unless told otherwise: --from-beginning, --offset (earliest,
latest, an absolute offset N, or -N for the last N records of each
partition), or --from-timestamp (the first record at or after that time).

Without --group, partitions are assigned directly (all of them, or those given
by --partition) and no offsets are committed. With --group the consumer joins
that consumer group, resumes from the group's committed offsets (new groups
start where --offset says) and commits what it printed.

--isolation read_committed prints only records of committed transactions
(and every non-transactional record); it stops at the first record of a
transaction that is still open until that transaction ends. The default,
read_uncommitted, prints records as they are written, including those of
open and aborted transactions (control records are never printed).
kafka-console-consumer.sh's spelling, --isolation-level, works too.

--format text prints each value on its own line (with --print-key: key,
--key-separator, value). --format json prints one object per line:

  {"topic":"t","partition":0,"offset":42,"timestamp":1700000000000,
   "key":"k","value":"v","headers":[{"key":"h","value":"x"}]}

timestamp is in milliseconds since the Unix epoch. A null key or value is
null. A key, value or header value that is not valid UTF-8 is base64
(standard, padded) and flagged by "key_encoding":"base64",
"value_encoding":"base64" or, in the header, "value_encoding":"base64".

--value-format avro, json-schema or protobuf (and --key-format) decode
records in the Schema Registry's wire format by the schema id each one
carries, fetched from --registry once per id, and print them as JSON (Avro
in Avro's JSON encoding, Protobuf in its JSON mapping); with --format json
the decoded key and value are embedded as JSON, not as strings. Like
kafka-avro-console-consumer, a record that is not in the wire format or
names an unknown schema stops consume with exit status 1 and a message
giving its partition and offset; the records before it are printed.`,
		Example: `  samsa consume orders                              # new records, until Ctrl-C
  samsa consume orders --from-beginning --count 10
  samsa consume orders --offset -5 --partition 0     # last 5 records of partition 0
  samsa consume orders --from-timestamp 2024-05-01T00:00:00Z -o json | jq .value
  samsa consume orders --from-beginning --idle-exit 2s --print-key
  samsa consume orders --group audit                 # resume where group audit stopped
  samsa consume payments --isolation read_committed  # skip open and aborted transactions
  samsa consume orders --from-beginning --value-format avro`,
		Args: argsBetween(1, 1, "topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConsume(cmd, args[0], &o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the log start of each partition (same as --offset earliest)")
	fs.StringVar(&o.offset, "offset", "latest", "where to start: earliest, latest, N (absolute) or -N (last N per partition)")
	fs.StringVar(&o.fromTimestamp, "from-timestamp", "", "start at the first record at or after this time: Unix milliseconds or RFC 3339")
	fs.Int32SliceVarP(&o.partitions, "partition", "p", nil, "consume only these partitions (repeatable or comma-separated)")
	fs.IntVarP(&o.count, "count", "c", 0, "exit after this many records (0: no limit)")
	fs.DurationVar(&o.idleExit, "idle-exit", 0, "exit when no record arrived for this long (0: never)")
	fs.StringVarP(&o.format, "format", "o", "text", "output format: text or json")
	fs.BoolVar(&o.printKey, "print-key", false, "text format: print the key before the value")
	fs.StringVar(&o.keySep, "key-separator", "\t", "text format: what to print between key and value")
	fs.StringVarP(&o.group, "group", "g", "", "join this consumer group and commit offsets")
	fs.StringVar(&o.isolation, "isolation", "read_uncommitted",
		"read_uncommitted (every record) or read_committed (only records of committed transactions)")
	fs.StringVar(&o.isolation, "isolation-level", "read_uncommitted", "same as --isolation (kafka-console-consumer.sh's name)")
	fs.BoolVar(&o.readCommitted, "read-committed", false, "same as --isolation read_committed")
	_ = fs.MarkHidden("isolation-level")
	_ = fs.MarkDeprecated("read-committed", "use --isolation read_committed")
	o.serde.register(fs, false)
	o.cf.register(fs)
	return cmd
}

// startOffset turns --from-beginning, --offset and --from-timestamp into
// where each partition starts.
func (o *consumeOptions) startOffset(cmd *cobra.Command) (kgo.Offset, error) {
	offsetSet := cmd.Flags().Changed("offset")
	n := 0
	for _, set := range []bool{o.fromBeginning, offsetSet, o.fromTimestamp != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return kgo.Offset{}, usagef("--from-beginning, --offset and --from-timestamp exclude each other")
	}
	switch {
	case o.fromBeginning:
		return kgo.NewOffset().AtStart(), nil
	case o.fromTimestamp != "":
		ms, err := parseTimestamp(o.fromTimestamp)
		if err != nil {
			return kgo.Offset{}, err
		}
		return kgo.NewOffset().AfterMilli(ms), nil
	}
	switch v := strings.ToLower(strings.TrimSpace(o.offset)); v {
	case "earliest", "beginning", "start":
		return kgo.NewOffset().AtStart(), nil
	case "latest", "end":
		return kgo.NewOffset().AtEnd(), nil
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return kgo.Offset{}, usagef("--offset %q: want earliest, latest, N or -N", o.offset)
		}
		if n < 0 {
			return kgo.NewOffset().AtEnd().Relative(n), nil
		}
		return kgo.NewOffset().At(n), nil
	}
}

// isolationLevel turns --isolation (and the deprecated --read-committed)
// into a kgo isolation level.
func (o *consumeOptions) isolationLevel(cmd *cobra.Command) (kgo.IsolationLevel, error) {
	fs := cmd.Flags()
	if fs.Changed("isolation") && fs.Changed("isolation-level") {
		return kgo.IsolationLevel{}, usagef("--isolation and --isolation-level are the same flag; give one")
	}
	name := "--isolation"
	if fs.Changed("isolation-level") {
		name = "--isolation-level"
	}
	var committed bool
	switch strings.ToLower(strings.TrimSpace(o.isolation)) {
	case "read_uncommitted":
	case "read_committed":
		committed = true
	default:
		return kgo.IsolationLevel{}, usagef("%s %q: want read_uncommitted or read_committed", name, o.isolation)
	}
	if o.readCommitted {
		if fs.Changed(name[2:]) && !committed {
			return kgo.IsolationLevel{}, usagef("--read-committed and %s %s contradict each other", name, o.isolation)
		}
		committed = true
	}
	if committed {
		return kgo.ReadCommitted(), nil
	}
	return kgo.ReadUncommitted(), nil
}

// parseTimestamp reads Unix milliseconds or an RFC 3339 time.
func parseTimestamp(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 {
			return 0, usagef("--from-timestamp %q: must not be negative", s)
		}
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, usagef("--from-timestamp %q: want Unix milliseconds or RFC 3339 like 2024-05-01T12:00:00Z", s)
	}
	return t.UnixMilli(), nil
}

func runConsume(cmd *cobra.Command, topic string, o *consumeOptions) error {
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	start, err := o.startOffset(cmd)
	if err != nil {
		return err
	}
	isolation, err := o.isolationLevel(cmd)
	if err != nil {
		return err
	}
	if o.count < 0 {
		return usagef("--count must not be negative")
	}
	if o.idleExit < 0 {
		return usagef("--idle-exit must not be negative")
	}
	if o.group != "" && len(o.partitions) > 0 {
		return usagef("--partition and --group exclude each other: a group assigns partitions itself")
	}
	for _, p := range o.partitions {
		if p < 0 {
			return usagef("--partition must be 0 or more, got %d", p)
		}
	}
	if o.deser, err = o.serde.deserializer(o.cf.timeout); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := []kgo.Opt{kgo.ConsumeResetOffset(start), kgo.FetchIsolationLevel(isolation)}
	switch {
	case o.group != "":
		opts = append(opts, kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(topic), kgo.AutoCommitMarks())
	case len(o.partitions) > 0:
		m := make(map[int32]kgo.Offset, len(o.partitions))
		for _, p := range o.partitions {
			m[p] = start
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: m}))
	default:
		opts = append(opts, kgo.ConsumeTopics(topic))
	}
	cl, err := o.cf.connect(ctx, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	nparts, err := topicPartitions(ctx, &o.cf, kadm.NewClient(cl), topic)
	if err != nil {
		return err
	}
	for _, p := range o.partitions {
		if int(p) >= nparts {
			return fmt.Errorf("topic %q has %d partition%s; there is no partition %d", topic, nparts, plural(nparts), p)
		}
	}

	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	stderr := cmd.ErrOrStderr()
	printed := 0
	var runErr error
loop:
	for o.count == 0 || printed < o.count {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if o.idleExit > 0 {
			pctx, cancel = context.WithTimeout(ctx, o.idleExit)
		}
		max := 0
		if o.count > 0 {
			max = o.count - printed
		}
		fetches := cl.PollRecords(pctx, max)
		idle := pctx.Err() != nil
		cancel()
		if fetches.IsClientClosed() {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || runErr != nil {
				return
			}
			if kerr.IsRetriable(err) {
				fmt.Fprintf(stderr, "samsa: partition %d: %v (retrying)\n", p, err)
				return
			}
			runErr = fmt.Errorf("partition %d: %w", p, topicErr(t, err, ""))
		})
		n := 0
		var werr error
		fetches.EachRecord(func(r *kgo.Record) {
			if werr != nil || runErr != nil {
				return
			}
			if o.deser != nil {
				if runErr = o.deser.decodeRecord(ctx, r); runErr != nil {
					return
				}
			}
			werr = o.writeRecord(out, r)
			if werr == nil {
				n++
				if o.group != "" {
					cl.MarkCommitRecords(r)
				}
			}
		})
		printed += n
		if err := out.Flush(); err != nil && werr == nil {
			werr = err
		}
		switch {
		case werr != nil:
			runErr = fmt.Errorf("write output: %w", werr)
			break loop
		case runErr != nil, ctx.Err() != nil:
			break loop
		case idle && n == 0:
			break loop
		}
	}
	if o.group != "" {
		cctx, cancel := context.WithTimeout(context.Background(), o.cf.timeout)
		defer cancel()
		if err := cl.CommitMarkedOffsets(cctx); err != nil && runErr == nil {
			runErr = o.cf.requestErr(fmt.Sprintf("commit offsets of group %q", o.group), err)
		}
	}
	return runErr
}

// jsonRecord is one line of `consume --format json`.
type jsonRecord struct {
	Topic         string       `json:"topic"`
	Partition     int32        `json:"partition"`
	Offset        int64        `json:"offset"`
	Timestamp     int64        `json:"timestamp"`
	Key           *string      `json:"key"`
	KeyEncoding   string       `json:"key_encoding,omitempty"`
	Value         *string      `json:"value"`
	ValueEncoding string       `json:"value_encoding,omitempty"`
	Headers       []jsonHeader `json:"headers"`
}

type jsonHeader struct {
	Key           string  `json:"key"`
	Value         *string `json:"value"`
	ValueEncoding string  `json:"value_encoding,omitempty"`
}

// jsonBytes renders b as a JSON string: itself if valid UTF-8, else base64
// with encoding "base64". nil stays nil (Kafka's null).
func jsonBytes(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, "base64"
}

func (o *consumeOptions) writeRecord(w io.Writer, r *kgo.Record) error {
	if o.format == "json" {
		jr := jsonRecord{
			Topic:     r.Topic,
			Partition: r.Partition,
			Offset:    r.Offset,
			Timestamp: r.Timestamp.UnixMilli(),
			Headers:   make([]jsonHeader, 0, len(r.Headers)),
		}
		jr.Key, jr.KeyEncoding = jsonBytes(r.Key)
		jr.Value, jr.ValueEncoding = jsonBytes(r.Value)
		for _, h := range r.Headers {
			jh := jsonHeader{Key: h.Key}
			jh.Value, jh.ValueEncoding = jsonBytes(h.Value)
			jr.Headers = append(jr.Headers, jh)
		}
		if o.deser != nil {
			return writeJSON(w, embedDecoded(jr, r, o.deser))
		}
		return writeJSON(w, jr)
	}
	if o.printKey {
		if _, err := w.Write(r.Key); err != nil {
			return err
		}
		if _, err := io.WriteString(w, o.keySep); err != nil {
			return err
		}
	}
	if _, err := w.Write(r.Value); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// jsonDecodedRecord is a jsonRecord whose key and value are embedded JSON:
// what --key-format and --value-format decoded, else the JSON string (or
// null) jsonRecord has.
type jsonDecodedRecord struct {
	Topic         string          `json:"topic"`
	Partition     int32           `json:"partition"`
	Offset        int64           `json:"offset"`
	Timestamp     int64           `json:"timestamp"`
	Key           json.RawMessage `json:"key"`
	KeyEncoding   string          `json:"key_encoding,omitempty"`
	Value         json.RawMessage `json:"value"`
	ValueEncoding string          `json:"value_encoding,omitempty"`
	Headers       []jsonHeader    `json:"headers"`
}

func embedDecoded(jr jsonRecord, r *kgo.Record, d *deserializer) jsonDecodedRecord {
	field := func(b []byte, s *string, decoded bool) json.RawMessage {
		if decoded || b == nil {
			return b // nil is null
		}
		raw, _ := json.Marshal(s)
		return raw
	}
	return jsonDecodedRecord{
		Topic: jr.Topic, Partition: jr.Partition, Offset: jr.Offset, Timestamp: jr.Timestamp,
		Key: field(r.Key, jr.Key, d.key != formatString), KeyEncoding: jr.KeyEncoding,
		Value: field(r.Value, jr.Value, d.value != formatString), ValueEncoding: jr.ValueEncoding,
		Headers: jr.Headers,
	}
}
