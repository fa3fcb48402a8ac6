package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Offsets of fields inside a v2 batch header.
const (
	offBaseOffset     = 0
	offLength         = 8
	offLeaderEpoch    = 12
	offMagic          = 16
	offCRC            = 17
	offAttributes     = 21
	offLastDelta      = 23
	offBaseTimestamp  = 27
	offMaxTimestamp   = 35
	offProducerID     = 43
	offProducerEpoch  = 51
	offBaseSequence   = 53
	offRecordCount    = 57
	HeaderSize        = 61 // size of a v2 batch header, records start here
	LogOverhead       = 12 // baseOffset + batchLength: bytes not counted in batchLength
	crcCoveredFrom    = offAttributes
	magicV2           = 2
	NoProducerID      = -1
	NoProducerEpoch   = -1
	NoSequence        = -1
	NoPartitionLeader = -1
)

// Attribute bits.
const (
	CodecMask           = 0x07
	TimestampTypeBit    = 0x08 // set: LogAppendTime
	TransactionalBit    = 0x10
	ControlBit          = 0x20
	DeleteHorizonBit    = 0x40
	CodecNone           = 0
	CodecGzip           = 1
	CodecSnappy         = 2
	CodecLZ4            = 3
	CodecZstd           = 4
	TimestampCreateTime = 0
	TimestampLogAppend  = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors returned while framing or checking batches. Each maps to one Kafka
// error code in internal/broker.
var (
	// ErrCorrupt: the bytes are not a well-formed batch (CORRUPT_MESSAGE).
	ErrCorrupt = errors.New("corrupt record batch")
	// ErrUnsupportedMagic: magic 0 or 1. Kafka 4 answers INVALID_RECORD (87):
	// ProduceRequest.validateRecords throws InvalidRecordException for any
	// non-v2 batch in produce v3+, the only produce versions left (KIP-724,
	// KIP-896).
	ErrUnsupportedMagic = errors.New("record batch magic below 2 is not supported")
)

// CRC returns the CRC-32C Kafka uses for batch checksums.
func CRC(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Header is a view of one batch's header. It aliases the batch bytes; setters
// write through to them.
type Header []byte

func (h Header) BaseOffset() int64 { return int64(binary.BigEndian.Uint64(h[offBaseOffset:])) }
func (h Header) Length() int32     { return int32(binary.BigEndian.Uint32(h[offLength:])) }
func (h Header) Size() int         { return int(h.Length()) + LogOverhead }
func (h Header) PartitionLeaderEpoch() int32 {
	return int32(binary.BigEndian.Uint32(h[offLeaderEpoch:]))
}
func (h Header) Magic() int8            { return int8(h[offMagic]) }
func (h Header) CRC() uint32            { return binary.BigEndian.Uint32(h[offCRC:]) }
func (h Header) Attributes() int16      { return int16(binary.BigEndian.Uint16(h[offAttributes:])) }
func (h Header) Codec() int8            { return int8(h.Attributes() & CodecMask) }
func (h Header) LogAppendTime() bool    { return h.Attributes()&TimestampTypeBit != 0 }
func (h Header) Transactional() bool    { return h.Attributes()&TransactionalBit != 0 }
func (h Header) Control() bool          { return h.Attributes()&ControlBit != 0 }
func (h Header) LastOffsetDelta() int32 { return int32(binary.BigEndian.Uint32(h[offLastDelta:])) }
func (h Header) LastOffset() int64      { return h.BaseOffset() + int64(h.LastOffsetDelta()) }
func (h Header) NextOffset() int64      { return h.LastOffset() + 1 }
func (h Header) BaseTimestamp() int64   { return int64(binary.BigEndian.Uint64(h[offBaseTimestamp:])) }
func (h Header) MaxTimestamp() int64    { return int64(binary.BigEndian.Uint64(h[offMaxTimestamp:])) }
func (h Header) ProducerID() int64      { return int64(binary.BigEndian.Uint64(h[offProducerID:])) }
func (h Header) ProducerEpoch() int16   { return int16(binary.BigEndian.Uint16(h[offProducerEpoch:])) }
func (h Header) BaseSequence() int32    { return int32(binary.BigEndian.Uint32(h[offBaseSequence:])) }
func (h Header) RecordCount() int32     { return int32(binary.BigEndian.Uint32(h[offRecordCount:])) }
func (h Header) Records() []byte        { return h[HeaderSize:h.Size()] }

// LastSequence is the sequence of the batch's last record, wrapping at
// MaxInt32 as Kafka's DefaultRecordBatch.incrementSequence does.
func (h Header) LastSequence() int32 {
	s := h.BaseSequence()
	if s == NoSequence {
		return NoSequence
	}
	return IncrementSequence(s, h.LastOffsetDelta())
}

// IncrementSequence adds delta to seq, wrapping past MaxInt32 to 0.
func IncrementSequence(seq, delta int32) int32 {
	if seq > (1<<31-1)-delta {
		return delta - ((1<<31 - 1) - seq) - 1
	}
	return seq + delta
}

// SetBaseOffset writes the base offset (outside the CRC).
func (h Header) SetBaseOffset(o int64) { binary.BigEndian.PutUint64(h[offBaseOffset:], uint64(o)) }

// SetPartitionLeaderEpoch writes the leader epoch (outside the CRC).
func (h Header) SetPartitionLeaderEpoch(e int32) {
	binary.BigEndian.PutUint32(h[offLeaderEpoch:], uint32(e))
}

// SetLogAppendTime sets the timestamp type to LogAppendTime with max
// timestamp ts and recomputes the CRC, as Kafka does for such topics.
func (h Header) SetLogAppendTime(ts int64) {
	a := binary.BigEndian.Uint16(h[offAttributes:]) | TimestampTypeBit
	binary.BigEndian.PutUint16(h[offAttributes:], a)
	binary.BigEndian.PutUint64(h[offMaxTimestamp:], uint64(ts))
	h.UpdateCRC()
}

// UpdateCRC recomputes the CRC over the covered bytes.
func (h Header) UpdateCRC() {
	binary.BigEndian.PutUint32(h[offCRC:], CRC(h[crcCoveredFrom:h.Size()]))
}

// ValidCRC reports whether the stored CRC matches the batch contents.
func (h Header) ValidCRC() bool { return h.CRC() == CRC(h[crcCoveredFrom:h.Size()]) }

// Next frames the first batch in b. It returns the batch (aliasing b) and the
// rest. It checks only framing: enough bytes for the header and the length it
// declares, and magic 2. It does not check the CRC.
//
// A buffer that ends mid-batch yields io.ErrUnexpectedEOF-wrapped ErrCorrupt
// so callers reading a log tail can tell a torn write from garbage.
func Next(b []byte) (batch Header, rest []byte, err error) {
	if len(b) < LogOverhead+5 { // need magic to tell v0/v1 from v2
		return nil, b, fmt.Errorf("%w: %d bytes is shorter than a batch header", ErrTruncated, len(b))
	}
	length := int32(binary.BigEndian.Uint32(b[offLength:]))
	magic := int8(b[offMagic])
	if magic < magicV2 && magic >= 0 {
		return nil, b, ErrUnsupportedMagic
	}
	if magic != magicV2 {
		return nil, b, fmt.Errorf("%w: magic %d", ErrCorrupt, magic)
	}
	if length < HeaderSize-LogOverhead {
		return nil, b, fmt.Errorf("%w: batch length %d is below the header size", ErrCorrupt, length)
	}
	size := int(length) + LogOverhead
	if len(b) < size {
		if len(b) < HeaderSize {
			return nil, b, fmt.Errorf("%w: header needs %d bytes, have %d", ErrTruncated, HeaderSize, len(b))
		}
		return nil, b, fmt.Errorf("%w: batch needs %d bytes, have %d", ErrTruncated, size, len(b))
	}
	return Header(b[:size:size]), b[size:], nil
}

// ErrTruncated: the buffer ends inside a batch. It wraps ErrCorrupt.
var ErrTruncated = fmt.Errorf("%w: truncated", ErrCorrupt)
