package cli

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startFake starts an in-process kfake cluster with one broker on a random
// loopback port and returns its address. The real broker has its own tests;
// these only check that the client commands speak Kafka correctly.
func startFake(t *testing.T, opts ...kfake.Opt) string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// runCLI runs the samsa command line in-process with stdin and returns what
// it printed and the error Main would print.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// mustRun is runCLI that fails the test on error.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("samsa %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"topic", "create"},
		{"topic", "create", "a", "b"},
		{"topic", "create", "a", "--partitions", "x"},
		{"topic", "create", "a", "--config", "novalue"},
		{"topic", "frobnicate"},
		{"topic", "list", "--format", "xml"},
		{"topic", "alter", "a"},
		{"produce"},
		{"produce", "t", "--acks", "2"},
		{"produce", "t", "--compression", "brotli"},
		{"produce", "t", "--acks", "1", "--idempotent"},
		{"produce", "t", "--no-such-flag"},
		{"consume", "t", "--offset", "middle"},
		{"consume", "t", "--from-beginning", "--offset", "5"},
		{"consume", "t", "--from-timestamp", "yesterday"},
		{"consume", "t", "--group", "g", "--partition", "0"},
		{"bench", "produce", "--records", "10"},
		{"bench", "produce", "--topic", "t"},
		{"bench", "consume", "--topic", "t", "--records", "-1"},
		{"bench", "nope"},
		{"bench", "produce", "--topic", "t", "--records", "10", "--txn-records", "5"},
		{"bench", "produce", "--topic", "t", "--records", "10", "--transactional", "--txn-records", "0"},
		{"bench", "produce", "--topic", "t", "--records", "10", "--transactional", "--acks", "1"},
		{"consume", "t", "--isolation", "serializable"},
		{"txn", "list", "--state", "Running"},
		{"txn", "list", "--min-duration", "-1s"},
		{"txn", "list", "extra"},
		{"txn", "describe"},
		{"txn", "producers"},
		{"txn", "producers", "t", "--partition", "-1"},
		{"txn", "nope"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, err := runCLI(t, "", append(args, "--bootstrap", "127.0.0.1:1")...)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v (%T), want a usage error", err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	// Main maps usage errors to exit status 2.
	if code := Main([]string{"produce", "t", "--acks", "2"}); code != 2 {
		t.Errorf("Main exit code = %d, want 2", code)
	}
}

func TestUnreachableBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	_, _, err = runCLI(t, "", "topic", "list", "--bootstrap", addr, "--timeout", "5s")
	want := "cannot reach broker at " + addr + ": connection refused — is 'samsa server' running?"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestBootstrapFromEnv(t *testing.T) {
	t.Setenv("SAMSA_BOOTSTRAP", startFake(t, kfake.SeedTopics(1, "from-env")))
	if out := mustRun(t, "", "topic", "list"); out != "from-env\n" {
		t.Errorf("topic list = %q", out)
	}
}

// TestKeyedPartitioningMatchesJava checks that keyed records go where the
// Java client sends them: toPositive(murmur2(key)) % partitions, with the
// murmur2 values from Kafka's UtilsTest.testMurmur2.
func TestKeyedPartitioningMatchesJava(t *testing.T) {
	javaMurmur2 := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	}
	cfg := kgo.StickyKeyPartitioner(nil)
	for key, h := range javaMurmur2 {
		for _, n := range []int{1, 3, 6, 7, 100, 1000} {
			want := int(uint32(h)&0x7fffffff) % n
			got := cfg.ForTopic("t").Partition(&kgo.Record{Key: []byte(key)}, n)
			if got != want {
				t.Errorf("key %q, %d partitions: partition %d, Java picks %d", key, n, got, want)
			}
		}
	}
}
