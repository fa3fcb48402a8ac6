package group

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
)

func members(spec map[string][]string) []assignMember {
	var ms []assignMember
	for id, ts := range spec {
		ms = append(ms, assignMember{id: id, topics: ts})
	}
	return ms
}

func render(out map[string]assignment) string {
	ids := make([]string, 0, len(out))
	for id := range out {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	s := ""
	for _, id := range ids {
		s += id + ":"
		for _, t := range sortedTopics(out[id]) {
			s += fmt.Sprintf("%s%v", t, out[id][t])
		}
		s += " "
	}
	return s
}

// checkValid: every partition of a subscribed topic goes to exactly one
// member subscribed to it.
func checkValid(t *testing.T, ms []assignMember, parts map[string]int32, out map[string]assignment) {
	t.Helper()
	seen := map[tp]string{}
	subs := map[string]map[string]bool{}
	for _, m := range ms {
		subs[m.id] = map[string]bool{}
		for _, tn := range m.topics {
			subs[m.id][tn] = true
		}
	}
	for id, a := range out {
		for tn, ps := range a {
			if !subs[id][tn] {
				t.Errorf("%s got %s without subscribing", id, tn)
			}
			for _, p := range ps {
				if o, dup := seen[tp{tn, p}]; dup {
					t.Errorf("%s-%d given to %s and %s", tn, p, o, id)
				}
				seen[tp{tn, p}] = id
			}
		}
	}
	for tn, n := range parts {
		wanted := false
		for _, m := range ms {
			wanted = wanted || subs[m.id][tn]
		}
		for p := int32(0); p < n && wanted; p++ {
			if _, ok := seen[tp{tn, p}]; !ok {
				t.Errorf("%s-%d unassigned", tn, p)
			}
		}
	}
}

func TestAssignors(t *testing.T) {
	cases := []struct {
		name     string
		assignor string
		members  map[string][]string
		parts    map[string]int32
		want     string
	}{
		{"uniform even", "uniform", map[string][]string{"a": {"t"}, "b": {"t"}, "c": {"t"}}, map[string]int32{"t": 12},
			"a:t[0 3 6 9] b:t[1 4 7 10] c:t[2 5 8 11] "},
		{"uniform uneven", "uniform", map[string][]string{"a": {"t"}, "b": {"t"}}, map[string]int32{"t": 3},
			"a:t[0 2] b:t[1] "},
		{"uniform more members than partitions", "uniform", map[string][]string{"a": {"t"}, "b": {"t"}, "c": {"t"}}, map[string]int32{"t": 2},
			"a:t[0] b:t[1] c: "},
		{"uniform heterogeneous", "uniform", map[string][]string{"a": {"x", "y"}, "b": {"y"}}, map[string]int32{"x": 2, "y": 2},
			"a:x[0 1] b:y[0 1] "},
		{"uniform missing topic", "uniform", map[string][]string{"a": {"t", "gone"}}, map[string]int32{"t": 2},
			"a:t[0 1] "},
		{"range co-partitioned", "range", map[string][]string{"a": {"x", "y"}, "b": {"x", "y"}}, map[string]int32{"x": 3, "y": 3},
			"a:x[0 1]y[0 1] b:x[2]y[2] "},
		{"range per topic", "range", map[string][]string{"a": {"x"}, "b": {"x", "y"}, "c": {"y"}}, map[string]int32{"x": 4, "y": 1},
			"a:x[0 1] b:x[2 3]y[0] c: "},
		{"range more members", "range", map[string][]string{"a": {"t"}, "b": {"t"}, "c": {"t"}}, map[string]int32{"t": 2},
			"a:t[0] b:t[1] c: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms := members(c.members)
			out := assignors[c.assignor](ms, c.parts)
			checkValid(t, ms, c.parts, out)
			if got := render(out); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			// Deterministic whatever the order of the members.
			for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
				ms[i], ms[j] = ms[j], ms[i]
			}
			if again := assignors[c.assignor](ms, c.parts); !reflect.DeepEqual(again, out) {
				t.Errorf("not deterministic: %s vs %s", render(again), render(out))
			}
		})
	}
}

// TestUniformSticky: a member joining takes partitions only from the
// members with the most; a member leaving gives away only its own.
func TestUniformSticky(t *testing.T) {
	parts := map[string]int32{"t": 12}
	ms := members(map[string][]string{"a": {"t"}, "b": {"t"}, "c": {"t"}})
	first := assignUniform(ms, parts)
	withPrev := func(ids ...string) []assignMember {
		var out []assignMember
		for _, id := range ids {
			out = append(out, assignMember{id: id, topics: []string{"t"}, previous: first[id]})
		}
		return out
	}
	joined := assignUniform(withPrev("a", "b", "c", "d"), parts)
	checkValid(t, withPrev("a", "b", "c", "d"), parts, joined)
	moved := 0
	for _, id := range []string{"a", "b", "c"} {
		if len(joined[id]["t"]) != 3 {
			t.Errorf("%s has %v after d joined", id, joined[id])
		}
		for _, p := range joined[id]["t"] {
			if !first[id].has("t", p) {
				t.Errorf("%s gained %d when d joined", id, p)
			}
		}
		moved += len(first[id]["t"]) - len(joined[id]["t"])
	}
	if moved != 3 || len(joined["d"]["t"]) != 3 {
		t.Errorf("moved %d partitions, d has %v; want 3", moved, joined["d"])
	}
	left := assignUniform(withPrev("a", "b"), parts)
	for _, id := range []string{"a", "b"} {
		if len(left[id]["t"]) != 6 {
			t.Errorf("%s has %v after c left", id, left[id])
		}
		for _, p := range first[id]["t"] {
			if !left[id].has("t", p) {
				t.Errorf("%s lost %d when c left", id, p)
			}
		}
	}
}

func TestUniformLarge(t *testing.T) {
	parts := map[string]int32{"x": 100, "y": 37, "z": 1}
	spec := map[string][]string{}
	for i := 0; i < 9; i++ {
		spec[fmt.Sprintf("m%d", i)] = []string{"x", "y", "z"}
	}
	ms := members(spec)
	out := assignUniform(ms, parts)
	checkValid(t, ms, parts, out)
	lo, hi := 1<<30, 0
	for _, a := range out {
		lo, hi = min(lo, a.count()), max(hi, a.count())
	}
	if hi-lo > 1 {
		t.Errorf("counts from %d to %d", lo, hi)
	}
}
