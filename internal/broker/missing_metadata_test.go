package broker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/metadata"
)

// TestMissingMetadataKeepsPartitionFolders: with metadata.json gone (log.dirs
// reordered, file removed by hand) every partition folder looks orphaned.
// The broker must refuse to start rather than delete them all.
func TestMissingMetadataKeepsPartitionFolders(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "keep", 2, nil)
	b.Stop()
	if err := os.Remove(filepath.Join(b.Dir, metadata.FileName)); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.NewBroker(b.Props)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // and again: the refusal must not write an empty metadata.json
		nb, err := broker.New(cfg, nil, nil)
		if err == nil {
			nb.Close(context.Background())
			t.Fatal("broker started without metadata.json over existing partition folders")
		}
		t.Logf("refused as expected: %v", err)
	}
	for _, d := range []string{"keep-0", "keep-1"} {
		if _, err := os.Stat(filepath.Join(b.Dir, d)); err != nil {
			t.Fatalf("partition folder %s: %v", d, err)
		}
	}
}
