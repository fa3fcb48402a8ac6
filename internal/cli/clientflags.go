package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// This file holds what every client subcommand (topic, produce, consume,
// bench) shares: the connection flags, building franz-go clients from them,
// turning client errors into one readable line, and small flag helpers.

// defaultBootstrap is used when neither --bootstrap nor SAMSA_BOOTSTRAP is set.
const defaultBootstrap = "127.0.0.1:9092"

// clientFlags are the connection flags of every client subcommand.
type clientFlags struct {
	bootstrap string
	clientID  string
	timeout   time.Duration
}

// register adds the connection flags to fs. The --bootstrap default comes
// from SAMSA_BOOTSTRAP when it is set.
func (f *clientFlags) register(fs *pflag.FlagSet) {
	def := defaultBootstrap
	if env := strings.TrimSpace(os.Getenv("SAMSA_BOOTSTRAP")); env != "" {
		def = env
	}
	fs.StringVarP(&f.bootstrap, "bootstrap", "b", def,
		"comma-separated host:port list of brokers to bootstrap from (env SAMSA_BOOTSTRAP)")
	fs.StringVar(&f.clientID, "client-id", "samsa-cli", "client.id sent to the broker")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second,
		"how long to wait for the broker: connecting, metadata and admin requests, record delivery")
}

// splitSeeds splits a comma-separated broker list given with flag.
func splitSeeds(list, flag string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, usagef("%s is empty; give at least one host:port", flag)
	}
	return out, nil
}

// seeds splits --bootstrap into addresses.
func (f *clientFlags) seeds() ([]string, error) {
	out, err := splitSeeds(f.bootstrap, "--bootstrap")
	if err != nil {
		return nil, err
	}
	if f.timeout <= 0 {
		return nil, usagef("--timeout must be positive, got %v", f.timeout)
	}
	return out, nil
}

// connect builds a kgo client with the shared options plus extra, and checks
// that some broker answers before returning, so that an unreachable cluster
// fails fast with a clear message instead of retrying until a deadline.
func (f *clientFlags) connect(ctx context.Context, extra ...kgo.Opt) (*kgo.Client, error) {
	seeds, err := f.seeds()
	if err != nil {
		return nil, err
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID(f.clientID),
		kgo.DialTimeout(min(f.timeout, 10*time.Second)),
		kgo.RetryTimeout(f.timeout),
	}, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, usagef("%v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return nil, f.reachErr(err)
	}
	return cl, nil
}

// admin is connect for administrative commands.
func (f *clientFlags) admin(ctx context.Context) (*kadm.Client, error) {
	cl, err := f.connect(ctx)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(f.timeout, time.Hour).Milliseconds()))
	return adm, nil
}

// reachErr explains why no broker answered.
func (f *clientFlags) reachErr(err error) error {
	const hint = " — is 'samsa server' running?"
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach broker at %s: connection refused%s", f.bootstrap, hint)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cannot reach broker at %s: no answer within %v%s", f.bootstrap, f.timeout, hint)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("cannot reach broker at %s: interrupted", f.bootstrap)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot reach broker at %s: cannot resolve host %q", f.bootstrap, dnsErr.Name)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return fmt.Errorf("cannot reach broker at %s: %v%s", f.bootstrap, opErr.Err, hint)
	}
	return fmt.Errorf("cannot reach broker at %s: %v", f.bootstrap, err)
}

// topicErr describes a Kafka error code returned for one topic as one line,
// for example `topic "x" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`. msg is
// the broker's optional error message.
func topicErr(topic string, err error, msg string) error {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return fmt.Errorf("topic %q: %w", topic, err)
	}
	// For the common codes our own phrase says it all; otherwise the
	// broker's message, when it sent one, is more specific than Kafka's
	// generic description of the code, so it replaces it.
	var what string
	switch ke {
	case kerr.UnknownTopicOrPartition, kerr.UnknownTopicID:
		what = " does not exist"
	case kerr.TopicAlreadyExists:
		what = " already exists"
	case kerr.TopicAuthorizationFailed:
		what = " is not authorized"
	default:
		if msg != "" && !strings.EqualFold(msg, ke.Message) {
			what = ": " + oneLine(msg)
			break
		}
		desc := strings.TrimSuffix(ke.Description, ".")
		if i := strings.Index(desc, ". "); i > 0 {
			desc = desc[:i] // the first sentence is enough
		}
		if desc == "" {
			desc = strings.ToLower(strings.ReplaceAll(ke.Message, "_", " "))
		}
		what = ": " + strings.ToLower(desc[:1]) + desc[1:]
	}
	return fmt.Errorf("topic %q%s (%s)", topic, what, ke.Message)
}

// requestErr turns an error from a whole request (not one topic) into a line.
func (f *clientFlags) requestErr(what string, err error) error {
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		return fmt.Errorf("%s: %s (%s)", what, strings.TrimSuffix(ke.Description, "."), ke.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: no answer from %s within %v", what, f.bootstrap, f.timeout)
	case errors.Is(err, kgo.ErrClientClosed), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: interrupted", what)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return f.reachErr(err)
	}
	return fmt.Errorf("%s: %s", what, oneLine(err.Error()))
}

// oneLine folds a multi-line message so errors stay on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// reportErrs prints every error but the last as its own "samsa: " line on w
// and returns the last one for Main to print, so each error is one line.
func reportErrs(w io.Writer, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs[:len(errs)-1] {
		fmt.Fprintf(w, "samsa: %v\n", err)
	}
	return errs[len(errs)-1]
}

// argsBetween is cobra.RangeArgs with a usage error (exit code 2) that names
// the expected arguments.
func argsBetween(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		n := len(args)
		if n >= lo && (hi < 0 || n <= hi) {
			return nil
		}
		switch {
		case n < lo && n == 0:
			return usagef("missing %s (see '%s --help')", what, cmd.CommandPath())
		case n < lo:
			return usagef("expected at least %d %s, got %d (see '%s --help')", lo, what, n, cmd.CommandPath())
		default:
			return usagef("unexpected argument %q: expected %s (see '%s --help')", args[hi], what, cmd.CommandPath())
		}
	}
}

// groupRunE is the RunE of a command that only groups subcommands: no
// arguments shows help, anything else is an unknown subcommand.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return usagef("unknown command %q for %q (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())
}

// parseKV splits "key=value" flags (--config, --set).
func parseKV(flag string, kvs []string) (map[string]*string, []string, error) {
	out := make(map[string]*string, len(kvs))
	var order []string
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, nil, usagef("--%s %q: want key=value", flag, kv)
		}
		if _, dup := out[k]; !dup {
			order = append(order, k)
		}
		out[k] = &v
	}
	return out, order, nil
}

// outputFormat validates a --format flag value.
func outputFormat(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usagef("--format %q: want one of %s", v, strings.Join(allowed, ", "))
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// compressionCodec maps a --compression value to a kgo codec.
func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, usagef("--compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// ackOpts maps --acks and --idempotent to kgo options. Idempotence needs
// acks=all, so it is on by default only there; asking for it with weaker
// acks is a usage error.
func ackOpts(acks string, idempotent, idempotentSet bool) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch strings.ToLower(acks) {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
		if !idempotent {
			opts = append(opts, kgo.DisableIdempotentWrite())
		}
		return opts, nil
	case "1", "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0", "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	default:
		return nil, usagef("--acks %q: want 0, 1 or all", acks)
	}
	if idempotent && idempotentSet {
		return nil, usagef("--idempotent needs --acks all")
	}
	return append(opts, kgo.DisableIdempotentWrite()), nil
}

// topicPartitions returns the partition count of topic, or a one-line error
// if the topic does not exist.
func topicPartitions(ctx context.Context, f *clientFlags, adm *kadm.Client, topic string) (int, error) {
	tds, err := adm.ListTopicsWithInternal(ctx, topic)
	if err != nil {
		return 0, f.requestErr("describe topic", err)
	}
	td, ok := tds[topic]
	if !ok {
		return 0, topicErr(topic, kerr.UnknownTopicOrPartition, "")
	}
	if td.Err != nil {
		return 0, topicErr(topic, td.Err, "")
	}
	return len(td.Partitions), nil
}
