package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/snappy"
)

func testPayloads() map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 200<<10)
	for i := range random {
		random[i] = byte(r.IntN(256))
	}
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog "), 5000)
	return map[string][]byte{
		"empty":  {},
		"byte":   {42},
		"text":   text,
		"random": random,
		"zeros":  make([]byte, 1<<20),
	}
}

func TestCompressRoundTrip(t *testing.T) {
	for name, p := range testPayloads() {
		for _, codec := range allCodecs {
			for _, level := range []int{0, 1, 9} {
				c, err := Compress(codec, level, []byte("prefix"), p)
				if err != nil {
					t.Fatalf("%s/%s/%d: %v", name, codecName(codec), level, err)
				}
				if !bytes.HasPrefix(c, []byte("prefix")) {
					t.Fatal("Compress did not append")
				}
				d, err := Decompress(codec, []byte("x"), c[6:], 0)
				if err != nil {
					t.Fatalf("%s/%s/%d: %v", name, codecName(codec), level, err)
				}
				if !bytes.Equal(d[1:], p) || d[0] != 'x' {
					t.Fatalf("%s/%s/%d: round trip differs", name, codecName(codec), level)
				}
			}
		}
	}
}

func TestSnappyFramings(t *testing.T) {
	p := testPayloads()["text"]
	x, _ := Compress(CodecSnappy, 0, nil, p)
	if !bytes.HasPrefix(x, xerialMagic) || binary.BigEndian.Uint32(x[8:]) != 1 || binary.BigEndian.Uint32(x[12:]) != 1 {
		t.Fatalf("Compress(snappy) does not write the xerial header: % x", x[:16])
	}
	// Our writer cuts 32 KiB blocks; a hand-built single-block xerial stream
	// and a raw block must both decode.
	raw := snappy.Encode(nil, p)
	single := append(append([]byte{}, x[:16]...), binary.BigEndian.AppendUint32(nil, uint32(len(raw)))...)
	single = append(single, raw...)
	for name, in := range map[string][]byte{"xerial": x, "xerial one block": single, "raw": raw} {
		d, err := Decompress(CodecSnappy, nil, in, 0)
		if err != nil || !bytes.Equal(d, p) {
			t.Errorf("%s: err %v, equal %v", name, err, bytes.Equal(d, p))
		}
	}
	// Truncated and overrunning xerial streams are corrupt.
	for _, bad := range [][]byte{x[:10], x[:18], x[:len(x)-1]} {
		if _, err := Decompress(CodecSnappy, nil, bad, 0); !errors.Is(err, ErrCorrupt) {
			t.Errorf("len %d: err %v", len(bad), err)
		}
	}
}

func TestDecompressLimit(t *testing.T) {
	p := make([]byte, 1<<20)
	for _, codec := range allCodecs {
		c, _ := Compress(codec, 0, nil, p)
		if _, err := Decompress(codec, nil, c, len(p)); err != nil {
			t.Errorf("%s at the limit: %v", codecName(codec), err)
		}
		_, err := Decompress(codec, nil, c, len(p)-1)
		if !errors.Is(err, ErrUncompressedTooLarge) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s past the limit: %v", codecName(codec), err)
		}
	}
}

func TestDecompressUnknownCodec(t *testing.T) {
	for _, c := range []int8{5, 6, 7} {
		if _, err := Decompress(c, nil, []byte{1, 2, 3}, 0); !errors.Is(err, ErrUnknownCompression) {
			t.Errorf("codec %d: %v", c, err)
		}
		if _, err := Compress(c, 0, nil, []byte{1}); !errors.Is(err, ErrUnknownCompression) {
			t.Errorf("codec %d: %v", c, err)
		}
	}
}

// ForEachRecord must now read every codec.
func TestForEachRecordCompressed(t *testing.T) {
	for _, codec := range allCodecs {
		h := Header(buildBatch(t, codec, 50, 30, NonIdempotent))
		n := int32(0)
		err := ForEachRecord(h, func(r *Record) error {
			if r.OffsetDelta != n || len(r.Value) != 30 || r.Key[0] != byte(n) ||
				len(r.Headers) != 1 || r.Headers[0].Key != "h" || r.Headers[0].Value[0] != byte(n) {
				t.Fatalf("%s: record %d = %+v", codecName(codec), n, r)
			}
			n++
			return nil
		})
		if err != nil || n != 50 {
			t.Fatalf("%s: %d records, %v", codecName(codec), n, err)
		}
	}
}
