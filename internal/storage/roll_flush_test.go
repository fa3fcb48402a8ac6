package storage

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// segment.ms: a segment whose first batch is older than segment.ms rolls at
// the next append (Kafka's LogSegment.shouldRoll), and not before.
func TestRollBySegmentMs(t *testing.T) {
	cfg := testCfg()
	cfg.SegmentBytes = 1 << 30
	cfg.SegmentMs = 60_000
	e := newEnv(t, cfg)
	e.append(spec{})
	e.clock.Add(59 * time.Second)
	e.append(spec{ts: e.clock.Now().UnixMilli()})
	if n := e.log.NumSegments(); n != 1 {
		t.Fatalf("rolled before segment.ms: %d segments", n)
	}
	e.clock.Add(2 * time.Second)
	info := e.append(spec{ts: e.clock.Now().UnixMilli()})
	if n := e.log.NumSegments(); n != 2 {
		t.Fatalf("after segment.ms: %d segments, want 2", n)
	}
	if info.FirstOffset != 2 {
		t.Fatalf("first offset of the new segment's batch: %d", info.FirstOffset)
	}
	if got := readAll(t, e.log, 0); len(got) != 3 {
		t.Fatalf("read %d batches across the roll, want 3", len(got))
	}
}

// A full offset index rolls the segment even when segment.bytes is far off.
func TestRollWhenIndexFull(t *testing.T) {
	cfg := testCfg()
	cfg.SegmentBytes = 1 << 30
	cfg.IndexIntervalBytes = 1 // an offset index entry for every batch but a segment's first
	cfg.SegmentIndexBytes = 48 // 6 offset entries; 4 time entries (all batches share one timestamp, so 1 is used)
	e := newEnv(t, cfg)
	for i := 0; i < 10; i++ {
		e.append(spec{})
	}
	// A segment takes 7 batches (the first needs no entry), then the full
	// offset index rolls it: [0..6] and [7..9].
	if n := e.log.NumSegments(); n != 2 {
		t.Fatalf("%d segments with a 6-entry index and 10 batches, want 2", n)
	}
	if _, err := os.Stat(filepath.Join(e.log.Dir(), "00000000000000000007.log")); err != nil {
		t.Fatalf("second segment does not start at offset 7: %v", err)
	}
	if got := readAll(t, e.log, 0); len(got) != 10 {
		t.Fatalf("read %d batches, want 10", len(got))
	}
}

// flush.messages and flush.ms move the recovery point (what an fsync
// covered); with Kafka's defaults nothing is fsynced by count or time.
func TestFlushPolicy(t *testing.T) {
	cfg := testCfg()
	cfg.SegmentBytes = 1 << 30
	cfg.FlushIntervalMessages = 3
	cfg.FlushIntervalMs = math.MaxInt64
	e := newEnv(t, cfg)
	e.append(spec{})
	e.append(spec{})
	if rp := e.log.RecoveryPoint(); rp != 0 {
		t.Fatalf("recovery point %d after 2 of flush.messages=3", rp)
	}
	e.append(spec{})
	if rp := e.log.RecoveryPoint(); rp != 3 {
		t.Fatalf("recovery point %d after flush.messages=3 reached, want 3", rp)
	}

	cfg.FlushIntervalMessages = math.MaxInt64
	cfg.FlushIntervalMs = 1000
	e.log.SetConfig(cfg)
	e.append(spec{})
	if err := e.log.MaybeFlush(); err != nil || e.log.RecoveryPoint() != 3 {
		t.Fatalf("flushed before flush.ms: recovery point %d, %v", e.log.RecoveryPoint(), err)
	}
	e.clock.Add(1500 * time.Millisecond)
	if err := e.log.MaybeFlush(); err != nil || e.log.RecoveryPoint() != 4 {
		t.Fatalf("after flush.ms: recovery point %d, %v; want 4", e.log.RecoveryPoint(), err)
	}

	cfg.FlushIntervalMs = math.MaxInt64 // Kafka's default: never by time
	e.log.SetConfig(cfg)
	e.append(spec{})
	e.clock.Add(24 * time.Hour)
	if err := e.log.MaybeFlush(); err != nil || e.log.RecoveryPoint() != 4 {
		t.Fatalf("default policy flushed: recovery point %d, %v", e.log.RecoveryPoint(), err)
	}
}
