package record

import (
	"encoding/binary"
	"fmt"
)

// Record is one record inside a batch. Key, Value and header fields alias
// the (decompressed) batch bytes and are valid only during the callback that
// received the Record. A nil Key or Value means null.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key            []byte
	Value          []byte
	Headers        []RecordHeader
}

// RecordHeader is one record header; Value nil means null.
type RecordHeader struct {
	Key   string
	Value []byte
}

// parseRecord decodes one varint-framed record from b into r, reusing
// r.Headers' backing array. It returns the rest of b.
//
// Layout: length varint, attributes int8, timestampDelta varlong,
// offsetDelta varint, keyLen varint, key, valueLen varint, value,
// headerCount varint, then per header keyLen varint, key, valueLen varint,
// value.
func parseRecord(b []byte, r *Record) ([]byte, error) {
	length, n := binary.Varint(b)
	if n <= 0 || length < 0 || int64(len(b)-n) < length {
		return nil, fmt.Errorf("%w: record length %d overruns the batch", ErrCorrupt, length)
	}
	body := b[n : n+int(length)]
	rest := b[n+int(length):]
	if len(body) < 1 {
		return nil, fmt.Errorf("%w: empty record", ErrCorrupt)
	}
	r.Attributes = int8(body[0])
	body = body[1:]
	var ok bool
	if r.TimestampDelta, body, ok = varint(body); !ok {
		return nil, fmt.Errorf("%w: bad timestamp delta", ErrCorrupt)
	}
	var od int64
	if od, body, ok = varint(body); !ok || od < 0 || od > 1<<31-1 {
		return nil, fmt.Errorf("%w: bad offset delta", ErrCorrupt)
	}
	r.OffsetDelta = int32(od)
	if r.Key, body, ok = varbytes(body); !ok {
		return nil, fmt.Errorf("%w: bad key length", ErrCorrupt)
	}
	if r.Value, body, ok = varbytes(body); !ok {
		return nil, fmt.Errorf("%w: bad value length", ErrCorrupt)
	}
	var nh int64
	if nh, body, ok = varint(body); !ok || nh < 0 || nh > int64(len(body)) {
		return nil, fmt.Errorf("%w: bad header count", ErrCorrupt)
	}
	r.Headers = r.Headers[:0]
	for i := int64(0); i < nh; i++ {
		var k, v []byte
		if k, body, ok = varbytes(body); !ok || k == nil {
			return nil, fmt.Errorf("%w: bad header key", ErrCorrupt)
		}
		if v, body, ok = varbytes(body); !ok {
			return nil, fmt.Errorf("%w: bad header value", ErrCorrupt)
		}
		r.Headers = append(r.Headers, RecordHeader{Key: string(k), Value: v})
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: %d stray bytes after record", ErrCorrupt, len(body))
	}
	return rest, nil
}

func varint(b []byte) (int64, []byte, bool) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

func varbytes(b []byte) ([]byte, []byte, bool) {
	l, b, ok := varint(b)
	if !ok {
		return nil, nil, false
	}
	if l < 0 {
		return nil, b, l == -1
	}
	if l > int64(len(b)) {
		return nil, nil, false
	}
	return b[:l:l], b[l:], true
}

// ForEachRecord calls fn for every record of the batch in order, decompressing
// when the batch is compressed. It stops at the first error fn returns. It
// checks that the record count matches the header.
func ForEachRecord(h Header, fn func(r *Record) error) error {
	body, release, err := recordsBody(h)
	if err != nil {
		return err
	}
	defer release()
	var r Record
	count := h.RecordCount()
	for i := int32(0); i < count; i++ {
		if len(body) == 0 {
			return fmt.Errorf("%w: batch declares %d records, holds %d", ErrCorrupt, count, i)
		}
		if body, err = parseRecord(body, &r); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if len(body) != 0 {
		return fmt.Errorf("%w: %d bytes after the last of %d records", ErrCorrupt, len(body), count)
	}
	return nil
}

// recordsBody returns the uncompressed records section of h and a function
// that releases any buffer borrowed for it.
func recordsBody(h Header) ([]byte, func(), error) {
	if h.Codec() == CodecNone {
		return h.Records(), func() {}, nil
	}
	return decompressRecords(h)
}

// FirstAtOrAfterTimestamp finds the first record in the batch whose timestamp
// is at or after ts, as ListOffsets by timestamp needs. Under LogAppendTime
// every record carries the batch's max timestamp.
func FirstAtOrAfterTimestamp(h Header, ts int64) (offset, timestamp int64, found bool, err error) {
	if h.MaxTimestamp() < ts {
		return 0, 0, false, nil
	}
	if h.LogAppendTime() {
		return h.BaseOffset(), h.MaxTimestamp(), true, nil
	}
	base := h.BaseTimestamp()
	stop := fmt.Errorf("stop")
	err = ForEachRecord(h, func(r *Record) error {
		if t := base + r.TimestampDelta; t >= ts {
			offset, timestamp, found = h.BaseOffset()+int64(r.OffsetDelta), t, true
			return stop
		}
		return nil
	})
	if err == stop {
		err = nil
	}
	return offset, timestamp, found, err
}
