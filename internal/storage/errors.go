package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors. internal/broker maps each to a Kafka error code.
var (
	// ErrOffsetOutOfRange: a read or DeleteRecords offset outside
	// [log start offset, log end offset] (OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrOutOfOrderSequence: an idempotent batch whose base sequence does not
	// follow the producer's last one (OUT_OF_ORDER_SEQUENCE_NUMBER).
	ErrOutOfOrderSequence = errors.New("storage: out of order sequence number")
	// ErrInvalidProducerEpoch: the batch's producer epoch is older than the
	// one we know (INVALID_PRODUCER_EPOCH).
	ErrInvalidProducerEpoch = errors.New("storage: invalid producer epoch")
	// ErrDuplicateSequence is never returned: duplicates succeed with
	// AppendInfo.Duplicate set. It exists for the broker's error table.
	ErrDuplicateSequence = errors.New("storage: duplicate sequence number")
	// ErrCorruptLog: bytes on disk are not what we wrote. Wrapped by
	// *CorruptionError.
	ErrCorruptLog = errors.New("storage: corrupt log")
	// ErrLogClosed: the log was closed or deleted.
	ErrLogClosed = errors.New("storage: log closed")
	// ErrInvalidBatch: the bytes handed to an append are not exactly one (leader)
	// or a run of (follower) well-formed v2 batches (CORRUPT_MESSAGE).
	ErrInvalidBatch = errors.New("storage: invalid record batch")
	// ErrBatchTooLarge: a batch larger than segment.bytes
	// (RECORD_BATCH_TOO_LARGE).
	ErrBatchTooLarge = errors.New("storage: record batch larger than segment.bytes")
	// ErrUnexpectedAppendOffset: a follower batch that does not start at or
	// after the log end offset, or offsets that go backwards.
	ErrUnexpectedAppendOffset = errors.New("storage: unexpected append offset")
	// ErrLogOffline: a file operation on the log failed half done and could
	// not be undone, so the files no longer match the segment list; the log
	// refuses changes until it is opened again, which completes or undoes
	// the operation from the files (KAFKA_STORAGE_ERROR).
	ErrLogOffline = errors.New("storage: log offline after a failed file operation; restart to recover it")
	// ErrLogExists: OpenLog on a partition that is already open in this Dir.
	ErrLogExists = errors.New("storage: log already open")
)

// CorruptionError names the file and byte offset where corruption was found.
// errors.Is(err, ErrCorruptLog) holds for it.
type CorruptionError struct {
	File   string
	Offset int64 // byte position in File
	Err    error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("storage: corrupt %s at byte %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns both ErrCorruptLog and the cause.
func (e *CorruptionError) Unwrap() []error { return []error{ErrCorruptLog, e.Err} }

// Transaction marker errors.
var (
	// ErrTransactionCoordinatorFenced: a marker from a coordinator whose
	// epoch is older than the one that last wrote a marker for the producer
	// (TRANSACTION_COORDINATOR_FENCED).
	ErrTransactionCoordinatorFenced = errors.New("storage: transaction coordinator fenced")
)
