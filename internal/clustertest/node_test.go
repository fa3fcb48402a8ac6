package clustertest

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiVersions sends one ApiVersions request through cl within timeout.
func apiVersions(cl *kgo.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.ErrorCode)
}

// TestNodeControl drives one real node, started with the cluster
// settings, through every process and network helper: a produced record
// survives SIGKILL and restart, a paused node stops answering until
// resumed, a cut node refuses clients until healed, and SIGTERM exits
// cleanly.
func TestNodeControl(t *testing.T) {
	c := Start(t, 1)
	c.WaitReady(t, 10*time.Second)
	if got, want := c.Bootstrap(), c.Addr(1); got != want {
		t.Fatalf("Bootstrap() = %q, want %q", got, want)
	}
	if !strings.HasPrefix(c.Addr(1), "127.0.0.1:") {
		t.Fatalf("Addr(1) = %q, want the proxy on 127.0.0.1", c.Addr(1))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const topic = "survives"
	if _, err := c.Admin(t).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.WaitLeader(topic, 0, -1, 10*time.Second); l != 1 {
		t.Fatalf("WaitLeader = %d, want 1", l)
	}
	if l := c.LeaderOf(topic, 0); l != 1 {
		t.Fatalf("LeaderOf = %d, want 1", l)
	}
	if l := c.LeaderOf("no-such-topic", 0); l != -1 {
		t.Fatalf("LeaderOf(missing topic) = %d, want -1", l)
	}
	cl := c.Client(t, kgo.DefaultProduceTopic(topic))
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("before the crash")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Pause: the kernel still takes the connection and the request bytes,
	// but no answer comes.
	pid := c.PID(1)
	c.Pause(1)
	if !c.Paused(1) || !c.Running(1) || len(c.Live()) != 0 {
		t.Fatalf("after Pause: Paused=%v Running=%v Live=%v, want true true []", c.Paused(1), c.Running(1), c.Live())
	}
	if err := apiVersions(cl, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ApiVersions to a paused node: %v, want a timeout", err)
	}
	c.Resume(1)
	if err := apiVersions(cl, 10*time.Second); err != nil {
		t.Fatalf("ApiVersions after Resume: %v", err)
	}
	if c.PID(1) != pid {
		t.Fatalf("PID changed across Pause/Resume: %d -> %d", pid, c.PID(1))
	}

	// Cut: the client's connection is closed and new ones are refused, so
	// requests fail; Heal lets them through again.
	c.Cut(1)
	if len(c.Live()) != 0 {
		t.Fatalf("Live() = %v while node 1 is cut, want []", c.Live())
	}
	if err := apiVersions(cl, time.Second); err == nil {
		t.Fatal("ApiVersions to a cut node succeeded")
	}
	c.Heal(1)
	if err := apiVersions(cl, 10*time.Second); err != nil {
		t.Fatalf("ApiVersions after Heal: %v", err)
	}

	// SIGKILL and restart on the same dir and port keep the record.
	c.Kill(1)
	if c.Running(1) || c.PID(1) != 0 {
		t.Fatalf("after Kill: Running=%v PID=%d", c.Running(1), c.PID(1))
	}
	c.Restart(1)
	c.WaitReady(t, 10*time.Second)
	if c.PID(1) == pid {
		t.Fatal("Restart kept the old process")
	}
	consumer := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []*kgo.Record
	for len(got) == 0 {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("no record read back after restart: %v", err)
		}
		for _, e := range fs.Errors() {
			t.Logf("fetch %s/%d: %v", e.Topic, e.Partition, e.Err)
		}
		got = append(got, fs.Records()...)
	}
	if len(got) != 1 || string(got[0].Key) != "k" || string(got[0].Value) != "before the crash" || got[0].Offset != 0 {
		t.Fatalf("read back %d records, first %q=%q at %d; want exactly k=\"before the crash\" at 0", len(got), got[0].Key, got[0].Value, got[0].Offset)
	}
	ends, err := c.Admin(t).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup(topic, 0); o.Offset != 1 {
		t.Fatalf("end offset after restart = %d, want 1", o.Offset)
	}

	// SIGTERM: a clean exit, then the node can start again.
	if err := c.Stop(1); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if c.Running(1) {
		t.Fatal("running after Stop")
	}
	if err := c.Stop(1); err != nil {
		t.Fatalf("Stop of a stopped node: %v", err)
	}
	c.Restart(1)
	if err := apiVersions(cl, 10*time.Second); err != nil {
		t.Fatalf("ApiVersions after Stop and Restart: %v", err)
	}
	log := c.NodeLog(1)
	for _, run := range []string{"(run 1)", "(run 2)", "(run 3)"} {
		if !strings.Contains(log, "clustertest: starting node 1 "+run) {
			t.Fatalf("node log lacks the start marker for %s:\n%s", run, log)
		}
	}
	if strings.Contains(log, "(run 4)") {
		t.Fatal("node log shows a fourth start")
	}
}

// TestCleanupKillsPausedNode checks that a node left paused at the end of a
// test is gone after its cleanup: SIGCONT, SIGKILL, reaped.
func TestCleanupKillsPausedNode(t *testing.T) {
	var pid int
	t.Run("leave paused", func(t *testing.T) {
		c := Start(t, 1)
		pid = c.PID(1)
		if pid == 0 {
			t.Fatal("no pid")
		}
		c.Pause(1)
	})
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d after cleanup: kill(0) = %v, want ESRCH", pid, err)
	}
}

// TestStartFailure checks that a node that exits while starting is
// reported as a start failure with its output, not also as a crash.
func TestStartFailure(t *testing.T) {
	dir := t.TempDir()
	n := &node{id: 1, ip: nodeIP(1), dir: dir, logPath: dir + "/node1.log",
		args: []string{"server", "--set", "no.such.key=1", "--set", "log.dirs=" + dir}}
	var err error
	if n.plainPort, err = freePort(n.ip); err != nil {
		t.Fatal(err)
	}
	if err := n.start(kafkatest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.kill)
	err = n.waitListening(10 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "node 1 exited before listening") {
		t.Fatalf("waitListening = %v, want an early exit", err)
	}
	if c := n.takeCrashes(); len(c) != 0 {
		t.Fatalf("start failure also reported as crashes: %q", c)
	}
	if !strings.Contains(n.log(), "no.such.key") {
		t.Fatalf("log does not name the bad key:\n%s", n.log())
	}
}

// TestCrashDetected checks that an exit the harness did not ask for is
// recorded (the cleanup turns it into a test failure) and one it asked for
// is not.
func TestCrashDetected(t *testing.T) {
	dir := t.TempDir()
	n := &node{id: 1, ip: nodeIP(1), dir: dir + "/node1", logPath: dir + "/node1.log"}
	var err error
	if n.plainPort, err = freePort(n.ip); err != nil {
		t.Fatal(err)
	}
	n.args = []string{"server", "--set", "log.dirs=" + n.dir, "--set", "listeners=PLAINTEXT://" + n.plainAddr(),
		"--set", "schema.registry.listeners=", "--set", "rest.proxy.listeners="}
	t.Cleanup(n.kill)
	for _, byHarness := range []bool{false, true} {
		if err := n.start(kafkatest.Binary(t)); err != nil {
			t.Fatal(err)
		}
		if err := n.waitListening(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		if byHarness {
			n.kill()
		} else {
			syscall.Kill(n.pid(), syscall.SIGKILL)
			kafkatest.Eventually(t, 5*time.Second, func() error {
				if n.running() {
					return errors.New("still running")
				}
				return nil
			})
		}
		crashes := n.takeCrashes()
		switch {
		case byHarness && len(crashes) != 0:
			t.Fatalf("Kill reported as a crash: %q", crashes)
		case !byHarness && (len(crashes) != 1 || !strings.Contains(crashes[0], "node 1 (run 1, pid ") || !strings.Contains(crashes[0], "exited on its own: signal: killed")):
			t.Fatalf("crashes after an outside SIGKILL = %q, want one naming node 1 run 1", crashes)
		}
	}
}
