package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

func TestParseReassignPlan(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		cancel   bool
		want     string // fmt of the moves, or the error
	}{
		{"kafka's execute file", `{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[3,1,2],"log_dirs":["any","any","any"]},
			{"topic":"orders","partition":1,"replicas":[2]},{"topic":"pay","partition":0,"replicas":[1,2]}]}`, false,
			"[{orders 0 [3 1 2]} {orders 1 [2]} {pay 0 [1 2]}]"},
		{"no version is version 1", `{"partitions":[{"topic":"t","partition":4,"replicas":[1]}]}`, false, "[{t 4 [1]}]"},
		{"cancel ignores replicas", `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]},{"topic":"t","partition":1}]}`, true,
			"[{t 0 []} {t 1 []}]"},
		{"version 2", `{"version":2,"partitions":[{"topic":"t","partition":0,"replicas":[1]}]}`, false,
			"version 2 is not supported (want 1)"},
		{"empty file", ``, false, "the file is empty"},
		{"not JSON", `topic=t`, false, "bad JSON: invalid character 'o' in literal true (expecting 'r')"},
		{"trailing data", `{"partitions":[{"topic":"t","partition":0,"replicas":[1]}]} {}`, false, "bad JSON: more data after the plan object"},
		{"unknown field", `{"partitions":[{"topic":"t","partition":0,"replica":[1]}]}`, false,
			`bad JSON: json: unknown field "replica"`},
		{"no partitions", `{"version":1,"partitions":[]}`, false,
			`no partitions: want {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}`},
		{"no topic", `{"partitions":[{"partition":0,"replicas":[1]}]}`, false, "partitions[0] has no topic"},
		{"empty topic", `{"partitions":[{"topic":"","partition":0,"replicas":[1]}]}`, false, "partitions[0] has no topic"},
		{"no partition", `{"partitions":[{"topic":"t","replicas":[1]}]}`, false, `partitions[0] (topic "t") has no partition`},
		{"negative partition", `{"partitions":[{"topic":"t","partition":-1,"replicas":[1]}]}`, false, "t--1: the partition must be 0 or more"},
		{"fractional partition", `{"partitions":[{"topic":"t","partition":1.5,"replicas":[1]}]}`, false,
			"bad JSON: json: cannot unmarshal number 1.5 into Go struct field .partitions.partition of type int32"},
		{"partition twice", `{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}`, false,
			"t-0 appears more than once"},
		{"no replicas", `{"partitions":[{"topic":"t","partition":0}]}`, false, "t-0 has no replicas (use --cancel to cancel its reassignment)"},
		{"null replicas", `{"partitions":[{"topic":"t","partition":0,"replicas":null}]}`, false, "t-0 has no replicas (use --cancel to cancel its reassignment)"},
		{"empty replicas", `{"partitions":[{"topic":"t","partition":0,"replicas":[]}]}`, false, "t-0: the replica list is empty"},
		{"broker twice", `{"partitions":[{"topic":"t","partition":0,"replicas":[1,2,1]}]}`, false, "t-0: replicas [1,2,1]: broker 1 appears twice"},
		{"negative broker", `{"partitions":[{"topic":"t","partition":0,"replicas":[-1]}]}`, false, "t-0: replicas [-1]: broker ids are 0 or more"},
		{"log dir path", `{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","/data/b"]}]}`, false,
			`t-0: log_dirs ["any" "/data/b"]: only "any" is supported (samsa does not move replicas between a broker's log dirs)`},
		{"log dirs too short", `{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}`, false,
			`t-0: log_dirs ["any"] has 1 entries for 2 replicas`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moves, err := parseReassignPlan([]byte(tc.in), tc.cancel)
			got := fmt.Sprint(moves)
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if tc.cancel && err == nil {
				for _, m := range moves {
					if m.Replicas != nil {
						t.Fatalf("cancel move with replicas: %+v", m)
					}
				}
			}
		})
	}
}

func TestParseElectPlan(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"partitions":[{"topic":"foo","partition":1},{"topic":"foobar","partition":2}]}`, "[foo-1 foobar-2]"},
		{`{"partitions":[]}`, `no partitions: want {"partitions":[{"topic":"t","partition":0}]}`},
		{`{"partitions":[{"topic":"foo"}]}`, `partitions[0] (topic "foo") has no partition`},
		{`{"partitions":[{"partition":1}]}`, "partitions[0] has no topic"},
		{`{"partitions":[{"topic":"foo","partition":1},{"topic":"foo","partition":1}]}`, "foo-1 appears more than once"},
		{`{"partitions":[{"topic":"foo","partition":-2}]}`, "foo--2: the partition must be 0 or more"},
		{`{"version":1,"partitions":[{"topic":"foo","partition":1}]}`, `bad JSON: json: unknown field "version"`},
	} {
		parts, err := parseElectPlan([]byte(tc.in))
		got := fmt.Sprint(parts)
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestPartMessage(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		code int16
		msg  *string
		want string
	}{
		{39, s("invalid replica assignment: the manual partition assignment includes broker 9, but no such broker is registered"),
			"the manual partition assignment includes broker 9, but no such broker is registered"},
		{39, s("Replica assignment is invalid."), "Replica assignment is invalid."},
		{39, s("Invalid replica assignment."), ""},
		{80, s("the preferred leader is not available: broker 1 is down or out of sync"),
			"the preferred leader is not available: broker 1 is down or out of sync"},
		{85, s("no reassignment in progress: t-0"), "t-0"},
		{84, s("leader election not needed"), ""},
		{84, nil, "leader election not needed for topic partition"},
		{3, s("unknown topic or partition: unable\nto find a topic named x"), "unable to find a topic named x"},
	} {
		if got := partMessage(tc.code, tc.msg); got != tc.want {
			t.Errorf("%d %v: got %q, want %q", tc.code, tc.msg, got, tc.want)
		}
	}
}

func TestClusterReassignUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"cluster", "reassign"}, "", "say what to reassign: --plan FILE, or --topic T --partition N --replicas LIST, or --list (see 'samsa cluster reassign --help')"},
		{[]string{"cluster", "reassign", "extra"}, "", `unexpected argument "extra": expected no arguments (name partitions with --plan or --topic) (see 'samsa cluster reassign --help')`},
		{[]string{"cluster", "reassign", "--list", "--cancel"}, "", "--list cannot be combined with --cancel"},
		{[]string{"cluster", "reassign", "--list", "--wait"}, "", "--list cannot be combined with --wait"},
		{[]string{"cluster", "reassign", "--list", "--topic", "t"}, "", "--list cannot be combined with --topic"},
		{[]string{"cluster", "reassign", "--plan", bad, "--topic", "t"}, "", "--plan cannot be combined with --topic: give the partitions in the plan"},
		{[]string{"cluster", "reassign", "--plan", ""}, "", "--plan needs a file name ('-' for stdin)"},
		{[]string{"cluster", "reassign", "--plan", bad}, "", "plan " + bad + ": t-0: replicas [1,1]: broker 1 appears twice"},
		{[]string{"cluster", "reassign", "--plan", "-"}, `{"partitions":[{"topic":"t","partition":0}]}`,
			"plan (stdin): t-0 has no replicas (use --cancel to cancel its reassignment)"},
		{[]string{"cluster", "reassign", "--partition", "0", "--replicas", "1"}, "", "--partition and --replicas need --topic"},
		{[]string{"cluster", "reassign", "--topic", "t", "--replicas", "1"}, "", "--topic needs --partition"},
		{[]string{"cluster", "reassign", "--topic", "t", "--partition", "0"}, "", "--topic needs --replicas (or --cancel)"},
		{[]string{"cluster", "reassign", "--topic", "t", "--partition", "-1", "--replicas", "1"}, "", "--partition must be 0 or more, got -1"},
		{[]string{"cluster", "reassign", "--topic", "", "--partition", "0", "--replicas", "1"}, "", "--topic is empty"},
		{[]string{"cluster", "reassign", "--topic", "t", "--partition", "0", "--replicas", "2,3,2"}, "", "--replicas: replicas [2,3,2]: broker 2 appears twice"},
		{[]string{"cluster", "reassign", "--topic", "t", "--partition", "0", "--replicas", ""}, "", `invalid argument "" for "--replicas" flag`},
		{[]string{"cluster", "reassign", "--topic", "t", "--partition", "0", "--replicas", "1", "--cancel"}, "",
			"--cancel takes no --replicas: a cancelled partition goes back to its replicas before the reassignment"},
		{[]string{"cluster", "reassign", "--topic", "t", "--partition", "0", "--replicas", "a"}, "", `invalid argument "a" for "--replicas" flag`},
		{[]string{"cluster", "reassign", "--list", "-o", "yaml"}, "", `--format "yaml": want one of text, json`},
		{[]string{"cluster", "elect"}, "", "say which partitions: --topic T [--partition N], --plan FILE or --all (see 'samsa cluster elect --help')"},
		{[]string{"cluster", "elect", "--partition", "1"}, "", "--partition needs --topic"},
		{[]string{"cluster", "elect", "--all", "--topic", "t"}, "", "--topic and --all cannot be combined: give exactly one"},
		{[]string{"cluster", "elect", "--all", "--plan", bad}, "", "--plan and --all cannot be combined: give exactly one"},
		{[]string{"cluster", "elect", "--all", "--type", "dirty"}, "", `--type "dirty": want preferred or unclean`},
		{[]string{"cluster", "elect", "--topic", "t", "--partition", "-3"}, "", "--partition must be 0 or more, got -3"},
		{[]string{"cluster", "elect", "--topic", ""}, "", "--topic is empty"},
		{[]string{"cluster", "elect", "--plan", "-"}, `{"partitions":[{"topic":"t"}]}`, `plan (stdin): partitions[0] (topic "t") has no partition`},
		{[]string{"cluster", "elect", "x", "--all"}, "", `unexpected argument "x": expected no arguments (name partitions with --topic, --plan or --all) (see 'samsa cluster elect --help')`},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			_, _, err := runCLI(t, tc.stdin, append(tc.args, "-b", "127.0.0.1:1")...)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v (%T), want a usage error", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got  %q\nwant %q", err, tc.want)
			}
		})
	}
	// Usage errors exit with 2.
	if code := Main([]string{"cluster", "reassign", "--list", "--cancel"}); code != 2 {
		t.Errorf("Main exit code = %d, want 2", code)
	}
	// A plan that cannot be read is an error, not a usage error.
	_, _, err := runCLI(t, "", "cluster", "reassign", "--plan", filepath.Join(dir, "none.json"), "-b", "127.0.0.1:1")
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "read the plan: open ") {
		t.Fatalf("missing plan: %v", err)
	}
}

// On a single node every partition is led by its only replica: a
// reassignment can only name that broker, nothing is ever in progress, and
// no election is needed.
func TestClusterReassignSingleNode(t *testing.T) {
	b := kafkatest.Start(t)
	mustRun(t, "", "topic", "create", "ra", "--partitions", "2", "-b", b.Addr)

	out := mustRun(t, "", "cluster", "reassign", "--topic", "ra", "--partition", "1", "--replicas", "1", "-b", b.Addr)
	if want := "TOPIC  PARTITION  RESULT\nra     1          STARTED\n"; out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	out = mustRun(t, "", "cluster", "reassign", "--topic", "ra", "--partition", "0", "--replicas", "1", "--wait", "-b", b.Addr)
	if want := "TOPIC  PARTITION  RESULT   LEADER  REPLICAS  ISR\nra     0          STARTED  1       [1]       [1]\n"; out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}

	plan := `{"version":1,"partitions":[{"topic":"ra","partition":1,"replicas":[2]},{"topic":"ra","partition":0,"replicas":[1]},{"topic":"nope","partition":0,"replicas":[1]}]}`
	out, errOut, err := runCLI(t, plan, "cluster", "reassign", "--plan", "-", "-o", "json", "-b", b.Addr)
	want := `[{"topic":"nope","partition":0,"result":"UNKNOWN_TOPIC_OR_PARTITION","message":"unable to find partition nope-0"},` +
		`{"topic":"ra","partition":0,"result":"STARTED"},` +
		`{"topic":"ra","partition":1,"result":"INVALID_REPLICA_ASSIGNMENT","message":"the manual partition assignment includes broker 2, but no such broker is registered"}]` + "\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	if errOut != "samsa: nope-0: UNKNOWN_TOPIC_OR_PARTITION: unable to find partition nope-0\n" ||
		err == nil || err.Error() != "ra-1: INVALID_REPLICA_ASSIGNMENT: the manual partition assignment includes broker 2, but no such broker is registered" {
		t.Fatalf("stderr %q, err %v", errOut, err)
	}
	var res []reassignResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 3 {
		t.Fatalf("%v: %s", err, out)
	}
	if code := Main([]string{"cluster", "reassign", "--topic", "ra", "--partition", "0", "--replicas", "7", "-b", b.Addr}); code != 1 {
		t.Fatalf("failed reassignment: exit %d, want 1", code)
	}

	_, _, err = runCLI(t, "", "cluster", "reassign", "--topic", "ra", "--partition", "0", "--cancel", "-b", b.Addr)
	if err == nil || err.Error() != "ra-0: NO_REASSIGNMENT_IN_PROGRESS: ra-0" {
		t.Fatalf("cancel: %v", err)
	}
	out, errOut, err = runCLI(t, "", "cluster", "reassign", "--list", "-b", b.Addr)
	if out != "" || errOut != "no reassignments in progress\n" || err != nil {
		t.Fatalf("list: %q %q %v", out, errOut, err)
	}
	if out = mustRun(t, "", "cluster", "reassign", "--list", "-o", "json", "-b", b.Addr); out != "[]\n" {
		t.Fatalf("list json: %q", out)
	}

	out = mustRun(t, "", "cluster", "elect", "--topic", "ra", "-b", b.Addr)
	if want := "TOPIC  PARTITION  RESULT\nra     0          ELECTION_NOT_NEEDED\nra     1          ELECTION_NOT_NEEDED\n"; out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	out = mustRun(t, "", "cluster", "elect", "--topic", "ra", "--partition", "1", "--type", "UNCLEAN", "-o", "json", "-b", b.Addr)
	if want := `[{"topic":"ra","partition":1,"result":"ELECTION_NOT_NEEDED"}]` + "\n"; out != want {
		t.Fatalf("got %s want %s", out, want)
	}
	out, errOut, err = runCLI(t, "", "cluster", "elect", "--all", "-b", b.Addr)
	if out != "" || errOut != "no partition needed an election\n" || err != nil {
		t.Fatalf("elect --all: %q %q %v", out, errOut, err)
	}
	out, errOut, err = runCLI(t, `{"partitions":[{"topic":"ra","partition":0},{"topic":"ra","partition":5}]}`, "cluster", "elect", "--plan", "-", "-b", b.Addr)
	if want := "TOPIC  PARTITION  RESULT\nra     0          ELECTION_NOT_NEEDED\nra     5          UNKNOWN_TOPIC_OR_PARTITION\n"; out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	if err == nil || err.Error() != "ra-5: UNKNOWN_TOPIC_OR_PARTITION" || errOut != "" {
		t.Fatalf("stderr %q, err %v", errOut, err)
	}
	if _, _, err = runCLI(t, "", "cluster", "elect", "--topic", "nope", "-b", b.Addr); err == nil ||
		err.Error() != `topic "nope" does not exist (UNKNOWN_TOPIC_OR_PARTITION)` {
		t.Fatalf("elect unknown topic: %v", err)
	}
}
