package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// writeFileAtomic writes data to path through path+".tmp", fsync and rename,
// then fsyncs the folder, as Kafka's CheckpointFile does.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Kafka's checkpoint text format (CheckpointFile): a version line, a count
// line, then one entry per line with space-separated fields.
func formatCheckpoint(version int, lines []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", version, len(lines))
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// parseCheckpoint reads a checkpoint file, returning each entry's fields,
// which must number nfields. A missing file is no entries.
func parseCheckpoint(path string, nfields int) ([][]string, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	bad := func(why string) error {
		return &CorruptionError{File: path, Err: fmt.Errorf("checkpoint: %s", why)}
	}
	if len(lines) < 2 {
		return nil, bad("missing version or count line")
	}
	if v, err := strconv.Atoi(strings.TrimSpace(lines[0])); err != nil || v != 0 {
		return nil, bad(fmt.Sprintf("unsupported version %q", lines[0]))
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, bad(fmt.Sprintf("count %q does not match %d entries", lines[1], len(lines)-2))
	}
	out := make([][]string, 0, n)
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != nfields {
			return nil, bad(fmt.Sprintf("entry %q has %d fields, want %d", l, len(f), nfields))
		}
		out = append(out, f)
	}
	return out, nil
}
