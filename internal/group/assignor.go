package group

import (
	"slices"
	"sort"
)

// The server-side assignors of consumer (KIP-848) groups. An assignor maps
// every partition of the topics the members subscribe to onto one member
// subscribed to its topic. Both are deterministic: the same members,
// subscriptions, topics and previous assignment give the same result.

// assignment is topic -> sorted partitions.
type assignment map[string][]int32

func (a assignment) clone() assignment {
	c := make(assignment, len(a))
	for t, ps := range a {
		c[t] = slices.Clone(ps)
	}
	return c
}

func (a assignment) count() int {
	n := 0
	for _, ps := range a {
		n += len(ps)
	}
	return n
}

func (a assignment) has(topic string, p int32) bool {
	return slices.Contains(a[topic], p)
}

func (a assignment) equal(b assignment) bool {
	if a.count() != b.count() {
		return false
	}
	for t, ps := range a {
		if !slices.Equal(ps, b[t]) {
			return false
		}
	}
	return true
}

// normalize sorts partitions and drops empty topics.
func (a assignment) normalize() assignment {
	for t, ps := range a {
		if len(ps) == 0 {
			delete(a, t)
			continue
		}
		slices.Sort(ps)
	}
	return a
}

// assignMember is one member as an assignor sees it.
type assignMember struct {
	id       string
	topics   []string   // subscribed topic names
	previous assignment // its previous target assignment, for stickiness
}

// assignorFunc computes member id -> assignment; partitions gives the
// partition count of every subscribed topic that exists.
type assignorFunc func(members []assignMember, partitions map[string]int32) map[string]assignment

var assignors = map[string]assignorFunc{
	"uniform": assignUniform,
	"range":   assignRange,
}

// defaultAssignor is the first of group.consumer.assignors.
const defaultAssignor = "uniform"

type tp struct {
	topic string
	p     int32
}

// assignUniform spreads partitions evenly over the members subscribed to
// their topics and is sticky: a member keeps the partitions of its previous
// assignment that are still valid, and a partition moves only to even out
// the counts (until no member has two more than another member that could
// take one of its partitions).
func assignUniform(members []assignMember, partitions map[string]int32) map[string]assignment {
	ms := slices.Clone(members)
	sort.Slice(ms, func(i, j int) bool { return ms[i].id < ms[j].id })
	subscribed := map[string]map[string]bool{} // topic -> member ids
	for _, m := range ms {
		for _, t := range m.topics {
			if _, ok := partitions[t]; !ok {
				continue
			}
			if subscribed[t] == nil {
				subscribed[t] = map[string]bool{}
			}
			subscribed[t][m.id] = true
		}
	}
	owner := map[tp]string{}
	owned := map[string]map[tp]bool{}
	for _, m := range ms {
		owned[m.id] = map[tp]bool{}
	}
	give := func(x tp, id string) {
		if prev, ok := owner[x]; ok {
			delete(owned[prev], x)
		}
		owner[x] = id
		owned[id][x] = true
	}
	// 1. Keep what is still valid.
	for _, m := range ms {
		topics := make([]string, 0, len(m.previous))
		for t := range m.previous {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		for _, t := range topics {
			for _, p := range m.previous[t] {
				x := tp{t, p}
				if !subscribed[t][m.id] || p < 0 || p >= partitions[t] {
					continue
				}
				if _, taken := owner[x]; !taken {
					give(x, m.id)
				}
			}
		}
	}
	// 2. Place the rest, the most constrained partitions first, each on the
	// eligible member with the fewest partitions.
	var free []tp
	topics := make([]string, 0, len(subscribed))
	for t := range subscribed {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		for p := int32(0); p < partitions[t]; p++ {
			if _, ok := owner[tp{t, p}]; !ok {
				free = append(free, tp{t, p})
			}
		}
	}
	sort.SliceStable(free, func(i, j int) bool { return len(subscribed[free[i].topic]) < len(subscribed[free[j].topic]) })
	for _, x := range free {
		best := ""
		for _, m := range ms {
			if subscribed[x.topic][m.id] && (best == "" || len(owned[m.id]) < len(owned[best])) {
				best = m.id
			}
		}
		give(x, best)
	}
	// 3. Even out: move a partition from a member to an eligible member
	// with at least two fewer. Every move lowers the sum of squared counts,
	// so this ends.
	for moved := true; moved; {
		moved = false
		byCount := slices.Clone(ms)
		sort.SliceStable(byCount, func(i, j int) bool { return len(owned[byCount[i].id]) > len(owned[byCount[j].id]) })
	search:
		for _, from := range byCount {
			parts := sortedTPs(owned[from.id])
			for i := len(byCount) - 1; i >= 0; i-- {
				to := byCount[i]
				if len(owned[to.id]) > len(owned[from.id])-2 {
					continue
				}
				for k := len(parts) - 1; k >= 0; k-- {
					if subscribed[parts[k].topic][to.id] {
						give(parts[k], to.id)
						moved = true
						break search
					}
				}
			}
		}
	}
	return collect(ms, owned)
}

func sortedTPs(s map[tp]bool) []tp {
	out := make([]tp, 0, len(s))
	for x := range s {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].p < out[j].p
	})
	return out
}

func collect(ms []assignMember, owned map[string]map[tp]bool) map[string]assignment {
	out := make(map[string]assignment, len(ms))
	for _, m := range ms {
		a := assignment{}
		for x := range owned[m.id] {
			a[x.topic] = append(a[x.topic], x.p)
		}
		out[m.id] = a.normalize()
	}
	return out
}

// assignRange gives, topic by topic, contiguous ranges of partitions to
// the members subscribed to the topic, ordered by member id: with n
// partitions and k members each gets n/k and the first n%k one more. Members
// with the same subscriptions therefore get the same partition numbers of
// co-partitioned topics (topics with equal partition counts).
func assignRange(members []assignMember, partitions map[string]int32) map[string]assignment {
	ms := slices.Clone(members)
	sort.Slice(ms, func(i, j int) bool { return ms[i].id < ms[j].id })
	owned := map[string]map[tp]bool{}
	byTopic := map[string][]string{}
	for _, m := range ms {
		owned[m.id] = map[tp]bool{}
		for _, t := range m.topics {
			if _, ok := partitions[t]; ok && !slices.Contains(byTopic[t], m.id) {
				byTopic[t] = append(byTopic[t], m.id)
			}
		}
	}
	for t, ids := range byTopic {
		n, k := partitions[t], int32(len(ids))
		p := int32(0)
		for i, id := range ids {
			c := n / k
			if int32(i) < n%k {
				c++
			}
			for end := p + c; p < end; p++ {
				owned[id][tp{t, p}] = true
			}
		}
	}
	return collect(ms, owned)
}
