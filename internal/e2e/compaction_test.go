package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactionSurvivesSIGKILL runs the binary with the log cleaner going
// round a compacted topic every millisecond, writes updates and tombstones
// to 2000 keys, and SIGKILLs and restarts it again and again while the
// cleaner works. Afterwards a full read yields exactly the latest value of
// every live key, at the offset it was acknowledged with, and no record of
// a deleted key.
func TestCompactionSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	const topic = "compacted"
	sets := []string{"log.cleaner.enable=true", "log.cleaner.backoff.ms=1", "log.retention.check.interval.ms=100"}
	p := kafkatest.StartProcess(t, "", sets...)
	adm := kadm.NewClient(kafkatest.NewClient(t, p.Addr))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{
		"cleanup.policy":            strp("compact"),
		"segment.bytes":             strp("16384"),
		"delete.retention.ms":       strp("0"),
		"min.cleanable.dirty.ratio": strp("0.01"),
	}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}

	type at struct {
		partition int32
		offset    int64
		value     string
	}
	latest := map[string]at{}
	deleted := map[string]bool{}
	produce := func(recs []*kgo.Record) {
		t.Helper()
		cl := kafkatest.NewClient(t, p.Addr, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(8000),
			kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
		defer cl.Close()
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			k := string(r.Key)
			latest[k] = at{r.Partition, r.Offset, string(r.Value)}
			deleted[k] = r.Value == nil
		}
	}
	const keys = 2000
	rng := mrand.New(mrand.NewPCG(7, 7))
	round := func(n int, tombstones bool) {
		var recs []*kgo.Record
		for range n {
			i := rng.IntN(keys)
			k := fmt.Sprintf("key-%04d", i)
			var v []byte
			if !tombstones || rng.IntN(5) != 0 {
				v = []byte(fmt.Sprintf("v%d-%s", rng.IntN(1000000), strings.Repeat("x", i%17)))
			}
			recs = append(recs, &kgo.Record{Key: []byte(k), Value: v})
		}
		produce(recs)
	}
	round(keys*3, false)

	// Kill while the cleaner runs: each round gives it new dirt.
	caught, deletedFiles := 0, 0
	for kill := 0; kill < 12; kill++ {
		round(1500, true)
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		p.Kill()
		c, d := countCleanerFiles(p.Dir)
		caught, deletedFiles = caught+c, deletedFiles+d
		p.Restart()
	}
	t.Logf("after the kills: %d .cleaned/.swap files (a pass cut short), %d .deleted", caught, deletedFiles)

	// Push the tombstones out of the active segments (random values: the
	// producer compresses), then let the cleaner finish.
	var filler []*kgo.Record
	for i := range 1200 {
		v := make([]byte, 200)
		rand.Read(v)
		filler = append(filler, &kgo.Record{Key: []byte(fmt.Sprintf("filler-%d", i%100)), Value: v})
	}
	produce(filler)

	check := func() error {
		got := map[string]at{}
		count := map[string]int{}
		for _, rs := range readAll(t, p.Addr, topic) {
			for _, r := range rs {
				got[string(r.Key)] = at{r.Partition, r.Offset, string(r.Value)}
				count[string(r.Key)]++
			}
		}
		var problems []string
		for k, want := range latest {
			g, ok := got[k]
			switch {
			case deleted[k] && ok:
				problems = append(problems, fmt.Sprintf("deleted key %s read back (%d records)", k, count[k]))
			case !deleted[k] && !ok:
				t.Fatalf("key %s lost; latest %q at %d/%d", k, want.value, want.partition, want.offset)
			case !deleted[k] && g != want:
				t.Fatalf("key %s: read %q at %d/%d, want %q at %d/%d", k, g.value, g.partition, g.offset, want.value, want.partition, want.offset)
			}
		}
		for k := range got {
			if _, ok := latest[k]; !ok {
				t.Fatalf("unknown key %s", k)
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("%d problems, first: %s", len(problems), problems[0])
		}
		return nil
	}
	// Keys are checked on every read; tombstones go once the cleaner has
	// been over them twice (delete horizon, then removal).
	kafkatest.Eventually(t, 60*time.Second, check)
	p.Kill()
	p.Restart()
	if err := check(); err != nil {
		t.Fatal(err)
	}
	if log := p.ServerLog(); strings.Contains(log, "log cleaning failed") {
		t.Fatalf("cleaner failed:\n%s", log)
	}
}

// countCleanerFiles counts the files a cleaning pass writes before its
// swap (.cleaned, .swap) and the replaced ones (.deleted).
func countCleanerFiles(dir string) (inPass, deleted int) {
	parts, _ := filepath.Glob(filepath.Join(dir, "compacted-*"))
	for _, pd := range parts {
		ents, _ := os.ReadDir(pd)
		for _, e := range ents {
			switch filepath.Ext(e.Name()) {
			case ".cleaned", ".swap":
				inPass++
			case ".deleted":
				deleted++
			}
		}
	}
	return inPass, deleted
}
