package record

// Cross-checks against franz-go: its kmsg types parse what Builder and
// Validate write, and batches assembled with kmsg and compressed by kgo's
// compressor or the compression libraries directly pass Validate.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type testRecord struct {
	ts      int64
	key     []byte
	value   []byte
	headers []kmsg.Header
}

func testRecords(n int) []testRecord {
	rs := make([]testRecord, n)
	for i := range rs {
		rs[i] = testRecord{
			ts:    testNow - 1000 + int64(i*7%13), // not monotonic
			key:   fmt.Appendf(nil, "key-%d", i),
			value: bytes.Repeat([]byte{byte('a' + i%26)}, 100+i),
		}
		switch i % 3 {
		case 0:
			rs[i].key = nil
		case 1:
			rs[i].headers = []kmsg.Header{{Key: "trace", Value: []byte("x")}, {Key: "empty", Value: nil}}
		}
	}
	return rs
}

// kmsgRecords encodes rs with kmsg, base timestamp rs[0].ts.
func kmsgRecords(rs []testRecord) []byte {
	var out []byte
	for i, r := range rs {
		kr := kmsg.Record{
			TimestampDelta64: r.ts - rs[0].ts,
			OffsetDelta:      int32(i),
			Key:              r.key,
			Value:            r.value,
			Headers:          r.headers,
		}
		body := kr.AppendTo(nil) // Length 0 takes one byte
		kr.Length = int32(len(body) - 1)
		out = kr.AppendTo(out)
	}
	return out
}

func kmsgBatch(codec int8, records []byte, rs []testRecord) []byte {
	maxTs := rs[0].ts
	for _, r := range rs {
		maxTs = max(maxTs, r.ts)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           int16(codec),
		LastOffsetDelta:      int32(len(rs) - 1),
		FirstTimestamp:       rs[0].ts,
		MaxTimestamp:         maxTs,
		ProducerID:           77,
		ProducerEpoch:        3,
		FirstSequence:        1000,
		NumRecords:           int32(len(rs)),
		Records:              records,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// compressors other than ours, keyed by a name; each returns the codec used.
func foreignCompressors(t *testing.T) map[string]func([]byte) (int8, []byte) {
	kgoWith := func(c kgo.CompressionCodec) func([]byte) (int8, []byte) {
		comp, err := kgo.DefaultCompressor(c)
		if err != nil {
			t.Fatal(err)
		}
		return func(src []byte) (int8, []byte) {
			if comp == nil {
				return CodecNone, src
			}
			out, typ := comp.Compress(new(bytes.Buffer), src)
			return int8(typ), bytes.Clone(out)
		}
	}
	return map[string]func([]byte) (int8, []byte){
		"kgo none":   kgoWith(kgo.NoCompression()),
		"kgo gzip":   kgoWith(kgo.GzipCompression()),
		"kgo snappy": kgoWith(kgo.SnappyCompression()),
		"kgo lz4":    kgoWith(kgo.Lz4Compression()),
		"kgo zstd":   kgoWith(kgo.ZstdCompression()),
		"klauspost gzip level 9": func(src []byte) (int8, []byte) {
			var buf bytes.Buffer
			w, _ := gzip.NewWriterLevel(&buf, 9)
			w.Write(src)
			w.Close()
			return CodecGzip, buf.Bytes()
		},
		"pierrec lz4 4MiB blocks with checksums": func(src []byte) (int8, []byte) {
			var buf bytes.Buffer
			w := lz4.NewWriter(&buf)
			if err := w.Apply(lz4.BlockChecksumOption(true), lz4.ChecksumOption(true)); err != nil {
				t.Fatal(err)
			}
			w.Write(src)
			w.Close()
			return CodecLZ4, buf.Bytes()
		},
		"klauspost zstd streaming no content size": func(src []byte) (int8, []byte) {
			var buf bytes.Buffer
			w, _ := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
			w.Write(src)
			w.Close()
			return CodecZstd, buf.Bytes()
		},
	}
}

func TestKmsgBatchesValidate(t *testing.T) {
	rs := testRecords(40)
	raw := kmsgRecords(rs)
	for name, compress := range foreignCompressors(t) {
		t.Run(name, func(t *testing.T) {
			codec, body := compress(raw)
			in := kmsgBatch(codec, body, rs)
			if !Header(in).ValidCRC() {
				t.Fatal("our CRC disagrees with hash/crc32")
			}
			res, err := Validate(in, baseOpts())
			if err != nil {
				t.Fatal(err)
			}
			if res.RecordCount != 40 || res.Recompressed || res.Batch.Codec() != codec {
				t.Fatalf("result %+v", res)
			}
			checkRecords(t, res.Batch, rs)
			// And recompressed into each of ours, franz-go reads it back.
			for _, to := range allCodecs {
				o := baseOpts()
				o.TargetCodec = to
				res, err := Validate(kmsgBatch(codec, body, rs), o)
				if err != nil {
					t.Fatalf("to %s: %v", codecName(to), err)
				}
				kmsgCheck(t, res.Batch, rs)
			}
		})
	}
}

func checkRecords(t *testing.T, h Header, rs []testRecord) {
	t.Helper()
	i := 0
	err := ForEachRecord(h, func(r *Record) error {
		want := rs[i]
		if h.BaseTimestamp()+r.TimestampDelta != want.ts || int(r.OffsetDelta) != i ||
			!bytes.Equal(r.Key, want.key) || (r.Key == nil) != (want.key == nil) || !bytes.Equal(r.Value, want.value) ||
			len(r.Headers) != len(want.headers) {
			return fmt.Errorf("record %d differs: %+v", i, r)
		}
		for j, hd := range r.Headers {
			if hd.Key != want.headers[j].Key || !bytes.Equal(hd.Value, want.headers[j].Value) ||
				(hd.Value == nil) != (want.headers[j].Value == nil) {
				return fmt.Errorf("record %d header %d differs", i, j)
			}
		}
		i++
		return nil
	})
	if err != nil || i != len(rs) {
		t.Fatalf("%d records, %v", i, err)
	}
}

// kmsgCheck parses h with kmsg and kgo's decompressor and compares records.
func kmsgCheck(t *testing.T, h Header, rs []testRecord) {
	t.Helper()
	var b kmsg.RecordBatch
	if err := b.ReadFrom(h); err != nil {
		t.Fatal(err)
	}
	if int(b.Length)+12 != len(h) || b.Magic != 2 || uint32(b.CRC) != crc32.Checksum(h[21:], crc32.MakeTable(crc32.Castagnoli)) ||
		b.NumRecords != int32(len(rs)) || b.LastOffsetDelta != int32(len(rs)-1) {
		t.Fatalf("kmsg header %+v", b)
	}
	body, err := kgo.DefaultDecompressor().Decompress(b.Records, kgo.CompressionCodecType(b.Attributes&7))
	if err != nil {
		t.Fatalf("kgo cannot decompress our %s: %v", codecName(int8(b.Attributes&7)), err)
	}
	for i, want := range rs {
		var r kmsg.Record
		if err := r.ReadFrom(body); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		l, n := binary.Varint(body)
		body = body[n+int(l):]
		if b.FirstTimestamp+r.TimestampDelta64 != want.ts || r.OffsetDelta != int32(i) ||
			!bytes.Equal(r.Key, want.key) || (r.Key == nil) != (want.key == nil) ||
			!bytes.Equal(r.Value, want.value) || len(r.Headers) != len(want.headers) {
			t.Fatalf("record %d differs: %+v", i, r)
		}
	}
	if len(body) != 0 {
		t.Fatalf("%d stray bytes", len(body))
	}
}

func TestBuilderReadByKmsg(t *testing.T) {
	rs := testRecords(25)
	for _, codec := range allCodecs {
		var b Builder
		b.Reset(NonIdempotent)
		for _, r := range rs {
			var hs []RecordHeader
			for _, h := range r.headers {
				hs = append(hs, RecordHeader{Key: h.Key, Value: h.Value})
			}
			b.Append(r.ts, r.key, r.value, hs)
		}
		h, err := b.Finish(codec, 0)
		if err != nil {
			t.Fatal(err)
		}
		kmsgCheck(t, h, rs)
		checkRecords(t, h, rs)
		if h.MaxTimestamp() != testNow-1000+12 || h.ProducerID() != -1 || h.BaseSequence() != -1 {
			t.Fatalf("header fields: max %d", h.MaxTimestamp())
		}
		// Same records through kmsg's encoder: identical uncompressed bytes.
		got, _ := Decompress(codec, nil, h.Records(), 0)
		if !bytes.Equal(got, kmsgRecords(rs)) {
			t.Fatalf("%s: Builder records differ from kmsg's encoding", codecName(codec))
		}
	}
}

func TestBuilderReuseAllocs(t *testing.T) {
	var b Builder
	val := make([]byte, 1000)
	hs := []RecordHeader{{Key: "k", Value: []byte("v")}}
	run := func() {
		b.Reset(NonIdempotent)
		for i := range 16 {
			b.Append(testNow+int64(i), nil, val, hs)
		}
		if _, err := b.Finish(CodecNone, 0); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if a := testing.AllocsPerRun(50, run); a != 0 {
		t.Errorf("%v allocs per reused batch", a)
	}
	var empty Builder
	if _, err := empty.Finish(CodecNone, 0); err != ErrEmptyBatch {
		t.Errorf("empty Finish: %v", err)
	}
}

func TestBuilderControlAndLogAppendTime(t *testing.T) {
	var b Builder
	b.Reset(BatchFields{ProducerID: 5, ProducerEpoch: 1, BaseSequence: -1, Control: true, Transactional: true,
		LogAppendTime: true, MaxTimestamp: 99, BaseOffset: 1234, PartitionLeaderEpoch: 7})
	b.Append(50, []byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0}, nil)
	h, err := b.Finish(CodecNone, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Control() || !h.Transactional() || !h.LogAppendTime() || h.MaxTimestamp() != 99 ||
		h.BaseOffset() != 1234 || h.PartitionLeaderEpoch() != 7 || !h.ValidCRC() {
		t.Fatalf("header %x", h[:HeaderSize])
	}
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(h); err != nil || kb.Attributes != ControlBit|TransactionalBit|TimestampTypeBit {
		t.Fatalf("kmsg: %v attrs %x", err, kb.Attributes)
	}
}
