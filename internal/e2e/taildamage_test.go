package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const cleanShutdownMarker = ".kafka_cleanshutdown"

// writeBatches produces batches of 3 records ("b<i>-r<j>") to partition 0
// of topic, one ProduceSync per batch, and returns the values in order.
func writeBatches(t *testing.T, addr, topic string, batches int) []string {
	t.Helper()
	cl := kafkatest.NewClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var values []string
	for i := range batches {
		var rs []*kgo.Record
		for j := range 3 {
			v := fmt.Sprintf("b%d-r%d-%s", i, j, strings.Repeat("p", 40))
			rs = append(rs, &kgo.Record{Value: []byte(v)})
			values = append(values, v)
		}
		if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return values
}

func partitionValues(t *testing.T, addr, topic string) []string {
	t.Helper()
	var out []string
	for i, r := range readAll(t, addr, topic)[0] {
		if r.Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, r.Offset)
		}
		out = append(out, string(r.Value))
	}
	return out
}

// TestTailDamage stops the binary cleanly, damages the tail of the active
// segment on disk and restarts it: the damaged batch and only it must be
// gone, and new records must continue at its base offset. Without the
// clean-shutdown marker that is an unclean start (what a crash leaves);
// with the marker samsa still re-checks the active segment's tail (Kafka
// would trust it and not notice).
func TestTailDamage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		keepMarker bool
		damage     func(t *testing.T, path string, last batch)
		wantLog    []string
	}{
		{"TruncateUnclean", false, truncateTail, []string{"clean_shutdown=false", "truncating damaged log tail"}},
		{"FlipByteUnclean", false, flipRecordByte, []string{"clean_shutdown=false", "truncating damaged log tail", "CRC mismatch"}},
		{"TruncateWithMarker", true, truncateTail, []string{"clean_shutdown=true", "active segment tail damaged despite clean shutdown", "truncating damaged log tail"}},
		{"FlipByteWithMarker", true, flipRecordByte, []string{"clean_shutdown=true", "active segment tail damaged despite clean shutdown", "CRC mismatch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const topic = "damage"
			p := kafkatest.StartProcess(t, "")
			createTopic(t, p.Addr, topic, 1)
			values := writeBatches(t, p.Addr, topic, 5)
			if err := p.Stop(); err != nil {
				t.Fatalf("SIGTERM: %v\n%s", err, p.ServerLog())
			}
			if _, err := os.Stat(filepath.Join(p.Dir, cleanShutdownMarker)); err != nil {
				t.Fatalf("no clean-shutdown marker after SIGTERM: %v", err)
			}
			seg := filepath.Join(p.Dir, topic+"-0", "00000000000000000000.log")
			bs := segmentBatches(t, seg)
			if len(bs) < 2 || bs[len(bs)-1].lastOffset != int64(len(values)-1) {
				t.Fatalf("segment batches %+v do not hold the %d records", bs, len(values))
			}
			last := bs[len(bs)-1]
			tc.damage(t, seg, last)
			if !tc.keepMarker {
				if err := os.Remove(filepath.Join(p.Dir, cleanShutdownMarker)); err != nil {
					t.Fatal(err)
				}
			}
			p.Restart()
			runs := serverRuns(p.ServerLog())
			for _, w := range tc.wantLog {
				if !strings.Contains(runs[len(runs)-1], w) {
					t.Errorf("server log after restart lacks %q:\n%s", w, runs[len(runs)-1])
				}
			}
			kept := values[:last.base]
			got := partitionValues(t, p.Addr, topic)
			if strings.Join(got, ",") != strings.Join(kept, ",") {
				t.Fatalf("after recovery the log holds %d records %q,\nwant the %d of the intact batches %q", len(got), got, len(kept), kept)
			}
			cl := kafkatest.NewClient(t, p.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			r := &kgo.Record{Value: []byte("after")}
			if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
				t.Fatalf("produce after recovery: %v", err)
			}
			if r.Offset != last.base {
				t.Fatalf("new record at offset %d, want %d (the damaged batch's base)", r.Offset, last.base)
			}
			if got := partitionValues(t, p.Addr, topic); strings.Join(got, ",") != strings.Join(append(kept, "after"), ",") {
				t.Fatalf("after a new write the log holds %q", got)
			}
		})
	}
}

// truncateTail cuts the last 3 bytes of the segment: a torn last batch.
func truncateTail(t *testing.T, path string, last batch) {
	t.Helper()
	if err := os.Truncate(path, last.pos+last.size-3); err != nil {
		t.Fatal(err)
	}
}

// flipRecordByte inverts one byte inside the last batch's records (after
// the 61-byte batch header), which only the CRC can notice.
func flipRecordByte(t *testing.T, path string, last batch) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := last.pos + 61 + (last.size-61)/2
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// TestInactiveSegmentDamageWithMarker documents what samsa does, like
// Kafka, when a byte of an older (inactive) segment is damaged but the
// clean-shutdown marker says the log is intact: it trusts the segment and
// does not scan it, so the log end does not move and the damaged batch is
// served as is; the client's CRC check is what notices.
func TestInactiveSegmentDamageWithMarker(t *testing.T) {
	t.Parallel()
	const topic = "damage-old"
	// Roll a segment after every batch or so.
	p := kafkatest.StartProcess(t, "", "log.segment.bytes=300")
	createTopic(t, p.Addr, topic, 1)
	values := writeBatches(t, p.Addr, topic, 4)
	if err := p.Stop(); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	seg := filepath.Join(p.Dir, topic+"-0", "00000000000000000000.log")
	bs := segmentBatches(t, seg)
	if segs, _ := filepath.Glob(filepath.Join(p.Dir, topic+"-0", "*.log")); len(segs) < 2 {
		t.Fatalf("want several segments, have %v", segs)
	}
	flipRecordByte(t, seg, bs[0])
	p.Restart()

	adm := kadm.NewClient(kafkatest.NewClient(t, p.Addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	if end.Offset != int64(len(values)) {
		t.Errorf("log end offset %d after restart, want %d (damage in a trusted segment is not looked for)", end.Offset, len(values))
	}
	cl := kafkatest.NewClient(t, p.Addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	fs := cl.PollFetches(ctx)
	var errs []string
	for _, e := range fs.Errors() {
		errs = append(errs, e.Err.Error())
	}
	t.Logf("reading the damaged segment: %d records, errors %v", fs.NumRecords(), errs)
	if len(errs) == 0 {
		t.Errorf("franz-go read the damaged batch without a CRC error")
	}
}
