package txn

import (
	"errors"
	"math"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	stEmpty          = kmsg.TransactionStateEmpty
	stOngoing        = kmsg.TransactionStateOngoing
	stPrepareCommit  = kmsg.TransactionStatePrepareCommit
	stPrepareAbort   = kmsg.TransactionStatePrepareAbort
	stCompleteCommit = kmsg.TransactionStateCompleteCommit
	stCompleteAbort  = kmsg.TransactionStateCompleteAbort
)

// exhausted reports whether an epoch can no longer be bumped for a
// transaction (Kafka keeps the last value for fencing).
func exhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

// InitProducerID returns the producer id and epoch of txnID, creating the
// id or bumping its epoch, which fences every earlier producer with the
// same id (Kafka's TransactionCoordinator.handleInitProducerId, transaction
// version 1). expectPID and expectEpoch are the producer's current id and
// epoch when it asks to keep them after an error (KIP-360, v3+), -1
// otherwise. An Ongoing transaction is aborted first, and the caller gets
// CONCURRENT_TRANSACTIONS and retries.
func (c *Coordinator) InitProducerID(txnID string, timeoutMs int32, expectPID int64, expectEpoch int16) (int64, int16, error) {
	if txnID == "" {
		return -1, -1, kerr.InvalidRequest
	}
	if timeoutMs <= 0 || time.Duration(timeoutMs)*time.Millisecond > c.cfg.MaxTimeout {
		return -1, -1, kerr.InvalidTransactionTimeout
	}
	t, _, err := c.lookup(txnID, func() (meta, error) {
		pid, err := c.nextPID()
		if err != nil {
			return meta{}, err
		}
		return meta{pid: pid, epoch: -1, timeoutMs: timeoutMs, state: stEmpty, startMs: -1, updateMs: c.now()}, nil
	})
	if err != nil {
		return -1, -1, err
	}
	defer t.mu.Unlock()
	expected := expectPID >= 0
	if expected && t.epoch >= 0 && expectPID != t.pid && (expectPID != t.prevPID || !exhausted(expectEpoch)) {
		return -1, -1, kerr.ProducerFenced
	}
	switch t.state {
	case stPrepareCommit, stPrepareAbort:
		return -1, -1, kerr.ConcurrentTransactions
	case stOngoing:
		c.log.Info("a new producer with the same transactional id fences the old one and aborts its open transaction",
			"transactional_id", t.id, "producer_id", t.pid, "old_epoch", t.epoch)
		if err := c.fenceAndAbort(t); err != nil {
			return -1, -1, err
		}
		return -1, -1, kerr.ConcurrentTransactions
	}
	m := t.meta
	m.state, m.timeoutMs, m.parts, m.startMs, m.updateMs = stEmpty, timeoutMs, nil, -1, c.now()
	lastEpoch, prevPID := t.lastEpoch, t.prevPID
	switch {
	case exhausted(t.epoch) && (!expected || expectEpoch == t.epoch):
		pid, err := c.nextPID()
		if err != nil {
			return -1, -1, err
		}
		prevPID, lastEpoch = t.pid, -1
		if expected {
			lastEpoch = t.epoch
		}
		m.pid, m.epoch = pid, 0
	case !expected:
		m.epoch, lastEpoch = t.epoch+1, -1
	case t.epoch < 0 || expectEpoch == t.epoch:
		m.epoch, lastEpoch = t.epoch+1, t.epoch
	case expectEpoch == t.lastEpoch:
		// A retry of a bump whose answer the producer lost: the same epoch.
	default:
		return -1, -1, kerr.ProducerFenced
	}
	if err := c.persist(t, m); err != nil {
		return -1, -1, err
	}
	t.lastEpoch, t.prevPID = lastEpoch, prevPID
	c.log.Debug("initialized transactional id", "transactional_id", t.id, "producer_id", m.pid, "epoch", m.epoch,
		"partition", t.partition)
	return m.pid, m.epoch, nil
}

// check is the producer check every transactional request makes. t.mu held.
func (t *txn) check(pid int64, epoch int16) error {
	switch {
	case t.pid != pid:
		return kerr.InvalidProducerIDMapping
	case t.epoch != epoch:
		return kerr.ProducerFenced
	case t.state == stPrepareCommit || t.state == stPrepareAbort:
		return kerr.ConcurrentTransactions
	}
	return nil
}

// find returns the locked txn of txnID or INVALID_PRODUCER_ID_MAPPING.
func (c *Coordinator) find(txnID string) (*txn, error) {
	if txnID == "" {
		return nil, kerr.InvalidRequest
	}
	t, _, err := c.lookup(txnID, nil)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, kerr.InvalidProducerIDMapping
	}
	return t, nil
}

// AddPartitions adds partitions to the producer's transaction, starting one
// if none is open (Kafka's handleAddPartitionsToTransaction).
func (c *Coordinator) AddPartitions(txnID string, pid int64, epoch int16, parts []TopicPartition) error {
	t, err := c.find(txnID)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	if err := t.check(pid, epoch); err != nil {
		return err
	}
	if t.state == stOngoing && !slices.ContainsFunc(parts, func(tp TopicPartition) bool { return !t.has(tp) }) {
		return nil
	}
	now := c.now()
	m := t.meta
	if m.state != stOngoing {
		m.startMs = now
		c.log.Debug("transaction started", "transactional_id", t.id, "producer_id", pid, "epoch", epoch)
	}
	m.state, m.parts, m.updateMs = stOngoing, m.withParts(parts), now
	return c.persist(t, m)
}

// VerifyPartitions answers the verify-only form of AddPartitionsToTxn
// (v4+): for each partition, nil if it is part of the producer's open
// transaction, TRANSACTION_ABORTABLE if not; or one error for all.
func (c *Coordinator) VerifyPartitions(txnID string, pid int64, epoch int16, parts []TopicPartition) ([]error, error) {
	t, err := c.find(txnID)
	if err != nil {
		return nil, err
	}
	defer t.mu.Unlock()
	if err := t.check(pid, epoch); err != nil {
		return nil, err
	}
	out := make([]error, len(parts))
	for i, tp := range parts {
		if !t.has(tp) {
			out[i] = kerr.TransactionAbortable
		}
	}
	return out, nil
}

// WithVerified runs fn if tp is part of the producer's open transaction,
// with the transaction locked so that it cannot end while fn appends
// (Kafka's transaction verification, KIP-890 part 1). Otherwise it returns
// the coordinator's answer: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED,
// CONCURRENT_TRANSACTIONS or TRANSACTION_ABORTABLE.
func (c *Coordinator) WithVerified(txnID string, pid int64, epoch int16, tp TopicPartition, fn func() error) error {
	t, err := c.find(txnID)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	if err := t.check(pid, epoch); err != nil {
		return err
	}
	if t.state != stOngoing || !t.has(tp) {
		return kerr.TransactionAbortable
	}
	return fn()
}

// EndTxn commits or aborts the producer's transaction (Kafka's
// handleEndTransaction for transaction version 1). It returns once the
// decision is in the log; the markers normally are too.
func (c *Coordinator) EndTxn(txnID string, pid int64, epoch int16, commit bool) error {
	t, err := c.find(txnID)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	switch {
	case t.pid != pid:
		return kerr.InvalidProducerIDMapping
	case t.epoch != epoch:
		return kerr.ProducerFenced
	}
	switch t.state {
	case stOngoing:
		return c.decide(t, t.meta, commit)
	case stCompleteCommit, stCompleteAbort:
		if commit == (t.state == stCompleteCommit) {
			return nil // a retry of an EndTxn that succeeded
		}
	case stPrepareCommit, stPrepareAbort:
		if commit == (t.state == stPrepareCommit) {
			return kerr.ConcurrentTransactions
		}
	}
	return kerr.InvalidTxnState
}

// fenceAndAbort bumps the producer epoch of an Ongoing transaction, so its
// producer is fenced, and aborts it. t.mu held.
func (c *Coordinator) fenceAndAbort(t *txn) error {
	m := t.meta
	if m.epoch < math.MaxInt16 {
		m.epoch++
	}
	t.lastEpoch = -1
	return c.decide(t, m, false)
}

// decide appends the Prepare record of m's transaction, after which the
// outcome is fixed, then completes it. t.mu held.
func (c *Coordinator) decide(t *txn, m meta, commit bool) error {
	m.state, m.updateMs = stPrepareAbort, c.now()
	if commit {
		m.state = stPrepareCommit
	}
	if err := c.persist(t, m); err != nil {
		return err
	}
	c.complete(t)
	return nil
}

// complete writes the markers of t's prepared transaction and then the
// Complete record. On a failure it logs and leaves t prepared; the loop
// retries (a marker written twice is harmless). A transaction that is no
// longer prepared was completed by another caller (the loop's retry races
// with LoadPartition's pass over what it found prepared) and is left as it
// is. t.mu held.
func (c *Coordinator) complete(t *txn) bool {
	if t.state != stPrepareCommit && t.state != stPrepareAbort {
		return true
	}
	commit := t.state == stPrepareCommit
	cepoch, ok := c.coordinatorEpoch(t.partition)
	if !ok {
		return false
	}
	var failed []TopicPartition
	for _, tp := range t.parts {
		err := c.markers.WriteMarker(tp, t.pid, t.epoch, commit, cepoch)
		switch {
		case err == nil:
		case errors.Is(err, ErrPartitionGone):
			c.log.Debug("dropped the marker for a deleted partition", "transactional_id", t.id, "partition", tp.String())
		case errors.Is(err, ErrFenced):
			c.log.Warn("a partition refused the transaction marker as fenced; skipping it",
				"transactional_id", t.id, "producer_id", t.pid, "epoch", t.epoch, "partition", tp.String(), "err", err)
		default:
			c.log.Warn("writing a transaction marker failed; the transaction stays prepared and is retried",
				"transactional_id", t.id, "producer_id", t.pid, "partition", tp.String(), "commit", commit, "err", err)
			failed = append(failed, tp)
		}
	}
	if len(failed) > 0 {
		// Only the partitions whose marker failed are retried, as Kafka's
		// TransactionMetadata.removePartition drops those that succeeded
		// (the others would get one more marker at every retry). Memory
		// only: the Prepare record keeps them all, and after a restart
		// they all get their marker again, which is harmless.
		t.parts = failed
		return false
	}
	m := t.meta
	m.state, m.parts, m.updateMs = stCompleteAbort, nil, c.now()
	if commit {
		m.state = stCompleteCommit
	}
	if err := c.persist(t, m); err != nil {
		return false
	}
	t.lastEpoch = t.epoch
	return true
}

// AbortTimedOut aborts every Ongoing transaction older than its timeout,
// fencing its producer, and retries the markers of prepared ones. The loop
// calls it every transaction.abort.timed.out.transaction.cleanup.interval.ms.
func (c *Coordinator) AbortTimedOut() {
	now := c.now()
	for _, t := range c.list(-1) {
		t.mu.Lock()
		if !t.removed {
			switch t.state {
			case stOngoing:
				if t.startMs >= 0 && t.startMs+int64(t.timeoutMs) < now {
					c.log.Info("aborting a transaction that exceeded its timeout; its producer is fenced",
						"transactional_id", t.id, "producer_id", t.pid, "epoch", t.epoch,
						"timeout_ms", t.timeoutMs, "age_ms", now-t.startMs)
					if err := c.fenceAndAbort(t); err != nil {
						c.log.Warn("aborting a timed-out transaction failed; retrying later", "transactional_id", t.id, "err", err)
					}
				}
			case stPrepareCommit, stPrepareAbort:
				c.complete(t)
			}
		}
		t.mu.Unlock()
	}
}

// ExpireIDs removes transactional ids idle for transactional.id.expiration.ms
// with no transaction open, by appending a tombstone.
func (c *Coordinator) ExpireIDs() {
	now := c.now()
	for _, t := range c.list(-1) {
		t.mu.Lock()
		idle := t.state == stEmpty || t.state == stCompleteCommit || t.state == stCompleteAbort
		if !t.removed && idle && t.updateMs+c.cfg.IDExpiration.Milliseconds() <= now {
			if err := c.append(t.partition, stateKey(t.id), nil); err == nil {
				c.forget(t)
				c.log.Info("removed an expired transactional id", "transactional_id", t.id, "producer_id", t.pid,
					"idle_ms", now-t.updateMs)
			}
		}
		t.mu.Unlock()
	}
}

func (c *Coordinator) loop() {
	defer c.wg.Done()
	abort := time.NewTicker(c.cfg.AbortInterval)
	defer abort.Stop()
	expire := time.NewTicker(c.cfg.ExpireInterval)
	defer expire.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-abort.C:
			c.AbortTimedOut()
		case <-expire.C:
			c.ExpireIDs()
		}
	}
}

// Description is what DescribeTransactions shows of one id.
type Description struct {
	State      kmsg.TransactionState
	TimeoutMs  int32
	StartMs    int64
	ProducerID int64
	Epoch      int16
	Partitions []TopicPartition
}

// Describe returns the state of txnID, TRANSACTIONAL_ID_NOT_FOUND if unknown.
func (c *Coordinator) Describe(txnID string) (Description, error) {
	if txnID == "" {
		return Description{}, kerr.InvalidRequest
	}
	t, _, err := c.lookup(txnID, nil)
	if err != nil {
		return Description{}, err
	}
	if t == nil {
		return Description{}, kerr.TransactionalIDNotFound
	}
	defer t.mu.Unlock()
	return Description{State: t.state, TimeoutMs: t.timeoutMs, StartMs: t.startMs, ProducerID: t.pid, Epoch: t.epoch,
		Partitions: slices.Clone(t.parts)}, nil
}

// Listing is one id in ListTransactions.
type Listing struct {
	TransactionalID string
	ProducerID      int64
	State           kmsg.TransactionState
}

// List returns the ids in the given states (all when empty) with the given
// producer ids (all when empty) whose transaction started more than
// minDurationMs ago (any when negative), as Kafka's listTransactionStates.
func (c *Coordinator) List(states []kmsg.TransactionState, pids []int64, minDurationMs int64) ([]Listing, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, kerr.CoordinatorNotAvailable
	}
	now := c.now()
	out := []Listing{}
	for _, t := range c.list(-1) {
		t.mu.Lock()
		ok := !t.removed && (len(states) == 0 || slices.Contains(states, t.state)) &&
			(len(pids) == 0 || slices.Contains(pids, t.pid)) &&
			(minDurationMs < 0 || now-t.startMs > minDurationMs)
		if ok {
			out = append(out, Listing{TransactionalID: t.id, ProducerID: t.pid, State: t.state})
		}
		t.mu.Unlock()
	}
	return out, nil
}
