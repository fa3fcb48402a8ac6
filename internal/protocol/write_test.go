package protocol

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// flatten is what flush would write.
func (w *responseWriter) flatten() []byte {
	var out []byte
	prev := 0
	for _, c := range w.cuts {
		out = append(out, w.b[prev:c.at]...)
		out = append(out, c.rec...)
		prev = c.at
	}
	return append(out, w.b[prev:]...)
}

func randomFetchResponse(rng *rand.Rand, version int16) *kmsg.FetchResponse {
	fr := kmsg.NewPtrFetchResponse()
	fr.SetVersion(version)
	fr.SessionID = rng.Int32()
	for t := range rng.IntN(4) {
		ft := kmsg.NewFetchResponseTopic()
		ft.Topic = string(rune('a' + t))
		for p := range rng.IntN(5) {
			fp := kmsg.NewFetchResponseTopicPartition()
			fp.Partition = int32(p)
			// Field values that look like length prefixes, to trip a
			// search that guessed.
			fp.HighWatermark = int64(rng.IntN(3))
			fp.LastStableOffset = 1
			fp.LogStartOffset = 2
			if rng.IntN(3) == 0 {
				a := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
				a.ProducerID, a.FirstOffset = 1, 2
				fp.AbortedTransactions = append(fp.AbortedTransactions, a)
			}
			switch rng.IntN(4) {
			case 0:
				fp.RecordBatches = []byte{}
			case 1:
				fp.RecordBatches = bytes.Repeat([]byte{1}, rng.IntN(300))
			default:
				b := make([]byte, rng.IntN(64<<10))
				for i := range b {
					b[i] = byte(rng.IntN(3))
				}
				fp.RecordBatches = b
			}
			ft.Partitions = append(ft.Partitions, fp)
		}
		fr.Topics = append(fr.Topics, ft)
	}
	return fr
}

// TestSpliceFetch checks that splicing writes exactly what encoding the
// whole response writes, for every Fetch version.
func TestSpliceFetch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var w responseWriter
	spliced := 0
	for i := range 2000 {
		version := int16(i % 18)
		var want []byte
		var os []outgoing
		for range 1 + rng.IntN(3) {
			fr := randomFetchResponse(rng, version)
			o := outgoing{corr: rng.Int32(), key: 1, flexible: fr.IsFlexible(), resp: fr}
			os = append(os, o)
			start := len(want)
			want = append(want, 0, 0, 0, 0)
			want = binary.BigEndian.AppendUint32(want, uint32(o.corr))
			if o.flexible {
				want = append(want, 0)
			}
			want = fr.AppendTo(want)
			binary.BigEndian.PutUint32(want[start:], uint32(len(want)-start-4))
		}
		for _, o := range os {
			w.add(o)
		}
		if got := w.flatten(); !bytes.Equal(got, want) {
			t.Fatalf("case %d (v%d): spliced encoding differs from kmsg's (%d vs %d bytes)", i, version, len(got), len(want))
		}
		if w.size != len(want) {
			t.Fatalf("case %d: size %d, want %d", i, w.size, len(want))
		}
		// Responses come back intact.
		for _, o := range os {
			again := o.resp.AppendTo(nil)
			if !bytes.Contains(want, again) {
				t.Fatalf("case %d: response modified by splicing", i)
			}
		}
		if len(w.cuts) > 0 {
			spliced++
		}
		w.b, w.cuts, w.dones, w.size = w.b[:0], w.cuts[:0], w.dones[:0], 0
	}
	if spliced < 500 {
		t.Fatalf("only %d of 2000 cases spliced", spliced)
	}
}

// TestResponseWriterFlush checks the writev path end to end and that hooks
// run after the write.
func TestResponseWriterFlush(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	fr := randomFetchResponse(rng, 12)
	for len(fr.Topics) == 0 {
		fr = randomFetchResponse(rng, 12)
	}
	fr.Topics[0].Partitions = append(fr.Topics[0].Partitions, kmsg.FetchResponseTopicPartition{RecordBatches: make([]byte, 100<<10)})
	want := binary.BigEndian.AppendUint32(nil, 7)
	want = append(want, 0)
	want = fr.AppendTo(want)
	want = append(binary.BigEndian.AppendUint32(nil, uint32(len(want))), want...)

	ran := false
	var w responseWriter
	w.add(outgoing{corr: 7, key: 1, flexible: true, resp: fr, done: func() { ran = true }})
	if len(w.cuts) == 0 {
		t.Fatal("nothing spliced")
	}
	got := make(chan []byte)
	go func() {
		buf := make([]byte, len(want))
		n := 0
		for n < len(buf) {
			m, err := b.Read(buf[n:])
			if err != nil {
				break
			}
			n += m
		}
		got <- buf[:n]
	}()
	if err := w.flush(a); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(<-got, want) {
		t.Fatal("written bytes differ")
	}
	if !ran {
		t.Fatal("hook did not run")
	}
	if len(w.b) != 0 || len(w.cuts) != 0 || w.size != 0 {
		t.Fatal("writer not reset")
	}
}

// TestResponseWriterOther checks that responses other than Fetch are
// encoded whole.
func TestResponseWriterOther(t *testing.T) {
	pr := kmsg.NewPtrProduceResponse()
	pr.SetVersion(9)
	pt := kmsg.NewProduceResponseTopic()
	pt.Topic = "t"
	pt.Partitions = append(pt.Partitions, kmsg.NewProduceResponseTopicPartition())
	pr.Topics = append(pr.Topics, pt)
	want := binary.BigEndian.AppendUint32(nil, 5)
	want = append(want, 0)
	want = pr.AppendTo(want)
	want = append(binary.BigEndian.AppendUint32(nil, uint32(len(want))), want...)
	var w responseWriter
	w.add(outgoing{corr: 5, key: 0, flexible: true, resp: pr})
	if got := w.flatten(); !bytes.Equal(got, want) || w.size != len(want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}

// BenchmarkWriteFetch encodes a 6 MiB Fetch response (six partitions of
// 1 MiB) the way the writer does, splicing the batches, against encoding it
// whole, which copies them.
func BenchmarkWriteFetch(b *testing.B) {
	fr := kmsg.NewPtrFetchResponse()
	fr.SetVersion(12)
	ft := kmsg.NewFetchResponseTopic()
	ft.Topic = "bench"
	for p := range 6 {
		fp := kmsg.NewFetchResponseTopicPartition()
		fp.Partition = int32(p)
		fp.RecordBatches = make([]byte, 1<<20)
		ft.Partitions = append(ft.Partitions, fp)
	}
	fr.Topics = append(fr.Topics, ft)
	o := outgoing{corr: 1, key: 1, flexible: true, resp: fr}
	b.Run("splice", func(b *testing.B) {
		var w responseWriter
		b.SetBytes(6 << 20)
		b.ReportAllocs()
		for b.Loop() {
			w.add(o)
			w.b, w.cuts, w.dones, w.size = w.b[:0], w.cuts[:0], w.dones[:0], 0
		}
	})
	b.Run("copy", func(b *testing.B) {
		var buf []byte
		b.SetBytes(6 << 20)
		b.ReportAllocs()
		for b.Loop() {
			buf = fr.AppendTo(buf[:0])
		}
	})
}
