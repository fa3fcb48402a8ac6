package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// leftovers lists cleaner files (.swap, .cleaned, .deleted) in the log's
// folder.
func leftovers(t *testing.T, l *Log) []string {
	t.Helper()
	ents, err := os.ReadDir(l.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		if strings.HasSuffix(en.Name(), swapSuffix) || strings.HasSuffix(en.Name(), cleanedSuffix) || strings.HasSuffix(en.Name(), deletedSuffix) {
			out = append(out, en.Name())
		}
	}
	return out
}

// checkSegmentFiles: every segment of the list has its files under its own
// names.
func checkSegmentFiles(t *testing.T, l *Log) {
	t.Helper()
	for _, s := range l.segments() {
		for _, suf := range []string{logSuffix, indexSuffix} {
			if _, err := os.Stat(fileName(l.Dir(), s.base, suf)); err != nil {
				t.Fatalf("segment %d: %v", s.base, err)
			}
		}
	}
}

// A swap that fails with an ordinary error (not a crash) halfway through
// the renames is undone: the old segments keep their files under their
// names, no .swap is left to be completed by the next open, and the log
// goes on taking appends. Before, the pass returned with the old segments
// renamed *.deleted and the cleaned files half in place, and the next
// open lost the old segments' records.
func TestCleanSwapFailureIsUndone(t *testing.T) {
	for _, step := range []string{"old-deleted", "swapped.index", "swapped.timeindex"} {
		t.Run(step, func(t *testing.T) {
			cfg := compactCfg()
			cfg.SegmentBytes = 2048
			e := newEnv(t, cfg)
			m := newModel()
			fillKeys(e, m, record.CodecNone, 40, 12, true)
			leo := e.log.LogEndOffset()
			var removed string
			crashHook = func(s string) error {
				if s == step && removed == "" {
					// The next rename of a .swap file fails: its file is gone.
					ents, _ := os.ReadDir(e.log.Dir())
					for _, en := range ents {
						if strings.HasSuffix(en.Name(), logSuffix+swapSuffix) {
							removed = filepath.Join(e.log.Dir(), en.Name())
							os.Remove(removed)
						}
					}
				}
				return nil
			}
			defer func() { crashHook = nil }()
			_, err := e.log.Clean(context.Background(), e.clock.Now(), true)
			crashHook = nil
			if err == nil || removed == "" {
				t.Fatalf("pass did not fail (err %v, removed %q)", err, removed)
			}
			if errors.Is(err, ErrLogOffline) {
				t.Fatalf("undo failed: %v", err)
			}
			if left := leftovers(t, e.log); len(left) > 0 {
				t.Fatalf("left over after a failed swap: %v", left)
			}
			checkSegmentFiles(t, e.log)
			checkLatest(t, e.log, m, 0, false)
			e.appendKVs(m, record.CodecNone, kv{key: "after", value: []byte("x")})
			if e.log.LogEndOffset() != leo+1 {
				t.Fatalf("log end %d, want %d", e.log.LogEndOffset(), leo+1)
			}
			e.crash(nil)
			checkLatest(t, e.log, m, 0, false)
			e.clean(true)
			checkLatest(t, e.log, m, e.log.active().base, false)
		})
	}
}

// When the undo fails too, the log goes offline: appends fail with
// ErrLogOffline instead of running on with files that do not match the
// segment list, and opening the log again completes the swap.
func TestCleanSwapUndoFailureTakesLogOffline(t *testing.T) {
	cfg := compactCfg()
	cfg.SegmentBytes = 2048
	e := newEnv(t, cfg)
	m := newModel()
	fillKeys(e, m, record.CodecNone, 40, 12, true)
	var obstacle string
	crashHook = func(s string) error {
		if s == "swapped.timeindex" && obstacle == "" {
			// A directory where the cleaned .log should go: the rename
			// fails, and so does renaming the old .log back.
			ents, _ := os.ReadDir(e.log.Dir())
			for _, en := range ents {
				if n := en.Name(); strings.HasSuffix(n, logSuffix+swapSuffix) {
					obstacle = filepath.Join(e.log.Dir(), strings.TrimSuffix(n, swapSuffix))
					if err := os.MkdirAll(filepath.Join(obstacle, "x"), 0o755); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	defer func() { crashHook = nil }()
	_, err := e.log.Clean(context.Background(), e.clock.Now(), true)
	crashHook = nil
	if !errors.Is(err, ErrLogOffline) {
		t.Fatalf("pass: %v, want ErrLogOffline", err)
	}
	var b record.Builder
	b.Reset(record.NonIdempotent)
	b.Append(e.clock.Now().UnixMilli(), []byte("k"), []byte("v"), nil)
	h, err := b.Finish(record.CodecNone, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.log.AppendAsLeader(append([]byte(nil), h...), 0, -1); !errors.Is(err, ErrLogOffline) {
		t.Fatalf("append on an offline log: %v", err)
	}
	if _, err := e.log.Clean(context.Background(), e.clock.Now(), true); !errors.Is(err, ErrLogOffline) {
		t.Fatalf("clean on an offline log: %v", err)
	}
	// The operator clears the fault and restarts.
	if err := os.RemoveAll(obstacle); err != nil {
		t.Fatal(err)
	}
	e.crash(nil)
	checkLatest(t, e.log, m, 0, false)
	if left := leftovers(t, e.log); len(left) > 0 {
		t.Fatalf("left over after reopening: %v", left)
	}
}
