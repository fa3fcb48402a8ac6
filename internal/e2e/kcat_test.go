package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// storedBatch is what a raw Fetch returns about one record batch.
type storedBatch struct {
	base       int64
	count      int32
	codec      int16 // attributes & 7: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
	producerID int64
}

var codecIDs = map[string]int16{"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

// lz4Hint explains the known cause of lz4 batches arriving uncompressed
// from librdkafka clients.
const lz4Hint = `: librdkafka sends lz4 batches uncompressed unless ApiVersions lists FindCoordinator, ` +
	`which samsa does not advertise yet (see TestLibrdkafkaLZ4)`

// fetchBatches fetches partition p from offset 0 with a raw Fetch request
// and returns the batch headers, to check what the broker stored.
func fetchBatches(t *testing.T, addr, topic string, p int32) []storedBatch {
	t.Helper()
	cl := kafkatest.NewClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil || td.Error() != nil {
		t.Fatalf("list topic %s: %v %v", topic, err, td.Error())
	}
	// kgo sends the newest version both sides support, which names
	// topics by ID.
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = 0
	req.MaxBytes = 50 << 20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	ft.TopicID = td[topic].ID
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition = p
	fp.PartitionMaxBytes = 50 << 20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("raw fetch: %v", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("raw fetch: unexpected response shape %+v", resp)
	}
	rp := resp.Topics[0].Partitions[0]
	if rp.ErrorCode != 0 {
		t.Fatalf("raw fetch: error code %d", rp.ErrorCode)
	}
	var out []storedBatch
	b := rp.RecordBatches
	for len(b) >= 61 {
		size := 12 + int(binary.BigEndian.Uint32(b[8:]))
		if size > len(b) {
			break // a partial batch at the end of a response is allowed
		}
		out = append(out, storedBatch{
			base:       int64(binary.BigEndian.Uint64(b)),
			codec:      int16(binary.BigEndian.Uint16(b[21:])) & 7,
			producerID: int64(binary.BigEndian.Uint64(b[43:])),
			count:      int32(binary.BigEndian.Uint32(b[57:])),
		})
		b = b[size:]
	}
	return out
}

func TestKcat(t *testing.T) {
	needTool(t, "kcat")
	t.Parallel()
	b := kafkatest.Start(t)
	addr := b.Addr

	t.Run("Metadata", func(t *testing.T) {
		createTopic(t, addr, "kcat-meta", 3)
		out := run(t, "", kcat, "-b", addr, "-L")
		for _, want := range []string{
			"1 brokers:",
			"broker 1 at " + addr,
			`topic "kcat-meta" with 3 partitions:`,
			"partition 0, leader 1, replicas: 1, isrs: 1",
			"partition 1, leader 1, replicas: 1, isrs: 1",
			"partition 2, leader 1, replicas: 1, isrs: 1",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("kcat -L lacks %q:\n%s", want, out)
			}
		}
		var md struct {
			Brokers []struct {
				ID   int32  `json:"id"`
				Name string `json:"name"`
			} `json:"brokers"`
			Topics []struct {
				Topic      string `json:"topic"`
				Error      string `json:"error"`
				Partitions []struct {
					Partition int32 `json:"partition"`
					Leader    int32 `json:"leader"`
					Replicas  []struct {
						ID int32 `json:"id"`
					} `json:"replicas"`
				} `json:"partitions"`
			} `json:"topics"`
		}
		if err := json.Unmarshal([]byte(run(t, "", kcat, "-b", addr, "-L", "-J")), &md); err != nil {
			t.Fatalf("kcat -L -J: %v", err)
		}
		if len(md.Brokers) != 1 || md.Brokers[0].ID != 1 || md.Brokers[0].Name != addr {
			t.Errorf("kcat -L -J brokers = %+v, want [{1 %s}]", md.Brokers, addr)
		}
		found := false
		for _, tp := range md.Topics {
			if tp.Topic != "kcat-meta" {
				continue
			}
			found = true
			if tp.Error != "" || len(tp.Partitions) != 3 {
				t.Fatalf("kcat-meta: %+v", tp)
			}
			for i, p := range tp.Partitions {
				if p.Partition != int32(i) || p.Leader != 1 || len(p.Replicas) != 1 || p.Replicas[0].ID != 1 {
					t.Errorf("kcat-meta partition %d: %+v", i, p)
				}
			}
		}
		if !found {
			t.Errorf("kcat -L -J does not list kcat-meta: %+v", md.Topics)
		}
	})

	t.Run("Codecs", func(t *testing.T) {
		const topic = "kcat-codecs"
		createTopic(t, addr, topic, 2)
		var want []rec
		offsets := map[int32]int64{}
		for i, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
			p := int32(i % 2)
			var in strings.Builder
			for j := range 3 {
				// Compressible values, or librdkafka may send a batch
				// uncompressed.
				k, v := fmt.Sprintf("%s-k%d", codec, j), fmt.Sprintf("%s-v%d-%s", codec, j, strings.Repeat("abc", 50))
				fmt.Fprintf(&in, "%s:%s\n", k, v)
				want = append(want, rec{Partition: p, Offset: offsets[p], Key: strp(k), Value: v,
					Headers: [][2]string{{"a", "1"}, {"b", "2"}, {"codec", codec}}})
				offsets[p]++
			}
			run(t, in.String(), kcat, "-b", addr, "-P", "-t", topic, "-p", fmt.Sprint(p), "-K:",
				"-H", "a=1", "-H", "b=2", "-H", "codec="+codec, "-z", codec)
		}
		// Read back with a -f format; the fields cannot contain '|'.
		var got []rec
		for p := range int32(2) {
			out := run(t, "", kcat, "-b", addr, "-C", "-t", topic, "-p", fmt.Sprint(p), "-o", "beginning", "-e", "-q",
				"-f", `%p|%o|%k|%s|%h\n`)
			for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
				f := strings.Split(line, "|")
				if len(f) != 5 {
					t.Fatalf("kcat -f line %q", line)
				}
				r := rec{Key: strp(f[2]), Value: f[3]}
				fmt.Sscan(f[0], &r.Partition)
				fmt.Sscan(f[1], &r.Offset)
				for _, h := range strings.Split(f[4], ",") {
					k, v, _ := strings.Cut(h, "=")
					r.Headers = append(r.Headers, [2]string{k, v})
				}
				got = append(got, r)
			}
		}
		var wantByP []rec
		for p := range int32(2) {
			for _, r := range want {
				if r.Partition == p {
					wantByP = append(wantByP, r)
				}
			}
		}
		wantRecords(t, "kcat -C -f", got, wantByP)
		// The same through -J, and the broker kept each producer's codec.
		wantRecords(t, "kcat -C -J p0", kcatConsume(t, addr, topic, 0, "beginning"), wantByP[:9])
		for p := range int32(2) {
			// librdkafka may split one run's records into several
			// batches (timing), so compare the runs of equal codecs.
			var codecs []int16
			for _, sb := range fetchBatches(t, addr, topic, p) {
				if n := len(codecs); n == 0 || codecs[n-1] != sb.codec {
					codecs = append(codecs, sb.codec)
				}
			}
			wantCodecs := []int16{0, 2, 4} // none, snappy, zstd
			if p == 1 {
				// gzip, then lz4 (checked by TestLibrdkafkaLZ4)
				wantCodecs, codecs = []int16{1}, codecs[:min(1, len(codecs))]
			}
			if fmt.Sprint(codecs) != fmt.Sprint(wantCodecs) {
				t.Errorf("partition %d stores batches with codecs %v, want %v", p, codecs, wantCodecs)
			}
		}
	})

	t.Run("FromOffset", func(t *testing.T) {
		const topic = "kcat-offset"
		createTopic(t, addr, topic, 1)
		var in strings.Builder
		var want []rec
		for i := range 6 {
			fmt.Fprintf(&in, "k%d:v%d\n", i, i)
			want = append(want, rec{Offset: int64(i), Key: strp(fmt.Sprintf("k%d", i)), Value: fmt.Sprintf("v%d", i),
				Headers: [][2]string{{"h", "x"}}})
		}
		run(t, in.String(), kcat, "-b", addr, "-P", "-t", topic, "-p", "0", "-K:", "-H", "h=x")
		wantRecords(t, "kcat -o 2", kcatConsume(t, addr, topic, 0, "2"), want[2:])
		wantRecords(t, "kcat -o -2", kcatConsume(t, addr, topic, 0, "-2"), want[4:])
		wantRecords(t, "kcat -o 6", kcatConsume(t, addr, topic, 0, "6"), nil)
	})

	t.Run("FromTimestamp", func(t *testing.T) {
		const topic = "kcat-time"
		createTopic(t, addr, topic, 1)
		cl := kafkatest.NewClient(t, addr, kgo.DefaultProduceTopic(topic))
		base := time.Now().Add(-time.Hour).Truncate(time.Second)
		var want []rec
		for i := range 5 {
			r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i),
				Timestamp: base.Add(time.Duration(i) * time.Second)}
			if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			want = append(want, rec{Offset: int64(i), Key: strp(string(r.Key)), Value: string(r.Value)})
		}
		ms := base.UnixMilli()
		for _, c := range []struct {
			ts   int64
			from int
		}{{ms - 1, 0}, {ms, 0}, {ms + 1, 1}, {ms + 2500, 3}, {ms + 4000, 4}} {
			wantRecords(t, fmt.Sprintf("kcat -o s@%d", c.ts), kcatConsume(t, addr, topic, 0, fmt.Sprintf("s@%d", c.ts)), want[c.from:])
		}
		// Past the newest timestamp ListOffsets finds nothing and kcat
		// starts at the end.
		wantRecords(t, "kcat -o s@future", kcatConsume(t, addr, topic, 0, fmt.Sprintf("s@%d", ms+60000)), nil)
	})
}

// TestLibrdkafkaLZ4 checks that librdkafka clients (kcat, confluent-kafka)
// asked for lz4 really send lz4 batches. librdkafka up to 2.x enables its
// LZ4 feature only if the broker's ApiVersions lists FindCoordinator v0
// (rdkafka_feature.c, RD_KAFKA_FEATURE_LZ4: "GroupCoordinator was released
// in 0.8.2"); otherwise it logs "Broker does not support compression type
// lz4: not compressing batch" at debug level and sends them uncompressed.
func TestLibrdkafkaLZ4(t *testing.T) {
	needTool(t, "kcat")
	needTool(t, "confluent-kafka")
	t.Parallel()
	b := kafkatest.Start(t)
	createTopic(t, b.Addr, "lz4", 2)
	v := strings.Repeat("lz4 compresses this well ", 20)
	run(t, "k:"+v+"\n", kcat, "-b", b.Addr, "-P", "-t", "lz4", "-p", "0", "-K:", "-z", "lz4")
	confluentKafka.produce(t, b.Addr, "lz4", "lz4", []rec{{Partition: 1, Key: strp("k"), Value: v}})
	for p, who := range []string{"kcat -z lz4", "confluent-kafka compression.type=lz4"} {
		for _, sb := range fetchBatches(t, b.Addr, "lz4", int32(p)) {
			if sb.codec != codecIDs["lz4"] {
				t.Errorf("%s: batch stored with codec %d, want 3 (lz4)%s", who, sb.codec, lz4Hint)
			}
		}
	}
}
