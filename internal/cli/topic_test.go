package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func describeJSON(t *testing.T, addr string, topics ...string) []topicDescription {
	t.Helper()
	out := mustRun(t, "", append([]string{"topic", "describe", "-b", addr, "-o", "json"}, topics...)...)
	var descs []topicDescription
	if err := json.Unmarshal([]byte(out), &descs); err != nil {
		t.Fatalf("describe output %q: %v", out, err)
	}
	return descs
}

func TestTopicLifecycle(t *testing.T) {
	addr := startFake(t)

	out := mustRun(t, "", "topic", "create", "orders", "-b", addr, "--partitions", "3", "--config", "retention.ms=1000")
	if !strings.HasPrefix(out, `Created topic "orders"`) {
		t.Errorf("create printed %q", out)
	}
	_, _, err := runCLI(t, "", "topic", "create", "orders", "-b", addr)
	if want := `topic "orders" already exists (TOPIC_ALREADY_EXISTS)`; err == nil || err.Error() != want {
		t.Errorf("second create: %v, want %q", err, want)
	}
	mustRun(t, "", "topic", "create", "orders", "-b", addr, "--if-not-exists")
	mustRun(t, "", "topic", "create", "dry", "-b", addr, "--validate-only")
	mustRun(t, "", "topic", "create", "users", "-b", addr)

	if out := mustRun(t, "", "topic", "list", "-b", addr); out != "orders\nusers\n" {
		t.Errorf("list = %q, want orders and users (dry was validate-only)", out)
	}
	var list []topicSummary
	if err := json.Unmarshal([]byte(mustRun(t, "", "topic", "list", "-b", addr, "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "orders" || list[0].Partitions != 3 || list[0].ReplicationFactor != 1 || list[0].ID == "" {
		t.Errorf("list json = %+v", list)
	}

	// Records so that the end offsets are worth checking.
	mustRun(t, "a\nb\n", "produce", "orders", "-b", addr, "--partition", "1")
	descs := describeJSON(t, addr, "orders")
	if len(descs) != 1 {
		t.Fatalf("describe returned %d topics", len(descs))
	}
	d := descs[0]
	if d.Name != "orders" || len(d.Partitions) != 3 || d.Configs["retention.ms"] != "1000" || len(d.Configs) != 1 {
		t.Errorf("describe = %+v", d)
	}
	for _, p := range d.Partitions {
		wantEnd := int64(0)
		if p.Partition == 1 {
			wantEnd = 2
		}
		if p.Leader < 0 || len(p.Replicas) != 1 || len(p.ISR) != 1 || p.LogStartOffset != 0 || p.LogEndOffset != wantEnd {
			t.Errorf("partition %+v, want end offset %d", p, wantEnd)
		}
	}
	text := mustRun(t, "", "topic", "describe", "orders", "-b", addr)
	for _, want := range []string{"Topic: orders", "PartitionCount: 3", "Configs: retention.ms=1000", "LogEndOffset: 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("describe text lacks %q:\n%s", want, text)
		}
	}

	out = mustRun(t, "", "topic", "alter", "orders", "-b", addr, "--partitions", "5",
		"--set", "cleanup.policy=compact", "--delete-config", "retention.ms")
	if !strings.Contains(out, "now has 5 partitions") {
		t.Errorf("alter printed %q", out)
	}
	d = describeJSON(t, addr, "orders")[0]
	if len(d.Partitions) != 5 || len(d.Configs) != 1 || d.Configs["cleanup.policy"] != "compact" {
		t.Errorf("after alter: %d partitions, configs %v", len(d.Partitions), d.Configs)
	}
	_, _, err = runCLI(t, "", "topic", "alter", "orders", "-b", addr, "--partitions", "2")
	if err == nil || !strings.Contains(err.Error(), `topic "orders"`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("shrinking partitions: %v", err)
	}

	if out := mustRun(t, "", "topic", "delete", "orders", "-b", addr); out != "Deleted topic \"orders\".\n" {
		t.Errorf("delete printed %q", out)
	}
	_, _, err = runCLI(t, "", "topic", "describe", "orders", "-b", addr)
	if want := `topic "orders" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`; err == nil || err.Error() != want {
		t.Errorf("describe deleted topic: %v, want %q", err, want)
	}
	_, _, err = runCLI(t, "", "topic", "delete", "orders", "-b", addr)
	if want := `topic "orders" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`; err == nil || err.Error() != want {
		t.Errorf("delete deleted topic: %v, want %q", err, want)
	}
	mustRun(t, "", "topic", "delete", "orders", "-b", addr, "--if-exists")
	_, _, err = runCLI(t, "", "topic", "alter", "orders", "-b", addr, "--set", "retention.ms=1")
	if want := `topic "orders" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`; err == nil || err.Error() != want {
		t.Errorf("alter deleted topic: %v, want %q", err, want)
	}
}
