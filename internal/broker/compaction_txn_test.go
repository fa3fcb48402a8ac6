package broker_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactionOfTransactions writes committed and aborted transactions
// to a compacted topic (straight to the partition, markers as the
// coordinator writes them), cleans it pass after pass until the markers
// whose data is gone have passed their horizon, and reads it with
// franz-go: read_committed and read_uncommitted consumers both see every
// key's latest committed value at its offset, nothing aborted, and the
// emptied batches and markers the cleaner leaves do not trouble them.
func TestCompactionOfTransactions(t *testing.T) {
	b := kafkatest.Start(t)
	const topic = "compacted-txn"
	createTopic(t, b, topic, 1, map[string]*string{
		"cleanup.policy":      sp("compact"),
		"delete.retention.ms": sp("0"),
	})
	p := b.Replicas().Partition(topic, 0)
	type kv struct{ k, v string }
	latest := map[string]int64{} // key -> offset of its latest committed value
	values := map[string]string{}
	write := func(f record.BatchFields, kvs ...kv) int64 {
		t.Helper()
		var bl record.Builder
		bl.Reset(f)
		for _, r := range kvs {
			bl.Append(time.Now().UnixMilli(), []byte(r.k), []byte(r.v), nil)
		}
		h, err := bl.Finish(record.CodecNone, 0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.AppendRecords(append([]byte(nil), h...), 9)
		if err != nil {
			t.Fatal(err)
		}
		return res.BaseOffset
	}
	seq := map[int64]int32{}
	pending := map[int64][]kv{}
	pendingAt := map[int64][]int64{}
	txn := func(pid int64, kvs ...kv) {
		t.Helper()
		base := write(record.BatchFields{PartitionLeaderEpoch: -1, ProducerID: pid, BaseSequence: seq[pid], Transactional: true}, kvs...)
		seq[pid] += int32(len(kvs))
		for i, r := range kvs {
			pending[pid] = append(pending[pid], r)
			pendingAt[pid] = append(pendingAt[pid], base+int64(i))
		}
	}
	end := func(pid int64, commit bool) {
		t.Helper()
		if _, err := p.WriteTxnMarker(pid, 0, commit, 0); err != nil {
			t.Fatal(err)
		}
		for i, r := range pending[pid] {
			if commit && pendingAt[pid][i] > latest[r.k] {
				latest[r.k], values[r.k] = pendingAt[pid][i], r.v
			}
		}
		delete(pending, pid)
		delete(pendingAt, pid)
	}
	plain := func(kvs ...kv) {
		t.Helper()
		base := write(record.NonIdempotent, kvs...)
		for i, r := range kvs {
			latest[r.k], values[r.k] = base+int64(i), r.v
		}
	}
	for round := range 3 {
		var kvs []kv
		for i := range 10 {
			kvs = append(kvs, kv{fmt.Sprintf("k%d", i), fmt.Sprintf("v%d-%d", round, i)})
		}
		plain(kvs...)
	}
	txn(1001, kv{"k0", "aborted"}, kv{"k1", "aborted"})
	txn(1002, kv{"k2", "committed"}, kv{"k3", "committed"})
	txn(1001, kv{"k4", "aborted"})
	end(1001, false)
	end(1002, true)
	txn(1003, kv{"k5", "superseded"})
	end(1003, true)
	plain(kv{"k5", "plain"})
	txn(1001, kv{"k6", "committed-later"})
	end(1001, true)
	txn(1004, kv{"k7", "aborted-last"}) // producer 1004's last batch: stays, empty
	end(1004, false)
	if err := p.Log().Roll(); err != nil {
		t.Fatal(err)
	}
	plain(kv{"tail", "t"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 4 { // remove data; stamp the markers left alone; remove them
		if err := b.Replicas().CleanNow(ctx, topic); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var markers []string
	for off := p.LogStartOffset(); off < p.HighWatermark(); {
		buf, err := p.Read(off, 1<<20, true)
		if err != nil {
			t.Fatal(err)
		}
		for len(buf) > 0 {
			h, rest, err := record.Next(buf)
			if err != nil {
				t.Fatal(err)
			}
			if h.Control() {
				kind := "commit"
				record.ForEachRecord(h, func(r *record.Record) error {
					if len(r.Key) == 4 && r.Key[3] == 0 {
						kind = "abort"
					}
					return nil
				})
				markers = append(markers, fmt.Sprint(h.ProducerID(), " ", kind))
			}
			off, buf = h.NextOffset(), rest
		}
	}
	// Left: 1002's (k2, k3 stay), 1001's commit (k6 stays), 1003's and
	// 1004's (their last batches stay, emptied); 1001's abort went.
	if want := []string{"1002 commit", "1003 commit", "1001 commit", "1004 abort"}; !reflect.DeepEqual(markers, want) {
		t.Errorf("markers left after cleaning %q, want %q", markers, want)
	}
	if lso := p.LastStableOffset(); lso != p.HighWatermark() {
		t.Fatalf("last stable offset %d, high watermark %d", lso, p.HighWatermark())
	}

	for _, level := range []kgo.IsolationLevel{kgo.ReadCommitted(), kgo.ReadUncommitted()} {
		cl := b.Client(t, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		got := map[string]int64{}
		gotValues := map[string]string{}
		for _, r := range consume(t, cl, len(latest), 15*time.Second) {
			if _, dup := got[string(r.Key)]; dup {
				t.Fatalf("key %s read twice", r.Key)
			}
			got[string(r.Key)], gotValues[string(r.Key)] = r.Offset, string(r.Value)
		}
		if !reflect.DeepEqual(got, latest) || !reflect.DeepEqual(gotValues, values) {
			t.Fatalf("read %v %v, want %v %v", got, gotValues, latest, values)
		}
		pctx, pcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		if fs := cl.PollFetches(pctx); len(fs.Records()) > 0 {
			t.Fatalf("extra records %v", fs.Records())
		}
		pcancel()
	}
}
