package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
)

// pyClient is one of the Python drivers in testdata.
type pyClient struct {
	tool, script string
}

var (
	kafkaPython    = pyClient{"kafka-python", "kafka_python_client.py"}
	confluentKafka = pyClient{"confluent-kafka", "confluent_client.py"}
)

type pyAck struct {
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Error     *string `json:"error"`
}

// create creates topic with n partitions through the client's admin API and
// checks what the client's metadata then says about it.
func (c pyClient) create(t *testing.T, addr, topic string, n int32) {
	t.Helper()
	lines := runPy(t, "", c.script, "create", addr, topic, fmt.Sprint(n))
	if len(lines) != 3 {
		t.Fatalf("%s create: want 3 lines, got %s", c.tool, lines)
	}
	created := decode[map[string]any](t, lines[0])
	if created["created"] != topic || (created["error_code"] != nil && created["error_code"] != 0.0) || created["error"] != nil {
		t.Fatalf("%s create_topics: %s", c.tool, lines[0])
	}
	desc := decode[struct {
		Described  string  `json:"described"`
		Partitions []int32 `json:"partitions"`
		Leaders    []int32 `json:"leaders"`
		Brokers    []int32 `json:"brokers"`
	}](t, lines[1])
	var wantParts, wantLeaders []int32
	for i := range n {
		wantParts, wantLeaders = append(wantParts, i), append(wantLeaders, 1)
	}
	if desc.Described != topic || !slices.Equal(desc.Partitions, wantParts) || !slices.Equal(desc.Leaders, wantLeaders) {
		t.Fatalf("%s describe %s: %s; want partitions %v led by broker 1", c.tool, topic, lines[1], wantParts)
	}
	if desc.Brokers != nil && !slices.Equal(desc.Brokers, []int32{1}) {
		t.Fatalf("%s metadata brokers %v, want [1]", c.tool, desc.Brokers)
	}
	topics := decode[struct {
		Topics []string `json:"topics"`
	}](t, lines[2])
	if !slices.Contains(topics.Topics, topic) {
		t.Fatalf("%s list_topics %v lacks %s", c.tool, topics.Topics, topic)
	}
}

// produce sends rs (Partition, Key, Value, Headers) and returns each
// record with the offset the client was acknowledged with.
func (c pyClient) produce(t *testing.T, addr, topic, compression string, rs []rec) []rec {
	t.Helper()
	lines := runPy(t, pyInput(rs), c.script, "produce", addr, topic, compression)
	if len(lines) != len(rs) {
		t.Fatalf("%s produce: %d acks for %d records: %s", c.tool, len(lines), len(rs), lines)
	}
	out := slices.Clone(rs)
	for i, l := range lines {
		a := decode[pyAck](t, l)
		if a.Error != nil || a.Partition != rs[i].Partition {
			t.Fatalf("%s produce record %d (%v): ack %s", c.tool, i, rs[i], l)
		}
		out[i].Offset = a.Offset
	}
	return out
}

// consume reads partition p (-1: every partition) from offset off until the
// end or max records, sorted by partition and offset.
func (c pyClient) consume(t *testing.T, addr, topic string, p int32, off int64, max int) []rec {
	t.Helper()
	ps := fmt.Sprint(p)
	if p < 0 {
		ps = "*"
	}
	rs := pyRecords(t, runPy(t, "", c.script, "consume", addr, topic, ps, fmt.Sprint(off), fmt.Sprint(max)))
	sortRecs(t, c.tool, rs)
	return rs
}

// sampleRecords are records for a 3-partition topic, with a null key, an
// empty value, no headers, a repeated header key and non-ASCII text.
func sampleRecords(tag string) []rec {
	var rs []rec
	for i := range 12 {
		r := rec{Partition: int32(i % 3), Key: strp(fmt.Sprintf("%s-k%d", tag, i)),
			Value:   fmt.Sprintf("%s-v%d-%s", tag, i, "ζ payload payload payload payload"),
			Headers: [][2]string{{"src", tag}, {"i", fmt.Sprint(i)}}}
		switch i {
		case 3:
			r.Key = nil
		case 4:
			r.Value = ""
		case 5:
			r.Headers = nil
		case 6:
			r.Headers = append(r.Headers, [2]string{"i", "again"}, [2]string{"empty", ""})
		}
		rs = append(rs, r)
	}
	return rs
}

// withOffsets numbers rs per partition from 0 in order.
func withOffsets(rs []rec) []rec {
	next := map[int32]int64{}
	out := slices.Clone(rs)
	for i := range out {
		out[i].Offset = next[out[i].Partition]
		next[out[i].Partition]++
	}
	return out
}

func inPartition(rs []rec, p int32, from int64) []rec {
	var out []rec
	for _, r := range rs {
		if r.Partition == p && r.Offset >= from {
			out = append(out, r)
		}
	}
	return out
}

func TestKafkaPython(t *testing.T) {
	needTool(t, "kafka-python")
	t.Parallel()
	b := kafkatest.Start(t)
	const topic = "kafka-python"
	kafkaPython.create(t, b.Addr, topic, 3)
	want := withOffsets(sampleRecords("kp"))
	acked := kafkaPython.produce(t, b.Addr, topic, "gzip", want)
	wantRecords(t, "kafka-python acks", acked, want)
	for _, sb := range fetchBatches(t, b.Addr, topic, 0) {
		if sb.codec != codecIDs["gzip"] {
			t.Errorf("kafka-python gzip batch at %d stored with codec %d", sb.base, sb.codec)
		}
	}
	// assign + seek, no group. Reads stop at the expected count (kafka-python
	// cannot tell the end of a partition) except the last, which ends by
	// consumer_timeout_ms and so proves nothing follows.
	for p := range int32(3) {
		w := inPartition(want, p, 1)
		wantRecords(t, fmt.Sprintf("kafka-python p%d from 1", p), kafkaPython.consume(t, b.Addr, topic, p, 1, len(w)), w)
	}
	wantRecords(t, "kafka-python p2 from 2 to the end", kafkaPython.consume(t, b.Addr, topic, 2, 2, 100), inPartition(want, 2, 2))
	wantRecords(t, "kafka-python p0 from 0, max 2", kafkaPython.consume(t, b.Addr, topic, 0, 0, 2), inPartition(want, 0, 0)[:2])
}

func TestConfluentKafka(t *testing.T) {
	needTool(t, "confluent-kafka")
	t.Parallel()
	b := kafkatest.Start(t)
	const topic = "confluent-kafka"
	confluentKafka.create(t, b.Addr, topic, 3)
	want := withOffsets(sampleRecords("ck"))
	acked := confluentKafka.produce(t, b.Addr, topic, "lz4", want)
	wantRecords(t, "confluent-kafka delivery reports", acked, want)
	// With enable.idempotence every batch carries a producer id.
	for p := range int32(3) {
		for _, sb := range fetchBatches(t, b.Addr, topic, p) {
			if sb.producerID < 0 {
				t.Errorf("p%d batch at %d: producer id %d, want an idempotent producer's", p, sb.base, sb.producerID)
			}
			// lz4 itself is checked by TestLibrdkafkaLZ4.
			if sb.codec != codecIDs["lz4"] && sb.codec != codecIDs["none"] {
				t.Errorf("p%d batch at %d: codec %d, want lz4", p, sb.base, sb.codec)
			}
		}
	}
	// assign([TopicPartition(t, p, offset)]) with a group.id that is never
	// used: samsa has no group coordinator, and none is needed.
	for p := range int32(3) {
		wantRecords(t, fmt.Sprintf("confluent-kafka p%d from 1", p), confluentKafka.consume(t, b.Addr, topic, p, 1, 100), inPartition(want, p, 1))
	}
	wantRecords(t, "confluent-kafka p1 from 4 (the end)", confluentKafka.consume(t, b.Addr, topic, 1, 4, 100), nil)
	wantRecords(t, "confluent-kafka p0 from 0, max 2", confluentKafka.consume(t, b.Addr, topic, 0, 0, 2), inPartition(want, 0, 0)[:2])
}
