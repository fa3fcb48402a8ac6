package broker

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Incremental fetch sessions (KIP-227). A session remembers, per partition,
// the fetch offset and byte limit the client asked for and the high
// watermark, last stable offset and log start offset we last sent. An
// incremental request then lists only partitions that changed (and those to
// forget), and the response carries only partitions with news.
//
// The cache is shared by all connections (a session id is not tied to a
// socket, as in Kafka) and bounded by max.incremental.fetch.session.cache.slots;
// when full, the least recently used session that has been idle for a while
// is evicted, otherwise the client gets no session and keeps sending full
// requests. Each session has its own mutex, held for the whole fetch that
// uses it, so two requests racing on one session serialize and the second
// fails the epoch check.

type partKey struct {
	topic     string
	partition int32
}

type cachedPartition struct {
	partKey
	topicID            [16]byte
	fetchOffset        int64
	maxBytes           int32
	currentLeaderEpoch int32
	// what we last sent; -1 before anything was sent
	hw, lso, logStart int64
}

type fetchSession struct {
	mu       sync.Mutex
	id       int32
	epoch    int32 // the epoch the next incremental request must carry
	parts    []*cachedPartition
	index    map[partKey]*cachedPartition
	lastUsed time.Time
}

func (s *fetchSession) upsert(cp cachedPartition) {
	if old := s.index[cp.partKey]; old != nil {
		old.fetchOffset, old.maxBytes, old.currentLeaderEpoch = cp.fetchOffset, cp.maxBytes, cp.currentLeaderEpoch
		if cp.topicID != ([16]byte{}) {
			old.topicID = cp.topicID
		}
		return
	}
	n := cp
	n.hw, n.lso, n.logStart = -1, -1, -1
	s.parts = append(s.parts, &n)
	s.index[cp.partKey] = &n
}

func (s *fetchSession) forget(k partKey) {
	if s.index[k] == nil {
		return
	}
	delete(s.index, k)
	for i, p := range s.parts {
		if p.partKey == k {
			s.parts = append(s.parts[:i], s.parts[i+1:]...)
			return
		}
	}
}

type fetchSessions struct {
	mu       sync.Mutex
	max      int
	sessions map[int32]*fetchSession
}

// minEvictableIdle is how long a session must be unused before a new one
// may evict it (Kafka's eviction also prefers stale sessions).
const minEvictableIdle = 2 * time.Minute

func newFetchSessions(max int) *fetchSessions {
	if max <= 0 {
		max = 1000
	}
	return &fetchSessions{max: max, sessions: map[int32]*fetchSession{}}
}

func (fs *fetchSessions) get(id int32) *fetchSession {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.sessions[id]
}

func (fs *fetchSessions) remove(id int32) {
	fs.mu.Lock()
	delete(fs.sessions, id)
	fs.mu.Unlock()
}

// create makes a new session, or returns nil if the cache is full of
// sessions in active use.
func (fs *fetchSessions) create(now time.Time) *fetchSession {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.sessions) >= fs.max {
		var oldest *fetchSession
		for _, s := range fs.sessions {
			if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
				oldest = s
			}
		}
		if oldest == nil || now.Sub(oldest.lastUsed) < minEvictableIdle {
			return nil
		}
		delete(fs.sessions, oldest.id)
	}
	var id int32
	for id == 0 || fs.sessions[id] != nil {
		id = rand.Int32() // ids are positive and never 0 (0 means "no session")
	}
	// Epoch 0: the fetch creating the session bumps it, so the first
	// incremental request carries epoch 1 (KIP-227).
	s := &fetchSession{id: id, epoch: 0, index: map[partKey]*cachedPartition{}, lastUsed: now}
	fs.sessions[id] = s
	return s
}

// touch records that a session was just used.
func (fs *fetchSessions) touch(s *fetchSession, now time.Time) {
	fs.mu.Lock()
	s.lastUsed = now
	fs.mu.Unlock()
}

// rotate moves the partitions that just returned records to the end of the
// session, keeping order otherwise, as Kafka's IncrementalFetchContext does:
// when fetch.max.bytes binds, the partitions at the front are served first,
// so without rotation the ones at the back would starve.
func (s *fetchSession) rotate(reads []fetchRead) {
	served := make(map[*cachedPartition]bool, len(reads))
	for i := range reads {
		if len(reads[i].records) > 0 {
			served[reads[i].part] = true
		}
	}
	kept := s.parts[:0:0]
	var moved []*cachedPartition
	for _, p := range s.parts {
		if served[p] {
			moved = append(moved, p)
		} else {
			kept = append(kept, p)
		}
	}
	s.parts = append(kept, moved...)
}
