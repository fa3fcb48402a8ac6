// Package kafkatest starts real samsa brokers for tests: in-process on a
// loopback port with data in t.TempDir(), or as the built binary in a child
// process (for SIGKILL crash tests and cross-client tests). Everything it
// starts is stopped through t.Cleanup.
package kafkatest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Broker is an in-process broker.
type Broker struct {
	*broker.Broker
	Addr  string            // host:port for clients
	Dir   string            // log dir
	Props map[string]string // the config it was started with
	t     testing.TB
}

// Start runs an in-process broker on 127.0.0.1 with a free port and data in
// a temporary dir. props override the defaults (Kafka property names).
func Start(t testing.TB, props ...string) *Broker {
	t.Helper()
	m := map[string]string{
		"log.dirs":  t.TempDir(),
		"listeners": "PLAINTEXT://127.0.0.1:0",
	}
	for _, p := range props {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			t.Fatalf("kafkatest.Start: %q is not key=value", p)
		}
		m[k] = v
	}
	return startWith(t, m)
}

func startWith(t testing.TB, m map[string]string) *Broker {
	t.Helper()
	cfg, err := config.NewBroker(m)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: logLevel()}))
	b, err := broker.New(cfg, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	if err := b.Start(); err != nil {
		t.Fatalf("start broker: %v", err)
	}
	kb := &Broker{Broker: b, Addr: b.Addr(""), Dir: cfg.LogDirs[0], Props: m, t: t}
	t.Cleanup(func() { kb.Stop() })
	return kb
}

func logLevel() slog.Level {
	if os.Getenv("SAMSA_TEST_LOG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Stop closes the broker cleanly (idempotent).
func (b *Broker) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		b.t.Errorf("close broker: %v", err)
	}
}

// Restart stops the broker cleanly and starts a new one on the same data
// dir and port.
func (b *Broker) Restart(t testing.TB) *Broker {
	t.Helper()
	b.Stop()
	m := maps.Clone(b.Props)
	m["listeners"] = "PLAINTEXT://" + b.Addr
	return startWith(t, m)
}

// Client returns a franz-go client for the broker, closed at cleanup.
func (b *Broker) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return NewClient(t, b.Addr, opts...)
}

// NewClient returns a franz-go client for addr, closed at cleanup.
func NewClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.MetadataMinAge(50 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns a kadm client for the broker.
func (b *Broker) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(b.Client(t))
}

// Eventually polls fn until it returns nil or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a loopback address with a port that was free a moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/samsa once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "samsa-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "samsa")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/samsa")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Process is samsa running as a child process.
type Process struct {
	// Prefix, if set, runs the binary through another command (its path
	// and arguments follow the prefix), e.g. a shell that sets ulimits.
	// Restart uses the current value.
	Prefix []string

	Addr string
	Dir  string
	Cmd  *exec.Cmd
	Log  *os.File
	args []string
	t    testing.TB
}

// StartProcess runs the samsa binary with data in dir (created if empty
// string) on a free loopback port and waits until it accepts connections.
func StartProcess(t testing.TB, dir string, sets ...string) *Process {
	t.Helper()
	return StartProcessArgs(t, dir, nil, sets...)
}

// StartProcessArgs is StartProcess with extra arguments for `samsa server`
// before the --set flags, such as "--config", path. log.dirs and listeners
// are still set with --set, which wins over a --config file.
func StartProcessArgs(t testing.TB, dir string, args []string, sets ...string) *Process {
	t.Helper()
	return StartProcessPrefixed(t, dir, nil, args, sets...)
}

// StartProcessPrefixed is StartProcessArgs running the binary through
// prefix (see Process.Prefix).
func StartProcessPrefixed(t testing.TB, dir string, prefix, args []string, sets ...string) *Process {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	p := &Process{Addr: FreePort(t), Dir: dir, t: t, Prefix: prefix}
	// The built-in Schema Registry and REST Proxy are off unless a test
	// sets their listeners: their default ports are fixed and tests run in
	// parallel.
	p.args = append(append([]string{"server"}, args...), "--set", "log.dirs="+dir, "--set", "listeners=PLAINTEXT://"+p.Addr,
		"--set", "schema.registry.listeners=", "--set", "rest.proxy.listeners=")
	for _, s := range sets {
		p.args = append(p.args, "--set", s)
	}
	p.start()
	t.Cleanup(func() { p.Kill() })
	return p
}

func (p *Process) start() {
	p.t.Helper()
	logf, err := os.OpenFile(filepath.Join(p.Dir, "..", filepath.Base(p.Dir)+".server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.Log = logf
	if len(p.Prefix) > 0 {
		p.Cmd = exec.Command(p.Prefix[0], append(append(p.Prefix[1:len(p.Prefix):len(p.Prefix)], Binary(p.t)), p.args...)...)
	} else {
		p.Cmd = exec.Command(Binary(p.t), p.args...)
	}
	p.Cmd.Stdout, p.Cmd.Stderr = logf, logf
	if err := p.Cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			p.t.Fatalf("samsa did not start listening on %s:\n%s", p.Addr, b)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to die (idempotent).
func (p *Process) Kill() {
	if p.Cmd == nil || p.Cmd.Process == nil || p.Cmd.ProcessState != nil {
		return
	}
	p.Cmd.Process.Signal(syscall.SIGKILL)
	p.Cmd.Wait()
	p.Log.Close()
}

// Stop sends SIGTERM and waits for a clean exit.
func (p *Process) Stop() error {
	if p.Cmd.ProcessState != nil {
		return nil
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	err := p.Cmd.Wait()
	p.Log.Close()
	return err
}

// Restart starts the process again with the same data dir and port.
func (p *Process) Restart() {
	p.t.Helper()
	p.Kill()
	p.start()
}

// ServerLog returns what the process has logged so far.
func (p *Process) ServerLog() string {
	b, _ := os.ReadFile(p.Log.Name())
	return string(b)
}
