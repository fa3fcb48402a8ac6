package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Config is one partition log's settings, resolved from topic and broker
// configs by the caller; storage never parses config keys. Field comments name
// the Kafka topic config each one carries.
type Config struct {
	SegmentBytes          int64 // segment.bytes (default 1 GiB)
	SegmentMs             int64 // segment.ms (7 days); roll when the active segment's first batch is older
	SegmentJitterMs       int64 // segment.jitter.ms, subtracted from SegmentMs
	SegmentIndexBytes     int32 // segment.index.bytes (10 MiB); roll when offset or time index is full
	IndexIntervalBytes    int32 // index.interval.bytes (4096)
	RetentionMs           int64 // retention.ms, -1 = keep forever
	RetentionBytes        int64 // retention.bytes, -1 = unlimited
	FlushIntervalMessages int64 // flush.messages; fsync after this many messages (math.MaxInt64 = never)
	FlushIntervalMs       int64 // flush.ms; fsync when this old (math.MaxInt64 = never), driven by Log.MaybeFlush
	FileDeleteDelayMs     int64 // file.delete.delay.ms (60000)
	Preallocate           bool  // preallocate, reserve segment.bytes for a new .log file

	// cleanup.policy. Time and size retention apply unless the policy is
	// compact alone (Compact && !Delete), as in Kafka; the cleaner works on
	// logs with Compact set.
	Compact                bool
	Delete                 bool
	DeleteRetentionMs      int64   // delete.retention.ms (1 day): how long a cleaned tombstone stays
	MinCleanableDirtyRatio float64 // min.cleanable.dirty.ratio (0.5)
	MinCompactionLagMs     int64   // min.compaction.lag.ms (0)
	MaxCompactionLagMs     int64   // max.compaction.lag.ms (math.MaxInt64); <= 0 means no limit
}

// retains reports whether time and size retention apply (cleanup.policy
// includes delete, or does not include compact).
func (c *Config) retains() bool { return c.Delete || !c.Compact }

// DefaultConfig returns Kafka's topic defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:           1 << 30,
		SegmentMs:              7 * 24 * 60 * 60 * 1000,
		SegmentIndexBytes:      10 << 20,
		IndexIntervalBytes:     4096,
		RetentionMs:            7 * 24 * 60 * 60 * 1000,
		RetentionBytes:         -1,
		FlushIntervalMessages:  math.MaxInt64,
		FlushIntervalMs:        math.MaxInt64,
		FileDeleteDelayMs:      60000,
		Delete:                 true,
		DeleteRetentionMs:      24 * 60 * 60 * 1000,
		MinCleanableDirtyRatio: 0.5,
		MaxCompactionLagMs:     math.MaxInt64,
	}
}

// Validate reports every problem with c, using Kafka's lower bounds.
func (c Config) Validate() error {
	var errs []error
	if c.SegmentBytes < 14 { // Kafka: at least LegacyRecord.RECORD_OVERHEAD_V0
		errs = append(errs, fmt.Errorf("segment.bytes %d is below 14", c.SegmentBytes))
	}
	if c.SegmentMs < 1 {
		errs = append(errs, fmt.Errorf("segment.ms %d is below 1", c.SegmentMs))
	}
	if c.SegmentJitterMs < 0 {
		errs = append(errs, fmt.Errorf("segment.jitter.ms %d is negative", c.SegmentJitterMs))
	}
	if c.SegmentIndexBytes < offsetEntrySize {
		errs = append(errs, fmt.Errorf("segment.index.bytes %d is below %d", c.SegmentIndexBytes, offsetEntrySize))
	}
	if c.IndexIntervalBytes < 0 {
		errs = append(errs, fmt.Errorf("index.interval.bytes %d is negative", c.IndexIntervalBytes))
	}
	if c.RetentionMs < -1 {
		errs = append(errs, fmt.Errorf("retention.ms %d is below -1", c.RetentionMs))
	}
	if c.FlushIntervalMessages < 1 {
		errs = append(errs, fmt.Errorf("flush.messages %d is below 1", c.FlushIntervalMessages))
	}
	if c.FlushIntervalMs < 0 {
		errs = append(errs, fmt.Errorf("flush.ms %d is negative", c.FlushIntervalMs))
	}
	if c.FileDeleteDelayMs < 0 {
		errs = append(errs, fmt.Errorf("file.delete.delay.ms %d is negative", c.FileDeleteDelayMs))
	}
	if c.MinCleanableDirtyRatio < 0 || c.MinCleanableDirtyRatio > 1 {
		errs = append(errs, fmt.Errorf("min.cleanable.dirty.ratio %v is not in [0, 1]", c.MinCleanableDirtyRatio))
	}
	if c.DeleteRetentionMs < 0 {
		errs = append(errs, fmt.Errorf("delete.retention.ms %d is negative", c.DeleteRetentionMs))
	}
	if c.MinCompactionLagMs < 0 {
		errs = append(errs, fmt.Errorf("min.compaction.lag.ms %d is negative", c.MinCompactionLagMs))
	}
	return errors.Join(errs...)
}

// Options are a log's dependencies and identity, fixed for its lifetime.
type Options struct {
	Logger               *slog.Logger     // nil = discard
	Now                  func() time.Time // nil = time.Now
	TopicID              [16]byte         // written to partition.metadata
	ProducerIDExpiration time.Duration    // producer.id.expiration.ms (default 1 day)
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProducerIDExpiration <= 0 {
		o.ProducerIDExpiration = 24 * time.Hour
	}
}
