package storage

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// spec describes a test batch.
type spec struct {
	n        int     // records (default 1)
	ts       int64   // base timestamp
	tsDeltas []int64 // per-record timestamp deltas (default 0..n-1)
	value    int     // bytes per value (default 10)
	pid      int64   // producer ID (-1 none; zero value means none too unless idem)
	idem     bool
	epoch    int16
	seq      int32
	txn      bool // transactional (needs idem)
}

// makeBatch builds an uncompressed v2 batch with valid CRC and base offset 0.
func makeBatch(s spec) []byte {
	if s.n == 0 {
		s.n = 1
	}
	if s.value == 0 {
		s.value = 10
	}
	if s.ts == 0 {
		s.ts = baseTime // near the test clock, so time-based rolls and producer expiry stay quiet
	}
	var recs []byte
	maxTs := s.ts
	for i := 0; i < s.n; i++ {
		d := int64(i)
		if s.tsDeltas != nil {
			d = s.tsDeltas[i]
		}
		maxTs = max(maxTs, s.ts+d)
		var body []byte
		body = append(body, 0) // attributes
		body = binary.AppendVarint(body, d)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1) // null key
		body = binary.AppendVarint(body, int64(s.value))
		body = append(body, bytes.Repeat([]byte{byte('a' + i%26)}, s.value)...)
		body = binary.AppendVarint(body, 0) // headers
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	b := make([]byte, record.HeaderSize, record.HeaderSize+len(recs))
	b = append(b, recs...)
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(len(b)-record.LogOverhead))
	be.PutUint32(b[12:], 0xffffffff)
	b[16] = 2
	be.PutUint32(b[23:], uint32(s.n-1))
	be.PutUint64(b[27:], uint64(s.ts))
	be.PutUint64(b[35:], uint64(maxTs))
	pid, epoch, seq := int64(-1), int16(-1), int32(-1)
	if s.idem {
		pid, epoch, seq = s.pid, s.epoch, s.seq
	}
	be.PutUint64(b[43:], uint64(pid))
	be.PutUint16(b[51:], uint16(epoch))
	be.PutUint32(b[53:], uint32(seq))
	be.PutUint32(b[57:], uint32(s.n))
	if s.txn {
		b[22] |= record.TransactionalBit
	}
	record.Header(b).UpdateCRC()
	return b
}

// testCfg is a small-segment config.
func testCfg() Config {
	c := DefaultConfig()
	c.SegmentBytes = 4096
	c.IndexIntervalBytes = 256
	c.SegmentIndexBytes = 1024
	c.RetentionMs = -1
	c.FileDeleteDelayMs = 0
	return c
}

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

const baseTime = 1_700_000_000_000

func newClock() *clock { return &clock{t: time.UnixMilli(baseTime)} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuf collects log output so tests can assert on warnings.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// env is an open Dir and Log under t.TempDir.
type env struct {
	t     testing.TB
	path  string
	dir   *Dir
	log   *Log
	cfg   Config
	clock *clock
	logs  *logBuf
}

func newEnv(t testing.TB, cfg Config) *env {
	e := &env{t: t, path: t.TempDir(), cfg: cfg, clock: newClock(), logs: &logBuf{}}
	e.open()
	t.Cleanup(func() {
		if e.dir != nil {
			e.dir.Close()
		}
	})
	return e
}

func (e *env) opts() Options {
	return Options{Logger: newLogger(e.logs), Now: e.clock.Now, TopicID: [16]byte{1, 2, 3}}
}

func (e *env) open() {
	e.t.Helper()
	d, err := OpenDir(e.path, newLogger(e.logs))
	if err != nil {
		e.t.Fatal(err)
	}
	l, err := d.OpenLog("orders", 3, e.cfg, e.opts())
	if err != nil {
		e.t.Fatal(err)
	}
	e.dir, e.log = d, l
}

// reopen closes cleanly and opens again.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.dir.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

// crash abandons the open Dir without closing it (files stay as written,
// no marker, no snapshot), then opens again. The abandoned Log is closed
// quietly first so its file handles don't leak into the new one.
func (e *env) crash(mutate func()) {
	e.t.Helper()
	e.abandon()
	if mutate != nil {
		mutate()
	}
	e.open()
}

// abandon drops the Dir as a SIGKILL would: nothing flushed or written.
func (e *env) abandon() {
	for _, s := range e.log.segments() {
		s.index.mu.Lock()
		if s.index.mm != nil {
			_ = syscallMunmap(s.index.mm)
			s.index.mm = nil
		}
		s.index.f.Close()
		s.index.mu.Unlock()
		s.timeIndex.mu.Lock()
		if s.timeIndex.mm != nil {
			_ = syscallMunmap(s.timeIndex.mm)
			s.timeIndex.mm = nil
		}
		s.timeIndex.f.Close()
		s.timeIndex.mu.Unlock()
		s.txn.close()
		s.log.Close()
	}
	e.log.closed.Store(true)
	e.log.bg.Wait()
	e.dir = nil
}

func (e *env) append(s spec) AppendInfo {
	e.t.Helper()
	info, err := e.log.AppendAsLeader(makeBatch(s), 0, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	return info
}

// readAll reads every batch from offset to the end, checking CRCs and
// contiguity, and returns their [base, last] pairs.
func readAll(t testing.TB, l *Log, from int64) [][2]int64 {
	t.Helper()
	var out [][2]int64
	off := from
	for off < l.LogEndOffset() {
		b, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatalf("read %d: %v", off, err)
		}
		if len(b) == 0 {
			t.Fatalf("read %d: empty before log end %d", off, l.LogEndOffset())
		}
		for len(b) > 0 {
			h, rest, err := record.Next(b)
			if err != nil {
				t.Fatal(err)
			}
			if !h.ValidCRC() {
				t.Fatalf("bad CRC at offset %d", h.BaseOffset())
			}
			if h.LastOffset() >= off && len(out) > 0 && h.BaseOffset() != out[len(out)-1][1]+1 {
				t.Fatalf("gap: batch %d after %d", h.BaseOffset(), out[len(out)-1][1])
			}
			out = append(out, [2]int64{h.BaseOffset(), h.LastOffset()})
			off = h.NextOffset()
			b = rest
		}
	}
	return out
}
