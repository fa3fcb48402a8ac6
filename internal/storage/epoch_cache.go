package storage

import (
	"fmt"
	"path/filepath"
	"strconv"
)

const leaderEpochCheckpointFile = "leader-epoch-checkpoint"

// EpochEntry says leader epoch Epoch began at StartOffset.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is Kafka's LeaderEpochFileCache: the start offset of every
// leader epoch seen in the log, persisted to leader-epoch-checkpoint on each
// change. Guarded by Log.mu; reads of latest go through Log.latestEpoch.
type epochCache struct {
	path    string
	entries []EpochEntry // ascending in both fields
}

func loadEpochCache(dir string) (*epochCache, error) {
	c := &epochCache{path: filepath.Join(dir, leaderEpochCheckpointFile)}
	rows, err := parseCheckpoint(c.path, 2)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		e, err1 := strconv.ParseInt(r[0], 10, 32)
		o, err2 := strconv.ParseInt(r[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, &CorruptionError{File: c.path, Err: fmt.Errorf("bad entry %q", r)}
		}
		c.entries = append(c.entries, EpochEntry{int32(e), o})
	}
	return c, nil
}

func (c *epochCache) flush() error {
	lines := make([]string, len(c.entries))
	for i, e := range c.entries {
		lines[i] = fmt.Sprintf("%d %d", e.Epoch, e.StartOffset)
	}
	return writeFileAtomic(c.path, formatCheckpoint(0, lines))
}

func (c *epochCache) latest() (EpochEntry, bool) {
	if len(c.entries) == 0 {
		return EpochEntry{-1, -1}, false
	}
	return c.entries[len(c.entries)-1], true
}

// assign records that epoch starts at offset when epoch is newer than the
// latest one. It reports whether the cache changed (caller flushes).
func (c *epochCache) assign(epoch int32, offset int64) bool {
	if epoch < 0 {
		return false
	}
	if l, ok := c.latest(); ok && (epoch <= l.Epoch || offset < l.StartOffset) {
		return false
	}
	c.entries = append(c.entries, EpochEntry{epoch, offset})
	return true
}

// truncateFromEnd drops epochs that start at or after endOffset (log
// truncation), as Kafka's truncateFromEndAsyncFlush.
func (c *epochCache) truncateFromEnd(endOffset int64) bool {
	i := len(c.entries)
	for i > 0 && c.entries[i-1].StartOffset >= endOffset {
		i--
	}
	changed := i != len(c.entries)
	c.entries = c.entries[:i]
	return changed
}

// truncateFromStart drops epochs wholly below startOffset and moves the
// start of the epoch that contains it up to it (log start offset moved).
func (c *epochCache) truncateFromStart(startOffset int64) bool {
	i := 0
	for i < len(c.entries) && c.entries[i].StartOffset <= startOffset {
		i++
	}
	if i == 0 {
		return false
	}
	// entries[i-1] holds startOffset.
	keep := c.entries[i-1]
	if i == 1 && keep.StartOffset == startOffset {
		return false
	}
	keep.StartOffset = startOffset
	c.entries = append([]EpochEntry{keep}, c.entries[i:]...)
	return true
}

// endOffsetFor is Kafka's LeaderEpochFileCache.endOffsetFor: the epoch and
// end offset a follower at requested should truncate to.
func (c *epochCache) endOffsetFor(requested int32, logEndOffset int64) (int32, int64) {
	if requested < 0 {
		return -1, -1
	}
	l, ok := c.latest()
	if ok && l.Epoch == requested {
		return requested, logEndOffset
	}
	// First entry with a higher epoch.
	hi := -1
	for i, e := range c.entries {
		if e.Epoch > requested {
			hi = i
			break
		}
	}
	if hi < 0 {
		return -1, -1 // newer than any we know
	}
	if hi == 0 {
		return requested, c.entries[0].StartOffset // older than any we know
	}
	return c.entries[hi-1].Epoch, c.entries[hi].StartOffset
}
