package broker

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// dataDir is one entry of log.dirs, locked for the life of the broker.
type dataDir struct {
	path string
	lock *os.File
}

const metaPropertiesFile = "meta.properties"

// prepareDirs creates missing log dirs, takes each one's .lock (flock, like
// Kafka's FileLock, so two processes never share a dir) and reads or writes
// meta.properties. samsa formats an empty dir on first start, where Kafka
// needs `kafka-storage.sh format` first. Every dir must agree on cluster.id
// and node.id.
//
// resolve decides the cluster id from the one found on disk ("" for new
// dirs): a single node makes one up, a cluster node asks the quorum.
func (b *Broker) prepareDirs(resolve func(found string) (string, error)) (clusterID string, err error) {
	for _, p := range b.cfg.LogDirs {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", fmt.Errorf("create log dir: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(abs, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return "", fmt.Errorf("lock log dir %s: %w", abs, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return "", fmt.Errorf("log dir %s is in use by another process (is another samsa server running with the same log.dirs?)", abs)
		}
		b.dataDirs = append(b.dataDirs, &dataDir{path: abs, lock: f})
	}
	// Read what exists first, so a new dir added to log.dirs joins the
	// cluster the others belong to.
	props := make([]map[string]string, len(b.dataDirs))
	for i, d := range b.dataDirs {
		p, err := readProperties(filepath.Join(d.path, metaPropertiesFile))
		if err != nil && !os.IsNotExist(err) {
			return "", fmt.Errorf("read %s: %w", filepath.Join(d.path, metaPropertiesFile), err)
		}
		props[i] = p
		if p == nil {
			continue
		}
		if id := p["cluster.id"]; clusterID == "" {
			clusterID = id
		} else if id != clusterID {
			return "", fmt.Errorf("log dir %s belongs to cluster %s, another log dir to %s", d.path, id, clusterID)
		}
		if n, _ := strconv.Atoi(p["node.id"]); int32(n) != b.nodeID {
			return "", fmt.Errorf("log dir %s was formatted for node.id %s, but this broker has node.id %d", d.path, p["node.id"], b.nodeID)
		}
	}
	if clusterID, err = resolve(clusterID); err != nil {
		return "", err
	}
	for i, d := range b.dataDirs {
		if props[i] != nil {
			continue
		}
		err := writeProperties(filepath.Join(d.path, metaPropertiesFile), map[string]string{
			"version":      "1",
			"cluster.id":   clusterID,
			"node.id":      strconv.Itoa(int(b.nodeID)),
			"directory.id": metadata.NewUUID().String(),
		})
		if err != nil {
			return "", err
		}
	}
	return clusterID, nil
}

func (b *Broker) unlockDirs() {
	for _, d := range b.dataDirs {
		if d.lock != nil {
			syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
			d.lock.Close()
			d.lock = nil
		}
	}
}

// readProperties reads a simple key=value file (meta.properties is written
// by us or Kafka, never with continuations or escapes).
func readProperties(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, sc.Err()
}

func writeProperties(path string, m map[string]string) error {
	var sb strings.Builder
	sb.WriteString("#\n#" + time.Now().UTC().Format(time.UnixDate) + "\n")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sb.WriteString(k + "=" + m[k] + "\n")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(sb.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// msDuration converts milliseconds, saturating instead of overflowing
// (Kafka uses Long.MAX_VALUE for "never").
func msDuration(ms int64) time.Duration {
	if ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(ms) * time.Millisecond
}
