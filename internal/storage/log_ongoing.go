package storage

// HasOngoingTransaction reports whether the producer has a transaction open
// on this log with exactly this epoch (Kafka's
// UnifiedLog.hasOngoingTransaction). The broker does not use it to skip
// the coordinator's verification of a transactional produce: checked
// outside the append, it races with the transaction's markers.
func (l *Log) HasOngoingTransaction(producerID int64, producerEpoch int16) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.producers.producers[producerID]
	return e != nil && e.epoch == producerEpoch && e.currentTxnFirstOffset >= 0
}
