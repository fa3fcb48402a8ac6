package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Validation errors. Each is a distinct sentinel; internal/broker maps it to a
// Kafka error code. The code each should map to, and the Kafka class it comes
// from (Kafka 4.0):
//
//	ErrCorrupt                     CORRUPT_MESSAGE (2): CRC mismatch, batch shorter than its header,
//	                               undecodable compressed data (UnifiedLog.analyzeAndValidateRecords
//	                               throws CorruptRecordException when !batch.isValid()).
//	ErrUnknownCompression          wraps ErrCorrupt. Kafka's CompressionType.forId throws a plain
//	                               IllegalArgumentException for codec ids 5-7, which is no ApiException,
//	                               so Kafka answers UNKNOWN_SERVER_ERROR (-1); we prefer CORRUPT_MESSAGE.
//	ErrUncompressedTooLarge        wraps ErrCorrupt (our decompression-bomb limit; Kafka has none).
//	ErrUnsupportedMagic            INVALID_RECORD (87): ProduceRequest.validateRecords rejects any batch
//	                               whose magic is not 2 in produce v3+ with InvalidRecordException;
//	                               Kafka 4.0 accepts only produce v3+ (KIP-896), and KIP-724 removed
//	                               message formats v0/v1 there, so this is the only answer left.
//	ErrInvalidRecord               INVALID_RECORD (87): LogValidator.validateBatch / validateRecord and
//	                               DefaultRecordBatch's iterators (InvalidRecordException).
//	ErrInvalidTimestamp            INVALID_TIMESTAMP (32): LogValidator.validateTimestamp (KIP-937 bounds).
//	ErrMessageTooLarge             MESSAGE_TOO_LARGE (10): RecordTooLargeException from
//	                               UnifiedLog.analyzeAndValidateRecords (and again after recompression).
//	ErrUnsupportedCompressionType  UNSUPPORTED_COMPRESSION_TYPE (76): ProduceRequest.validateRecords,
//	                               zstd in produce < v7 (KIP-110).
//
// Check ErrUnknownCompression and ErrUncompressedTooLarge before ErrCorrupt,
// which they wrap.
var (
	ErrInvalidRecord              = errors.New("invalid record batch")
	ErrInvalidTimestamp           = errors.New("invalid record timestamp")
	ErrMessageTooLarge            = errors.New("record batch larger than max.message.bytes")
	ErrUnsupportedCompressionType = errors.New("compression type not supported by this produce version")
	ErrUnknownCompression         = fmt.Errorf("%w: unknown compression codec", ErrCorrupt)
)

// RecordError names one rejected record for Produce v8+ (KIP-467): Index is
// the record's position in the batch.
type RecordError struct {
	Index   int32
	Message string
}

// ValidationError is what Validate returns on failure. Err is one of the
// sentinels above (errors.Is works through Unwrap); Message is meant for the
// partition's error_message and RecordErrors for its record_errors.
type ValidationError struct {
	Err          error
	RecordErrors []RecordError
	Message      string
}

func (e *ValidationError) Error() string {
	if e.Message == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Message
}

func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(err error, format string, args ...any) *ValidationError {
	return &ValidationError{Err: err, Message: fmt.Sprintf(format, args...)}
}

// ValidateOptions are the topic configs and request facts Validate applies.
// Zero values are literal: a TimestampBeforeMaxMs of 0 allows no skew, so pass
// math.MaxInt64 for Kafka's default of "unbounded".
type ValidateOptions struct {
	Now                  int64 // ms
	TimestampType        int8  // TimestampCreateTime or TimestampLogAppend (message.timestamp.type)
	TimestampBeforeMaxMs int64 // message.timestamp.before.max.ms (KIP-937)
	TimestampAfterMaxMs  int64 // message.timestamp.after.max.ms
	MaxMessageBytes      int   // max.message.bytes; <= 0 means no limit
	TargetCodec          int8  // -1 = "producer" (keep); else recompress into this codec when it differs
	TargetLevel          int   // compression level for TargetCodec; 0 = codec default
	ProduceVersion       int16 // zstd needs produce v7+
	// Compacted: cleanup.policy includes compact, so every record needs a key.
	Compacted bool
	// MaxUncompressedBytes bounds the records after decompression; 0 means
	// 32 x max(MaxMessageBytes, 1 MiB), never above HardMaxUncompressedBytes.
	MaxUncompressedBytes int
}

// CodecProducer as TargetCodec keeps whatever codec the producer used.
const CodecProducer = -1

// Result describes a batch that passed validation.
type Result struct {
	// Batch is the batch to append: the input, validated and possibly patched
	// in place (max timestamp, timestamp type, CRC), or a new buffer when
	// Recompressed. Base offset and leader epoch are still the producer's.
	Batch                     Header
	MaxTimestamp              int64
	OffsetDeltaOfMaxTimestamp int32 // -1 when no record has a timestamp
	RecordCount               int32
	LogAppendTime             int64 // -1 unless LogAppendTime applied
	Recompressed              bool
}

// Validate checks the records of ONE partition of a produce request (magic v2,
// exactly one batch, as Kafka requires from produce v3 on) with the rules of
// Kafka's ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords
// and LogValidator, in that order, and prepares the batch for the log:
//
//   - CreateTime topics get the batch's max timestamp set to the real maximum
//     of its records and the timestamp type bit cleared, as LogValidator's
//     setMaxTimestamp does, instead of a rejection;
//   - LogAppendTime topics get the type bit and max timestamp Now; record
//     bytes are never touched;
//   - a TargetCodec other than the batch's makes a new batch whose records
//     are byte-identical, recompressed.
//
// Stricter than Kafka: trailing bytes after the batch (Kafka ignores a partial
// one) and offset deltas other than 0..n-1 (Kafka ignores them uncompressed and
// rewrites them compressed) are ErrInvalidRecord; no client sends either.
//
// Every error is a *ValidationError. The uncompressed path allocates nothing
// unless it fails. Validate may modify records in place; on error records may
// have been left unmodified or not.
func Validate(records []byte, opts ValidateOptions) (Result, error) {
	h, err := frameForProduce(records, opts)
	if err != nil {
		return Result{}, err
	}
	if err := checkBatch(h); err != nil {
		return Result{}, err
	}

	codec := h.Codec()
	body := h.Records()
	var release func()
	if codec != CodecNone {
		limit := opts.MaxUncompressedBytes
		if limit <= 0 {
			limit = uncompressedFactor * max(opts.MaxMessageBytes, 1<<20)
		}
		limit = min(limit, HardMaxUncompressedBytes)
		s, err := decompress(codec, body, limit)
		if err != nil {
			sentinel := ErrCorrupt
			if errors.Is(err, ErrUncompressedTooLarge) {
				sentinel = ErrUncompressedTooLarge
			}
			return Result{}, &ValidationError{Err: sentinel, Message: err.Error()}
		}
		body, release = s.buf, s.release
		defer release()
	}

	var sc recordScan
	if err := sc.scan(h, body, &opts); err != nil {
		return Result{}, err
	}

	res := Result{
		Batch:                     h,
		MaxTimestamp:              sc.maxTs,
		OffsetDeltaOfMaxTimestamp: sc.maxTsDelta,
		RecordCount:               h.RecordCount(),
		LogAppendTime:             -1,
	}
	if opts.TimestampType == TimestampLogAppend {
		res.MaxTimestamp = opts.Now
		res.OffsetDeltaOfMaxTimestamp = h.LastOffsetDelta()
		res.LogAppendTime = opts.Now
	}

	if opts.TargetCodec >= 0 && opts.TargetCodec != codec {
		nb, err := rebuild(h, body, opts.TargetCodec, opts.TargetLevel)
		if err != nil {
			return Result{}, &ValidationError{Err: ErrUnknownCompression, Message: err.Error()}
		}
		if opts.MaxMessageBytes > 0 && nb.Size() > opts.MaxMessageBytes {
			return Result{}, invalid(ErrMessageTooLarge,
				"the batch is %d bytes after recompression to %s, max.message.bytes is %d",
				nb.Size(), codecName(opts.TargetCodec), opts.MaxMessageBytes)
		}
		res.Batch, res.Recompressed = nb, true
		h = nb
	}
	setTimestamps(h, &opts, sc.maxTs)
	return res, nil
}

// frameForProduce finds the single v2 batch in records.
func frameForProduce(records []byte, opts ValidateOptions) (Header, error) {
	// Kafka's batch iterator sees no batch in fewer bytes than a complete one.
	if len(records) < LogOverhead+5 {
		return nil, invalid(ErrInvalidRecord, "a produce request needs exactly one record batch per partition, got %d bytes", len(records))
	}
	length := int32(binary.BigEndian.Uint32(records[offLength:]))
	magic := int8(records[offMagic])
	switch {
	case magic == 0 || magic == 1:
		return nil, invalid(ErrUnsupportedMagic, "record batches must have magic 2, got %d", magic)
	case magic != magicV2:
		return nil, invalid(ErrCorrupt, "invalid magic %d", magic)
	case length < HeaderSize-LogOverhead:
		return nil, invalid(ErrCorrupt, "batch length %d is below the v2 header size", length)
	case int64(length)+LogOverhead > int64(len(records)):
		return nil, invalid(ErrInvalidRecord, "batch declares %d bytes, the request holds %d", int64(length)+LogOverhead, len(records))
	}
	h := Header(records[:int(length)+LogOverhead])
	codec := h.Codec()
	if codec > CodecZstd {
		return nil, invalid(ErrUnknownCompression, "compression codec id %d", codec)
	}
	if codec == CodecZstd && opts.ProduceVersion < 7 {
		return nil, invalid(ErrUnsupportedCompressionType, "produce v%d may not carry zstd batches, v7 is needed", opts.ProduceVersion)
	}
	if len(records) > len(h) {
		return nil, invalid(ErrInvalidRecord, "%d bytes follow the batch; a produce request carries exactly one batch per partition", len(records)-len(h))
	}
	if h.BaseOffset() != 0 {
		return nil, invalid(ErrInvalidRecord, "base offset %d, producers must send 0", h.BaseOffset())
	}
	if opts.MaxMessageBytes > 0 && len(h) > opts.MaxMessageBytes {
		return nil, invalid(ErrMessageTooLarge, "the batch is %d bytes, max.message.bytes is %d", len(h), opts.MaxMessageBytes)
	}
	if !h.ValidCRC() {
		return nil, invalid(ErrCorrupt, "stored crc %d does not match the batch", h.CRC())
	}
	return h, nil
}

// checkBatch applies LogValidator.validateBatch for client appends.
func checkBatch(h Header) error {
	count, last := h.RecordCount(), h.LastOffsetDelta()
	switch {
	case int64(last)+1 <= 0:
		return invalid(ErrInvalidRecord, "invalid last offset delta %d", last)
	case count <= 0:
		return invalid(ErrInvalidRecord, "invalid record count %d", count)
	case int64(last)+1 != int64(count):
		return invalid(ErrInvalidRecord, "last offset delta %d does not match record count %d", last, count)
	case h.Control():
		return invalid(ErrInvalidRecord, "clients may not write control batches")
	case h.ProducerID() >= 0 && h.BaseSequence() < 0:
		return invalid(ErrInvalidRecord, "producer id %d with invalid base sequence %d", h.ProducerID(), h.BaseSequence())
	}
	return nil
}

// recordScan walks the records section without decoding keys, values or
// headers, checking framing as DefaultRecord.readFrom does and the per-record
// rules of LogValidator.validateRecord.
type recordScan struct {
	maxTs      int64
	maxTsDelta int32
	errs       []RecordError
	tsErr      bool
}

func (sc *recordScan) scan(h Header, b []byte, opts *ValidateOptions) error {
	count := h.RecordCount()
	base := h.BaseTimestamp()
	lat := h.LogAppendTime()
	sc.maxTs, sc.maxTsDelta = -1, -1
	pos := 0
	for i := range count {
		length, p, ok := varint32(b, pos)
		if !ok || length < 1 || length > len(b)-p {
			if pos == len(b) {
				return invalid(ErrInvalidRecord, "batch declares %d records, holds %d", count, i)
			}
			return invalid(ErrInvalidRecord, "record %d: bad length", i)
		}
		end := p + length
		p++ // attributes: unused in v2
		tsDelta, p, ok := varint64(b[:end], p)
		if !ok {
			return invalid(ErrInvalidRecord, "record %d: bad timestamp delta", i)
		}
		od, p, ok := varint32(b[:end], p)
		if !ok || od != int(i) {
			return invalid(ErrInvalidRecord, "record %d has offset delta %d", i, od)
		}
		keyLen, p, ok := varint32(b[:end], p)
		if !ok || keyLen < -1 || keyLen > end-p {
			return invalid(ErrInvalidRecord, "record %d: bad key length", i)
		}
		p += max(keyLen, 0)
		valLen, p, ok := varint32(b[:end], p)
		if !ok || valLen < -1 || valLen > end-p {
			return invalid(ErrInvalidRecord, "record %d: bad value length", i)
		}
		p += max(valLen, 0)
		nh, p, ok := varint32(b[:end], p)
		if !ok || nh < 0 || nh > end-p {
			return invalid(ErrInvalidRecord, "record %d: bad header count", i)
		}
		for range nh {
			var kl, vl int
			if kl, p, ok = varint32(b[:end], p); !ok || kl < 0 || kl > end-p {
				return invalid(ErrInvalidRecord, "record %d: bad header key length", i)
			}
			p += kl
			if vl, p, ok = varint32(b[:end], p); !ok || vl < -1 || vl > end-p {
				return invalid(ErrInvalidRecord, "record %d: bad header value length", i)
			}
			p += max(vl, 0)
		}
		if p != end {
			return invalid(ErrInvalidRecord, "record %d: %d bytes declared, %d used", i, length, p-(end-length))
		}
		pos = end

		ts := base + tsDelta
		if lat {
			ts = h.MaxTimestamp()
		}
		if opts.Compacted && keyLen < 0 {
			sc.add(i, false, "compacted topic cannot accept a record without key")
		} else if opts.TimestampType == TimestampCreateTime && ts != -1 {
			// Kafka's arithmetic, wrapping included (KIP-937).
			if diff := opts.Now - ts; diff > opts.TimestampBeforeMaxMs || -diff > opts.TimestampAfterMaxMs {
				sc.add(i, true, fmt.Sprintf("timestamp %d of record with offset %d is out of range [%d, %d]",
					ts, i, opts.Now-opts.TimestampBeforeMaxMs, opts.Now+opts.TimestampAfterMaxMs))
			}
		} else if lat {
			sc.add(i, true, "producers may not set the timestamp type to LogAppendTime")
		}
		if ts > sc.maxTs {
			sc.maxTs, sc.maxTsDelta = ts, i
		}
	}
	if pos != len(b) {
		return invalid(ErrInvalidRecord, "%d bytes after the last of %d records", len(b)-pos, count)
	}
	if sc.errs != nil {
		ve := &ValidationError{Err: ErrInvalidRecord, RecordErrors: sc.errs}
		if sc.tsErr {
			ve.Err = ErrInvalidTimestamp
			ve.Message = "one or more records were rejected for an invalid timestamp"
		} else {
			var sb strings.Builder
			fmt.Fprintf(&sb, "%d records were rejected; the first:", len(sc.errs))
			for _, e := range sc.errs[:min(3, len(sc.errs))] {
				fmt.Fprintf(&sb, " [%d] %s;", e.Index, e.Message)
			}
			ve.Message = strings.TrimSuffix(sb.String(), ";")
		}
		return ve
	}
	return nil
}

func (sc *recordScan) add(i int32, ts bool, msg string) {
	sc.errs = append(sc.errs, RecordError{Index: i, Message: msg})
	sc.tsErr = sc.tsErr || ts
}

// setTimestamps stamps the topic's timestamp type on the batch, as
// LogValidator does through setMaxTimestamp, rewriting the CRC only when a
// byte changes.
func setTimestamps(h Header, opts *ValidateOptions, maxTs int64) {
	if opts.TimestampType == TimestampLogAppend {
		if !h.LogAppendTime() || h.MaxTimestamp() != opts.Now {
			h.SetLogAppendTime(opts.Now)
		}
		return
	}
	if h.LogAppendTime() || h.MaxTimestamp() != maxTs {
		a := binary.BigEndian.Uint16(h[offAttributes:]) &^ TimestampTypeBit
		binary.BigEndian.PutUint16(h[offAttributes:], a)
		binary.BigEndian.PutUint64(h[offMaxTimestamp:], uint64(maxTs))
		h.UpdateCRC()
	}
}

// rebuild writes a new batch with h's header fields and body (uncompressed
// records) compressed with codec, and a valid CRC. The new buffer is the
// caller's: one allocation per recompressed batch, none per record.
func rebuild(h Header, body []byte, codec int8, level int) (Header, error) {
	est := len(body)/2 + 64
	if codec == CodecNone {
		est = len(body)
	}
	out := make([]byte, HeaderSize, HeaderSize+est)
	copy(out, h[:HeaderSize])
	out, err := Compress(codec, level, out, body)
	if err != nil {
		return nil, err
	}
	nb := Header(out)
	binary.BigEndian.PutUint32(nb[offLength:], uint32(len(out)-LogOverhead))
	a := binary.BigEndian.Uint16(nb[offAttributes:])&^CodecMask | uint16(codec)
	binary.BigEndian.PutUint16(nb[offAttributes:], a)
	nb.UpdateCRC()
	return nb, nil
}

// varint32 reads a zigzag varint at b[p:] that must fit an int32, as Kafka's
// ByteUtils.readVarint requires. One-byte varints take the inlined path.
func varint32(b []byte, p int) (int, int, bool) {
	if p < len(b) && b[p] < 0x80 {
		x := int(b[p])
		return x>>1 ^ -(x & 1), p + 1, true
	}
	return varint32Slow(b, p)
}

func varint32Slow(b []byte, p int) (int, int, bool) {
	if p+1 < len(b) && b[p+1] < 0x80 {
		x := int(b[p]&0x7f) | int(b[p+1])<<7
		return x>>1 ^ -(x & 1), p + 2, true
	}
	v, np, ok := varint64Slow(b, p)
	if !ok || v != int64(int32(v)) {
		return 0, np, false
	}
	return int(v), np, true
}

func varint64(b []byte, p int) (int64, int, bool) {
	if p < len(b) && b[p] < 0x80 {
		x := int64(b[p])
		return x>>1 ^ -(x & 1), p + 1, true
	}
	return varint64Slow(b, p)
}

func varint64Slow(b []byte, p int) (int64, int, bool) {
	if p >= len(b) {
		return 0, p, false
	}
	v, n := binary.Varint(b[p:])
	if n <= 0 {
		return 0, p, false
	}
	return v, p + n, true
}
