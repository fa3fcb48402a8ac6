package restproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Content types of the API.
const (
	ctV2   = "application/vnd.kafka.v2+json"
	ctJSON = "application/json"
)

// Proxy is a REST Proxy serving the v2 and v3 APIs over one http.Handler.
type Proxy struct {
	cfg Config
	log *slog.Logger
	cl  *kgo.Client  // shared producer and admin client
	adm *kadm.Client // over cl
	reg *registry    // nil without Config.SchemaRegistryURL

	mux *http.ServeMux

	metaMu sync.Mutex                 // guards meta
	meta   map[string]cachedTopicMeta // produce's topic metadata, see producerTopicMeta

	mu        sync.Mutex // guards instances and closed
	instances map[instanceKey]*instance
	closed    bool

	stop chan struct{}
	wg   sync.WaitGroup // the janitor
}

// New validates cfg (after SetDefaults) and returns a Proxy with its shared
// client and its janitor goroutine started. It does not wait for the
// cluster: requests fail with a Kafka error until a broker answers. Close
// releases it.
func New(cfg Config, log *slog.Logger) (*Proxy, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rest proxy config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.BootstrapServers...),
		kgo.ClientID(cfg.ClientID),
		kgo.RecordPartitioner(requestPartitioner{kgo.StickyKeyPartitioner(nil)}),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.MetadataMinAge(time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("rest proxy client: %w", err)
	}
	p := &Proxy{
		cfg:       cfg,
		log:       log,
		cl:        cl,
		adm:       kadm.NewClient(cl),
		instances: make(map[instanceKey]*instance),
		stop:      make(chan struct{}),
	}
	if cfg.SchemaRegistryURL != "" {
		if p.reg, err = newRegistry(cfg.SchemaRegistryURL); err != nil {
			cl.Close()
			return nil, fmt.Errorf("rest proxy schema registry client: %w", err)
		}
	}
	p.adm.SetTimeoutMillis(int32(min(cfg.RequestTimeout, time.Hour).Milliseconds()))
	p.routes()
	p.wg.Add(1)
	go p.janitor()
	return p, nil
}

// Handler returns the HTTP handler serving every endpoint. Every error it
// writes is a JSON body.
func (p *Proxy) Handler() http.Handler { return http.HandlerFunc(p.serveHTTP) }

// Close stops the janitor, closes every consumer instance (group members
// leave their groups) and the shared client. Requests still running fail.
// It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	insts := make([]*instance, 0, len(p.instances))
	for k, in := range p.instances {
		insts = append(insts, in)
		delete(p.instances, k)
	}
	p.mu.Unlock()
	close(p.stop)
	p.wg.Wait()
	for _, in := range insts {
		in.close()
	}
	p.cl.Close()
	return nil
}

// serveHTTP runs the mux, turning its own plain-text 404 and 405 answers
// into JSON errors.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			p.log.Error("rest proxy: panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			writeError(w, errCT(r), errorf(http.StatusInternalServerError, 50001, "internal error"))
		}
	}()
	if _, pattern := p.mux.Handler(r); pattern == "" {
		rec := &statusRecorder{header: http.Header{}}
		h, _ := p.mux.Handler(r)
		h.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 || status == http.StatusOK {
			status = http.StatusNotFound
		}
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		msg := "HTTP 404 Not Found"
		if status == http.StatusMethodNotAllowed {
			msg = "HTTP 405 Method Not Allowed"
		}
		writeError(w, errCT(r), httpErr(status, "%s", msg))
		return
	}
	if _, pattern := p.mux.Handler(r); !strings.HasSuffix(pattern, "/records") || r.Method != http.MethodPost {
		// v3 produce limits each record of its stream instead.
		r.Body = http.MaxBytesReader(w, r.Body, p.cfg.MaxRequestBytes)
	}
	p.mux.ServeHTTP(w, r)
}

// errCT is the content type of an error answer to r.
func errCT(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/v3") {
		return ctJSON
	}
	return ctV2
}

// statusRecorder captures what the mux's fallback handlers write.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(status int)      { s.status = status }

// v2 wraps a v2 handler: it returns a value to encode with the v2 content
// type and status, or an error.
func (p *Proxy) v2(h func(w http.ResponseWriter, r *http.Request) (int, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, v, err := h(w, r)
		switch {
		case err != nil:
			writeError(w, ctV2, err)
		case status == http.StatusNoContent || v == nil:
			w.WriteHeader(status)
		default:
			writeJSON(w, ctV2, status, v)
		}
	}
}

// v3 is v2 for v3 handlers: application/json, error codes are statuses.
func (p *Proxy) v3(h func(w http.ResponseWriter, r *http.Request) (int, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, v, err := h(w, r)
		switch {
		case err != nil:
			var e *Error
			if errors.As(err, &e) {
				err = v3Err(e)
			}
			writeError(w, ctJSON, err)
		case status == http.StatusNoContent || v == nil:
			w.WriteHeader(status)
		default:
			writeJSON(w, ctJSON, status, v)
		}
	}
}

// ctx bounds the Kafka work of one request. kadm answers Metadata from
// kgo's cache unless authorized operations are asked for; an admin API
// must see a topic created a moment ago, so every request asks.
func (p *Proxy) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(kadm.WithAuthorizedOps(r.Context()), p.cfg.RequestTimeout)
}

// mediaType returns the request's content type without parameters.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// checkContentType accepts the v2 content types without an embedded format
// (and plain JSON) for requests that carry no records.
func checkContentType(r *http.Request) error {
	switch mediaType(r) {
	case ctV2, "application/vnd.kafka+json", ctJSON, "application/octet-stream":
		return nil
	}
	return unsupportedMedia(r)
}

func unsupportedMedia(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return httpErr(http.StatusUnsupportedMediaType, "HTTP 415 Unsupported Media Type: no Content-Type")
	}
	return httpErr(http.StatusUnsupportedMediaType, "HTTP 415 Unsupported Media Type: %q", ct)
}

// decodeBody decodes r's JSON body into v, rejecting trailing data. An
// empty body leaves v as it is when allowEmpty.
func decodeBody(r *http.Request, v any, allowEmpty bool) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyErr(err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if allowEmpty {
			return nil
		}
		return httpErr(http.StatusUnprocessableEntity, "request body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return jsonErr(err)
	}
	if dec.More() {
		return httpErr(http.StatusBadRequest, "malformed JSON: data after the request object")
	}
	return nil
}

// bodyErr explains a failed body read: too large (413) or cut off (400).
func bodyErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return httpErr(http.StatusRequestEntityTooLarge, "request body is larger than the limit of %d bytes", mbe.Limit)
	}
	return httpErr(http.StatusBadRequest, "reading the request body: %v", err)
}

// jsonErr explains a JSON decoding error: syntax is 400, a wrong type for
// a field is 422, as in the reference.
func jsonErr(err error) error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		if field == "" {
			field = "the request"
		}
		return httpErr(http.StatusUnprocessableEntity, "%s: cannot be a JSON %s", field, ute.Value)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return bodyErr(err)
	}
	return httpErr(http.StatusBadRequest, "malformed JSON: %v", err)
}

// baseURL is the scheme and host the client used to reach us, for links.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if fp := r.Header.Get("X-Forwarded-Proto"); fp == "http" || fp == "https" {
		scheme = fp
	}
	return scheme + "://" + r.Host
}
