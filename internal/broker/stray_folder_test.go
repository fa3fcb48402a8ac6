package broker_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/record"
)

// A partition folder whose partition.metadata names another topic id is a
// leftover of an earlier topic with the same name: its records must not be
// served as the current topic's. A folder we cannot identify (no
// partition.metadata) is never deleted.
func TestStrayAndUnknownFoldersAtStart(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "t", 1, nil)
	r := dialRaw(t, b.Addr)
	batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: 1, value: []byte("old")})
	if p := produceOne(t, r, "t", 0, batch); p.ErrorCode != 0 {
		t.Fatalf("produce: error %d", p.ErrorCode)
	}
	b.Stop()

	other := metadata.NewUUID()
	if err := os.WriteFile(filepath.Join(b.Dir, "t-0", "partition.metadata"),
		[]byte("version: 0\ntopic_id: "+other.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(b.Dir, "backup-7")
	if err := os.MkdirAll(backup, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(backup, "notes.txt"), []byte("mine"), 0o644)

	b = b.Restart(t)
	r = dialRaw(t, b.Addr)
	if p := fetchOne(t, r, "t", 0, 0); p.ErrorCode != 0 || p.HighWatermark != 0 || len(p.RecordBatches) != 0 {
		t.Fatalf("t-0 after a stray folder: error %d, high watermark %d, %d bytes; want an empty log",
			p.ErrorCode, p.HighWatermark, len(p.RecordBatches))
	}
	if got, err := os.ReadFile(filepath.Join(backup, "notes.txt")); err != nil || string(got) != "mine" {
		t.Fatalf("a folder samsa cannot identify was touched: %q %v", got, err)
	}
}
