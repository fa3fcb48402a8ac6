package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestServerConfigErrors starts the binary with bad configuration: it must
// exit non-zero at once, with one line naming each bad key and no usage
// dump, and without starting to serve.
func TestServerConfigErrors(t *testing.T) {
	t.Parallel()
	bin := kafkatest.Binary(t)
	dir := t.TempDir()
	base := []string{"server", "--set", "log.dirs=" + filepath.Join(dir, "data"), "--set", "listeners=PLAINTEXT://" + kafkatest.FreePort(t)}
	missing := filepath.Join(dir, "missing.properties")
	for _, tc := range []struct {
		name string
		args []string
		want []string // each must be on one line of stderr, together
	}{
		{"UnknownKey", []string{"--set", "foo.bar=1"}, []string{`"foo.bar"`, "unknown"}},
		{"BadInt", []string{"--set", "num.partitions=abc"}, []string{`"num.partitions"`, `"abc"`}},
		{"MissingConfigFile", []string{"--config", missing}, []string{missing, "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append(append([]string(nil), base...), tc.args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 || ctx.Err() != nil {
				t.Fatalf("samsa %v: %v (want a non-zero exit)\n%s", tc.args, err, stderr.String())
			}
			out := stderr.String()
			var hits []string
			for _, l := range strings.Split(out, "\n") {
				all := true
				for _, w := range tc.want {
					all = all && strings.Contains(l, w)
				}
				if all {
					hits = append(hits, l)
				}
			}
			if len(hits) != 1 {
				t.Errorf("want exactly one stderr line with %q, got %q in:\n%s", tc.want, hits, out)
			}
			if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n > 3 || strings.Contains(out, "Usage:") {
				t.Errorf("stderr has %d lines or a usage dump:\n%s", n, out)
			}
			if strings.Contains(out+stdout.String(), "samsa is ready") {
				t.Errorf("samsa started despite the bad config")
			}
			t.Logf("exit %d: %s", ee.ExitCode(), strings.TrimSpace(out))
		})
	}
}

// TestServerConfigFile checks a Kafka-style properties file is honoured
// (num.partitions for auto-created topics) and that --set wins over it.
func TestServerConfigFile(t *testing.T) {
	t.Parallel()
	props := filepath.Join(t.TempDir(), "server.properties")
	err := os.WriteFile(props, []byte("# a server.properties\nnum.partitions=4\nauto.create.topics.enable = true\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sets []string
		want int
	}{
		{"FromFile", nil, 4},
		{"SetWins", []string{"num.partitions=2"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := kafkatest.StartProcessArgs(t, "", []string{"--config", props}, tc.sets...)
			cl := kafkatest.NewClient(t, p.Addr, kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("auto"))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatalf("produce to an auto-created topic: %v", err)
			}
			td, err := kadm.NewClient(cl).ListTopics(ctx, "auto")
			if err != nil || td.Error() != nil {
				t.Fatalf("list topics: %v %v", err, td.Error())
			}
			if n := len(td["auto"].Partitions); n != tc.want {
				t.Errorf("auto-created topic has %d partitions, want %d", n, tc.want)
			}
		})
	}
}
