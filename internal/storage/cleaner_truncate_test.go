package storage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// A truncation lowers the cleaner checkpoint to the new log end, as Kafka's
// LogCleanerManager.maybeTruncateCheckpoint from UnifiedLog.truncateTo: the
// offsets written again after it are dirty and must be cleaned. Before, the
// checkpoint stayed past the log end, and the records appended in place of
// the truncated ones counted as clean.
func TestCleanerOffsetLoweredByTruncate(t *testing.T) {
	e := newEnv(t, compactCfg())
	m := newModel()
	fillKeys(e, m, record.CodecNone, 40, 15, false)
	e.clean(true)
	co := e.log.CleanerOffset()
	if co <= e.log.LogStartOffset() {
		t.Fatalf("cleaner offset %d after a pass", co)
	}
	// Truncate into a cleaned segment.
	if err := e.log.Truncate(co - 10); err != nil {
		t.Fatal(err)
	}
	leo := e.log.LogEndOffset()
	if got := e.log.CleanerOffset(); got > leo {
		t.Fatalf("cleaner offset %d after truncating to %d (log end %d)", got, co-10, leo)
	}
	// It stays lowered across a clean reopen (the checkpoint file).
	e.reopen()
	if got := e.log.CleanerOffset(); got > e.log.LogEndOffset() {
		t.Fatalf("cleaner offset %d after reopen, log end %d", got, e.log.LogEndOffset())
	}

	// Truncating below the log start offset restarts the log there.
	e.clean(true)
	start := e.log.LogStartOffset()
	if _, err := e.log.DeleteRecordsBefore(start + 50); err != nil {
		t.Fatal(err)
	}
	if err := e.log.Truncate(start + 20); err != nil {
		t.Fatal(err)
	}
	if got, leo := e.log.CleanerOffset(), e.log.LogEndOffset(); got > leo {
		t.Fatalf("cleaner offset %d after a full truncation, log end %d", got, leo)
	}
}

// A checkpoint past the log end (the tail was lost) is clamped at open.
func TestCleanerOffsetClampedAtOpen(t *testing.T) {
	e := newEnv(t, compactCfg())
	fillKeys(e, newModel(), record.CodecNone, 20, 10, false)
	e.crash(func() {
		err := os.WriteFile(filepath.Join(e.path, cleanerCheckpointFile), []byte("0\n1\norders 3 999999\n"), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	})
	if got, leo := e.log.CleanerOffset(), e.log.LogEndOffset(); got > leo {
		t.Fatalf("cleaner offset %d at open, log end %d", got, leo)
	}
}
