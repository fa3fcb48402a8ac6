package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Dir-wide file names, as Kafka's LogManager.
const (
	recoveryPointCheckpointFile = "recovery-point-offset-checkpoint"
	logStartCheckpointFile      = "log-start-offset-checkpoint"
	cleanerCheckpointFile       = "cleaner-offset-checkpoint"
	replicationCheckpointFile   = "replication-offset-checkpoint" // high watermarks, in a cluster
	cleanShutdownFile           = ".kafka_cleanshutdown"
	deleteDirSuffix             = "-delete"
)

// Dir is one log dir (Kafka's LogManager for one entry of log.dirs).
//
// mu guards the maps. Lock order: Dir.mu is never held while calling a Log
// method that takes Log.mu; a Log calls back into the Dir (checkpoint after
// its start offset moved) only after releasing Log.mu.
type Dir struct {
	path   string
	logger *slog.Logger
	clean  bool // a clean-shutdown marker was found at open

	mu             sync.Mutex
	logs           map[TopicPartition]*Log
	recoveryPoints map[TopicPartition]int64 // checkpointed, for logs not open
	logStarts      map[TopicPartition]int64
	cleanerOffsets map[TopicPartition]int64 // first dirty offsets, for logs not open
	highWatermarks map[TopicPartition]int64 // as last checkpointed by the replica manager
	closed         bool
	bg             sync.WaitGroup // removal of *-delete folders
	ckptMu         sync.Mutex     // serializes checkpoint writes
}

// OpenDir opens (creating if missing) a log dir, reads its checkpoints and
// consumes the clean-shutdown marker: logs opened from this Dir skip the
// recovery scan only if the marker was there.
func OpenDir(path string, logger *slog.Logger) (*Dir, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	d := &Dir{
		path: path, logger: logger.With("component", "storage", "log_dir", path),
		logs: map[TopicPartition]*Log{},
	}
	var err error
	if d.recoveryPoints, err = readOffsetCheckpoint(filepath.Join(path, recoveryPointCheckpointFile)); err != nil {
		d.logger.Warn("unreadable recovery point checkpoint; recovering every segment", "err", err)
		d.recoveryPoints = map[TopicPartition]int64{}
	}
	if d.logStarts, err = readOffsetCheckpoint(filepath.Join(path, logStartCheckpointFile)); err != nil {
		return nil, err
	}
	if d.cleanerOffsets, err = readOffsetCheckpoint(filepath.Join(path, cleanerCheckpointFile)); err != nil {
		// Only an optimization: the cleaner starts over from the log start.
		d.logger.Warn("unreadable cleaner checkpoint; cleaning logs from their start", "err", err)
		d.cleanerOffsets = map[TopicPartition]int64{}
	}
	if d.highWatermarks, err = readOffsetCheckpoint(filepath.Join(path, replicationCheckpointFile)); err != nil {
		// Safe to lose: high watermarks then start at the log start and
		// are learned again from the leader or the ISR.
		d.logger.Warn("unreadable high watermark checkpoint; high watermarks start at the log start", "err", err)
		d.highWatermarks = map[TopicPartition]int64{}
	}
	marker := filepath.Join(path, cleanShutdownFile)
	if _, err := os.Stat(marker); err == nil {
		d.clean = true
		if err := os.Remove(marker); err != nil {
			return nil, err
		}
		if err := syncDir(path); err != nil {
			return nil, err
		}
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	parts := 0
	for _, e := range ents {
		switch {
		case e.IsDir() && strings.HasSuffix(e.Name(), deleteDirSuffix):
			d.removeAsync(filepath.Join(path, e.Name()))
		case e.IsDir():
			parts++
		}
	}
	if parts == 0 {
		// Nothing to recover: whether the last stop was clean is moot.
		d.logger.Info("opened log dir", "partition_folders", 0)
	} else {
		d.logger.Info("opened log dir", "partition_folders", parts, "clean_shutdown", d.clean)
	}
	return d, nil
}

// Path is the log dir.
func (d *Dir) Path() string { return d.path }

// CheckpointedHighWatermark is a partition's high watermark as last written
// by WriteHighWatermarks (Kafka's replication-offset-checkpoint).
func (d *Dir) CheckpointedHighWatermark(tp TopicPartition) (int64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	hw, ok := d.highWatermarks[tp]
	return hw, ok
}

// WriteHighWatermarks replaces the high watermark checkpoint with hws, the
// partitions of this dir.
func (d *Dir) WriteHighWatermarks(hws map[TopicPartition]int64) error {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	if err := writeOffsetCheckpoint(filepath.Join(d.path, replicationCheckpointFile), hws); err != nil {
		return err
	}
	d.mu.Lock()
	d.highWatermarks = hws
	d.mu.Unlock()
	return nil
}

// CleanShutdown reports whether the dir was shut down cleanly last time.
func (d *Dir) CleanShutdown() bool { return d.clean }

// parsePartitionDir splits "<topic>-<partition>".
func parsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || strconv.Itoa(int(p)) != name[i+1:] {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// MetadataLogFolder holds a cluster node's replicated metadata log (the
// Raft log and snapshots), named as in Kafka; it is not a partition.
const MetadataLogFolder = "__cluster_metadata-0"

// Partitions lists the partition folders on disk, sorted.

func (d *Dir) Partitions() ([]TopicPartition, error) {
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return nil, err
	}
	var out []TopicPartition
	for _, e := range ents {
		if !e.IsDir() || e.Name() == MetadataLogFolder {
			continue
		}
		if tp, ok := parsePartitionDir(e.Name()); ok {
			out = append(out, tp)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out, nil
}

// OpenLog creates or opens and recovers the partition's log.
func (d *Dir) OpenLog(topic string, partition int32, cfg Config, opts Options) (*Log, error) {
	tp := TopicPartition{topic, partition}
	if topic == "" || strings.ContainsAny(topic, "/\\") || topic == "." || topic == ".." || partition < 0 {
		return nil, fmt.Errorf("storage: invalid partition %q %d", topic, partition)
	}
	if opts.Logger == nil {
		opts.Logger = d.logger
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, ErrLogClosed
	}
	if old, ok := d.logs[tp]; ok {
		if old == nil || !old.closed.Load() {
			d.mu.Unlock()
			return nil, fmt.Errorf("%w: %s", ErrLogExists, tp)
		}
		// Reopening a log closed by Log.Close: it was flushed and snapshotted.
		d.recoveryPoints[tp], d.logStarts[tp] = old.RecoveryPoint(), old.LogStartOffset()
		d.cleanerOffsets[tp] = old.CleanerOffset()
	}
	d.logs[tp] = nil // reserve while opening
	p := openParams{clean: d.clean, recoveryPoint: d.recoveryPoints[tp], logStartOffset: d.logStarts[tp],
		cleanerOffset: d.cleanerOffsets[tp], onStart: d.Checkpoint}
	d.mu.Unlock()

	l, err := openLog(filepath.Join(d.path, tp.String()), tp, cfg, opts, p)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		delete(d.logs, tp)
		return nil, err
	}
	d.logs[tp] = l
	return l, nil
}

// Log returns the open log for tp, or nil.
func (d *Dir) Log(tp TopicPartition) *Log {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs[tp]
}

// DeleteLog closes l, renames its folder to "<topic>-<p>.<uuid>-delete" and
// removes it in the background, as Kafka does. Appends to other logs are
// never blocked.
func (d *Dir) DeleteLog(l *Log) error {
	tp := l.TopicPartition()
	d.mu.Lock()
	if d.logs[tp] == l {
		delete(d.logs, tp)
	}
	delete(d.recoveryPoints, tp)
	delete(d.logStarts, tp)
	delete(d.cleanerOffsets, tp)
	delete(d.highWatermarks, tp)
	d.mu.Unlock()
	err := l.Close()
	return errors.Join(err, d.renameForDelete(tp, l.Dir()))
}

// DeleteFolder deletes the folder of a partition that is not open in this
// Dir (one found on disk whose topic no longer exists), as DeleteLog does.
// A missing folder is not an error.
func (d *Dir) DeleteFolder(tp TopicPartition) error {
	d.mu.Lock()
	if l, ok := d.logs[tp]; ok && (l == nil || !l.closed.Load()) {
		d.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrLogExists, tp)
	}
	delete(d.logs, tp)
	delete(d.recoveryPoints, tp)
	delete(d.logStarts, tp)
	delete(d.cleanerOffsets, tp)
	delete(d.highWatermarks, tp)
	d.mu.Unlock()
	dir := filepath.Join(d.path, tp.String())
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return d.Checkpoint()
	}
	return d.renameForDelete(tp, dir)
}

// renameForDelete renames a partition folder to
// "<topic>-<p>.<uuid>-delete", removes it in the background and
// checkpoints without the partition.
func (d *Dir) renameForDelete(tp TopicPartition, dir string) error {
	var id [16]byte
	rand.Read(id[:])
	target := filepath.Join(d.path, fmt.Sprintf("%s.%s%s", tp, hex.EncodeToString(id[:]), deleteDirSuffix))
	if err := os.Rename(dir, target); err != nil {
		return err
	}
	var err error
	if serr := syncDir(d.path); serr != nil {
		err = serr
	}
	d.removeAsync(target)
	return errors.Join(err, d.Checkpoint())
}

func (d *Dir) removeAsync(path string) {
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		if err := os.RemoveAll(path); err != nil {
			d.logger.Warn("removing deleted partition folder", "path", path, "err", err)
		}
	}()
}

// Checkpoint writes recovery-point-offset-checkpoint and
// log-start-offset-checkpoint atomically (tmp, fsync, rename). It reads only
// atomics of each Log, so it never waits for appends.
func (d *Dir) Checkpoint() error {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	d.mu.Lock()
	rps := make(map[TopicPartition]int64, len(d.recoveryPoints)+len(d.logs))
	starts := make(map[TopicPartition]int64, len(d.logStarts)+len(d.logs))
	cleaned := make(map[TopicPartition]int64, len(d.cleanerOffsets)+len(d.logs))
	for tp, o := range d.cleanerOffsets {
		cleaned[tp] = o
	}
	for tp, o := range d.recoveryPoints {
		rps[tp] = o
	}
	for tp, o := range d.logStarts {
		starts[tp] = o
	}
	for tp, l := range d.logs {
		if l == nil {
			continue
		}
		rps[tp] = l.RecoveryPoint()
		starts[tp] = l.LogStartOffset()
		cleaned[tp] = l.CleanerOffset()
	}
	d.mu.Unlock()
	// Kafka writes only non-zero log start offsets.
	for tp, o := range starts {
		if o == 0 {
			delete(starts, tp)
		}
	}
	// Only logs the cleaner has been over.
	for tp, o := range cleaned {
		if o == 0 {
			delete(cleaned, tp)
		}
	}
	return errors.Join(
		writeOffsetCheckpoint(filepath.Join(d.path, recoveryPointCheckpointFile), rps),
		writeOffsetCheckpoint(filepath.Join(d.path, logStartCheckpointFile), starts),
		writeOffsetCheckpoint(filepath.Join(d.path, cleanerCheckpointFile), cleaned),
	)
}

// Close closes every open log, checkpoints, and writes the clean-shutdown
// marker only if all of that succeeded.
func (d *Dir) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	var logs []*Log
	for _, l := range d.logs {
		if l != nil {
			logs = append(logs, l)
		}
	}
	d.mu.Unlock()
	var errs []error
	for _, l := range logs {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", l.TopicPartition(), err))
		}
	}
	errs = append(errs, d.Checkpoint())
	d.bg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d.path, cleanShutdownFile), nil)
}

func readOffsetCheckpoint(path string) (map[TopicPartition]int64, error) {
	rows, err := parseCheckpoint(path, 3)
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]int64, len(rows))
	for _, r := range rows {
		p, err1 := strconv.ParseInt(r[1], 10, 32)
		o, err2 := strconv.ParseInt(r[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, &CorruptionError{File: path, Err: fmt.Errorf("bad entry %q", r)}
		}
		out[TopicPartition{r[0], int32(p)}] = o
	}
	return out, nil
}

func writeOffsetCheckpoint(path string, m map[TopicPartition]int64) error {
	tps := make([]TopicPartition, 0, len(m))
	for tp := range m {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	lines := make([]string, len(tps))
	for i, tp := range tps {
		lines[i] = fmt.Sprintf("%s %d %d", tp.Topic, tp.Partition, m[tp])
	}
	return writeFileAtomic(path, formatCheckpoint(0, lines))
}
