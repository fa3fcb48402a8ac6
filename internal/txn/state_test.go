package txn

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestStateValueLayout pins the bytes of TransactionLogValue v0 as Kafka
// 3.9 writes them: null partitions in Empty, grouped topics otherwise.
func TestStateValueLayout(t *testing.T) {
	empty := stateValue(meta{pid: 7, epoch: 1, timeoutMs: 60000, state: stEmpty, startMs: -1, updateMs: 1000})
	want, _ := hex.DecodeString("0000" + "0000000000000007" + "0001" + "0000ea60" + "00" + "ffffffff" +
		"00000000000003e8" + "ffffffffffffffff")
	if !bytes.Equal(empty, want) {
		t.Fatalf("Empty value\n got %x\nwant %x", empty, want)
	}
	m := meta{pid: 7, epoch: 1, timeoutMs: 60000, state: stOngoing, startMs: 900, updateMs: 1000,
		parts: []TopicPartition{{"a", 0}, {"a", 2}, {"b", 1}}}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(stateValue(m)); err != nil {
		t.Fatal(err)
	}
	if len(v.Topics) != 2 || v.Topics[0].Topic != "a" || len(v.Topics[0].Partitions) != 2 || v.Topics[1].Topic != "b" ||
		v.State != stOngoing || v.StartTimestamp != 900 {
		t.Fatalf("decoded %+v", v)
	}
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(stateKey("tx")); err != nil || k.TransactionalID != "tx" || k.Version != 0 {
		t.Fatalf("key %+v %v", k, err)
	}
}
