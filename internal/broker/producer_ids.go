package broker

import (
	"sync"
)

// producerIDBlockSize is how many ids are reserved per metadata write, as
// Kafka's controller hands out blocks of 1000.
const producerIDBlockSize = 1000

// producerIDs hands out producer ids from blocks reserved in the metadata.
type producerIDs struct {
	meta metaStore
	mu   sync.Mutex
	next int64
	end  int64 // exclusive
}

func newProducerIDs(m metaStore) *producerIDs { return &producerIDs{meta: m} }

func (p *producerIDs) next1() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next >= p.end {
		first, err := p.meta.AllocateProducerIDs(producerIDBlockSize)
		if err != nil {
			return 0, err
		}
		p.next, p.end = first, first+producerIDBlockSize
	}
	id := p.next
	p.next++
	return id, nil
}
