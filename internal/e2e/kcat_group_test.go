package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKcatGroup: kcat -G (librdkafka's balanced consumer) joins a group,
// consumes every partition and commits; a second run of the same group
// resumes after the commits and reads only what was produced since. (kcat
// -G with -o would seek every assigned partition, so the start is
// auto.offset.reset instead.)
func TestKcatGroup(t *testing.T) {
	needTool(t, "kcat")
	t.Parallel()
	b := kafkatest.Start(t, "group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=3")
	createTopic(t, b.Addr, "kg", 3)
	ctx := context.Background()
	p := kafkatest.NewClient(t, b.Addr, kgo.DefaultProduceTopic("kg"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	produce := func(from, n int) {
		for i := from; i < from+n; i++ {
			if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	kcatGroup := func() map[string]bool {
		out := run(t, "", kcat, "-b", b.Addr, "-G", "kcat-group", "kg", "-e", "-J", "-q", "-X", "auto.offset.reset=earliest",
			"-X", "auto.commit.interval.ms=100")
		got := map[string]bool{}
		for _, l := range jsonLines(t, out) {
			m := decode[kcatJSON](t, l)
			if m.Payload != nil {
				got[*m.Payload] = true
			}
		}
		return got
	}
	produce(0, 6)
	if got := kcatGroup(); len(got) != 6 {
		t.Fatalf("first kcat -G run read %v, want the 6 records", got)
	}
	adm := kadm.NewClient(kafkatest.NewClient(t, b.Addr))
	offs, err := adm.FetchOffsets(ctx, "kcat-group")
	if err != nil {
		t.Fatal(err)
	}
	for part := int32(0); part < 3; part++ {
		if o, ok := offs.Lookup("kg", part); !ok || o.At != 2 {
			t.Fatalf("kcat committed %+v for partition %d, want 2", o, part)
		}
	}
	produce(6, 3)
	got := kcatGroup()
	if len(got) != 3 || !got["6"] || !got["7"] || !got["8"] {
		t.Fatalf("second kcat -G run read %v, want only 6, 7, 8", got)
	}
}
