package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Decompression limits. A batch of a few kilobytes can inflate to gigabytes
// (a "zip bomb"), so every decoder writes into a buffer that refuses to grow
// past a limit; going over it is ErrCorrupt.
const (
	// HardMaxUncompressedBytes bounds the records section of any batch after
	// decompression, whatever the topic config says.
	HardMaxUncompressedBytes = 256 << 20
	// uncompressedFactor times max.message.bytes (at least 1 MiB) is the
	// default limit Validate applies; Kafka itself has none, but no client
	// batches more than a few times its max.request.size before compressing.
	uncompressedFactor = 32
	// maxPooledBuffer: larger scratch buffers go back to the GC, not the pool,
	// so one huge batch does not pin memory for ever.
	maxPooledBuffer = 8 << 20
)

// ErrUncompressedTooLarge: a compressed batch inflates past the limit. It wraps
// ErrCorrupt (CORRUPT_MESSAGE).
var ErrUncompressedTooLarge = fmt.Errorf("%w: records inflate past the decompression limit", ErrCorrupt)

// xerialMagic opens snappy data framed by the xerial snappy-java
// SnappyOutputStream, which Java producers use: the 8-byte magic, then a
// version and a compatible version (int32 each, both 1), then blocks, each an
// int32 big-endian length followed by a raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderSize = 16
	xerialBlockSize  = 32 << 10 // snappy-java's default block size
)

// scratch is a pooled byte buffer. release is built once per scratch so
// handing it out as a func() costs no allocation.
type scratch struct {
	buf     []byte
	release func()
}

var scratchPool sync.Pool

func getScratch() *scratch {
	if s, ok := scratchPool.Get().(*scratch); ok {
		return s
	}
	s := &scratch{}
	s.release = func() {
		if cap(s.buf) > maxPooledBuffer {
			s.buf = nil
		}
		s.buf = s.buf[:0]
		scratchPool.Put(s)
	}
	return s
}

// grow makes room for at least n more bytes without passing limit+1 total
// (one past the limit lets readers detect overflow).
func grow(b []byte, n, limit int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	want := max(2*cap(b), len(b)+n, 4<<10)
	want = min(want, limit+1)
	if want <= cap(b) {
		return b
	}
	nb := make([]byte, len(b), want)
	copy(nb, b)
	return nb
}

// readLimited reads r to EOF, appending to dst, failing once more than limit
// bytes would be held.
func readLimited(dst []byte, r io.Reader, limit int, hint int) ([]byte, error) {
	dst = grow(dst, min(hint, limit+1), limit)
	for {
		if len(dst) == cap(dst) {
			if len(dst) > limit {
				return dst, ErrUncompressedTooLarge
			}
			dst = grow(dst, 1, limit)
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return dst, ErrUncompressedTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// Pooled decoders. Each carries its own bytes.Reader so Reset costs nothing.
type gzipDecoder struct {
	r  gzip.Reader
	br bytes.Reader
}

type lz4Decoder struct {
	r  *lz4.Reader
	br bytes.Reader
}

type zstdDecoder struct {
	d  *zstd.Decoder
	br bytes.Reader
}

var (
	gzipDecoders sync.Pool
	lz4Decoders  = sync.Pool{New: func() any { return &lz4Decoder{r: lz4.NewReader(nil)} }}
	zstdDecoders = sync.Pool{New: func() any {
		// Concurrency 1 keeps the streaming decoder synchronous: no goroutines.
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(HardMaxUncompressedBytes+1))
		if err != nil {
			panic(err) // only invalid options fail
		}
		return &zstdDecoder{d: d}
	}}
)

// decompressRecords inflates a compressed batch's records section under the
// hard limit. The release func returns the buffer to the pool; the bytes must
// not be used after it.
func decompressRecords(h Header) ([]byte, func(), error) {
	s, err := decompress(h.Codec(), h.Records(), HardMaxUncompressedBytes)
	if err != nil {
		return nil, nil, err
	}
	return s.buf, s.release, nil
}

// Decompress inflates src, compressed with codec, appending to dst. It fails
// with ErrCorrupt-wrapped errors on bad input or when the output would pass
// limit bytes (limit <= 0 means HardMaxUncompressedBytes).
func Decompress(codec int8, dst, src []byte, limit int) ([]byte, error) {
	if limit <= 0 || limit > HardMaxUncompressedBytes {
		limit = HardMaxUncompressedBytes
	}
	if codec == CodecNone {
		if len(src) > limit {
			return dst, ErrUncompressedTooLarge
		}
		return append(dst, src...), nil
	}
	s, err := decompress(codec, src, limit)
	if err != nil {
		return dst, err
	}
	dst = append(dst, s.buf...)
	s.release()
	return dst, nil
}

// decompress inflates src into a pooled scratch buffer of at most limit bytes.
// On error the scratch is already released.
func decompress(codec int8, src []byte, limit int) (*scratch, error) {
	s := getScratch()
	var err error
	hint := 4 * len(src)
	switch codec {
	case CodecGzip:
		d, _ := gzipDecoders.Get().(*gzipDecoder)
		if d == nil {
			d = new(gzipDecoder)
		}
		d.br.Reset(src)
		if err = d.r.Reset(&d.br); err == nil {
			s.buf, err = readLimited(s.buf, &d.r, limit, hint)
		}
		d.br.Reset(nil)
		gzipDecoders.Put(d)
	case CodecSnappy:
		s.buf, err = decodeSnappy(s.buf, src, limit)
	case CodecLZ4:
		d := lz4Decoders.Get().(*lz4Decoder)
		d.br.Reset(src)
		d.r.Reset(&d.br)
		s.buf, err = readLimited(s.buf, d.r, limit, hint)
		d.br.Reset(nil)
		d.r.Reset(nil)
		lz4Decoders.Put(d)
	case CodecZstd:
		d := zstdDecoders.Get().(*zstdDecoder)
		d.br.Reset(src)
		if err = d.d.Reset(&d.br); err == nil {
			if fh := zstdFrameSize(src); fh > 0 && fh <= uint64(limit) {
				hint = int(fh)
			}
			s.buf, err = readLimited(s.buf, d.d, limit, hint)
		}
		d.br.Reset(nil)
		_ = d.d.Reset(nil)
		zstdDecoders.Put(d)
	default:
		err = fmt.Errorf("%w: codec %d", ErrUnknownCompression, codec)
	}
	if err != nil {
		s.release()
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, codecName(codec), err)
	}
	return s, nil
}

// zstdFrameSize returns the first frame's declared content size, 0 if absent.
func zstdFrameSize(src []byte) uint64 {
	var h zstd.Header
	if h.Decode(src) != nil || !h.HasFCS {
		return 0
	}
	return h.FrameContentSize
}

// decodeSnappy inflates either xerial-framed or raw-block snappy data.
func decodeSnappy(dst, src []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return snappyBlock(dst, src, limit)
	}
	if len(src) < xerialHeaderSize {
		return dst, errors.New("xerial header truncated")
	}
	src = src[xerialHeaderSize:]
	for len(src) > 0 {
		if len(src) < 4 {
			return dst, errors.New("xerial block length truncated")
		}
		n := binary.BigEndian.Uint32(src)
		src = src[4:]
		if uint64(n) > uint64(len(src)) {
			return dst, fmt.Errorf("xerial block of %d bytes overruns the %d left", n, len(src))
		}
		var err error
		if dst, err = snappyBlock(dst, src[:n], limit); err != nil {
			return dst, err
		}
		src = src[n:]
	}
	return dst, nil
}

// snappyBlock appends one raw snappy block to dst. It uses the strict decoder:
// S2 extensions that the lenient one accepts would break Java consumers.
func snappyBlock(dst, block []byte, limit int) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return dst, err
	}
	if n > limit-len(dst) {
		return dst, ErrUncompressedTooLarge
	}
	dst = grow(dst, n, limit)
	out, err := snappy.DecodeStrict(dst[len(dst):cap(dst)], block)
	if err != nil {
		return dst, err
	}
	return dst[:len(dst)+len(out)], nil
}

func codecName(c int8) string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec %d", c)
}

// appendWriter is an io.Writer appending to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// Pooled encoders, one pool per level. Levels follow Kafka's topic and
// producer configs (KIP-390): compression.gzip.level 1..9, compression.lz4.level
// 1..17, compression.zstd.level -131072..22; 0 picks the codec default.
type gzipEncoder struct {
	w   *gzip.Writer
	out appendWriter
}

type lz4Encoder struct {
	w   *lz4.Writer
	out appendWriter
}

var (
	encMu        sync.Mutex
	gzipEncoders = map[int]*sync.Pool{}
	lz4Encoders  = map[lz4.CompressionLevel]*sync.Pool{}
	zstdEncoders = map[zstd.EncoderLevel]*zstd.Encoder{}
)

func gzipLevel(level int) int {
	if level == 0 || level < gzip.HuffmanOnly || level > gzip.BestCompression {
		return gzip.DefaultCompression
	}
	return level
}

// lz4Level maps Kafka's 1..17 scale onto pierrec's: 0 (default) and the
// lowest levels are the fast compressor; higher ones the HC levels, capped at 9.
func lz4Level(level int) lz4.CompressionLevel {
	switch {
	case level <= 2:
		return lz4.Fast
	case level >= 9:
		return lz4.Level9
	}
	return lz4.CompressionLevel(1 << (8 + level - 1))
}

func zstdLevel(level int) zstd.EncoderLevel {
	if level == 0 {
		return zstd.SpeedDefault
	}
	if level < 1 {
		return zstd.SpeedFastest
	}
	return zstd.EncoderLevelFromZstd(level)
}

func poolFor[K comparable](m map[K]*sync.Pool, k K, newFn func() any) *sync.Pool {
	encMu.Lock()
	defer encMu.Unlock()
	p := m[k]
	if p == nil {
		p = &sync.Pool{New: newFn}
		m[k] = p
	}
	return p
}

func zstdEncoder(l zstd.EncoderLevel) (*zstd.Encoder, error) {
	encMu.Lock()
	defer encMu.Unlock()
	if e := zstdEncoders[l]; e != nil {
		return e, nil
	}
	// EncodeAll is safe for concurrent use; one encoder per level suffices.
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithZeroFrames(true))
	if err != nil {
		return nil, err
	}
	zstdEncoders[l] = e
	return e, nil
}

// Compress appends src compressed with codec at level to dst, writing what a
// Java producer writes: gzip members, xerial-framed snappy, LZ4 frames with
// 64 KiB independent blocks and no content checksum, and zstd frames.
// Level 0 is the codec's default.
func Compress(codec int8, level int, dst, src []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		gl := gzipLevel(level)
		p := poolFor(gzipEncoders, gl, func() any {
			w, _ := gzip.NewWriterLevel(nil, gl)
			return &gzipEncoder{w: w}
		})
		e := p.Get().(*gzipEncoder)
		e.out.b = dst
		e.w.Reset(&e.out)
		_, err := e.w.Write(src)
		if err == nil {
			err = e.w.Close()
		}
		dst = e.out.b
		e.out.b = nil
		p.Put(e)
		return dst, err
	case CodecSnappy:
		return appendXerial(dst, src), nil
	case CodecLZ4:
		ll := lz4Level(level)
		p := poolFor(lz4Encoders, ll, func() any {
			w := lz4.NewWriter(nil)
			if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false),
				lz4.ConcurrencyOption(1), lz4.CompressionLevelOption(ll)); err != nil {
				panic(err) // only invalid options fail
			}
			return &lz4Encoder{w: w}
		})
		e := p.Get().(*lz4Encoder)
		e.out.b = dst
		e.w.Reset(&e.out)
		_, err := e.w.Write(src)
		if err == nil {
			err = e.w.Close()
		}
		dst = e.out.b
		e.out.b = nil
		e.w.Reset(nil)
		p.Put(e)
		return dst, err
	case CodecZstd:
		e, err := zstdEncoder(zstdLevel(level))
		if err != nil {
			return dst, err
		}
		return e.EncodeAll(src, dst), nil
	}
	return dst, fmt.Errorf("%w: codec %d", ErrUnknownCompression, codec)
}

// appendXerial writes src as xerial-framed snappy, as snappy-java's
// SnappyOutputStream does for Java producers and Kafka brokers.
func appendXerial(dst, src []byte) []byte {
	dst = append(dst, xerialMagic...)
	dst = binary.BigEndian.AppendUint32(dst, 1)
	dst = binary.BigEndian.AppendUint32(dst, 1)
	for len(src) > 0 {
		chunk := src[:min(len(src), xerialBlockSize)]
		src = src[len(chunk):]
		at := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		n := snappy.MaxEncodedLen(len(chunk))
		if cap(dst)-len(dst) < n {
			nd := make([]byte, len(dst), max(2*cap(dst), len(dst)+n+len(src)/2))
			copy(nd, dst)
			dst = nd
		}
		enc := snappy.Encode(dst[len(dst):len(dst)+n], chunk)
		binary.BigEndian.PutUint32(dst[at:], uint32(len(enc)))
		dst = dst[:len(dst)+len(enc)]
	}
	return dst
}
