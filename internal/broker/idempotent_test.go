package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func initProducerID(t *testing.T, r *rawConn) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.SetVersion(4)
	req.TransactionTimeoutMillis = 60000
	resp := do[*kmsg.InitProducerIDResponse](t, r, req)
	if resp.ErrorCode != 0 || resp.ProducerID < 0 || resp.ProducerEpoch != 0 {
		t.Fatalf("InitProducerID: error %d id %d epoch %d", resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch)
	}
	return resp.ProducerID, resp.ProducerEpoch
}

func idemBatch(t *testing.T, pid int64, epoch int16, seq int32, values ...string) []byte {
	t.Helper()
	var recs []rec
	for _, v := range values {
		recs = append(recs, rec{ts: time.Now().UnixMilli(), value: []byte(v)})
	}
	return buildBatch(t, record.BatchFields{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
		PartitionLeaderEpoch: record.NoPartitionLeader}, record.CodecNone, recs...)
}

func TestIdempotentProducerAcrossRestart(t *testing.T) {
	b := kafkatest.Start(t)
	createTopic(t, b, "idem", 1, nil)
	r := dialRaw(t, b.Addr)
	pid, epoch := initProducerID(t, r)
	for seq := int32(0); seq < 5; seq++ {
		pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch, seq, fmt.Sprintf("v%d", seq)))
		if pr.ErrorCode != 0 || pr.BaseOffset != int64(seq) {
			t.Fatalf("seq %d: error %d base %d", seq, pr.ErrorCode, pr.BaseOffset)
		}
	}
	// A retry before the restart is a duplicate too.
	if pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch, 3, "v3")); pr.ErrorCode != 0 || pr.BaseOffset != 3 {
		t.Fatalf("retry of seq 3: error %d base %d, want 0 and 3", pr.ErrorCode, pr.BaseOffset)
	}

	b = b.Restart(t)
	r = dialRaw(t, b.Addr)

	// The retry of the last batch after the restart: the original offset.
	if pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch, 4, "v4")); pr.ErrorCode != 0 || pr.BaseOffset != 4 {
		t.Fatalf("retry of seq 4 after restart: error %d base %d, want 0 and 4", pr.ErrorCode, pr.BaseOffset)
	}
	// A gap.
	if pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch, 6, "v6")); pr.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("seq 6 after 4: error %d, want OUT_OF_ORDER_SEQUENCE_NUMBER", pr.ErrorCode)
	}
	// The next one.
	if pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch, 5, "v5")); pr.ErrorCode != 0 || pr.BaseOffset != 5 {
		t.Fatalf("seq 5: error %d base %d, want 0 and 5", pr.ErrorCode, pr.BaseOffset)
	}
	// A multi-record batch continues the sequence; its retry is a duplicate.
	if pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch, 6, "v6", "v7", "v8")); pr.ErrorCode != 0 || pr.BaseOffset != 6 {
		t.Fatalf("seq 6-8: error %d base %d", pr.ErrorCode, pr.BaseOffset)
	}
	if pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch, 6, "v6", "v7", "v8")); pr.ErrorCode != 0 || pr.BaseOffset != 6 {
		t.Fatalf("retry of seq 6-8: error %d base %d", pr.ErrorCode, pr.BaseOffset)
	}
	// A bumped epoch starts again at sequence 0; the old epoch is fenced.
	if pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch+1, 0, "e1")); pr.ErrorCode != 0 || pr.BaseOffset != 9 {
		t.Fatalf("epoch bump at seq 0: error %d base %d", pr.ErrorCode, pr.BaseOffset)
	}
	if pr := produceOne(t, r, "idem", 0, idemBatch(t, pid, epoch, 9, "old")); pr.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("old epoch after bump: error %d, want INVALID_PRODUCER_EPOCH", pr.ErrorCode)
	}

	// The log holds each record once, in order.
	recs, _ := decodeBatches(t, fetchOne(t, r, "idem", 0, 0).RecordBatches)
	want := []string{"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "e1"}
	if len(recs) != len(want) {
		t.Fatalf("log holds %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		if recs[i].offset != int64(i) || string(recs[i].value) != w {
			t.Fatalf("offset %d: %q at %d, want %q", i, recs[i].value, recs[i].offset, w)
		}
	}

	// Producer ids are unique across restarts.
	pid2, _ := initProducerID(t, r)
	if pid2 == pid {
		t.Fatalf("InitProducerID after restart reused id %d", pid)
	}
	// A transactional id gets an id from the same blocks.
	req := kmsg.NewPtrInitProducerIDRequest()
	req.SetVersion(4)
	req.TransactionalID, req.TransactionTimeoutMillis = sp("txn"), 60000
	if resp := do[*kmsg.InitProducerIDResponse](t, r, req); resp.ErrorCode != 0 || resp.ProducerID == pid || resp.ProducerID == pid2 || resp.ProducerEpoch != 0 {
		t.Fatalf("transactional InitProducerID: %+v", resp)
	}
}
