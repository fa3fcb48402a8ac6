package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Topic is one topic in the image.
type Topic struct {
	Name       string            `json:"name"`
	ID         UUID              `json:"id"`
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"` // topic-level overrides only
	// Assignments holds each partition's replicas, ISR and leader in a
	// cluster (len == Partitions); nil on a single node, which leads
	// every partition itself.
	Assignments []PartitionState `json:"assignments,omitempty"`
}

// Internal reports whether the topic is one of Kafka's internal topics.
func (t *Topic) Internal() bool {
	return t.Name == "__consumer_offsets" || t.Name == "__transaction_state"
}

// UUID is a Kafka UUID (topic ids, directory ids).
type UUID [16]byte

// NewUUID returns a random UUID that is neither zero nor Kafka's reserved
// METADATA_TOPIC_ID (1), like Kafka's Uuid.randomUuid.
func NewUUID() UUID {
	for {
		var u UUID
		rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // variant
		if u != (UUID{}) && u != (UUID{15: 1}) {
			return u
		}
	}
}

// String is Kafka's text form: URL-safe base64 without padding.
func (u UUID) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// MarshalText implements encoding.TextMarshaler.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *UUID) UnmarshalText(b []byte) error {
	p, err := ParseUUID(string(b))
	*u = p
	return err
}

// ParseUUID parses Kafka's text form of a UUID.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return u, fmt.Errorf("invalid uuid %q", s)
	}
	copy(u[:], b)
	return u, nil
}

// Image is an immutable snapshot of the metadata.
type Image struct {
	ClusterID string            `json:"cluster_id"`
	Topics    map[string]*Topic `json:"topics"`
	// NextProducerID is the first producer id not yet handed out in a block.
	NextProducerID int64 `json:"next_producer_id"`
	// Brokers holds the registered brokers of a cluster (nil on a single
	// node).
	Brokers map[int32]*BrokerReg `json:"brokers,omitempty"`
	byID    map[UUID]*Topic
}

func (im *Image) index() {
	im.byID = make(map[UUID]*Topic, len(im.Topics))
	for _, t := range im.Topics {
		im.byID[t.ID] = t
	}
}

// Topic returns the topic named name, or nil.
func (im *Image) Topic(name string) *Topic { return im.Topics[name] }

// TopicByID returns the topic with id, or nil.
func (im *Image) TopicByID(id UUID) *Topic { return im.byID[id] }

// TopicNames returns all topic names, sorted.
func (im *Image) TopicNames() []string { return slices.Sorted(maps.Keys(im.Topics)) }

func (im *Image) clone() *Image {
	n := &Image{ClusterID: im.ClusterID, Topics: make(map[string]*Topic, len(im.Topics)+1), NextProducerID: im.NextProducerID, Brokers: im.Brokers}
	maps.Copy(n.Topics, im.Topics)
	return n
}

// Errors returned by Store changes. internal/broker maps them to Kafka codes.
var (
	ErrTopicExists       = errors.New("topic already exists")
	ErrUnknownTopic      = errors.New("unknown topic")
	ErrInvalidTopic      = errors.New("invalid topic name")
	ErrInvalidPartitions = errors.New("invalid number of partitions")
)

// MaxTopicNameLength is Kafka's limit (249, leaving room for a partition
// suffix and ".deleted" within a 255-byte file name).
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's Topic.validate rules.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrInvalidTopic)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q is not allowed", ErrInvalidTopic, name)
	case len(name) > MaxTopicNameLength:
		return fmt.Errorf("%w: %q is longer than %d characters", ErrInvalidTopic, name, MaxTopicNameLength)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q contains a character other than ASCII alphanumerics, '.', '_' and '-'", ErrInvalidTopic, name)
		}
	}
	return nil
}

// Collides reports an existing topic that differs from name only by '.'
// versus '_', which Kafka forbids because metric names would clash.
func (im *Image) Collides(name string) string {
	norm := strings.ReplaceAll(name, ".", "_")
	for n := range im.Topics {
		if n != name && strings.ReplaceAll(n, ".", "_") == norm {
			return n
		}
	}
	return ""
}
