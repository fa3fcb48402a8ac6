package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
)

// kafka-python 2.0.2 (Debian's python3-kafka) has no transactional producer
// and no read_committed consumer: KafkaConsumer refuses isolation_level
// ("Unrecognized configs"), its fetcher always asks for read_uncommitted and
// hands out the records of control batches as messages. So the transaction
// tests drive librdkafka only.

// txnStep is one step of txn_client.py's story.
type txnStep struct {
	Step     string    `json:"step"`
	Producer int       `json:"producer"`
	Error    *txnError `json:"error"`
}

// txnError is a librdkafka KafkaError as txn_client.py prints it.
type txnError struct {
	Name             string `json:"name"`
	Code             int    `json:"code"`
	Str              string `json:"str"`
	Fatal            bool   `json:"fatal"`
	Retriable        bool   `json:"retriable"`
	TxnRequiresAbort bool   `json:"txn_requires_abort"`
}

// txnRec is a record of txn_client.py's ck-txn input.
type txnRec struct {
	rec
	Phase string `json:"phase"`
}

// txnPhases are the transactions of ck-txn in the order they are written.
var txnPhases = []string{"aborted", "committed", "zombie", "fencer"}

// txnStory returns the records of each phase of ck-txn for a topic of three
// partitions: every phase writes to every partition (so each transaction
// ends with one marker in each), in an order that is not the partitions',
// with a null key, an empty value, no headers and repeated header keys.
func txnStory() []txnRec {
	var rs []txnRec
	for ph, phase := range txnPhases {
		for i := range 5 + ph {
			r := rec{Partition: int32((i*2 + ph) % 3), Key: strp(fmt.Sprintf("%s-k%d", phase, i)),
				Value:   fmt.Sprintf("%s-v%d-ζ", phase, i),
				Headers: [][2]string{{"phase", phase}, {"i", fmt.Sprint(i)}}}
			switch i {
			case 1:
				r.Key = nil
			case 2:
				r.Value = ""
			case 3:
				r.Headers = nil
			case 4:
				r.Headers = append(r.Headers, [2]string{"i", "again"}, [2]string{"empty", ""})
			}
			rs = append(rs, txnRec{rec: r, Phase: phase})
		}
	}
	return rs
}

// txnOffsets gives each record the offset it must have: per partition the
// phases follow each other, each followed by its one control record.
func txnOffsets(rs []txnRec) []txnRec {
	next := map[int32]int64{}
	out := slices.Clone(rs)
	for _, phase := range txnPhases {
		touched := map[int32]bool{}
		for i := range out {
			if out[i].Phase == phase {
				out[i].Offset = next[out[i].Partition]
				next[out[i].Partition]++
				touched[out[i].Partition] = true
			}
		}
		for p := range touched {
			next[p]++ // the COMMIT or ABORT marker
		}
	}
	return out
}

// recsOf returns the records of the given phases, sorted by partition and
// offset.
func recsOf(rs []txnRec, phases ...string) []rec {
	var out []rec
	for _, r := range rs {
		if slices.Contains(phases, r.Phase) {
			out = append(out, r.rec)
		}
	}
	slices.SortFunc(out, func(a, b rec) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	return out
}

// TestConfluentKafkaTransactions drives librdkafka's transactional producer
// against the built binary: a transaction aborted, one committed, one left
// open by a producer that a second producer of the same transactional.id
// then fences, and one committed by that second producer. It checks each
// delivery report's offset (records then one marker per transaction and
// partition), that the fenced producer's commit fails with librdkafka's
// fatal fencing error, and that a read_committed consumer sees exactly the
// two committed transactions (keys, values, headers, partitions, offsets,
// in order) while a read_uncommitted one sees all four.
func TestConfluentKafkaTransactions(t *testing.T) {
	needTool(t, "confluent-kafka")
	t.Parallel()
	p := kafkatest.StartProcess(t, "")
	const topic = "ck-txn"
	createTopic(t, p.Addr, topic, 3)

	story := txnStory()
	var in []byte
	for _, r := range story {
		b, _ := json.Marshal(r)
		in = append(append(in, b...), '\n')
	}
	want := txnOffsets(story)
	lines := runPy(t, string(in), "txn_client.py", "ck-txn", p.Addr, topic, "ck-txn-id")

	type report struct {
		Phase     string  `json:"phase"`
		Partition int32   `json:"partition"`
		Offset    int64   `json:"offset"`
		Error     *string `json:"error"`
	}
	var steps []txnStep
	var reports []report
	for _, l := range lines {
		var probe map[string]any
		json.Unmarshal(l, &probe)
		if _, ok := probe["step"]; ok {
			steps = append(steps, decode[txnStep](t, l))
		} else {
			reports = append(reports, decode[report](t, l))
		}
	}

	// Delivery reports: every record at its offset.
	if len(reports) != len(want) {
		t.Fatalf("%d delivery reports for %d records:\n%s", len(reports), len(want), lines)
	}
	for i, r := range reports {
		w := want[i]
		if r.Error != nil || r.Phase != w.Phase || r.Partition != w.Partition || r.Offset != w.Offset {
			t.Errorf("delivery report %d: %+v, want %s record at p%d@%d", i, r, w.Phase, w.Partition, w.Offset)
		}
	}

	// The steps, and the fencing error.
	wantSteps := []struct {
		step     string
		producer int
		fails    bool
	}{
		{"init", 1, false}, {"begin", 1, false}, {"abort", 1, false},
		{"begin", 1, false}, {"commit", 1, false},
		{"begin", 1, false}, {"init", 2, false},
		{"commit", 1, true}, {"begin", 1, true},
		{"begin", 2, false}, {"commit", 2, false},
	}
	if len(steps) != len(wantSteps) {
		t.Fatalf("%d steps, want %d:\n%s", len(steps), len(wantSteps), lines)
	}
	for i, s := range steps {
		w := wantSteps[i]
		if s.Step != w.step || s.Producer != w.producer || (s.Error != nil) != w.fails {
			t.Fatalf("step %d: %+v (error %+v), want %s of producer %d (fails: %v)", i, s, s.Error, w.step, w.producer, w.fails)
		}
	}
	// librdkafka turns the coordinator's PRODUCER_FENCED (or, for its
	// older request versions, INVALID_PRODUCER_EPOCH) into the fatal error
	// _FENCED, and every later call of the fenced producer repeats it.
	for _, i := range []int{7, 8} {
		e := steps[i].Error
		if e.Name != "_FENCED" || !e.Fatal || e.Retriable || e.TxnRequiresAbort {
			t.Errorf("step %d (%s of producer 1 after the fence): %+v, want fatal _FENCED", i, steps[i].Step, *e)
		}
	}

	committed := recsOf(want, "committed", "fencer")
	everything := recsOf(want, txnPhases...)
	consume := func(isolation string) []rec {
		rs := pyRecords(t, runPy(t, "", "txn_client.py", "ck-consume", p.Addr, topic, isolation))
		sortRecs(t, "confluent-kafka "+isolation, rs)
		return rs
	}
	wantRecords(t, "confluent-kafka read_committed", consume("read_committed"), committed)
	wantRecords(t, "confluent-kafka read_uncommitted", consume("read_uncommitted"), everything)
}

// TestConfluentKafkaTransactionTimeout: librdkafka's init_transactions with
// a transaction.timeout.ms above the broker's transaction.max.timeout.ms
// fails with INVALID_TRANSACTION_TIMEOUT, and the same transactional.id then
// initializes with a timeout at the maximum.
func TestConfluentKafkaTransactionTimeout(t *testing.T) {
	needTool(t, "confluent-kafka")
	t.Parallel()
	p := kafkatest.StartProcess(t, "", "transaction.max.timeout.ms=30000")
	init := func(timeoutMs int) *txnError {
		lines := runPy(t, "", "txn_client.py", "ck-timeout", p.Addr, "ck-timeout-id", fmt.Sprint(timeoutMs))
		if len(lines) != 1 {
			t.Fatalf("ck-timeout: %s", lines)
		}
		s := decode[txnStep](t, lines[0])
		if s.Step != "init" {
			t.Fatalf("ck-timeout: %s", lines[0])
		}
		return s.Error
	}
	e := init(30001)
	if e == nil || e.Name != "INVALID_TRANSACTION_TIMEOUT" || e.Code != 50 {
		t.Fatalf("init_transactions with transaction.timeout.ms 30001 > transaction.max.timeout.ms 30000: %+v, want INVALID_TRANSACTION_TIMEOUT (50)", e)
	}
	if e := init(30000); e != nil {
		t.Fatalf("init_transactions with transaction.timeout.ms 30000: %+v", *e)
	}
}

// TestConfluentKafkaTxnOffsets runs librdkafka's consume-transform-produce
// loop once: a read_committed consumer in a group reads 3 partitions to
// their ends, and a transactional producer sends the transformed records
// with send_offsets_to_transaction (AddOffsetsToTxn, TxnOffsetCommit) first
// in a transaction it aborts, then in one it commits. The group's offsets
// are unchanged by the abort (none committed) and are the consumer's
// positions after the commit, for librdkafka and for kadm; a read_committed
// reader of the output sees each record transformed once, a
// read_uncommitted one twice.
func TestConfluentKafkaTxnOffsets(t *testing.T) {
	needTool(t, "confluent-kafka")
	t.Parallel()
	b := kafkatest.Start(t, "group.initial.rebalance.delay.ms=0")
	const in, out, group = "ck-eos-in", "ck-eos-out", "ck-eos"
	createTopic(t, b.Addr, in, 3)
	createTopic(t, b.Addr, out, 3)
	input := withOffsets(sampleRecords("eos"))
	confluentKafka.produce(t, b.Addr, in, "none", input) // offsets checked by TestConfluentKafka

	lines := runPy(t, "", "txn_client.py", "ck-eos", b.Addr, in, out, group, "ck-eos-id")
	type ended struct {
		Step      string     `json:"step"`
		Error     *txnError  `json:"error"`
		Positions [][2]int64 `json:"positions"`
		Committed [][2]int64 `json:"committed"`
	}
	if len(lines) != 2 {
		t.Fatalf("ck-eos: %s", lines)
	}
	ends := [][2]int64{{0, 4}, {1, 4}, {2, 4}}
	none := [][2]int64{{0, -1001}, {1, -1001}, {2, -1001}}
	for i, want := range []ended{{Step: "abort", Positions: ends, Committed: none}, {Step: "commit", Positions: ends, Committed: ends}} {
		got := decode[ended](t, lines[i])
		if got.Step != want.Step || got.Error != nil || !slices.Equal(got.Positions, want.Positions) || !slices.Equal(got.Committed, want.Committed) {
			t.Errorf("ck-eos after the %s: %s; want positions %v, committed %v", want.Step, lines[i], want.Positions, want.Committed)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := b.Admin(t).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil || o.Topic != in {
			t.Errorf("group offset %s p%d: %d %v", o.Topic, o.Partition, o.At, o.Err)
		}
		got = append(got, [2]int64{int64(o.Partition), o.At})
	})
	slices.SortFunc(got, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	if !slices.Equal(got, ends) {
		t.Errorf("kadm: group %s offsets %v, want %v", group, got, ends)
	}

	// The output: each input record transformed, at offsets after the
	// aborted copy and its marker.
	var committed, everything []rec
	for _, r := range input {
		o := r
		o.Value, o.Headers = "out-"+r.Value, nil
		aborted := o
		o.Offset += 5 // 4 aborted records and the ABORT marker
		committed = append(committed, o)
		everything = append(everything, aborted, o)
	}
	slices.SortFunc(committed, func(a, b rec) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	slices.SortFunc(everything, func(a, b rec) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	consume := func(isolation string) []rec {
		rs := pyRecords(t, runPy(t, "", "txn_client.py", "ck-consume", b.Addr, out, isolation))
		sortRecs(t, "confluent-kafka "+isolation, rs)
		return rs
	}
	wantRecords(t, "confluent-kafka read_committed of the output", consume("read_committed"), committed)
	wantRecords(t, "confluent-kafka read_uncommitted of the output", consume("read_uncommitted"), everything)
}
