package replica

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/storage"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A failed cleaning pass is logged with the partition, the file and the
// segment and byte offset from the error, and with what to do; the log is
// skipped until restart, and deleting the partition forgets it (the map of
// uncleanable logs leaked every deleted log).
func TestCleanFailedLogsAndForgetsDeletedLogs(t *testing.T) {
	var out syncBuf
	logger := slog.New(slog.NewTextHandler(&out, nil))
	d, err := storage.OpenDir(t.TempDir(), logger)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager([]*storage.Dir{d}, Intervals{}, storage.Options{Logger: logger}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := config.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.ResolveTopic(map[string]string{"cleanup.policy": "compact"})
	p, err := m.OpenPartition("compacted", 2, [16]byte{9}, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(d.Path(), "compacted-2", "00000000000000001234.log")
	cause := fmt.Errorf("clean compacted-2 segments from 1234: %w",
		&storage.CorruptionError{File: seg, Offset: 4567, Err: errors.New("crc mismatch")})
	m.cleanFailed(p, cause)

	line := out.String()
	for _, want := range []string{"topic=compacted", "partition=2", "file=" + seg, "byte_position=4567",
		"segment_base_offset=1234", "check the disk or the segment named, then restart samsa to retry cleaning"} {
		if !strings.Contains(strings.ToLower(line), strings.ToLower(want)) {
			t.Fatalf("log line lacks %q:\n%s", want, line)
		}
	}
	m.mu.RLock()
	n := len(m.uncleanable)
	m.mu.RUnlock()
	if n != 1 {
		t.Fatalf("%d uncleanable logs, want 1", n)
	}
	if err := m.DeletePartitions([]TopicPartition{{Topic: "compacted", Partition: 2}}); err != nil {
		t.Fatal(err)
	}
	m.mu.RLock()
	n = len(m.uncleanable)
	m.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d uncleanable logs after deleting the partition, want 0", n)
	}
}
