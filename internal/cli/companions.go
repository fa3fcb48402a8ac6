package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/restproxy"
	"github.com/samsa-io/samsa/internal/schemaregistry"
)

// A companion is an HTTP service `samsa server` runs next to the broker in
// the same process (the Schema Registry, the REST Proxy): a client of the
// broker over the Kafka protocol, exactly as when it runs on its own.
type companion struct {
	name  string // for logs
	key   string // its listeners config key
	addr  string // where it listens, host:port
	srv   *http.Server
	close func() error
}

// companionSpec builds one companion against the broker at bootstrap.
type companionSpec struct {
	name, key string
	listeners func(*config.Broker) string
	// start builds it; registryURL is the schema registry companion's URL
	// when that runs (it starts first), for the REST proxy's schema formats.
	start func(ctx context.Context, bootstrap, registryURL string, log *slog.Logger) (http.Handler, func() error, error)
}

var companionSpecs = []companionSpec{
	{name: "schema registry", key: "schema.registry.listeners", start: startSchemaRegistry,
		listeners: func(c *config.Broker) string { return c.SchemaRegistryListeners }},
	{name: "REST proxy", key: "rest.proxy.listeners", start: startRestProxy,
		listeners: func(c *config.Broker) string { return c.RestProxyListeners }},
}

func startRestProxy(_ context.Context, bootstrap, registryURL string, log *slog.Logger) (http.Handler, func() error, error) {
	p, err := restproxy.New(restproxy.Config{BootstrapServers: []string{bootstrap}, SchemaRegistryURL: registryURL}, log)
	if err != nil {
		return nil, nil, err
	}
	return p.Handler(), p.Close, nil
}

func startSchemaRegistry(ctx context.Context, bootstrap, _ string, log *slog.Logger) (http.Handler, func() error, error) {
	reg, err := schemaregistry.New(schemaregistry.Config{Seeds: []string{bootstrap}}, log)
	if err != nil {
		return nil, nil, err
	}
	if err := reg.Start(ctx); err != nil {
		reg.Close()
		return nil, nil, err
	}
	return reg.Handler(), reg.Close, nil
}

// listenerAddr turns a companion listener (http://host:port) into host:port.
func listenerAddr(key, v string) (string, error) {
	rest, ok := strings.CutPrefix(v, "http://")
	if !ok {
		return "", fmt.Errorf("%s=%q: want http://host:port (https is not supported yet), or empty to turn it off", key, v)
	}
	if _, _, err := net.SplitHostPort(rest); err != nil {
		return "", fmt.Errorf("%s=%q: %v", key, v, err)
	}
	return rest, nil
}

// checkCompanions reports a malformed companion listener before anything
// starts (a taken port is only found when listening).
func checkCompanions(cfg *config.Broker) error {
	var errs []error
	for _, spec := range companionSpecs {
		if v := spec.listeners(cfg); strings.TrimSpace(v) != "" {
			if _, err := listenerAddr(spec.key, v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// startCompanions starts the companions whose listeners are set. One that
// cannot start (its port is taken, say) is logged and left off: the broker
// is the platform's core and keeps running.
func startCompanions(ctx context.Context, cfg *config.Broker, bootstrap string, log *slog.Logger) []*companion {
	var out []*companion
	registryURL := ""
	for _, spec := range companionSpecs {
		v := spec.listeners(cfg)
		if strings.TrimSpace(v) == "" {
			continue
		}
		c, err := startCompanion(ctx, spec, v, bootstrap, registryURL, log)
		if err != nil {
			log.Warn(fmt.Sprintf("the %s is off: %v. Set %s to a free address, or to nothing to turn it off", spec.name, err, spec.key),
				"key", spec.key)
			continue
		}
		if spec.key == "schema.registry.listeners" {
			registryURL = "http://" + dialAddr(c.addr)
		}
		out = append(out, c)
	}
	return out
}

// dialAddr is a listening address a client on this host can dial: an
// unspecified host (0.0.0.0, ::) becomes loopback.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func startCompanion(ctx context.Context, spec companionSpec, listener, bootstrap, registryURL string, log *slog.Logger) (*companion, error) {
	addr, err := listenerAddr(spec.key, listener)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, closeFn, err := spec.start(sctx, bootstrap, registryURL, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	c := &companion{name: spec.name, key: spec.key, addr: ln.Addr().String(), close: closeFn, srv: newHTTPServer(h)}
	go func() {
		if err := c.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the "+spec.name+" stopped serving", "err", err)
		}
	}()
	log.Info("serving the "+spec.name, "address", "http://"+ln.Addr().String())
	return c, nil
}

// stopCompanions stops serving (in-flight requests finish within ctx) and
// closes the companions, before the broker closes.
func stopCompanions(ctx context.Context, cs []*companion) error {
	var errs []error
	for _, c := range cs {
		if err := c.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
		if err := c.close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
}

// serveUntilDone serves h on ln for a standalone companion command until
// ctx is done (the caller's signal context) or serving fails, then shuts
// down, letting requests in flight finish for up to 30 s.
func serveUntilDone(ctx context.Context, name string, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := newHTTPServer(h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving the "+name, "address", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("%s shutdown: %w", name, err)
	}
	return nil
}
