package broker_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactionLatestValuePerKey writes many updates to 2000 keys of a
// compacted topic with small segments, tombstones some, forces cleaning,
// and checks that a full read yields exactly the latest value of every
// live key, no record of a deleted key, and every kept record at its
// original offset. The background cleaner runs at the same time.
func TestCompactionLatestValuePerKey(t *testing.T) {
	b := kafkatest.Start(t, "log.cleaner.backoff.ms=20")
	const topic = "compacted"
	createTopic(t, b, topic, 2, map[string]*string{
		"cleanup.policy":            sp("compact"),
		"segment.bytes":             sp("16384"),
		"delete.retention.ms":       sp("0"),
		"min.cleanable.dirty.ratio": sp("0.01"),
	})
	cl := b.Client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(8000))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const keys, rounds = 2000, 6
	type at struct {
		partition int32
		offset    int64
		value     string
	}
	latest := map[string]at{}
	produce := func(k string, v []byte) {
		r := &kgo.Record{Key: []byte(k), Value: v}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		latest[k] = at{r.Partition, r.Offset, string(v)}
	}
	produceAll := func(recs []*kgo.Record) {
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			v := string(r.Value)
			if r.Value == nil {
				v = "<tombstone>"
			}
			latest[string(r.Key)] = at{r.Partition, r.Offset, v}
		}
	}
	deleted := map[string]bool{}
	for round := 0; round < rounds; round++ {
		var recs []*kgo.Record
		for i := 0; i < keys; i++ {
			k := fmt.Sprintf("key-%04d", i)
			var v []byte
			switch {
			case round == rounds-1 && i%10 == 0:
				deleted[k] = true // tombstone
			case round == rounds-2 && i%10 == 0:
				v = []byte(fmt.Sprintf("v%d-%d", round, i))
			case round >= rounds-2 && i%3 != 0:
				continue // most keys stop being updated early
			default:
				v = []byte(fmt.Sprintf("v%d-%d-%s", round, i, strings.Repeat("x", i%13)))
			}
			recs = append(recs, &kgo.Record{Key: []byte(k), Value: v})
		}
		produceAll(recs)
	}
	// One key deleted and written again: it must be back.
	produce("key-0000", []byte("reborn"))
	delete(deleted, "key-0000")
	// Filler so the tombstones leave the active segments.
	var filler []*kgo.Record
	for i := 0; i < 1000; i++ {
		v := make([]byte, 200) // random: the producer compresses
		rand.Read(v)
		filler = append(filler, &kgo.Record{Key: []byte(fmt.Sprintf("filler-%d", i%200)), Value: v})
	}
	produceAll(filler)

	// Two passes: the first stamps the tombstones with their delete
	// horizon (now + 0 ms), the second removes them.
	if err := b.Replicas().CleanNow(ctx, topic); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := b.Replicas().CleanNow(ctx, topic); err != nil {
		t.Fatal(err)
	}

	for _, p := range b.Replicas().TopicPartitions(topic) {
		t.Logf("partition %d: log end %d, segments %d, cleaner offset %d", p.Index, p.LogEndOffset(), p.Log().NumSegments(), p.Log().CleanerOffset())
	}
	// Read everything back.
	ends := map[int32]int64{}
	for _, p := range b.Replicas().TopicPartitions(topic) {
		ends[p.Index] = p.HighWatermark()
	}
	rd := b.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]at{}
	count := map[string]int{}
	offs := map[string][]int64{}
	done := map[int32]bool{}
	total := 0
	for len(done) < len(ends) {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records; partitions done %v", total, done)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			total++
			k := string(r.Key)
			v := string(r.Value)
			if r.Value == nil {
				v = "<tombstone>"
			}
			if prev, ok := seen[k]; ok && prev.offset >= r.Offset && prev.partition == r.Partition {
				t.Fatalf("key %s: offset %d after %d", k, r.Offset, prev.offset)
			}
			seen[k] = at{r.Partition, r.Offset, v}
			count[k]++
			offs[k] = append(offs[k], int64(r.Partition)<<32|r.Offset)
			if r.Offset >= ends[r.Partition]-1 {
				done[r.Partition] = true
			}
		})
	}
	for k, want := range latest {
		got, ok := seen[k]
		if deleted[k] {
			if ok {
				t.Errorf("deleted key %s read back (%d records, last %q at %d)", k, count[k], got.value, got.offset)
			}
			continue
		}
		if !ok {
			t.Errorf("key %s lost; latest %q at %d", k, want.value, want.offset)
			continue
		}
		if got != want {
			t.Errorf("key %s: read %q at %d/%d, want %q at %d/%d", k, got.value, got.partition, got.offset, want.value, want.partition, want.offset)
		}
	}
	dups := 0
	for k, n := range count {
		if n > 1 && !strings.HasPrefix(k, "filler-") {
			if dups < 5 {
				t.Logf("key %s read at %x", k, offs[k])
			}
			dups++
		}
	}
	if dups > 0 {
		t.Errorf("%d keys read more than once after cleaning", dups)
	}
	if live := keys - len(deleted) + 200; total > live+1000 {
		t.Errorf("read %d records for %d live keys", total, live)
	}
	t.Logf("read %d records for %d live keys (%d written)", total, keys-len(deleted)+200, keys*rounds)
}
