package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// samsa bench: load generators in the spirit of kafka-producer-perf-test.sh
// and kafka-consumer-perf-test.sh. They print progress to stderr every second
// and a summary to stdout at the end. Throughput is in MiB (2^20 bytes).

func init() { commands = append(commands, newBenchCmd) }

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure produce and consume throughput and latency",
		Long: `Load generators for samsa or any Kafka cluster. Each run is bounded by
--records or --duration, prints progress to stderr every second and a summary
to stdout (JSON with --format json).`,
		Example: `  samsa bench produce --topic bench --partitions 6 --records 1000000
  samsa bench produce --topic bench --duration 30s --rate 50000 --compression lz4
  samsa bench consume --topic bench --records 1000000`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(newBenchProduceCmd(), newBenchConsumeCmd())
	return cmd
}

// benchSummary is the final report of a bench run; --format json prints it.
type benchSummary struct {
	Test          string          `json:"test"`
	Topic         string          `json:"topic"`
	Records       int64           `json:"records"`
	Errors        int64           `json:"errors"`
	Bytes         int64           `json:"bytes"`
	Seconds       float64         `json:"seconds"`
	RecordsPerSec float64         `json:"records_per_sec"`
	MiBPerSec     float64         `json:"mib_per_sec"`
	Latency       *latencySummary `json:"latency_ms,omitempty"`

	// Transactional produce only: records counts committed records, and
	// commit latency is Flush plus EndTransaction of each transaction.
	Transactional      bool            `json:"transactional,omitempty"`
	Transactions       int64           `json:"transactions,omitempty"`
	TransactionsPerSec float64         `json:"transactions_per_sec,omitempty"`
	CommitLatency      *latencySummary `json:"commit_latency_ms,omitempty"`
}

// latencySummary is produce latency, send to acknowledgement, in ms.
type latencySummary struct {
	Avg  float64 `json:"avg"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

func (s *benchSummary) finish(records, errs, bytes int64, elapsed time.Duration) {
	s.Records, s.Errors, s.Bytes = records, errs, bytes
	secs := elapsed.Seconds()
	round := func(f float64) float64 { return math.Round(f*1000) / 1000 }
	s.Seconds = round(secs)
	if secs > 0 {
		s.RecordsPerSec = round(float64(records) / secs)
		s.MiBPerSec = round(float64(bytes) / (1 << 20) / secs)
	}
}

func (s *benchSummary) print(w io.Writer, format string) error {
	if format == "json" {
		return writeJSON(w, s)
	}
	verb := "sent"
	if s.Test == "consume" {
		verb = "received"
	}
	fmt.Fprintf(w, "%d records %s (%.2f MiB) in %.2fs: %.1f records/s, %.2f MiB/s",
		s.Records, verb, float64(s.Bytes)/(1<<20), s.Seconds, s.RecordsPerSec, s.MiBPerSec)
	if s.Transactional {
		fmt.Fprintf(w, ", %d transactions committed: %.1f transactions/s", s.Transactions, s.TransactionsPerSec)
	}
	if s.Errors > 0 {
		fmt.Fprintf(w, ", %d errors", s.Errors)
	}
	if l := s.Latency; l != nil {
		fmt.Fprintf(w, "\nlatency ms: avg %.2f, p50 %.2f, p99 %.2f, p99.9 %.2f, max %.2f",
			l.Avg, l.P50, l.P99, l.P999, l.Max)
	}
	if l := s.CommitLatency; l != nil {
		fmt.Fprintf(w, "\ncommit latency ms: avg %.2f, p50 %.2f, p99 %.2f, p99.9 %.2f, max %.2f",
			l.Avg, l.P50, l.P99, l.P999, l.Max)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// progress prints records/s and MiB/s to w every second until stop is
// called. records and bytes are read atomically from the running test.
func progress(w io.Writer, records, bytes *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastBytes, lastAt := int64(0), int64(0), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				n, b := records.Load(), bytes.Load()
				secs := now.Sub(lastAt).Seconds()
				fmt.Fprintf(w, "samsa bench: %.0f records/s, %.2f MiB/s, %d records total\n",
					float64(n-last)/secs, float64(b-lastBytes)/(1<<20)/secs, n)
				last, lastBytes, lastAt = n, b, now
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// benchBounds checks that a run is bounded.
func benchBounds(records int64, duration time.Duration) error {
	if records < 0 || duration < 0 {
		return usagef("--records and --duration must not be negative")
	}
	if records == 0 && duration == 0 {
		return usagef("say how long to run: --records N or --duration D")
	}
	return nil
}

type benchProduceOptions struct {
	cf            clientFlags
	topic         string
	records       int64
	duration      time.Duration
	recordSize    int
	partitions    int32
	acks          string
	idempotent    bool
	compression   string
	linger        time.Duration
	rate          float64
	batchMaxBytes int32
	maxBuffered   int
	format        string
	transactional bool
	txnRecords    int
	txnID         string
}

func newBenchProduceCmd() *cobra.Command {
	var o benchProduceOptions
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Produce fixed-size records as fast as allowed and measure latency",
		Long: `Produce unkeyed records of --record-size random letters (the letters make
compression realistic rather than trivial) to --topic, for --records records or
--duration, whichever comes first. The topic is created if missing, with
--partitions partitions (broker default if not given).

Latency is from handing the record to the client until its acknowledgement,
so it includes batching (--linger) and queueing. The summary reports records,
MiB, records/s, MiB/s and latency percentiles; --format json prints:

  {"test":"produce","topic":"t","records":N,"errors":0,"bytes":B,"seconds":S,
   "records_per_sec":R,"mib_per_sec":M,
   "latency_ms":{"avg":..,"p50":..,"p99":..,"p999":..,"max":..}}

--transactional produces in transactions of --txn-records records each with
a transactional producer (--transactional-id, default samsa-bench-TOPIC; two
runs with the same id fence each other): begin, produce the records, flush,
commit. records and bytes then count committed records only (a transaction
that fails to commit counts its records as errors), latency is still from
handing a record to the client until the broker acknowledged it (not its
commit), and the summary adds "transactional":true, "transactions",
"transactions_per_sec" and "commit_latency_ms" (flush plus EndTransaction,
per transaction).`,
		Example: `  samsa bench produce --topic bench --records 1000000
  samsa bench produce --topic bench --partitions 12 --duration 1m --record-size 100 --compression lz4
  samsa bench produce --topic bench --records 100000 --rate 10000 --acks 1 --format json
  samsa bench produce --topic bench --records 1000000 --transactional --txn-records 100`,
		Args: argsBetween(0, 0, "no arguments (the topic is --topic)"),
		RunE: func(cmd *cobra.Command, args []string) error { return runBenchProduce(cmd, &o) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.topic, "topic", "t", "", "topic to write to (required)")
	fs.Int64VarP(&o.records, "records", "n", 0, "stop after this many records")
	fs.DurationVarP(&o.duration, "duration", "d", 0, "stop after this long")
	fs.IntVarP(&o.recordSize, "record-size", "s", 1024, "value size in bytes")
	fs.Int32VarP(&o.partitions, "partitions", "p", -1, "partitions when creating a missing topic (-1: broker default)")
	fs.StringVar(&o.acks, "acks", "all", "acknowledgements to wait for: 0, 1 or all")
	fs.BoolVar(&o.idempotent, "idempotent", true, "idempotent producer; needs --acks all, off otherwise")
	fs.StringVarP(&o.compression, "compression", "z", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.DurationVar(&o.linger, "linger", 5*time.Millisecond, "how long to wait to fill a batch")
	fs.Float64Var(&o.rate, "rate", 0, "records per second to aim for (0: as fast as possible)")
	fs.Int32Var(&o.batchMaxBytes, "batch-max-bytes", 1000012, "largest record batch to build (Kafka's max.message.bytes default)")
	fs.IntVar(&o.maxBuffered, "max-buffered", 100000, "records in flight at most (buffered plus unacknowledged)")
	fs.StringVarP(&o.format, "format", "o", "text", "summary format: text or json")
	fs.BoolVar(&o.transactional, "transactional", false, "produce in transactions of --txn-records records, each committed")
	fs.IntVar(&o.txnRecords, "txn-records", 100, "with --transactional: records per transaction")
	fs.StringVar(&o.txnID, "transactional-id", "", "with --transactional: the producer's transactional.id (default samsa-bench-TOPIC)")
	o.cf.register(fs)
	return cmd
}

// txnOpts checks the transactional flags and returns the client options
// they need.
func (o *benchProduceOptions) txnOpts(cmd *cobra.Command) ([]kgo.Opt, error) {
	fs := cmd.Flags()
	if !o.transactional {
		for _, f := range []string{"txn-records", "transactional-id"} {
			if fs.Changed(f) {
				return nil, usagef("--%s needs --transactional", f)
			}
		}
		return nil, nil
	}
	switch {
	case o.txnRecords < 1:
		return nil, usagef("--txn-records must be positive, got %d", o.txnRecords)
	case !o.idempotent:
		return nil, usagef("--transactional needs an idempotent producer; drop --idempotent=false")
	}
	if a := strings.ToLower(o.acks); a != "all" && a != "-1" {
		return nil, usagef("--transactional needs --acks all")
	}
	id := o.txnID
	if id == "" {
		id = "samsa-bench-" + o.topic
	}
	return []kgo.Opt{kgo.TransactionalID(id)}, nil
}

func runBenchProduce(cmd *cobra.Command, o *benchProduceOptions) error {
	if o.topic == "" {
		return usagef("--topic is required (see '%s --help')", cmd.CommandPath())
	}
	if err := benchBounds(o.records, o.duration); err != nil {
		return err
	}
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	codec, err := compressionCodec(o.compression)
	if err != nil {
		return err
	}
	opts, err := ackOpts(o.acks, o.idempotent, cmd.Flags().Changed("idempotent"))
	if err != nil {
		return err
	}
	txnOpts, err := o.txnOpts(cmd)
	if err != nil {
		return err
	}
	opts = append(opts, txnOpts...)
	switch {
	case o.recordSize < 0:
		return usagef("--record-size must not be negative")
	case o.rate < 0:
		return usagef("--rate must not be negative")
	case o.batchMaxBytes < 1024:
		return usagef("--batch-max-bytes must be at least 1024")
	case o.maxBuffered < 1:
		return usagef("--max-buffered must be positive")
	case o.linger < 0:
		return usagef("--linger must not be negative")
	case o.partitions == 0 || o.partitions < -1:
		return usagef("--partitions must be positive")
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	inflight := o.maxBuffered
	if o.records > 0 && o.records < int64(inflight) {
		inflight = int(o.records)
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(o.topic),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(o.linger),
		kgo.ProducerBatchMaxBytes(o.batchMaxBytes),
		kgo.MaxBufferedRecords(inflight),
	)
	cl, err := o.cf.connect(ctx, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := ensureTopic(ctx, &o.cf, kadm.NewClient(cl), o.topic, o.partitions, cmd.ErrOrStderr()); err != nil {
		return err
	}

	// Every record and its payload exist before the clock starts: a record
	// goes back to the pool when its promise runs, and values are windows
	// into one buffer of random letters.
	const window = 4096
	payload := make([]byte, o.recordSize+window)
	for i := range payload {
		payload[i] = 'A' + byte(rand.IntN(26))
	}
	recs := make([]kgo.Record, inflight)
	pool := make(chan *kgo.Record, inflight)
	for i := range recs {
		pool <- &recs[i]
	}

	var (
		hist          latencyHist
		acked, failed atomic.Int64
		ackedBytes    atomic.Int64
		firstErr      atomic.Pointer[error]
		// A transaction's acknowledged records count once it commits;
		// until then the promises count them here.
		pending, pendingBytes atomic.Int64
	)
	done, doneBytes := &acked, &ackedBytes
	if o.transactional {
		done, doneBytes = &pending, &pendingBytes
	}
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, &err)
		} else {
			hist.record(time.Since(r.Timestamp))
			doneBytes.Add(int64(len(r.Value)))
			done.Add(1)
		}
		pool <- r
	}

	// endTxn flushes and commits the open transaction. A failure counts
	// its acknowledged records as errors and ends the run.
	var (
		commitHist latencyHist
		txns       int64
		inTxn      int
		txnErr     error
	)
	endTxn := func() bool {
		inTxn = 0
		t0 := time.Now()
		ectx, cancel := context.WithTimeout(context.Background(), o.cf.timeout)
		defer cancel()
		err := cl.Flush(ectx)
		if err == nil {
			err = cl.EndTransaction(ectx, kgo.TryCommit)
		}
		n, b := pending.Swap(0), pendingBytes.Swap(0)
		if err != nil {
			failed.Add(n)
			txnErr = err
			return false
		}
		commitHist.record(time.Since(t0))
		txns++
		ackedBytes.Add(b)
		acked.Add(n)
		return true
	}

	stderr := cmd.ErrOrStderr()
	stopProgress := progress(stderr, &acked, &ackedBytes)
	start := time.Now()
	var deadline time.Time
	if o.duration > 0 {
		deadline = start.Add(o.duration)
	}
	var interval time.Duration
	if o.rate > 0 {
		interval = time.Duration(float64(time.Second) / o.rate)
	}
	rng := rand.New(rand.NewPCG(1, 2))
produce:
	for i := int64(0); o.records == 0 || i < o.records; i++ {
		if (i&255 == 0 || interval > 0) && !deadline.IsZero() && time.Now().After(deadline) {
			break
		}
		if interval > 0 {
			if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > time.Millisecond {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					break produce
				}
			}
		}
		var r *kgo.Record
		select {
		case r = <-pool:
		case <-ctx.Done():
			break produce
		}
		if o.transactional && inTxn == 0 {
			if err := cl.BeginTransaction(); err != nil {
				txnErr = err
				break
			}
		}
		off := rng.IntN(window)
		*r = kgo.Record{Value: payload[off : off+o.recordSize : off+o.recordSize]}
		cl.Produce(ctx, r, promise)
		if o.transactional {
			if inTxn++; inTxn == o.txnRecords && !endTxn() {
				break
			}
		}
	}
	if o.transactional && inTxn > 0 && txnErr == nil {
		endTxn()
	}
	if txnErr != nil {
		// Abort what is left open, so it does not hold back
		// read_committed readers until the transaction times out.
		actx, cancel := context.WithTimeout(context.Background(), o.cf.timeout)
		if err := cl.AbortBufferedRecords(actx); err == nil {
			_ = cl.EndTransaction(actx, kgo.TryAbort)
		}
		cancel()
	}
	// Wait for what was sent even after Ctrl-C, so the summary is true.
	fctx, cancel := context.WithTimeout(context.Background(), o.cf.timeout)
	flushErr := cl.Flush(fctx)
	cancel()
	elapsed := time.Since(start)
	stopProgress()

	s := benchSummary{Test: "produce", Topic: o.topic}
	s.finish(acked.Load(), failed.Load(), ackedBytes.Load(), elapsed)
	s.Latency = hist.summary()
	if o.transactional {
		s.Transactional, s.Transactions = true, txns
		if secs := elapsed.Seconds(); secs > 0 {
			s.TransactionsPerSec = math.Round(float64(txns)/secs*1000) / 1000
		}
		s.CommitLatency = commitHist.summary()
	}
	if err := s.print(cmd.OutOrStdout(), o.format); err != nil {
		return err
	}
	if p := firstErr.Load(); p != nil {
		return fmt.Errorf("%d records failed; first: %s", failed.Load(), produceErrText(o.topic, *p))
	}
	if txnErr != nil {
		return fmt.Errorf("transaction %d failed after %d committed: %s", txns+1, txns, txnErrText(txnErr))
	}
	if flushErr != nil {
		return fmt.Errorf("records still unacknowledged after --timeout %v", o.cf.timeout)
	}
	return nil
}

// txnErrText describes why beginning or committing a transaction failed.
func txnErrText(err error) string {
	var ke *kerr.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "not committed before --timeout"
	case errors.As(err, &ke):
		return fmt.Sprintf("%s (%s)", kerrPhrase(ke), ke.Message)
	}
	return oneLine(err.Error())
}

// ensureTopic creates topic with partitions (-1: broker default) unless it
// exists; a topic created meanwhile by someone else is fine too.
func ensureTopic(ctx context.Context, cf *clientFlags, adm *kadm.Client, topic string, partitions int32, stderr io.Writer) error {
	n, err := topicPartitions(ctx, cf, adm, topic)
	if err == nil {
		if partitions > 0 && int32(n) != partitions {
			fmt.Fprintf(stderr, "samsa bench: topic %q exists with %d partitions; using it as is\n", topic, n)
		}
		return nil
	}
	resps, cerr := adm.CreateTopics(ctx, partitions, -1, nil, topic)
	if cerr != nil {
		return cf.requestErr("create topic", cerr)
	}
	if r := resps[topic]; r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
		return topicErr(topic, r.Err, r.ErrMessage)
	}
	return nil
}

type benchConsumeOptions struct {
	cf       clientFlags
	topic    string
	records  int64
	duration time.Duration
	idleExit time.Duration
	format   string
}

func newBenchConsumeCmd() *cobra.Command {
	var o benchConsumeOptions
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Read a topic from the beginning as fast as possible",
		Long: `Read every partition of --topic from its log start offset, with direct
partition assignment (no consumer group), until --records records have
arrived or --duration has passed. If nothing arrives for --idle-exit the run
ends early and fails. Bytes count keys and values. --format json prints:

  {"test":"consume","topic":"t","records":N,"errors":0,"bytes":B,"seconds":S,
   "records_per_sec":R,"mib_per_sec":M}`,
		Example: `  samsa bench consume --topic bench --records 1000000
  samsa bench consume --topic bench --duration 10s --format json`,
		Args: argsBetween(0, 0, "no arguments (the topic is --topic)"),
		RunE: func(cmd *cobra.Command, args []string) error { return runBenchConsume(cmd, &o) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.topic, "topic", "t", "", "topic to read (required)")
	fs.Int64VarP(&o.records, "records", "n", 0, "stop after this many records")
	fs.DurationVarP(&o.duration, "duration", "d", 0, "stop after this long")
	fs.DurationVar(&o.idleExit, "idle-exit", 10*time.Second, "give up when nothing arrives for this long")
	fs.StringVarP(&o.format, "format", "o", "text", "summary format: text or json")
	o.cf.register(fs)
	return cmd
}

func runBenchConsume(cmd *cobra.Command, o *benchConsumeOptions) error {
	if o.topic == "" {
		return usagef("--topic is required (see '%s --help')", cmd.CommandPath())
	}
	if err := benchBounds(o.records, o.duration); err != nil {
		return err
	}
	if err := outputFormat(o.format, "text", "json"); err != nil {
		return err
	}
	if o.idleExit <= 0 {
		return usagef("--idle-exit must be positive")
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cl, err := o.cf.connect(ctx,
		kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(64<<20),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := topicPartitions(ctx, &o.cf, kadm.NewClient(cl), o.topic); err != nil {
		return err
	}

	var records, bytes atomic.Int64
	stopProgress := progress(cmd.ErrOrStderr(), &records, &bytes)
	start := time.Now()
	runCtx := ctx
	if o.duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	var runErr error
	for runErr == nil && (o.records == 0 || records.Load() < o.records) {
		pctx, cancel := context.WithTimeout(runCtx, o.idleExit)
		fetches := cl.PollFetches(pctx)
		idle := pctx.Err() != nil && runCtx.Err() == nil
		cancel()
		var n, b int64
		fetches.EachRecord(func(r *kgo.Record) {
			n++
			b += int64(len(r.Key) + len(r.Value))
		})
		records.Add(n)
		bytes.Add(b)
		fetches.EachError(func(t string, p int32, err error) {
			if runErr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && !kerr.IsRetriable(err) {
				runErr = fmt.Errorf("partition %d: %w", p, topicErr(t, err, ""))
			}
		})
		if runCtx.Err() != nil || fetches.IsClientClosed() {
			break
		}
		if idle && n == 0 {
			runErr = fmt.Errorf("no records arrived for %v (--idle-exit) after %d records", o.idleExit, records.Load())
		}
	}
	elapsed := time.Since(start)
	stopProgress()
	s := benchSummary{Test: "consume", Topic: o.topic}
	s.finish(records.Load(), 0, bytes.Load(), elapsed)
	if err := s.print(cmd.OutOrStdout(), o.format); err != nil {
		return err
	}
	return runErr
}

// latencyHist is a fixed-size log-linear histogram of durations in
// nanoseconds, safe for concurrent use and free of allocation. Values below
// 2*histSub land in exact buckets; above that, each power of two is split
// into histSub equal buckets, so a bucket's width is below 1/histSub (under
// 0.8%) of its values. That is the layout HdrHistogram uses with about two
// significant decimal digits.
type latencyHist struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = histSub * (64 - histSubBits + 1)
)

// histIndex maps v to its bucket. Buckets are contiguous: [0, 2*histSub)
// are exact, then bucket (s+1)*histSub+m-histSub holds v with v>>s == m.
func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histUpper is the largest value that lands in bucket i.
func histUpper(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return (m+1)<<shift - 1
}

func (h *latencyHist) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// quantile returns the value at quantile q (0..1): the upper bound of the
// bucket holding it, capped at the largest value recorded.
func (h *latencyHist) quantile(q float64) uint64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(histUpper(i), h.max.Load())
		}
	}
	return h.max.Load()
}

// summary reports the histogram in milliseconds, or nil if it is empty.
func (h *latencyHist) summary() *latencySummary {
	n := h.n.Load()
	if n == 0 {
		return nil
	}
	ms := func(ns uint64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }
	return &latencySummary{
		Avg:  ms(h.sum.Load() / n),
		P50:  ms(h.quantile(0.50)),
		P99:  ms(h.quantile(0.99)),
		P999: ms(h.quantile(0.999)),
		Max:  ms(h.max.Load()),
	}
}
