package broker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

// A topic whose partitions cannot all be opened is not left behind half
// made: the create fails, the topic is not in the metadata, the partitions
// that did open are removed, and a retry succeeds once the cause is gone.
func TestCreateTopicRollsBackWhenAPartitionFails(t *testing.T) {
	b := kafkatest.Start(t)
	blocker := filepath.Join(b.Dir, "half-1") // a file where a folder must go
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	adm := b.Admin(t)
	ctx := context.Background()
	resp, err := adm.CreateTopic(ctx, 2, 1, nil, "half")
	if err == nil && resp.Err == nil {
		t.Fatal("create succeeded although partition 1 cannot be opened")
	}
	if b.Metadata().Image().Topic("half") != nil {
		t.Fatal("the failed topic is still in the metadata")
	}
	if _, err := os.Stat(filepath.Join(b.Dir, "half-0")); !os.IsNotExist(err) {
		t.Fatalf("partition 0 of the failed topic is still on disk (stat: %v)", err)
	}
	os.Remove(blocker)
	if resp, err := adm.CreateTopic(ctx, 2, 1, nil, "half"); err != nil || resp.Err != nil {
		t.Fatalf("retry: %v %v", err, resp.Err)
	}
	b = b.Restart(t)
	if tp := b.Metadata().Image().Topic("half"); tp == nil || tp.Partitions != 2 {
		t.Fatalf("after restart: %+v", tp)
	}
}
