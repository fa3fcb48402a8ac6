package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

// TestCrossClient has kcat, kafka-python and confluent-kafka each produce
// into a topic of its own (with a different codec each) and every client,
// franz-go included, read every topic: all must see the same records.
func TestCrossClient(t *testing.T) {
	needTool(t, "kcat")
	needTool(t, "kafka-python")
	needTool(t, "confluent-kafka")
	t.Parallel()
	b := kafkatest.Start(t)
	addr := b.Addr

	// kafka-python reads snappy, lz4 and zstd only with optional Python
	// modules; use gzip for what it cannot read.
	has := decode[map[string]bool](t, runPy(t, "", kafkaPython.script, "codecs")[0])
	codec := func(c string) string {
		if has[c] {
			return c
		}
		t.Logf("kafka-python cannot decompress %s here; using gzip instead", c)
		return "gzip"
	}
	produced := map[string][]rec{}

	// kcat: one invocation per partition, as -H applies to every message.
	createTopic(t, addr, "from-kcat", 2)
	kcatCodec := codec("zstd")
	var kc []rec
	for p := range int32(2) {
		var in strings.Builder
		for i := range 4 {
			k, v := fmt.Sprintf("kcat-k%d", i), fmt.Sprintf("kcat-v%d:%s", i, strings.Repeat("z", 100))
			fmt.Fprintf(&in, "%s:%s\n", k, v)
			kc = append(kc, rec{Partition: p, Offset: int64(i), Key: strp(k), Value: v,
				Headers: [][2]string{{"src", "kcat"}, {"p", fmt.Sprint(p)}}})
		}
		run(t, in.String(), kcat, "-b", addr, "-P", "-t", "from-kcat", "-p", fmt.Sprint(p), "-K:",
			"-H", "src=kcat", "-H", fmt.Sprintf("p=%d", p), "-z", kcatCodec)
	}
	produced["from-kcat"] = kc

	kafkaPython.create(t, addr, "from-kafka-python", 3)
	want := withOffsets(sampleRecords("kp"))
	wantRecords(t, "kafka-python acks", kafkaPython.produce(t, addr, "from-kafka-python", "gzip", want), want)
	produced["from-kafka-python"] = want

	confluentKafka.create(t, addr, "from-confluent", 3)
	want = withOffsets(sampleRecords("ck"))
	wantRecords(t, "confluent-kafka acks", confluentKafka.produce(t, addr, "from-confluent", codec("snappy"), want), want)
	produced["from-confluent"] = want

	for topic, want := range produced {
		want = append([]rec(nil), want...)
		sortRecs(t, "want", want)
		wantRecords(t, "kcat reads "+topic, kcatConsume(t, addr, topic, -1, "beginning"), want)
		wantRecords(t, "kafka-python reads "+topic, kafkaPython.consume(t, addr, topic, -1, 0, len(want)), want)
		wantRecords(t, "confluent-kafka reads "+topic, confluentKafka.consume(t, addr, topic, -1, 0, 1000), want)
		var fr []rec
		for p, rs := range readAll(t, addr, topic) {
			for _, r := range rs {
				x := rec{Partition: p, Offset: r.Offset, Value: string(r.Value)}
				if r.Key != nil {
					x.Key = strp(string(r.Key))
				}
				for _, h := range r.Headers {
					x.Headers = append(x.Headers, [2]string{h.Key, string(h.Value)})
				}
				fr = append(fr, x)
			}
		}
		sortRecs(t, "franz-go", fr)
		wantRecords(t, "franz-go reads "+topic, fr, want)
	}
}
