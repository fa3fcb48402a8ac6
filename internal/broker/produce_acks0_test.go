package broker_test

import (
	"testing"

	"github.com/samsa-io/samsa/internal/kafkatest"
	"github.com/samsa-io/samsa/internal/record"
)

// With acks=0 there is no response, so a failed produce closes the
// connection (as Kafka does) and a successful one leaves it open.
func TestProduceAcksZeroErrorClosesConnection(t *testing.T) {
	b := kafkatest.Start(t, "auto.create.topics.enable=false")
	createTopic(t, b, "z", 1, nil)
	batch := buildBatch(t, record.NonIdempotent, record.CodecNone, rec{ts: 1, value: []byte("v")})

	ok := dialRaw(t, b.Addr)
	if _, err := ok.send(produceReq(9, 0, "z", 0, batch)); err != nil {
		t.Fatal(err)
	}
	// Still open: the next request is answered, and the record is there.
	if p := fetchOne(t, ok, "z", 0, 0); p.ErrorCode != 0 || p.HighWatermark != 1 {
		t.Fatalf("after acks=0 success: error %d high watermark %d", p.ErrorCode, p.HighWatermark)
	}

	bad := dialRaw(t, b.Addr)
	if _, err := bad.send(produceReq(9, 0, "no-such-topic", 0, batch)); err != nil {
		t.Fatal(err)
	}
	bad.expectClosed(t)
}
