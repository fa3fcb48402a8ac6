package replica

import (
	"log/slog"
	"testing"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/storage"
)

// testManager returns a manager over one temporary log dir, closed at
// cleanup, and the default topic config. A clustered manager opens
// partitions as followers (until Become), as in a cluster.
func testManager(t *testing.T, clustered bool) (*Manager, *config.Topic) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	d, err := storage.OpenDir(t.TempDir(), logger)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager([]*storage.Dir{d}, Intervals{}, storage.Options{Logger: logger}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if clustered {
		m.SetClustered()
	}
	b, err := config.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.ResolveTopic(nil)
	return m, &cfg
}

// openTestPartition opens partition t-0 in a testManager.
func openTestPartition(t *testing.T, clustered bool) *Partition {
	t.Helper()
	m, cfg := testManager(t, clustered)
	p, err := m.OpenPartition("t", 0, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
