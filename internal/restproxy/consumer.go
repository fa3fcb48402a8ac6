package restproxy

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A consumer instance of the v2 API: a named member of a consumer group
// owned by this proxy, reading in one embedded format. See doc.go for who
// owns it and when it expires.

type instanceKey struct{ group, name string }

type tp struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

type instance struct {
	key         instanceKey
	format      Format
	resetEarly  bool // auto.offset.reset earliest (else latest)
	autoCommit  bool
	minBytes    int32
	reqTimeout  time.Duration // consumer.request.timeout.ms of this instance
	maxReqBytes int64

	mu sync.Mutex // held for a whole request on the instance
	// Under mu:
	cl           *kgo.Client // nil until subscribed or assigned
	topics       []string    // subscription (group mode)
	pattern      string      // subscription by pattern (group mode)
	assigned     []tp        // manual assignment (direct mode)
	pending      []*kgo.Record
	consumed     map[tp]int64 // next offset after the last record returned
	closed       bool
	assignmentMu sync.Mutex // guards groupAssigned: set from kgo's callbacks
	groupAssign  map[string][]int32

	// Under Proxy.mu:
	busy     int       // requests running
	lastUsed time.Time // end of the last request
}

// newInstanceClient builds the consumer client of in for a subscription
// (topics or pattern) or a manual assignment at offsets.
func (p *Proxy) newInstanceClient(in *instance, topics []string, pattern string, assign map[string]map[int32]kgo.Offset) (*kgo.Client, error) {
	reset := kgo.NewOffset().AtEnd()
	if in.resetEarly {
		reset = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(p.cfg.BootstrapServers...),
		kgo.ClientID(p.cfg.ClientID + "-" + in.key.name),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMinBytes(max(in.minBytes, 1)),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.MetadataMinAge(500 * time.Millisecond),
	}
	switch {
	case assign != nil:
		opts = append(opts, kgo.ConsumePartitions(assign))
	default:
		opts = append(opts, kgo.ConsumerGroup(in.key.group))
		if pattern != "" {
			opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(pattern))
		} else {
			opts = append(opts, kgo.ConsumeTopics(topics...))
		}
		if !in.autoCommit {
			opts = append(opts, kgo.DisableAutoCommit())
		}
		opts = append(opts,
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				in.assignmentMu.Lock()
				defer in.assignmentMu.Unlock()
				for t, ps := range m {
					in.groupAssign[t] = append(in.groupAssign[t], ps...)
				}
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { in.unassign(m) }),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { in.unassign(m) }),
		)
	}
	return kgo.NewClient(opts...)
}

func (in *instance) unassign(m map[string][]int32) {
	in.assignmentMu.Lock()
	defer in.assignmentMu.Unlock()
	for t, ps := range m {
		in.groupAssign[t] = slices.DeleteFunc(in.groupAssign[t], func(p int32) bool { return slices.Contains(ps, p) })
		if len(in.groupAssign[t]) == 0 {
			delete(in.groupAssign, t)
		}
	}
}

// resetClient closes the instance's consumer client and forgets what it
// fetched. Call with in.mu held.
func (in *instance) resetClient() {
	if in.cl != nil {
		in.cl.Close()
	}
	in.cl, in.topics, in.pattern, in.assigned, in.pending = nil, nil, "", nil, nil
	in.consumed = map[tp]int64{}
	in.assignmentMu.Lock()
	in.groupAssign = map[string][]int32{}
	in.assignmentMu.Unlock()
}

// close closes the instance for good; a request waiting for it then fails
// with 40403.
func (in *instance) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.resetClient()
	in.closed = true
}

// acquire returns the instance named by the request's {group} and
// {instance}, locked and marked busy so it cannot expire, or 40403.
// release must be called when the request is done.
func (p *Proxy) acquire(r *http.Request) (*instance, error) {
	key := instanceKey{r.PathValue("group"), r.PathValue("instance")}
	p.mu.Lock()
	in, ok := p.instances[key]
	if ok {
		in.busy++
	}
	p.mu.Unlock()
	if !ok {
		return nil, errorf(http.StatusNotFound, codeInstanceNotFound, "Consumer instance not found.")
	}
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		p.mu.Lock()
		in.busy--
		p.mu.Unlock()
		return nil, errorf(http.StatusNotFound, codeInstanceNotFound, "Consumer instance not found.")
	}
	return in, nil
}

// release unlocks in and restarts its idle clock.
func (p *Proxy) release(in *instance) {
	in.mu.Unlock()
	p.mu.Lock()
	in.busy--
	in.lastUsed = time.Now()
	p.mu.Unlock()
}

// janitor closes idle instances until Close.
func (p *Proxy) janitor() {
	defer p.wg.Done()
	every := min(max(p.cfg.ConsumerInstanceTimeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.expire(now)
		}
	}
}

// expire closes the instances idle since before now minus the timeout.
func (p *Proxy) expire(now time.Time) {
	var dead []*instance
	p.mu.Lock()
	for k, in := range p.instances {
		if in.busy == 0 && now.Sub(in.lastUsed) > p.cfg.ConsumerInstanceTimeout {
			delete(p.instances, k)
			dead = append(dead, in)
		}
	}
	p.mu.Unlock()
	for _, in := range dead {
		p.log.Info("rest proxy: consumer instance expired", "group", in.key.group, "instance", in.key.name,
			"idle_timeout", p.cfg.ConsumerInstanceTimeout)
		in.close()
	}
}

// validPattern checks a subscription pattern compiles (Go's RE2 syntax;
// Java-only constructs are refused).
func validPattern(s string) error {
	if _, err := regexp.Compile(s); err != nil {
		return fmt.Errorf("topic_pattern: %v", err)
	}
	return nil
}
