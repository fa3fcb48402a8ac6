// Package record understands Kafka record batches (magic v2, KIP-98) as bytes.
//
// The broker keeps batches exactly as producers sent them. On the hot path it
// reads only the 61-byte batch header through [Header], checks the CRC-32C
// and walks the records' varint framing without allocating. Records are
// decoded or re-encoded only when a topic config demands it: broker-side
// recompression (compression.type other than "producer") or LogAppendTime.
//
// Batch layout (all integers big-endian), as in Kafka's DefaultRecordBatch:
//
//	off len field
//	  0   8 baseOffset
//	  8   4 batchLength            (bytes after this field)
//	 12   4 partitionLeaderEpoch
//	 16   1 magic                  (2)
//	 17   4 crc                    (CRC-32C of bytes 21..end)
//	 21   2 attributes             (bits 0-2 codec, 3 timestamp type,
//	                                4 transactional, 5 control, 6 delete horizon)
//	 23   4 lastOffsetDelta
//	 27   8 baseTimestamp
//	 35   8 maxTimestamp
//	 43   8 producerId
//	 51   2 producerEpoch
//	 53   4 baseSequence
//	 57   4 recordCount
//	 61   - records
//
// baseOffset and partitionLeaderEpoch sit outside the CRC, so the broker can
// assign them in place without recomputing it.
//
// The produce path calls [Validate] once per partition: it applies Kafka's
// ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords and
// LogValidator rules, stamps LogAppendTime or the real max timestamp in place,
// and recompresses when the topic's compression.type asks for another codec.
// Its sentinels (see validate.go) map one-to-one to Kafka error codes in
// internal/broker. [Compress] and [Decompress] speak the codecs as Java
// clients do (snappy in xerial framing, LZ4 frames); decoders and buffers are
// pooled, and decompression is capped against bombs. [Builder] writes batches.
//
// Nothing in this package keeps state apart from those pools; every function is safe for concurrent
// use on distinct buffers.
package record
