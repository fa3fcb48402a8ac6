package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

const testNow = int64(1_700_000_000_000)

var allCodecs = []int8{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

func baseOpts() ValidateOptions {
	return ValidateOptions{
		Now:                  testNow,
		TimestampType:        TimestampCreateTime,
		TimestampBeforeMaxMs: math.MaxInt64,
		TimestampAfterMaxMs:  math.MaxInt64,
		MaxMessageBytes:      1 << 20,
		TargetCodec:          CodecProducer,
		ProduceVersion:       11,
	}
}

// buildBatch builds n records of valueSize bytes, timestamps testNow-n+i.
func buildBatch(t testing.TB, codec int8, n, valueSize int, f BatchFields) []byte {
	t.Helper()
	var b Builder
	b.Reset(f)
	val := bytes.Repeat([]byte("v"), valueSize)
	for i := range n {
		b.Append(testNow-int64(n)+int64(i), []byte{byte(i)}, val,
			[]RecordHeader{{Key: "h", Value: []byte{byte(i)}}})
	}
	h, err := b.Finish(codec, 0)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(h)
}

// rawRecord encodes one record with explicit fields; keyLen/valLen < 0 write
// that length with no bytes.
func rawRecord(tsDelta int64, od int64, keyLen int64, valLen int64, extra []byte) []byte {
	var body []byte
	body = append(body, 0)
	body = binary.AppendVarint(body, tsDelta)
	body = binary.AppendVarint(body, od)
	body = binary.AppendVarint(body, keyLen)
	if keyLen > 0 {
		body = append(body, bytes.Repeat([]byte("k"), int(keyLen))...)
	}
	body = binary.AppendVarint(body, valLen)
	if valLen > 0 {
		body = append(body, bytes.Repeat([]byte("v"), int(valLen))...)
	}
	if extra == nil {
		body = binary.AppendVarint(body, 0)
	} else {
		body = append(body, extra...)
	}
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

// assemble wraps a raw records section into a batch with the given count.
func assemble(t testing.TB, codec int8, count int32, records []byte) []byte {
	t.Helper()
	h := make([]byte, HeaderSize)
	binary.BigEndian.PutUint32(h[offLeaderEpoch:], math.MaxUint32)
	h[offMagic] = 2
	binary.BigEndian.PutUint16(h[offAttributes:], uint16(codec))
	binary.BigEndian.PutUint32(h[offLastDelta:], uint32(count-1))
	binary.BigEndian.PutUint64(h[offBaseTimestamp:], uint64(testNow))
	binary.BigEndian.PutUint64(h[offMaxTimestamp:], uint64(testNow))
	binary.BigEndian.PutUint64(h[offProducerID:], math.MaxUint64)
	binary.BigEndian.PutUint16(h[offProducerEpoch:], math.MaxUint16)
	binary.BigEndian.PutUint32(h[offBaseSequence:], math.MaxUint32)
	binary.BigEndian.PutUint32(h[offRecordCount:], uint32(count))
	out, err := Compress(codec, 0, h, records)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(out[offLength:], uint32(len(out)-LogOverhead))
	Header(out).UpdateCRC()
	return out
}

func patch(b []byte, f func(h Header)) []byte {
	b = bytes.Clone(b)
	f(Header(b))
	Header(b).UpdateCRC()
	return b
}

func TestValidateRejects(t *testing.T) {
	good := buildBatch(t, CodecNone, 4, 10, NonIdempotent)
	goodZstd := buildBatch(t, CodecZstd, 4, 10, NonIdempotent)
	zeros, _ := Compress(CodecZstd, 0, nil, make([]byte, 4<<20))
	bomb := assemble(t, CodecNone, 1, nil)
	bomb = append(bomb[:HeaderSize], zeros...)
	binary.BigEndian.PutUint16(bomb[offAttributes:], CodecZstd)
	binary.BigEndian.PutUint32(bomb[offLength:], uint32(len(bomb)-LogOverhead))
	Header(bomb).UpdateCRC()

	tests := []struct {
		name      string
		in        []byte
		opts      func(*ValidateOptions)
		want      error
		recordErr []int32
	}{
		{name: "empty", in: nil, want: ErrInvalidRecord},
		{name: "short", in: good[:15], want: ErrInvalidRecord},
		{name: "truncated", in: good[:len(good)-1], want: ErrInvalidRecord},
		{name: "magic0", in: patch(good, func(h Header) { h[offMagic] = 0 }), want: ErrUnsupportedMagic},
		{name: "magic1", in: patch(good, func(h Header) { h[offMagic] = 1 }), want: ErrUnsupportedMagic},
		{name: "magic3", in: patch(good, func(h Header) { h[offMagic] = 3 }), want: ErrCorrupt},
		{name: "length below header", in: patch(good, func(h Header) { binary.BigEndian.PutUint32(h[offLength:], 40) }), want: ErrCorrupt},
		{name: "two batches", in: append(bytes.Clone(good), good...), want: ErrInvalidRecord},
		{name: "trailing bytes", in: append(bytes.Clone(good), 0, 0, 0), want: ErrInvalidRecord},
		{name: "base offset", in: patch(good, func(h Header) { h.SetBaseOffset(7) }), want: ErrInvalidRecord},
		{name: "too large", in: good, opts: func(o *ValidateOptions) { o.MaxMessageBytes = len(good) - 1 }, want: ErrMessageTooLarge},
		{name: "crc", in: func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }(), want: ErrCorrupt},
		{name: "codec 5", in: patch(good, func(h Header) { h[offAttributes+1] |= 5 }), want: ErrUnknownCompression},
		{name: "codec 7", in: patch(good, func(h Header) { h[offAttributes+1] |= 7 }), want: ErrUnknownCompression},
		{name: "zstd produce v6", in: goodZstd, opts: func(o *ValidateOptions) { o.ProduceVersion = 6 }, want: ErrUnsupportedCompressionType},
		{name: "count zero", in: patch(good, func(h Header) {
			binary.BigEndian.PutUint32(h[offRecordCount:], 0)
		}), want: ErrInvalidRecord},
		{name: "count zero and last delta -1", in: patch(good, func(h Header) {
			binary.BigEndian.PutUint32(h[offRecordCount:], 0)
			binary.BigEndian.PutUint32(h[offLastDelta:], math.MaxUint32)
		}), want: ErrInvalidRecord},
		{name: "last delta mismatch", in: patch(good, func(h Header) {
			binary.BigEndian.PutUint32(h[offLastDelta:], 2)
		}), want: ErrInvalidRecord},
		{name: "count above records", in: patch(good, func(h Header) {
			binary.BigEndian.PutUint32(h[offRecordCount:], 5)
			binary.BigEndian.PutUint32(h[offLastDelta:], 4)
		}), want: ErrInvalidRecord},
		{name: "count below records", in: patch(good, func(h Header) {
			binary.BigEndian.PutUint32(h[offRecordCount:], 3)
			binary.BigEndian.PutUint32(h[offLastDelta:], 2)
		}), want: ErrInvalidRecord},
		{name: "control", in: patch(good, func(h Header) { h[offAttributes+1] |= ControlBit }), want: ErrInvalidRecord},
		{name: "producer id without sequence", in: patch(good, func(h Header) {
			binary.BigEndian.PutUint64(h[offProducerID:], 42)
		}), want: ErrInvalidRecord},
		{name: "offset deltas gap", in: assemble(t, CodecNone, 2, append(rawRecord(0, 0, 1, 1, nil), rawRecord(0, 2, 1, 1, nil)...)), want: ErrInvalidRecord},
		{name: "offset deltas repeat lz4", in: assemble(t, CodecLZ4, 2, append(rawRecord(0, 0, 1, 1, nil), rawRecord(0, 0, 1, 1, nil)...)), want: ErrInvalidRecord},
		{name: "record length overrun", in: assemble(t, CodecNone, 1, rawRecord(0, 0, 1, 1, nil)[:5]), want: ErrInvalidRecord},
		{name: "record length zero", in: assemble(t, CodecNone, 1, []byte{0}), want: ErrInvalidRecord},
		{name: "key length -2", in: assemble(t, CodecNone, 1, rawRecord(0, 0, -2, 1, nil)), want: ErrInvalidRecord},
		{name: "value overruns record", in: assemble(t, CodecNone, 1, rawRecord(0, 0, 1, 1, []byte{0, 0x40})[:8]), want: ErrInvalidRecord},
		{name: "negative header count", in: assemble(t, CodecNone, 1, rawRecord(0, 0, 1, 1, []byte{1})), want: ErrInvalidRecord},
		{name: "null header key", in: assemble(t, CodecNone, 1, rawRecord(0, 0, 1, 1, []byte{2, 1, 1})), want: ErrInvalidRecord},
		{name: "stray byte in record", in: assemble(t, CodecNone, 1, rawRecord(0, 0, 1, 1, []byte{0, 0})), want: ErrInvalidRecord},
		{name: "offset delta not int32", in: assemble(t, CodecNone, 1, rawRecord(0, 1<<40, 1, 1, nil)), want: ErrInvalidRecord},
		{name: "gzip garbage", in: func() []byte {
			b := assemble(t, CodecNone, 1, []byte("this is not gzip at all"))
			return patch(b, func(h Header) { h[offAttributes+1] |= CodecGzip })
		}(), want: ErrCorrupt},
		{name: "lz4 garbage", in: patch(assemble(t, CodecNone, 1, []byte("nope nope")), func(h Header) { h[offAttributes+1] |= CodecLZ4 }), want: ErrCorrupt},
		{name: "snappy garbage", in: patch(assemble(t, CodecNone, 1, []byte{0xff, 0xff, 0xff}), func(h Header) { h[offAttributes+1] |= CodecSnappy }), want: ErrCorrupt},
		{name: "zstd garbage", in: patch(assemble(t, CodecNone, 1, []byte("zzzzzzzz")), func(h Header) { h[offAttributes+1] |= CodecZstd }), want: ErrCorrupt},
		{name: "decompression bomb", in: bomb, opts: func(o *ValidateOptions) { o.MaxUncompressedBytes = 1 << 20 }, want: ErrUncompressedTooLarge},
		{name: "timestamp too old", in: good, opts: func(o *ValidateOptions) { o.TimestampBeforeMaxMs = 2 },
			want: ErrInvalidTimestamp, recordErr: []int32{0, 1}},
		{name: "timestamp too new", in: good, opts: func(o *ValidateOptions) { o.Now -= 3; o.TimestampAfterMaxMs = 0 },
			want: ErrInvalidTimestamp, recordErr: []int32{2, 3}},
		{name: "timestamp too old gzip", in: buildBatch(t, CodecGzip, 4, 10, NonIdempotent), opts: func(o *ValidateOptions) { o.TimestampBeforeMaxMs = 3 },
			want: ErrInvalidTimestamp, recordErr: []int32{0}},
		{name: "producer sets LogAppendTime", in: patch(good, func(h Header) { h[offAttributes+1] |= TimestampTypeBit }),
			opts: func(o *ValidateOptions) { o.TimestampType = TimestampLogAppend }, want: ErrInvalidTimestamp, recordErr: []int32{0, 1, 2, 3}},
		{name: "compacted null key", in: assemble(t, CodecNone, 3, append(append(rawRecord(0, 0, 1, 1, nil), rawRecord(0, 1, -1, 1, nil)...), rawRecord(0, 2, -1, -1, nil)...)),
			opts: func(o *ValidateOptions) { o.Compacted = true }, want: ErrInvalidRecord, recordErr: []int32{1, 2}},
		{name: "recompressed too large", in: buildBatch(t, CodecZstd, 16, 1000, NonIdempotent), opts: func(o *ValidateOptions) {
			o.TargetCodec = CodecNone
			o.MaxMessageBytes = 2000
		}, want: ErrMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOpts()
			if tt.opts != nil {
				tt.opts(&o)
			}
			_, err := Validate(bytes.Clone(tt.in), o)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err %T is not a *ValidationError", err)
			}
			if ve.Message == "" {
				t.Error("no message")
			}
			var idx []int32
			for _, re := range ve.RecordErrors {
				idx = append(idx, re.Index)
			}
			if !equalInt32(idx, tt.recordErr) {
				t.Errorf("record errors %v, want indexes %v", ve.RecordErrors, tt.recordErr)
			}
		})
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Sentinels must stay distinct so the broker's table can tell them apart.
func TestSentinelsDistinct(t *testing.T) {
	all := []error{ErrCorrupt, ErrUnsupportedMagic, ErrInvalidRecord, ErrInvalidTimestamp,
		ErrMessageTooLarge, ErrUnsupportedCompressionType}
	for i, a := range all {
		for j, b := range all {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v is %v", a, b)
			}
		}
	}
}

func TestValidateAcceptsEveryCodec(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(codecName(codec), func(t *testing.T) {
			f := BatchFields{ProducerID: 9, ProducerEpoch: 2, BaseSequence: 100, PartitionLeaderEpoch: -1, Transactional: true}
			in := buildBatch(t, codec, 20, 100, f)
			orig := bytes.Clone(in)
			res, err := Validate(in, baseOpts())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Batch, orig) || res.Recompressed {
				t.Fatal("a valid batch was changed")
			}
			if res.RecordCount != 20 || res.MaxTimestamp != testNow-1 || res.OffsetDeltaOfMaxTimestamp != 19 || res.LogAppendTime != -1 {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestValidateNoTimestamp(t *testing.T) {
	in := assemble(t, CodecNone, 2, append(rawRecord(0, 0, 1, 1, nil), rawRecord(0, 1, 1, 1, nil)...))
	in = patch(in, func(h Header) {
		binary.BigEndian.PutUint64(h[offBaseTimestamp:], math.MaxUint64) // -1
	})
	o := baseOpts()
	o.TimestampBeforeMaxMs, o.TimestampAfterMaxMs = 0, 0
	res, err := Validate(in, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxTimestamp != -1 || res.OffsetDeltaOfMaxTimestamp != -1 || res.Batch.MaxTimestamp() != -1 || !res.Batch.ValidCRC() {
		t.Fatalf("result %+v", res)
	}
}

// Kafka's LogValidator rewrites a wrong max timestamp rather than refusing it.
func TestValidateFixesMaxTimestamp(t *testing.T) {
	for _, codec := range allCodecs {
		in := buildBatch(t, codec, 5, 10, NonIdempotent)
		in = patch(in, func(h Header) { binary.BigEndian.PutUint64(h[offMaxTimestamp:], 12345) })
		records := bytes.Clone(Header(in).Records())
		res, err := Validate(in, baseOpts())
		if err != nil {
			t.Fatal(err)
		}
		h := res.Batch
		if h.MaxTimestamp() != testNow-1 || !h.ValidCRC() || res.MaxTimestamp != testNow-1 || res.OffsetDeltaOfMaxTimestamp != 4 {
			t.Fatalf("%s: max %d crc %v res %+v", codecName(codec), h.MaxTimestamp(), h.ValidCRC(), res)
		}
		if !bytes.Equal(h.Records(), records) {
			t.Fatal("records changed")
		}
	}
}

func TestValidateLogAppendTime(t *testing.T) {
	for _, codec := range allCodecs {
		in := buildBatch(t, codec, 5, 10, NonIdempotent)
		records := bytes.Clone(Header(in).Records())
		o := baseOpts()
		o.TimestampType = TimestampLogAppend
		o.TimestampBeforeMaxMs, o.TimestampAfterMaxMs = 0, 0 // not applied under LogAppendTime
		res, err := Validate(in, o)
		if err != nil {
			t.Fatal(err)
		}
		h := res.Batch
		if !h.LogAppendTime() || h.MaxTimestamp() != testNow || !h.ValidCRC() || h.Codec() != codec {
			t.Fatalf("%s: header not stamped", codecName(codec))
		}
		if res.LogAppendTime != testNow || res.MaxTimestamp != testNow || res.OffsetDeltaOfMaxTimestamp != 4 {
			t.Fatalf("result %+v", res)
		}
		if !bytes.Equal(h.Records(), records) {
			t.Fatal("LogAppendTime touched record bytes")
		}
	}
}

func TestValidateRecompress(t *testing.T) {
	for _, from := range allCodecs {
		for _, to := range allCodecs {
			for _, lat := range []bool{false, true} {
				f := BatchFields{ProducerID: 3, ProducerEpoch: 1, BaseSequence: 7, PartitionLeaderEpoch: -1, Transactional: true}
				in := buildBatch(t, from, 30, 200, f)
				orig := bytes.Clone(in)
				o := baseOpts()
				o.TargetCodec = to
				if lat {
					o.TimestampType = TimestampLogAppend
				}
				res, err := Validate(in, o)
				if err != nil {
					t.Fatalf("%s->%s: %v", codecName(from), codecName(to), err)
				}
				if res.Recompressed != (from != to) {
					t.Fatalf("%s->%s: recompressed %v", codecName(from), codecName(to), res.Recompressed)
				}
				h, src := res.Batch, Header(orig)
				if h.Codec() != to || !h.ValidCRC() || h.Size() != len(h) {
					t.Fatalf("%s->%s: bad header", codecName(from), codecName(to))
				}
				if h.ProducerID() != 3 || h.ProducerEpoch() != 1 || h.BaseSequence() != 7 || !h.Transactional() ||
					h.RecordCount() != 30 || h.LastOffsetDelta() != 29 || h.BaseTimestamp() != src.BaseTimestamp() ||
					h.LogAppendTime() != lat {
					t.Fatalf("%s->%s: header fields changed", codecName(from), codecName(to))
				}
				a, b := uncompressed(t, src), uncompressed(t, h)
				if !bytes.Equal(a, b) {
					t.Fatalf("%s->%s: records differ after recompression", codecName(from), codecName(to))
				}
				// The result must itself validate (as a replica would see it).
				o2 := baseOpts()
				o2.TimestampType = TimestampLogAppend
				if _, err := Validate(bytes.Clone(h), o2); lat && !errors.Is(err, ErrInvalidTimestamp) || !lat && err != nil {
					t.Fatalf("%s->%s: result revalidates to %v", codecName(from), codecName(to), err)
				}
			}
		}
	}
}

func uncompressed(t testing.TB, h Header) []byte {
	t.Helper()
	b, err := Decompress(h.Codec(), nil, h.Records(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidateUncompressedAllocs(t *testing.T) {
	orig := buildBatch(t, CodecNone, 16, 1000, NonIdempotent)
	in := bytes.Clone(orig)
	o := baseOpts()
	for _, tt := range []int8{TimestampCreateTime, TimestampLogAppend} {
		o.TimestampType = tt
		allocs := testing.AllocsPerRun(100, func() {
			copy(in, orig)
			if _, err := Validate(in, o); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("timestamp type %d: %v allocs per Validate", tt, allocs)
		}
	}
}

func TestValidateCompressedAllocs(t *testing.T) {
	for _, codec := range allCodecs[1:] {
		in := buildBatch(t, codec, 16, 1000, NonIdempotent)
		o := baseOpts()
		for range 5 { // warm the pools
			if _, err := Validate(in, o); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := Validate(in, o); err != nil {
				t.Fatal(err)
			}
		})
		// Pools can drop entries at GC; a few allocations per batch are
		// acceptable, one per record is not.
		if allocs >= 8 {
			t.Errorf("%s: %v allocs per Validate", codecName(codec), allocs)
		}
		t.Logf("%s: %v allocs per Validate", codecName(codec), allocs)
	}
}
