package storage

// HasOngoingTransaction reports whether the producer has a transaction open
// on this log with exactly this epoch (Kafka's
// UnifiedLog.hasOngoingTransaction). The broker verifies a transactional
// produce with the transaction coordinator only when it does not, that is
// for the first batch of each transaction on the partition.
func (l *Log) HasOngoingTransaction(producerID int64, producerEpoch int16) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.producers.producers[producerID]
	return e != nil && e.epoch == producerEpoch && e.currentTxnFirstOffset >= 0
}
