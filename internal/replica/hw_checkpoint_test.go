package replica

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
)

// TestHighWatermarkCheckpoint: a clustered partition reopens with the high
// watermark it had (replication-offset-checkpoint), bounded by its log
// end, and at its log start when the checkpoint is unreadable.
func TestHighWatermarkCheckpoint(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	b, err := config.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.ResolveTopic(nil)
	open := func() (*Manager, *storage.Dir, *Partition) {
		t.Helper()
		d, err := storage.OpenDir(dir, logger)
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewManager([]*storage.Dir{d}, Intervals{}, storage.Options{Logger: logger}, logger)
		if err != nil {
			t.Fatal(err)
		}
		m.SetClustered()
		p, err := m.OpenPartition("t", 0, [16]byte{1}, &cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m, d, p
	}

	m0, _, p0 := open()
	if hw := p0.HighWatermark(); hw != 0 {
		t.Fatalf("new partition: hw %d", hw)
	}
	p0.Become(1, metadata.PartitionState{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}, nil)
	var bl record.Builder
	bl.Reset(record.NonIdempotent)
	for range 5 {
		bl.Append(time.Now().UnixMilli(), nil, []byte("v"), nil)
	}
	h, err := bl.Finish(record.CodecNone, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p0.AppendRecords(append([]byte(nil), h...), 1); err != nil {
		t.Fatal(err)
	}
	if hw := p0.HighWatermark(); hw != 5 {
		t.Fatalf("leader alone in the ISR: hw %d, want 5", hw)
	}
	m0.Close()

	m, d, p := open()
	if hw := p.HighWatermark(); hw != 5 {
		t.Fatalf("reopened: hw %d, want the checkpointed 5", hw)
	}
	// A checkpoint past the log end (a dirty stop lost the tail).
	if err := d.WriteHighWatermarks(map[storage.TopicPartition]int64{{Topic: "t", Partition: 0}: 100}); err != nil {
		t.Fatal(err)
	}
	m.Close() // rewrites it from the open partition
	if err := os.WriteFile(filepath.Join(dir, "replication-offset-checkpoint"), []byte("0\n1\nt 0 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, _, p = open()
	if hw := p.HighWatermark(); hw != 5 {
		t.Fatalf("checkpoint past the log end: hw %d, want 5", hw)
	}
	m.Close()
	if err := os.WriteFile(filepath.Join(dir, "replication-offset-checkpoint"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, _, p = open()
	defer m.Close()
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("unreadable checkpoint: hw %d, want the log start 0", hw)
	}
}
