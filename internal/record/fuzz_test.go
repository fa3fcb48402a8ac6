package record

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// FuzzValidate: arbitrary bytes never panic Validate, and whatever it accepts
// is a well-formed batch: valid CRC, exact size, and exactly RecordCount
// records with offset deltas 0..n-1.
func FuzzValidate(f *testing.F) {
	for _, codec := range allCodecs {
		in := buildBatch(f, codec, 3, 20, NonIdempotent)
		f.Add(in, uint8(0), int8(-1))
		f.Add(in, uint8(1), int8((codec+1)%5))
		f.Add(in, uint8(4), int8(-1))
		f.Add(in[:len(in)-1], uint8(0), int8(-1))
	}
	f.Add(assemble(f, CodecNone, 2, append(rawRecord(0, 0, 1, 1, nil), rawRecord(0, 1, -1, 1, []byte{2, 2, 'a', 1, 0, 'b', 0})...)), uint8(0), int8(-1))
	f.Fuzz(func(t *testing.T, in []byte, tsType uint8, target int8) {
		o := ValidateOptions{
			Now:                  testNow,
			TimestampType:        int8(tsType & 1),
			TimestampBeforeMaxMs: math.MaxInt64,
			TimestampAfterMaxMs:  math.MaxInt64,
			MaxMessageBytes:      1 << 20,
			MaxUncompressedBytes: 4 << 20,
			TargetCodec:          max(-1, target%5),
			ProduceVersion:       11,
			Compacted:            tsType&2 != 0,
		}
		if tsType&4 != 0 && len(in) >= HeaderSize {
			// Fix the CRC so mutations reach the record checks.
			if size := int64(Header(in).Length()) + LogOverhead; size >= HeaderSize && size <= int64(len(in)) {
				Header(in[:size]).UpdateCRC()
			}
		}
		res, err := Validate(in, o)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			return
		}
		h := res.Batch
		if len(h) < HeaderSize || h.Size() != len(h) || !h.ValidCRC() || h.Magic() != 2 {
			t.Fatal("accepted batch is malformed")
		}
		if !res.Recompressed && !bytes.Equal(h, in[:len(h)]) {
			t.Fatal("in-place result does not alias the input")
		}
		n := int32(0)
		err = ForEachRecord(h, func(r *Record) error {
			if r.OffsetDelta != n {
				t.Fatalf("record %d has offset delta %d", n, r.OffsetDelta)
			}
			n++
			return nil
		})
		if err != nil || n != res.RecordCount || n != h.RecordCount() || h.LastOffsetDelta() != n-1 {
			t.Fatalf("ForEachRecord: %d records of %d, %v", n, res.RecordCount, err)
		}
	})
}

// FuzzDecompress: arbitrary input never panics a decoder, never yields more
// than the limit, and fails only with ErrCorrupt; what decodes re-encodes.
func FuzzDecompress(f *testing.F) {
	for _, codec := range allCodecs {
		for _, p := range [][]byte{nil, []byte("hello hello hello"), make([]byte, 5000)} {
			c, _ := Compress(codec, 0, nil, p)
			f.Add(uint8(codec), c)
		}
	}
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, codec uint8, in []byte) {
		c := int8(codec % 8)
		out, err := Decompress(c, nil, in, limit)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("%d bytes past the %d limit", len(out), limit)
		}
		again, err := Compress(c, 0, nil, out)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decompress(c, nil, again, limit)
		if err != nil || !bytes.Equal(back, out) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
