package broker_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/record"
)

// TestOrphanPartitionFoldersRemovedAtStart simulates a crash between
// DeleteTopics removing a topic from the metadata and renaming its
// partition folders: the next start must remove the folders, so a new
// topic with the same name starts empty instead of serving the old records.
func TestOrphanPartitionFoldersRemovedAtStart(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "t", 1, nil)
	r := dialRaw(t, b.Addr)
	batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: 1, value: []byte("old")})
	if p := produceOne(t, r, "t", 0, batch); p.ErrorCode != 0 {
		t.Fatalf("produce: error %d", p.ErrorCode)
	}
	b.Stop()

	// The crash: the topic left the metadata, its folder stayed.
	st, err := metadata.Open(b.Dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}

	b = b.Restart(t)
	if _, err := os.Stat(filepath.Join(b.Dir, "t-0")); !os.IsNotExist(err) {
		t.Fatalf("orphan folder t-0 still there after start (stat: %v)", err)
	}
	createTopic(t, b, "t", 1, nil)
	r = dialRaw(t, b.Addr)
	p := fetchOne(t, r, "t", 0, 0)
	if p.ErrorCode != 0 || p.HighWatermark != 0 || len(p.RecordBatches) != 0 {
		t.Fatalf("new topic t: error %d, high watermark %d, %d bytes of records; want an empty log",
			p.ErrorCode, p.HighWatermark, len(p.RecordBatches))
	}
}
