package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDiskFull runs the binary under a file size limit (ulimit -f; Go
// ignores SIGXFSZ, so a write past the limit fails with EFBIG the way a
// write to a full disk fails with ENOSPC). Producing until the segment hits
// the limit must answer KAFKA_STORAGE_ERROR, never acknowledge a record it
// did not store, and say in the log what to do. After a restart without the
// limit every acknowledged record is there once, in order, and the log
// takes writes again.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	const topic = "full"
	limitKiB := 3072
	prefix := []string{"bash", "-c", fmt.Sprintf(`ulimit -f %d && exec "$0" "$@"`, limitKiB)}
	// Small index files: they are preallocated and must fit under the limit.
	p := kafkatest.StartProcessPrefixed(t, "", prefix, nil, "log.index.size.max.bytes=65536")
	createTopic(t, p.Addr, topic, 1)

	cl := kafkatest.NewClient(t, p.Addr, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DisableIdempotentWrite(), kgo.RecordRetries(1), kgo.RecordDeliveryTimeout(5*time.Second),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	var acked []string
	var firstErr error
	value := strings.Repeat("x", 1000)
	for i := 0; firstErr == nil && i < 10000; i += 20 {
		recs := make([]*kgo.Record, 20)
		for j := range recs {
			recs[j] = &kgo.Record{Value: []byte(fmt.Sprintf("%06d-%s", i+j, value))}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res := cl.ProduceSync(ctx, recs...)
		cancel()
		for _, r := range res {
			if r.Err != nil {
				if firstErr == nil {
					firstErr = r.Err
				}
				continue
			}
			if want := int64(len(acked)); r.Record.Offset != want {
				t.Fatalf("record %q acknowledged at offset %d, want %d", r.Record.Value[:6], r.Record.Offset, want)
			}
			acked = append(acked, string(r.Record.Value))
		}
	}
	if !errors.Is(firstErr, kerr.KafkaStorageError) {
		t.Fatalf("producing past the file size limit: first error %v, want KAFKA_STORAGE_ERROR", firstErr)
	}
	// Each record takes a little over its 1007 value bytes on disk: the
	// acknowledged ones must fit under the limit, and nearly fill it.
	if n := len(acked) * 1007; n > limitKiB*1024 || n < limitKiB*1024*8/10 {
		t.Fatalf("%d records (%d value bytes) acknowledged under a %d KiB limit", len(acked), n, limitKiB)
	}
	kafkatest.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(p.ServerLog(), "refuses writes until samsa restarts") {
			return errors.New("server log does not say the partition went offline")
		}
		return nil
	})

	// Restart with room to spare: everything acknowledged is there.
	p.Prefix = nil
	p.Restart()
	got := readAll(t, p.Addr, topic)[0]
	if len(got) != len(acked) {
		t.Fatalf("after restart: %d records, %d were acknowledged", len(got), len(acked))
	}
	for i, r := range got {
		if r.Offset != int64(i) || string(r.Value) != acked[i] {
			t.Fatalf("after restart: offset %d holds %q at %d, want %q", i, r.Value[:6], r.Offset, acked[i][:6])
		}
	}
	res := cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte("after")})
	if err := res.FirstErr(); err != nil || res[0].Record.Offset != int64(len(acked)) {
		t.Fatalf("write after recovery: %v at offset %d, want %d", err, res[0].Record.Offset, len(acked))
	}
}
