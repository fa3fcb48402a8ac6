package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// samsa produce: one record per input line, like kcat -P or
// kafka-console-producer.sh.

func init() { commands = append(commands, newProduceCmd) }

// maxErrorLines caps how many failed records produce reports one by one.
const maxErrorLines = 20

type produceOptions struct {
	cf          clientFlags
	file        string
	keySep      string
	headers     []string
	partition   int32
	compression string
	acks        string
	idempotent  bool
	linger      time.Duration
	maxLine     int
	serde       serdeFlags
}

func newProduceCmd() *cobra.Command {
	var o produceOptions
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Write records to a topic, one per line of input",
		Long: `Read lines from stdin (or --file) and produce each line as one record. The
trailing newline is not part of the record; an empty line is an empty value.

With --key-separator, each line is split at the first separator into key and
value; a line without the separator is a value with a null key. Keyed records
go to the partition Kafka's Java client would choose (murmur2 of the key),
unkeyed records are spread in sticky batches; --partition overrides both.

At the end a summary (records, bytes, time) goes to stderr, and each failed
record is reported there with its line number. The exit status is 1 if any
record failed.

--value-format avro, json-schema or protobuf reads each line (each value,
with --key-separator) as one JSON document, checks it against a schema and
writes it in the Schema Registry's wire format, as
kafka-avro-console-producer does. The schema is --value-schema FILE, looked
up under the subject TOPIC-value and registered there if it is not yet, or
--value-schema-id N; --key-format, --key-schema and --key-schema-id do the
same for keys (a line without the separator has a null key). Avro input is
Avro's JSON encoding: a union value is null or {"type": value}. A line that
is not JSON or does not match the schema stops produce with exit status 1:
nothing is produced for it or after it, the lines before it are sent.

References of --value-schema FILE (--key-schema likewise):
  --value-refs '[{"name":"N","subject":"S","version":V}]' gives references
  to schemas already registered, as the value.refs property of Confluent's
  console producers does (V -1 or left out: the subject's latest version).
  Any other name the schema uses is looked for next to FILE and that file
  is registered first (its own references too), as Confluent's serializers
  register references, under the reference name as subject:
    protobuf     import "common/money.proto": the file common/money.proto
                 in FILE's directory, subject common/money.proto (imports
                 of google/protobuf/ are built in, not references);
    json-schema  "$ref": "address.json#/...": the file address.json in
                 FILE's directory, subject address.json (every file's
                 $refs are paths relative to FILE's directory);
    avro         a named type the schema uses but does not define, say
                 shop.Customer: the .avsc file in FILE's directory that
                 defines it at its top level, subject shop.Customer.
  A file already registered under its subject is looked up, not
  registered again; a name found nowhere is an error.

--value-message NAME (protobuf) writes the message NAME instead of the
file's first message, by full name (shop.Order.Line) or, when only one
message has it, simple name (Line); the record carries that message's
indexes after the schema id, as Confluent's Protobuf serializer writes
them. An unknown NAME is an error listing the schema's messages.`,
		Example: `  echo hello | samsa produce orders
  printf 'k1:v1\nk2:v2\n' | samsa produce orders --key-separator :
  samsa produce orders --file events.txt --compression zstd --header source=import
  samsa produce orders --partition 0 --acks 1 < lines.txt
  samsa produce orders --value-format avro --value-schema order.avsc < orders.jsonl
  samsa produce orders -K '|' --key-format avro --key-schema-id 3 --value-format json-schema --value-schema-id 4
  samsa produce orders --value-format protobuf --value-schema order.proto --value-message shop.Order.Line < lines.jsonl
  samsa produce orders --value-format avro --value-schema order.avsc \
      --value-refs '[{"name":"shop.Customer","subject":"customer-value","version":-1}]' < orders.jsonl`,
		Args: argsBetween(1, 1, "topic name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProduce(cmd, args[0], &o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.file, "file", "f", "", "read lines from this file instead of stdin")
	fs.StringVarP(&o.keySep, "key-separator", "K", "", "split each line into key and value at the first occurrence of this string")
	fs.StringArrayVarP(&o.headers, "header", "H", nil, "add this header, as key=value, to every record (repeatable)")
	fs.Int32VarP(&o.partition, "partition", "p", -1, "write every record to this partition (-1: choose by key)")
	fs.StringVarP(&o.compression, "compression", "z", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.StringVar(&o.acks, "acks", "all", "acknowledgements to wait for: 0, 1 or all")
	fs.BoolVar(&o.idempotent, "idempotent", true, "idempotent producer (no duplicates on retry); needs --acks all, off otherwise")
	fs.DurationVar(&o.linger, "linger", 10*time.Millisecond, "how long to wait to fill a batch before sending it")
	fs.IntVar(&o.maxLine, "max-line-bytes", 16<<20, "longest input line accepted")
	o.serde.register(fs, true)
	o.cf.register(fs)
	return cmd
}

// partitionerOpt is the partitioner produce uses: records with a partition
// set go there, keyed records go where Java's default partitioner sends
// them (murmur2 of the key, masked positive, modulo the partition count),
// and unkeyed ones stick to one partition per batch (KIP-480).
func partitionerOpt(manual bool) kgo.Opt {
	if manual {
		return kgo.RecordPartitioner(kgo.ManualPartitioner())
	}
	return kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil))
}

func runProduce(cmd *cobra.Command, topic string, o *produceOptions) error {
	codec, err := compressionCodec(o.compression)
	if err != nil {
		return err
	}
	opts, err := ackOpts(o.acks, o.idempotent, cmd.Flags().Changed("idempotent"))
	if err != nil {
		return err
	}
	if o.partition < -1 {
		return usagef("--partition must be 0 or more, got %d", o.partition)
	}
	if o.linger < 0 {
		return usagef("--linger must not be negative")
	}
	if o.maxLine <= 0 {
		return usagef("--max-line-bytes must be positive")
	}
	var headers []kgo.RecordHeader
	for _, h := range o.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return usagef("--header %q: want key=value", h)
		}
		headers = append(headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	in := cmd.InOrStdin()
	if o.file != "" && o.file != "-" {
		f, err := os.Open(o.file)
		if err != nil {
			return fmt.Errorf("open --file: %w", err)
		}
		defer f.Close()
		in = f
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts = append(opts,
		kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(o.linger),
		kgo.RecordDeliveryTimeout(o.cf.timeout),
		kgo.UnknownTopicRetries(2),
		kgo.ProducerBatchMaxBytes(16<<20),
		partitionerOpt(o.partition >= 0),
	)
	cl, err := o.cf.connect(ctx, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	// Check the topic first: one clear error beats one per record.
	nparts, err := topicPartitions(ctx, &o.cf, kadm.NewClient(cl), topic)
	if err != nil {
		return err
	}
	if int(o.partition) >= nparts {
		return fmt.Errorf("topic %q has %d partition%s; there is no partition %d", topic, nparts, plural(nparts), o.partition)
	}
	if o.serde.key.format != formatString && o.keySep == "" {
		return usagef("--key-format %s needs --key-separator to find the key in each line", o.serde.key.format)
	}
	keySer, valueSer, err := o.serde.serializers(ctx, topic, o.cf.timeout)
	if err != nil {
		return err
	}

	var (
		stderr             = cmd.ErrOrStderr()
		mu                 sync.Mutex // guards stderr and firstErr between promises
		firstErr           error
		produced, failed   atomic.Int64
		producedBytes      atomic.Int64
		lines              int64
		start              = time.Now()
		sep                = []byte(o.keySep)
		partition          = o.partition
		errLinesSuppressed bool
	)
	// lineOf carries a record's line number into its promise.
	type lineKey struct{}
	promise := func(r *kgo.Record, err error) {
		if err == nil {
			produced.Add(1)
			producedBytes.Add(int64(len(r.Key) + len(r.Value)))
			return
		}
		n := failed.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
		if n <= maxErrorLines {
			fmt.Fprintf(stderr, "samsa: line %d: %s\n", r.Context.Value(lineKey{}), produceErrText(topic, err))
		} else if !errLinesSuppressed {
			errLinesSuppressed = true
			fmt.Fprintf(stderr, "samsa: further failed records are counted but not listed\n")
		}
	}

	br := bufio.NewReaderSize(in, 64<<10)
	var readErr error
	for ctx.Err() == nil {
		line, err := readLine(br, o.maxLine)
		if err == io.EOF {
			break
		}
		lines++
		if err != nil {
			readErr = err
			break
		}
		r := &kgo.Record{Value: line, Partition: partition, Headers: headers}
		if len(sep) > 0 {
			if k, v, ok := bytes.Cut(line, sep); ok {
				r.Key, r.Value = k, v
			}
		}
		if err := encodeRecord(keySer, valueSer, r); err != nil {
			readErr = err
			break
		}
		r.Context = context.WithValue(ctx, lineKey{}, lines)
		cl.Produce(ctx, r, promise)
	}
	if readErr != nil {
		readErr = fmt.Errorf("line %d: %w", lines, readErr)
	}
	flushErr := cl.Flush(ctx)

	elapsed := time.Since(start)
	fmt.Fprintf(stderr, "samsa: produced %d record%s (%s) to %q in %v",
		produced.Load(), plural(int(produced.Load())), humanBytes(producedBytes.Load()), topic, elapsed.Round(time.Millisecond))
	if n := failed.Load(); n > 0 {
		fmt.Fprintf(stderr, ", %d failed", n)
	}
	if o.acks == "0" {
		fmt.Fprint(stderr, " (acks=0: not confirmed by the broker)")
	}
	fmt.Fprintln(stderr)

	switch {
	case readErr != nil:
		return readErr
	case failed.Load() > 0:
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("%d of %d records failed; first: %s", failed.Load(), lines, produceErrText(topic, firstErr))
	case flushErr != nil || ctx.Err() != nil:
		return fmt.Errorf("interrupted before all records were acknowledged")
	}
	return nil
}

// produceErrText explains a produce failure in one line.
func produceErrText(topic string, err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	if errors.Is(err, kgo.ErrRecordTimeout) {
		return "not acknowledged before --timeout: " + oneLine(err.Error())
	}
	return topicErr(topic, err, "").Error()
}

// readLine returns the next line without its "\n", or io.EOF when input ends.
// A last line without a newline still counts. The returned slice is owned by
// the caller.
func readLine(br *bufio.Reader, maxLen int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > maxLen+1 {
			return nil, fmt.Errorf("longer than --max-line-bytes=%d", maxLen)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}

// humanBytes prints n bytes with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB"} {
		f /= unit
		if f < unit {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f TiB", f/unit)
}
