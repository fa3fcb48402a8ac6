package metadata

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// FileName is the metadata image file inside the first log dir.
const FileName = "metadata.json"

// formatVersion is written into the file; see docs/format/metadata.md.
const formatVersion = 1

type fileFormat struct {
	Version int `json:"version"`
	*Image
}

// Store owns the metadata image of a single-node cluster.
type Store struct {
	path    string
	created bool       // Open found no file and started an empty image
	mu      sync.Mutex // serializes changes and file writes
	image   atomic.Pointer[Image]
}

// Created reports whether Open found no metadata file and started an empty
// image (a new cluster, or a file that went missing).
func (s *Store) Created() bool { return s.created }

// Path is the metadata file.
func (s *Store) Path() string { return s.path }

// Open loads the image from dir, or starts an empty one with clusterID.
func Open(dir, clusterID string) (*Store, error) {
	s := &Store{path: filepath.Join(dir, FileName)}
	b, err := os.ReadFile(s.path)
	switch {
	case os.IsNotExist(err):
		// Not written until the first change, so a caller that refuses to
		// run on an unexpectedly missing file (see Created) finds it
		// still missing next time.
		im := &Image{ClusterID: clusterID, Topics: map[string]*Topic{}}
		im.index()
		s.image.Store(im)
		s.created = true
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	f := fileFormat{Image: &Image{}}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("metadata file %s is corrupt: %w", s.path, err)
	}
	if f.Version != formatVersion {
		return nil, fmt.Errorf("metadata file %s has format version %d; this samsa reads version %d", s.path, f.Version, formatVersion)
	}
	if f.Topics == nil {
		f.Topics = map[string]*Topic{}
	}
	if clusterID != "" && f.ClusterID != clusterID {
		return nil, fmt.Errorf("metadata file %s belongs to cluster %s, but meta.properties says %s", s.path, f.ClusterID, clusterID)
	}
	f.Image.index()
	s.image.Store(f.Image)
	return s, nil
}

// Image returns the current image. It must not be modified.
func (s *Store) Image() *Image { return s.image.Load() }

func (s *Store) persist(im *Image) error {
	b, err := json.MarshalIndent(fileFormat{Version: formatVersion, Image: im}, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(s.path))
	}
	if err != nil {
		return fmt.Errorf("write metadata %s: %w", s.path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// change applies fn to a copy of the image, persists and publishes it.
func (s *Store) change(fn func(im *Image) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.image.Load().clone()
	if err := fn(im); err != nil {
		return err
	}
	im.index()
	if err := s.persist(im); err != nil {
		return err
	}
	s.image.Store(im)
	return nil
}

// CreateTopic adds a topic. Configs must already be validated.
func (s *Store) CreateTopic(name string, partitions int32, configs map[string]string) (*Topic, error) {
	if err := ValidateTopicName(name); err != nil {
		return nil, err
	}
	if partitions < 1 {
		return nil, fmt.Errorf("%w: %d (must be at least 1)", ErrInvalidPartitions, partitions)
	}
	var t *Topic
	err := s.change(func(im *Image) error {
		if im.Topics[name] != nil {
			return fmt.Errorf("%w: %s", ErrTopicExists, name)
		}
		if other := im.Collides(name); other != "" {
			return fmt.Errorf("%w: %q collides with existing topic %q (they differ only in '.' versus '_')", ErrInvalidTopic, name, other)
		}
		t = &Topic{Name: name, ID: NewUUID(), Partitions: partitions, Configs: maps.Clone(configs)}
		im.Topics[name] = t
		return nil
	})
	return t, err
}

// DeleteTopic removes a topic and returns what it was.
func (s *Store) DeleteTopic(name string) (*Topic, error) {
	var t *Topic
	err := s.change(func(im *Image) error {
		if t = im.Topics[name]; t == nil {
			return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
		}
		delete(im.Topics, name)
		return nil
	})
	return t, err
}

// SetPartitions grows a topic to total partitions.
func (s *Store) SetPartitions(name string, total int32) (*Topic, error) {
	var nt *Topic
	err := s.change(func(im *Image) error {
		t := im.Topics[name]
		if t == nil {
			return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
		}
		if total <= t.Partitions {
			return fmt.Errorf("%w: topic %s has %d partitions; the new count must be larger, not %d", ErrInvalidPartitions, name, t.Partitions, total)
		}
		c := *t
		c.Partitions = total
		im.Topics[name] = &c
		nt = &c
		return nil
	})
	return nt, err
}

// SetTopicConfigs replaces a topic's overrides. Configs must be validated.
func (s *Store) SetTopicConfigs(name string, configs map[string]string) (*Topic, error) {
	var nt *Topic
	err := s.change(func(im *Image) error {
		t := im.Topics[name]
		if t == nil {
			return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
		}
		c := *t
		c.Configs = maps.Clone(configs)
		im.Topics[name] = &c
		nt = &c
		return nil
	})
	return nt, err
}

// AllocateProducerIDs reserves a block of n producer ids and returns the
// first. The block is persisted before it is handed out, so ids are never
// reused after a restart (Kafka's AllocateProducerIds / ProducerIdsRecord).
func (s *Store) AllocateProducerIDs(n int64) (int64, error) {
	var first int64
	err := s.change(func(im *Image) error {
		first = im.NextProducerID
		if first > (1<<63-1)-n {
			return fmt.Errorf("producer ids exhausted")
		}
		im.NextProducerID = first + n
		return nil
	})
	return first, err
}
