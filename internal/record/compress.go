package record

import "fmt"

// decompressRecords inflates a compressed batch's records section.
// TODO(record helper): gzip, snappy (xerial framing too), lz4 frame, zstd with pooled buffers.
func decompressRecords(h Header) ([]byte, func(), error) {
	return nil, func() {}, fmt.Errorf("%w: compression codec %d not supported yet", ErrCorrupt, h.Codec())
}
