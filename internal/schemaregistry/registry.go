package schemaregistry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Registry is one schema registry instance. Create it with New, call Start,
// serve Handler, and Close when done.
type Registry struct {
	cfg Config
	log *slog.Logger
	cl  *kgo.Client
	adm *kadm.Client

	mu      sync.RWMutex // guards st, applied, changed
	st      *state
	applied int64         // next offset the reader will apply
	changed chan struct{} // closed and replaced whenever applied moves

	writeMu sync.Mutex // one local write at a time

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when readLoop returns
}

// New builds a registry; it talks to no broker until Start.
func New(cfg Config, log *slog.Logger) (*Registry, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Seeds...),
		kgo.ClientID("samsa-schema-registry"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.RecordRetries(10),
	}, cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Registry{
		cfg:     cfg,
		log:     log.With("component", "schema-registry"),
		cl:      cl,
		adm:     kadm.NewClient(cl),
		st:      newState(),
		changed: make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
	}, nil
}

// Start creates the store topic if it is missing, starts reading it and
// returns once everything written before is applied, so the first request
// sees the stored state.
func (r *Registry) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	resp, err := r.adm.CreateTopic(ctx, 1, r.cfg.ReplicationFactor,
		map[string]*string{"cleanup.policy": ptr("compact")}, r.cfg.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("schema registry: create topic %s: %w", r.cfg.Topic, err)
	}
	go r.readLoop()
	if err := r.catchUp(ctx); err != nil {
		return fmt.Errorf("schema registry: read %s: %w", r.cfg.Topic, err)
	}
	r.log.Info("schema registry started", "topic", r.cfg.Topic, "schemas", r.numSchemas())
	return nil
}

func ptr[T any](v T) *T { return &v }

func (r *Registry) numSchemas() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.st.byID)
}

// Close stops the reader and closes the client. In-flight requests fail.
func (r *Registry) Close() error {
	r.cancel()
	r.cl.Close()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		return errors.New("schema registry: reader did not stop")
	}
	return nil
}

// readLoop applies _schemas to the state, in log order, until Close.
func (r *Registry) readLoop() {
	defer close(r.done)
	for {
		fs := r.cl.PollFetches(r.ctx)
		if r.ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			r.log.Warn("reading the store topic", "topic", t, "partition", p, "err", err)
		})
		var next int64 = -1
		r.mu.Lock()
		fs.EachRecord(func(rec *kgo.Record) {
			r.st.apply(rec.Key, rec.Value)
			next = rec.Offset + 1
		})
		if next > r.applied {
			r.applied = next
			close(r.changed)
			r.changed = make(chan struct{})
		}
		r.mu.Unlock()
	}
}

// waitApplied waits until every record below offset is applied.
func (r *Registry) waitApplied(ctx context.Context, offset int64) error {
	for {
		r.mu.RLock()
		applied, ch := r.applied, r.changed
		r.mu.RUnlock()
		if applied >= offset {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-r.ctx.Done():
			return errors.New("registry closed")
		}
	}
}

// catchUp waits until the state holds everything in the topic now.
func (r *Registry) catchUp(ctx context.Context) error {
	for {
		end, err := r.endOffset(ctx)
		if err == nil {
			return r.waitApplied(ctx, end)
		}
		// Right after creating the topic the broker may not list it yet.
		if !errors.Is(err, kerr.UnknownTopicOrPartition) && !errors.Is(err, errNoOffset) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var errNoOffset = errors.New("no end offset")

func (r *Registry) endOffset(ctx context.Context) (int64, error) {
	ends, err := r.adm.ListEndOffsets(ctx, r.cfg.Topic)
	if err != nil {
		return 0, err
	}
	o, ok := ends.Lookup(r.cfg.Topic, 0)
	if !ok {
		return 0, fmt.Errorf("%w for %s", errNoOffset, r.cfg.Topic)
	}
	return o.Offset, o.Err
}

// write produces one record and waits until it is applied. Whether a
// SCHEMA record won (see doc.go) the caller reads from the state.
func (r *Registry) write(ctx context.Context, key recordKey, value any) error {
	k, err := json.Marshal(key)
	if err != nil {
		return err
	}
	var v []byte
	if value != nil {
		if v, err = json.Marshal(value); err != nil {
			return err
		}
	}
	res := r.cl.ProduceSync(ctx, &kgo.Record{Topic: r.cfg.Topic, Partition: 0, Key: k, Value: v})
	rec, err := res.First()
	if err != nil {
		return err
	}
	return r.waitApplied(ctx, rec.Offset+1)
}

// beginWrite takes the local write lock and catches up with the topic. The
// caller must call the returned function when done.
func (r *Registry) beginWrite(ctx context.Context) (context.Context, func(), *Error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	r.writeMu.Lock()
	done := func() { r.writeMu.Unlock(); cancel() }
	if err := r.catchUp(ctx); err != nil {
		done()
		return nil, nil, storeErr(err)
	}
	return ctx, done, nil
}

func storeErr(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errTimeout("Operation timed out: %v", err)
	}
	return errStore("Error while writing to the Kafka store: %v", err)
}

// Handler returns the HTTP API.
func (r *Registry) Handler() http.Handler { return r.routes() }
