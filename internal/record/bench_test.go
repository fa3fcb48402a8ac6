package record

import (
	"testing"
)

// 16 KiB batches of 1 KiB records, the shape of a Java producer's default
// batch.size.
func benchBatch(b *testing.B, codec int8) []byte {
	return buildBatch(b, codec, 16, 1000, BatchFields{ProducerID: 1, ProducerEpoch: 0, BaseSequence: 0, PartitionLeaderEpoch: -1})
}

func BenchmarkCRC16KiB(b *testing.B) {
	in := Header(benchBatch(b, CodecNone))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if !in.ValidCRC() {
			b.Fatal("crc")
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, codec := range allCodecs {
		b.Run(codecName(codec), func(b *testing.B) {
			in := benchBatch(b, codec)
			o := baseOpts()
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Validate(in, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidateRecompress(b *testing.B) {
	for _, tc := range []struct{ from, to int8 }{{CodecNone, CodecLZ4}, {CodecLZ4, CodecZstd}, {CodecSnappy, CodecNone}} {
		b.Run(codecName(tc.from)+"_to_"+codecName(tc.to), func(b *testing.B) {
			in := benchBatch(b, tc.from)
			o := baseOpts()
			o.TargetCodec = tc.to
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Validate(in, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBuilder(b *testing.B) {
	val := make([]byte, 1000)
	var bl Builder
	b.ReportAllocs()
	for b.Loop() {
		bl.Reset(NonIdempotent)
		for i := range 16 {
			bl.Append(testNow+int64(i), nil, val, nil)
		}
		if _, err := bl.Finish(CodecNone, 0); err != nil {
			b.Fatal(err)
		}
	}
}
