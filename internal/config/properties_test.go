package config

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string
	}{
		{"equals", "a=1\nb = 2\n", map[string]string{"a": "1", "b": "2"}},
		{"colon", "a:1\nb : 2", map[string]string{"a": "1", "b": "2"}},
		{"whitespace separator", "a 1\nb\t2\nc   =   3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"only the first separator counts", "a=b=c\nd::e", map[string]string{"a": "b=c", "d": ":e"}},
		{"key without value", "a\nb=\nc:", map[string]string{"a": "", "b": "", "c": ""}},
		{"trailing whitespace of value kept", "a=1  \n", map[string]string{"a": "1  "}},
		{"leading whitespace of line dropped", "   \t a=1", map[string]string{"a": "1"}},
		{"comments", "# a=1\n  ! b=2\nc=3 # not a comment", map[string]string{"c": "3 # not a comment"}},
		{"blank lines", "\n\n  \na=1\n\n", map[string]string{"a": "1"}},
		{"continuation", "a=one,\\\n    two,\\\n\tthree\nb=4", map[string]string{"a": "one,two,three", "b": "4"}},
		{"continuation line starting with #", "a=x\\\n  #y", map[string]string{"a": "x#y"}},
		{"even backslashes do not continue", "a=x\\\\\nb=y", map[string]string{"a": `x\`, "b": "y"}},
		{"comment does not continue", "# c \\\na=1", map[string]string{"a": "1"}},
		{"continuation at end of file", "a=x\\", map[string]string{"a": "x"}},
		{"escapes", `a=tab\there\nnl\rcr\fff\\bs\qq`, map[string]string{"a": "tab\there\nnl\rcr\fff\\bsqq"}},
		{"unicode escape", `a=\u0041\u00e9`, map[string]string{"a": "Aé"}},
		{"surrogate pair", `a=\ud83d\ude00`, map[string]string{"a": "😀"}},
		{"escaped separators in key", `my\=key\:x\ y=v`, map[string]string{"my=key:x y": "v"}},
		{"CRLF and lone CR", "a=1\r\nb=2\rc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"last value wins", "a=1\na=2", map[string]string{"a": "2"}},
		{"UTF-8 value", "a=héllo wörld", map[string]string{"a": "héllo wörld"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProperties(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a=1\nb=\\u12", `2: malformed \uxxxx escape in "\\u12"`},
		{"a=1\n\nb=\\uzzzz", `3: malformed \uxxxx escape in "\\uzzzz"`},
	} {
		_, err := ParseProperties(strings.NewReader(tc.in))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got error %v, want %s", tc.in, err, tc.want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte("# samsa\nnode.id=3\nlog.dirs=/a,\\\n  /b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"node.id": "3", "log.dirs": "/a,/b"}
	if !maps.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestParseSets(t *testing.T) {
	got, err := ParseSets([]string{"num.partitions=3", "a=b=c", "num.partitions=5", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"num.partitions": "5", "a": "b=c", "empty": ""}
	if !maps.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{"num.partitions", `--set "num.partitions": expected key=value`},
		{"=3", `--set "=3": empty key`},
	} {
		_, err := ParseSets([]string{"a=1", tc.in})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got error %v, want %s", tc.in, err, tc.want)
		}
	}
}
