package record

import (
	"encoding/binary"
	"errors"
)

// Builder encodes records into one v2 batch. A Builder is reusable: Reset
// keeps its buffers, so a warmed-up Builder allocates nothing for codec none
// and only what the compressor needs otherwise. It is not safe for concurrent
// use.
//
//	var b record.Builder
//	b.Reset(record.BatchFields{ProducerID: record.NoProducerID, ...})
//	b.Append(ts, key, value, nil)
//	batch, err := b.Finish(record.CodecLZ4, 0)
type Builder struct {
	fields BatchFields
	buf    []byte // header space, then uncompressed records
	out    []byte // compressed batch
	count  int32
	baseTs int64
	maxTs  int64
}

// BatchFields are the header fields a Builder writes as given.
type BatchFields struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	Transactional        bool
	Control              bool
	// LogAppendTime marks the batch as LogAppendTime; Finish then writes
	// MaxTimestamp as its max timestamp instead of the records' maximum.
	LogAppendTime bool
	MaxTimestamp  int64
}

// NonIdempotent are the fields of a batch from a producer without an id.
var NonIdempotent = BatchFields{
	PartitionLeaderEpoch: NoPartitionLeader,
	ProducerID:           NoProducerID,
	ProducerEpoch:        NoProducerEpoch,
	BaseSequence:         NoSequence,
}

// ErrEmptyBatch: Finish on a Builder holding no records.
var ErrEmptyBatch = errors.New("record batch has no records")

// Reset starts a new batch, keeping the Builder's buffers.
func (b *Builder) Reset(f BatchFields) {
	b.fields = f
	b.buf = append(b.buf[:0], make([]byte, HeaderSize)...)
	b.count = 0
	b.baseTs, b.maxTs = 0, -1
}

// Len is the number of records appended since Reset.
func (b *Builder) Len() int32 { return b.count }

// Size is the uncompressed size the batch would have now.
func (b *Builder) Size() int { return max(len(b.buf), HeaderSize) }

// Append adds a record with absolute timestamp ts (ms); the first record's
// timestamp becomes the batch's base timestamp. A nil key or value is null;
// headers with a nil Value have a null value.
func (b *Builder) Append(ts int64, key, value []byte, headers []RecordHeader) {
	if len(b.buf) < HeaderSize {
		b.Reset(b.fields)
	}
	if b.count == 0 {
		b.baseTs = ts
	}
	b.maxTs = max(b.maxTs, ts)
	delta := ts - b.baseTs
	od := int64(b.count)
	size := 1 + varintLen(delta) + varintLen(od) +
		bytesLen(key) + bytesLen(value) + varintLen(int64(len(headers)))
	for i := range headers {
		size += varintLen(int64(len(headers[i].Key))) + len(headers[i].Key) + bytesLen(headers[i].Value)
	}
	buf := b.buf
	buf = binary.AppendVarint(buf, int64(size))
	buf = append(buf, 0) // attributes
	buf = binary.AppendVarint(buf, delta)
	buf = binary.AppendVarint(buf, od)
	buf = appendBytes(buf, key)
	buf = appendBytes(buf, value)
	buf = binary.AppendVarint(buf, int64(len(headers)))
	for i := range headers {
		buf = binary.AppendVarint(buf, int64(len(headers[i].Key)))
		buf = append(buf, headers[i].Key...)
		buf = appendBytes(buf, headers[i].Value)
	}
	b.buf = buf
	b.count++
}

// AppendRecord adds r with timestamp base+r.TimestampDelta; its offset delta
// is the Builder's running count, not r.OffsetDelta.
func (b *Builder) AppendRecord(base int64, r *Record) {
	b.Append(base+r.TimestampDelta, r.Key, r.Value, r.Headers)
}

// Finish writes the header and returns the batch compressed with codec at
// level (0 = codec default). The batch aliases the Builder's buffers and is
// valid until the next Reset or Finish.
func (b *Builder) Finish(codec int8, level int) (Header, error) {
	if b.count == 0 {
		return nil, ErrEmptyBatch
	}
	batch := b.buf
	if codec != CodecNone {
		out, err := Compress(codec, level, append(b.out[:0], b.buf[:HeaderSize]...), b.buf[HeaderSize:])
		if err != nil {
			return nil, err
		}
		b.out, batch = out, out
	}
	h := Header(batch)
	f := &b.fields
	binary.BigEndian.PutUint64(h[offBaseOffset:], uint64(f.BaseOffset))
	binary.BigEndian.PutUint32(h[offLength:], uint32(len(h)-LogOverhead))
	binary.BigEndian.PutUint32(h[offLeaderEpoch:], uint32(f.PartitionLeaderEpoch))
	h[offMagic] = magicV2
	attrs := uint16(codec) & CodecMask
	maxTs := b.maxTs
	if f.LogAppendTime {
		attrs |= TimestampTypeBit
		maxTs = f.MaxTimestamp
	}
	if f.Transactional {
		attrs |= TransactionalBit
	}
	if f.Control {
		attrs |= ControlBit
	}
	binary.BigEndian.PutUint16(h[offAttributes:], attrs)
	binary.BigEndian.PutUint32(h[offLastDelta:], uint32(b.count-1))
	binary.BigEndian.PutUint64(h[offBaseTimestamp:], uint64(b.baseTs))
	binary.BigEndian.PutUint64(h[offMaxTimestamp:], uint64(maxTs))
	binary.BigEndian.PutUint64(h[offProducerID:], uint64(f.ProducerID))
	binary.BigEndian.PutUint16(h[offProducerEpoch:], uint16(f.ProducerEpoch))
	binary.BigEndian.PutUint32(h[offBaseSequence:], uint32(f.BaseSequence))
	binary.BigEndian.PutUint32(h[offRecordCount:], uint32(b.count))
	h.UpdateCRC()
	return h, nil
}

func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

func bytesLen(p []byte) int {
	if p == nil {
		return 1
	}
	return varintLen(int64(len(p))) + len(p)
}

func appendBytes(dst, p []byte) []byte {
	if p == nil {
		return append(dst, 1) // zigzag -1
	}
	dst = binary.AppendVarint(dst, int64(len(p)))
	return append(dst, p...)
}
