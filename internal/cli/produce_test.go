package cli

import (
	"bufio"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestReadLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\n", []string{""}},
		{"a\nb", []string{"a", "b"}},
		{"a\n\nb\n", []string{"a", "", "b"}},
		{strings.Repeat("x", 100) + "\n", []string{strings.Repeat("x", 100)}},
	} {
		br := bufio.NewReaderSize(strings.NewReader(tc.in), 16) // lines span reads
		var got []string
		for {
			line, err := readLine(br, 1000)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: %v", tc.in, err)
			}
			got = append(got, string(line))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	br := bufio.NewReaderSize(strings.NewReader(strings.Repeat("x", 50)+"\n"), 16)
	if _, err := readLine(br, 49); err == nil {
		t.Error("a line over the limit was accepted")
	}
}

func TestProduceErrors(t *testing.T) {
	addr := startFake(t, kfake.SeedTopics(2, "two"))
	_, _, err := runCLI(t, "x\n", "produce", "missing", "-b", addr)
	if want := `topic "missing" does not exist (UNKNOWN_TOPIC_OR_PARTITION)`; err == nil || err.Error() != want {
		t.Errorf("missing topic: %v, want %q", err, want)
	}
	_, _, err = runCLI(t, "x\n", "produce", "two", "-b", addr, "--partition", "2")
	if want := `topic "two" has 2 partitions; there is no partition 2`; err == nil || err.Error() != want {
		t.Errorf("bad partition: %v, want %q", err, want)
	}
	// Every codec and acks level round-trips.
	for _, args := range [][]string{
		{"--compression", "gzip"}, {"--compression", "snappy"}, {"--compression", "lz4"},
		{"--compression", "zstd", "--acks", "1"}, {"--acks", "0"},
	} {
		mustRun(t, "a\nb\n", append([]string{"produce", "two", "-b", addr, "--partition", "1"}, args...)...)
	}
	out := mustRun(t, "", "consume", "two", "-b", addr, "-p", "1", "--from-beginning", "-c", "10")
	if out != strings.Repeat("a\nb\n", 5) {
		t.Errorf("consumed %q", out)
	}
}
