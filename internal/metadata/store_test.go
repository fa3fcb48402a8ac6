package metadata

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStorePersistsAndReloads(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "cluster-a")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateTopic("orders", 3, map[string]string{"retention.ms": "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTopic("orders", 1, nil); !errors.Is(err, ErrTopicExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := s.CreateTopic("a.b", 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTopic("a_b", 1, nil); !errors.Is(err, ErrInvalidTopic) || !strings.Contains(err.Error(), `collides with existing topic "a.b"`) {
		t.Fatalf("colliding name: %v", err)
	}
	if _, err := s.SetPartitions("orders", 2); !errors.Is(err, ErrInvalidPartitions) {
		t.Fatalf("shrink: %v", err)
	}
	if _, err := s.SetPartitions("orders", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetTopicConfigs("orders", map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteTopic("a.b"); err != nil {
		t.Fatal(err)
	}
	first, err := s.AllocateProducerIDs(1000)
	if err != nil || first != 0 {
		t.Fatalf("first block: %d %v", first, err)
	}
	// A crash while writing leaves a .tmp file behind; it must not matter.
	os.WriteFile(filepath.Join(dir, FileName+".tmp"), []byte("{garbage"), 0o644)

	s2, err := Open(dir, "cluster-a")
	if err != nil {
		t.Fatal(err)
	}
	im := s2.Image()
	o := im.Topic("orders")
	if o == nil || o.ID != a.ID || o.Partitions != 5 || len(o.Configs) != 1 || o.Configs["cleanup.policy"] != "compact" {
		t.Fatalf("reloaded orders: %+v", o)
	}
	if im.Topic("a.b") != nil || im.TopicByID(a.ID) != o || strings.Join(im.TopicNames(), ",") != "orders" {
		t.Fatalf("reloaded image: %v", im.TopicNames())
	}
	if next, _ := s2.AllocateProducerIDs(1000); next != 1000 {
		t.Fatalf("producer ids reused after reload: next block starts at %d", next)
	}
	if _, err := Open(dir, "cluster-b"); err == nil || !strings.Contains(err.Error(), "belongs to cluster cluster-a") {
		t.Fatalf("wrong cluster: %v", err)
	}
}

func TestStoreRefusesUnknownVersionAndCorruption(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"version": 9, "cluster_id": "x", "topics": {}}`), 0o644)
	if _, err := Open(dir, ""); err == nil || !strings.Contains(err.Error(), "format version 9") {
		t.Fatalf("version 9: %v", err)
	}
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"version": 1, "topi`), 0o644)
	if _, err := Open(dir, ""); err == nil || !strings.Contains(err.Error(), "is corrupt") {
		t.Fatalf("truncated file: %v", err)
	}
}

func TestValidateTopicName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"orders", true}, {"a.b_c-D9", true}, {"", false}, {".", false}, {"..", false},
		{strings.Repeat("x", 249), true}, {strings.Repeat("x", 250), false},
		{"has space", false}, {"slash/", false}, {"ünï", false},
	} {
		if err := ValidateTopicName(tc.name); (err == nil) != tc.ok {
			t.Errorf("%q: got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestUUIDText(t *testing.T) {
	u := NewUUID()
	p, err := ParseUUID(u.String())
	if err != nil || p != u || len(u.String()) != 22 {
		t.Fatalf("round trip %s: %v", u, err)
	}
	if _, err := ParseUUID("not-a-uuid"); err == nil {
		t.Fatal("parsed garbage")
	}
}
