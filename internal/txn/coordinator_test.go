package txn

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memStore is an in-memory __transaction_state.
type memStore struct {
	mu    sync.Mutex
	parts map[int32][]byte
	next  map[int32]int64
}

func newMemStore() *memStore { return &memStore{parts: map[int32][]byte{}, next: map[int32]int64{}} }

func (s *memStore) Append(p int32, batch record.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append(record.Header(nil), batch...)
	b.SetBaseOffset(s.next[p])
	s.next[p] = b.NextOffset()
	s.parts[p] = append(s.parts[p], b...)
	return nil
}

func (s *memStore) Read(p int32, offset int64, _ int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := s.parts[p]
	for len(data) > 0 {
		h, rest, err := record.Next(data)
		if err != nil {
			return nil, err
		}
		if h.NextOffset() > offset {
			return append([]byte(nil), data...), nil
		}
		data = rest
	}
	return nil, nil
}

type marker struct {
	tp     TopicPartition
	pid    int64
	epoch  int16
	commit bool
}

type memMarkers struct {
	mu   sync.Mutex
	got  []marker
	fail error
}

func (m *memMarkers) WriteMarker(tp TopicPartition, pid int64, epoch int16, commit bool, _ int32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.got = append(m.got, marker{tp, pid, epoch, commit})
	return nil
}

func newTestCoordinator(t *testing.T, store *memStore, mk *memMarkers, now func() time.Time) *Coordinator {
	t.Helper()
	var pid int64
	var mu sync.Mutex
	c := New(Config{AbortInterval: time.Hour, ExpireInterval: time.Hour, Now: now}, 1, store, mk, func() (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		pid++
		return pid, nil
	}, nil)
	t.Cleanup(c.Close)
	return c
}

// TestCompleteTwice: complete on a transaction that another caller (the
// loop's retry, or LoadPartition's pass over the transactions it found
// prepared) has completed in the meantime must not change its state.
func TestCompleteTwice(t *testing.T) {
	store, mk := newMemStore(), &memMarkers{}
	c := newTestCoordinator(t, store, mk, nil)
	if err := c.LoadPartition(0, 0); err != nil {
		t.Fatal(err)
	}
	pid, epoch, err := c.InitProducerID("a", 60000, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddPartitions("a", pid, epoch, []TopicPartition{{"t", 0}}); err != nil {
		t.Fatal(err)
	}
	if err := c.EndTxn("a", pid, epoch, true); err != nil {
		t.Fatal(err)
	}
	tx, _, _ := c.lookup("a", nil)
	c.complete(tx) // as LoadPartition would after the loop completed it
	st := tx.state
	tx.mu.Unlock()
	if st != kmsg.TransactionStateCompleteCommit {
		t.Fatalf("state after a second complete: %v", st)
	}
	if err := c.EndTxn("a", pid, epoch, true); err != nil {
		t.Fatalf("EndTxn commit retried: %v", err)
	}
}

// TestLoadSkipsUnknownKeyVersion: as Kafka's TransactionLog.readTxnRecordKey,
// a record whose key version is unknown (say, from a newer Kafka) is
// skipped; the ids around it load.
func TestLoadSkipsUnknownKeyVersion(t *testing.T) {
	store, mk := newMemStore(), &memMarkers{}
	c := newTestCoordinator(t, store, mk, nil)
	if err := c.LoadPartition(0, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.InitProducerID("a", 60000, -1, -1); err != nil {
		t.Fatal(err)
	}
	if err := c.append(0, []byte{0, 9, 'x'}, []byte("future")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.InitProducerID("b", 60000, -1, -1); err != nil {
		t.Fatal(err)
	}
	c2 := newTestCoordinator(t, store, mk, nil)
	if err := c2.LoadPartition(0, 0); err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, id := range []string{"a", "b"} {
		if d, err := c2.Describe(id); err != nil || d.State != kmsg.TransactionStateEmpty || d.Epoch != 0 {
			t.Fatalf("%s after load: %+v %v", id, d, err)
		}
	}
}

// flakyMarkers fails the markers of one partition until healed.
type flakyMarkers struct {
	memMarkers
	bad     TopicPartition
	failBad error
}

func (m *flakyMarkers) WriteMarker(tp TopicPartition, pid int64, epoch int16, commit bool, ce int32) error {
	m.mu.Lock()
	err := m.failBad
	m.mu.Unlock()
	if err != nil && tp == m.bad {
		return err
	}
	return m.memMarkers.WriteMarker(tp, pid, epoch, commit, ce)
}

// TestMarkerRetryOnlyFailed: when one partition's marker fails, the
// transaction stays prepared and only that partition's marker is retried;
// the others are written once.
func TestMarkerRetryOnlyFailed(t *testing.T) {
	store := newMemStore()
	mk := &flakyMarkers{bad: TopicPartition{"t", 1}}
	mk.failBad = errors.New("disk on fire")
	var pid int64
	c := New(Config{AbortInterval: time.Hour, ExpireInterval: time.Hour}, 1, store, mk, func() (int64, error) { pid++; return pid, nil }, nil)
	t.Cleanup(c.Close)
	if err := c.LoadPartition(0, 0); err != nil {
		t.Fatal(err)
	}
	p, e, err := c.InitProducerID("a", 60000, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	parts := []TopicPartition{{"t", 0}, {"t", 1}, {"t", 2}}
	if err := c.AddPartitions("a", p, e, parts); err != nil {
		t.Fatal(err)
	}
	if err := c.EndTxn("a", p, e, true); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		c.AbortTimedOut() // retries the prepared transaction
	}
	if d, _ := c.Describe("a"); d.State != kmsg.TransactionStatePrepareCommit {
		t.Fatalf("state with a failing marker: %v", d.State)
	}
	mk.mu.Lock()
	mk.failBad = nil
	mk.mu.Unlock()
	c.AbortTimedOut()
	if d, _ := c.Describe("a"); d.State != kmsg.TransactionStateCompleteCommit {
		t.Fatalf("state after the retry: %v", d.State)
	}
	count := map[TopicPartition]int{}
	for _, m := range mk.got {
		count[m.tp]++
	}
	for _, tp := range parts {
		if count[tp] != 1 {
			t.Fatalf("markers written %v, want one per partition", count)
		}
	}
}

// TestLoadRefusesUnknownState: a value whose state is not one Kafka writes
// fails the load with the id named, rather than serving a made-up state.
func TestLoadRefusesUnknownState(t *testing.T) {
	store, mk := newMemStore(), &memMarkers{}
	c := newTestCoordinator(t, store, mk, nil)
	if err := c.LoadPartition(0, 0); err != nil {
		t.Fatal(err)
	}
	v := stateValue(meta{pid: 1, epoch: 0, timeoutMs: 1000, state: stEmpty, startMs: -1})
	v[2+8+2+4] = 9 // the state byte
	if err := c.append(0, stateKey("weird"), v); err != nil {
		t.Fatal(err)
	}
	c2 := newTestCoordinator(t, store, mk, nil)
	err := c2.LoadPartition(0, 0)
	if err == nil || !strings.Contains(err.Error(), `"weird" has state 9`) {
		t.Fatalf("load: %v", err)
	}
}
