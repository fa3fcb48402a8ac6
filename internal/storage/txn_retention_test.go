package storage

import (
	"testing"
	"time"
)

// TestTxnFirstUnstableOffsetBoundedByLogStart: once DeleteRecords or
// retention moves the log start offset past an open transaction's first
// offset, the first unstable offset is the log start offset (Kafka bounds
// it so), and so the last stable offset never lies below the log start.
func TestTxnFirstUnstableOffsetBoundedByLogStart(t *testing.T) {
	cfg := testCfg()
	e := newEnv(t, cfg)
	e.append(spec{n: 2}) // 0-1
	e.txnAppend(1, 0, 1) // 2: stays open
	e.append(spec{n: 2}) // 3-4
	if err := e.log.Roll(); err != nil {
		t.Fatal(err)
	}
	e.txnAppend(1, 1, 1) // 5
	e.append(spec{n: 2}) // 6-7
	if got := e.log.FirstUnstableOffset(); got != 2 {
		t.Fatalf("first unstable %d, want 2", got)
	}
	if _, err := e.log.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	if got := e.log.FirstUnstableOffset(); got != 4 {
		t.Fatalf("after DeleteRecords(4) first unstable %d, want the log start 4", got)
	}
	// Retention deletes the first segment: the start moves to 5.
	c := cfg
	c.RetentionMs = time.Minute.Milliseconds()
	e.log.SetConfig(c)
	e.clock.Add(2 * time.Minute)
	e.append(spec{n: 1, ts: e.clock.Now().UnixMilli()}) // 8: keeps the second segment young
	if n, err := e.log.EnforceRetention(); err != nil || n != 1 {
		t.Fatalf("retention deleted %d segments: %v", n, err)
	}
	if e.log.LogStartOffset() != 5 || e.log.FirstUnstableOffset() != 5 {
		t.Fatalf("after retention: start %d first unstable %d, want 5", e.log.LogStartOffset(), e.log.FirstUnstableOffset())
	}
	e.reopen()
	if got := e.log.FirstUnstableOffset(); got != 5 {
		t.Fatalf("after reopen first unstable %d, want 5", got)
	}
	e.marker(1, true)
	if got := e.log.FirstUnstableOffset(); got != -1 {
		t.Fatalf("after the commit first unstable %d", got)
	}
}
