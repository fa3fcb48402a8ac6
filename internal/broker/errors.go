package broker

import (
	"context"
	"errors"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/replica"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/twmb/franz-go/pkg/kerr"
)

// errorCodes maps sentinel errors of the packages below to Kafka error codes.
// It is the one place where that mapping lives; order matters only where one
// sentinel wraps another (the more specific comes first).
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	{replica.ErrStorage, kerr.KafkaStorageError},
	{replica.ErrNotLeader, kerr.NotLeaderForPartition},
	{replica.ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend},
	{replica.ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
	{replica.ErrTimeout, kerr.RequestTimedOut},
	{storage.ErrLogOffline, kerr.KafkaStorageError},
	{storage.ErrLogClosed, kerr.UnknownTopicOrPartition}, // deleted while the request ran
	{storage.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{storage.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{storage.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{storage.ErrTransactionCoordinatorFenced, kerr.TransactionCoordinatorFenced},
	{storage.ErrBatchTooLarge, kerr.RecordListTooLarge},
	{storage.ErrInvalidBatch, kerr.CorruptMessage},
	{record.ErrUnsupportedMagic, kerr.UnsupportedForMessageFormat},
	{record.ErrUnsupportedCompressionType, kerr.UnsupportedCompressionType},
	{record.ErrMessageTooLarge, kerr.MessageTooLarge},
	{record.ErrInvalidTimestamp, kerr.InvalidTimestamp},
	{record.ErrInvalidRecord, kerr.InvalidRecord},
	{record.ErrCorrupt, kerr.CorruptMessage},
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists},
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{metadata.ErrInvalidTopic, kerr.InvalidTopicException},
	{metadata.ErrInvalidPartitions, kerr.InvalidPartitions},
	{context.DeadlineExceeded, kerr.RequestTimedOut}, // the controller did not answer in time
}

// errorCode returns the Kafka error code for err (0 for nil), falling back
// to KAFKA_STORAGE_ERROR for I/O failures of the log and UNKNOWN_SERVER_ERROR
// for anything else.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code.Code
		}
	}
	var ce *storage.CorruptionError
	if errors.As(err, &ce) {
		return kerr.KafkaStorageError.Code
	}
	return kerr.UnknownServerError.Code
}

// errorMessage returns a message for the response's error message field, or
// nil when the code alone says it all.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
