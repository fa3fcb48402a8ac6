package metadata

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// In a cluster the image is built by applying records from the replicated
// metadata log (internal/controller). A log entry is a Batch of records that
// the active controller computed and that every node applies in order and
// atomically, so every node's image after entry N is the same. Records
// carry whole new states (a partition's full replica set, ISR and leader)
// rather than deltas, which keeps Apply trivially deterministic. The JSON
// encoding is documented in docs/format/metadata.md.

// Endpoint is a broker listener as registered with the controller.
type Endpoint struct {
	Name     string `json:"name"`
	Host     string `json:"host"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
}

// BrokerReg is a registered broker (Kafka's RegisterBrokerRecord plus its
// fencing state).
type BrokerReg struct {
	ID        int32      `json:"id"`
	Epoch     int64      `json:"epoch"`       // the registration's log index: new for every process start
	Incarn    string     `json:"incarnation"` // the process's incarnation id
	Endpoints []Endpoint `json:"endpoints"`
	Rack      string     `json:"rack,omitempty"`
	// Fenced brokers lead nothing and are not in any ISR; a registered
	// broker starts fenced until it has caught up with the metadata log.
	Fenced bool `json:"fenced"`
	// ShuttingDown is set by a controlled shutdown: the broker is leaving,
	// its leaderships have been moved away.
	ShuttingDown bool `json:"shutting_down,omitempty"`
}

// Endpoint returns the broker's listener named name.
func (b *BrokerReg) Endpoint(name string) (Endpoint, bool) {
	for _, e := range b.Endpoints {
		if e.Name == name {
			return e, true
		}
	}
	return Endpoint{}, false
}

// PartitionState is a partition's placement and leadership (Kafka's
// PartitionRecord / PartitionChangeRecord).
type PartitionState struct {
	Replicas []int32 `json:"replicas"`
	ISR      []int32 `json:"isr"`
	// Leader is -1 while no replica can lead (all offline, or only
	// out-of-sync ones left and unclean election is off).
	Leader      int32 `json:"leader"`
	LeaderEpoch int32 `json:"leader_epoch"`
	// PartitionEpoch moves with every change; AlterPartition requests must
	// name the current one.
	PartitionEpoch int32 `json:"partition_epoch"`
	// AddingReplicas and RemovingReplicas describe a reassignment in
	// progress (KIP-455): Replicas holds the union until it completes.
	AddingReplicas   []int32 `json:"adding,omitempty"`
	RemovingReplicas []int32 `json:"removing,omitempty"`
	// LeaderRecovering is set after an unclean election until the new
	// leader has recovered its log (KIP-704).
	LeaderRecovering bool `json:"leader_recovering,omitempty"`
}

// Clone returns a deep copy.
func (p PartitionState) Clone() PartitionState {
	p.Replicas = slices.Clone(p.Replicas)
	p.ISR = slices.Clone(p.ISR)
	p.AddingReplicas = slices.Clone(p.AddingReplicas)
	p.RemovingReplicas = slices.Clone(p.RemovingReplicas)
	return p
}

// InISR reports whether id is in the ISR.
func (p *PartitionState) InISR(id int32) bool { return slices.Contains(p.ISR, id) }

// HasReplica reports whether id is one of the replicas.
func (p *PartitionState) HasReplica(id int32) bool { return slices.Contains(p.Replicas, id) }

// Record types.
const (
	RecClusterID        = "cluster_id"
	RecRegisterBroker   = "register_broker"
	RecBrokerState      = "broker_state" // fenced / unfenced / shutting down
	RecUnregisterBroker = "unregister_broker"
	RecTopic            = "topic"           // a new topic with its partitions
	RecRemoveTopic      = "remove_topic"    // by id
	RecTopicConfigs     = "topic_configs"   // replaces a topic's overrides
	RecPartition        = "partition"       // a new or changed partition state
	RecProducerIDs      = "producer_ids"    // the next producer id block
	RecNoop             = "noop"            // leader's first entry of a term
	RecFeature          = "metadata_format" // reserved for format upgrades
)

// Record is one change to the image.
type Record struct {
	Type string `json:"type"`

	ClusterID string     `json:"cluster_id,omitempty"`
	Broker    *BrokerReg `json:"broker,omitempty"`
	BrokerID  int32      `json:"broker_id,omitempty"`
	Fenced    bool       `json:"fenced,omitempty"`
	Shutdown  bool       `json:"shutting_down,omitempty"`

	Topic     *Topic            `json:"topic,omitempty"`
	TopicID   UUID              `json:"topic_id,omitzero"`
	Configs   map[string]string `json:"configs,omitempty"`
	Partition int32             `json:"partition,omitempty"`
	State     *PartitionState   `json:"state,omitempty"`

	NextProducerID int64 `json:"next_producer_id,omitempty"`
}

// Batch is the records of one metadata log entry, applied atomically.
type Batch []Record

// EncodeBatch encodes a batch for the metadata log.
func EncodeBatch(b Batch) ([]byte, error) { return json.Marshal(b) }

// DecodeBatch decodes a metadata log entry.
func DecodeBatch(data []byte) (Batch, error) {
	var b Batch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("undecodable metadata log entry: %w", err)
	}
	return b, nil
}

// Apply returns the image after the batch. The receiver is not modified.
// A record that does not fit the image (an unknown topic id, say) is an
// error: the controller only writes records computed from the same image,
// so it means the log is corrupt or from a newer samsa.
//
// index is the entry's position in the metadata log: a broker registration
// takes it as its broker epoch.
func (im *Image) Apply(b Batch, index int64) (*Image, error) {
	n := im.clone()
	n.Brokers = maps.Clone(im.Brokers)
	if n.Brokers == nil {
		n.Brokers = map[int32]*BrokerReg{}
	}
	n.index()
	for i, r := range b {
		if err := n.apply(r, index); err != nil {
			return nil, fmt.Errorf("metadata record %d (%s): %w", i, r.Type, err)
		}
	}
	n.index()
	return n, nil
}

func (n *Image) apply(r Record, index int64) error {
	switch r.Type {
	case RecNoop, RecFeature:
	case RecClusterID:
		if n.ClusterID != "" && n.ClusterID != r.ClusterID {
			return fmt.Errorf("cluster id is already %s", n.ClusterID)
		}
		n.ClusterID = r.ClusterID
	case RecRegisterBroker:
		if r.Broker == nil {
			return fmt.Errorf("no broker")
		}
		c := *r.Broker
		c.Endpoints = slices.Clone(c.Endpoints)
		c.Epoch = index
		n.Brokers[c.ID] = &c
	case RecBrokerState:
		old := n.Brokers[r.BrokerID]
		if old == nil {
			return fmt.Errorf("unknown broker %d", r.BrokerID)
		}
		c := *old
		c.Fenced, c.ShuttingDown = r.Fenced, r.Shutdown
		n.Brokers[r.BrokerID] = &c
	case RecUnregisterBroker:
		delete(n.Brokers, r.BrokerID)
	case RecTopic:
		t := r.Topic
		if t == nil {
			return fmt.Errorf("no topic")
		}
		if n.Topics[t.Name] != nil {
			return fmt.Errorf("topic %s exists", t.Name)
		}
		c := *t
		c.Configs = maps.Clone(t.Configs)
		c.Assignments = cloneStates(t.Assignments)
		c.Partitions = int32(len(c.Assignments))
		n.Topics[c.Name] = &c
		n.byID[c.ID] = &c
	case RecRemoveTopic:
		t := n.byID[r.TopicID]
		if t == nil {
			return fmt.Errorf("unknown topic id %s", r.TopicID)
		}
		delete(n.Topics, t.Name)
		delete(n.byID, t.ID)
	case RecTopicConfigs:
		t := n.byID[r.TopicID]
		if t == nil {
			return fmt.Errorf("unknown topic id %s", r.TopicID)
		}
		c := *t
		c.Configs = maps.Clone(r.Configs)
		n.Topics[c.Name], n.byID[c.ID] = &c, &c
	case RecPartition:
		t := n.byID[r.TopicID]
		if t == nil {
			return fmt.Errorf("unknown topic id %s", r.TopicID)
		}
		if r.State == nil || r.Partition < 0 || int(r.Partition) > len(t.Assignments) {
			return fmt.Errorf("bad partition %d of %s", r.Partition, t.Name)
		}
		c := *t
		c.Assignments = slices.Clone(t.Assignments) // states are immutable; the slice is not
		if int(r.Partition) == len(c.Assignments) {
			c.Assignments = append(c.Assignments, r.State.Clone())
		} else {
			c.Assignments[r.Partition] = r.State.Clone()
		}
		c.Partitions = int32(len(c.Assignments))
		n.Topics[c.Name], n.byID[c.ID] = &c, &c
	case RecProducerIDs:
		if r.NextProducerID < n.NextProducerID {
			return fmt.Errorf("producer ids move back from %d to %d", n.NextProducerID, r.NextProducerID)
		}
		n.NextProducerID = r.NextProducerID
	default:
		return fmt.Errorf("unknown record type %q (written by a newer samsa?)", r.Type)
	}
	return nil
}

func cloneStates(s []PartitionState) []PartitionState {
	out := make([]PartitionState, len(s))
	for i := range s {
		out[i] = s[i].Clone()
	}
	return out
}

// LiveBrokers returns the registered, unfenced brokers, sorted by id.
func (im *Image) LiveBrokers() []*BrokerReg {
	var out []*BrokerReg
	for _, id := range slices.Sorted(maps.Keys(im.Brokers)) {
		if b := im.Brokers[id]; !b.Fenced {
			out = append(out, b)
		}
	}
	return out
}

// PartitionState returns a partition's state in a cluster, or nil (single
// node images have no assignments; unknown partitions).
func (t *Topic) PartitionState(p int32) *PartitionState {
	if p < 0 || int(p) >= len(t.Assignments) {
		return nil
	}
	return &t.Assignments[p]
}

// NewImage returns an empty image.
func NewImage(clusterID string) *Image {
	im := &Image{ClusterID: clusterID, Topics: map[string]*Topic{}}
	im.index()
	return im
}

// EncodeImage encodes a whole image (metadata snapshots).
func EncodeImage(im *Image) ([]byte, error) { return json.Marshal(im) }

// DecodeImage decodes an image written by EncodeImage.
func DecodeImage(b []byte) (*Image, error) {
	im := &Image{}
	if err := json.Unmarshal(b, im); err != nil {
		return nil, fmt.Errorf("undecodable metadata snapshot: %w", err)
	}
	if im.Topics == nil {
		im.Topics = map[string]*Topic{}
	}
	im.index()
	return im, nil
}
