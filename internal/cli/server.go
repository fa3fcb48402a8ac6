package cli

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newServerCmd) }

func newServerCmd() *cobra.Command {
	var (
		configFile string
		sets       []string
		logLevel   string
		logFormat  string
		pprofAddr  string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the samsa platform (broker, controller, schema registry and REST proxy in one process)",
		Long: `Run samsa. With no flags it is a complete single-node platform: node.id 1,
a Kafka listener on 127.0.0.1:9092, the Schema Registry (Confluent's API) on
http://127.0.0.1:8081, the REST Proxy (Confluent's v2 and v3) on
http://127.0.0.1:8082, and all data in ./samsa-data (created on first start).
Registry and proxy are Kafka clients of the broker (the registry keeps its
state in _schemas); set schema.registry.listeners or rest.proxy.listeners
to move one, or to nothing to turn it off (a taken port turns it off with a
warning; the broker still starts).

Configuration uses Apache Kafka's broker property names, from a
server.properties-style file (--config) and/or --set key=value flags; --set
wins over the file. Unknown keys and bad values stop the start with one line
per problem naming the key.

SIGINT or SIGTERM stop the server cleanly: requests in flight finish, logs
are flushed and closed. A second signal exits at once.`,
		Example: `  # single node, data in ./samsa-data, clients on 127.0.0.1:9092
  samsa server

  # another port and data folder
  samsa server --set listeners=PLAINTEXT://127.0.0.1:19092 --set log.dirs=./data

  # no schema registry and no REST proxy
  samsa server --set schema.registry.listeners= --set rest.proxy.listeners=

  # a Kafka-style properties file, with one override
  samsa server --config server.properties --set num.partitions=6

  # a controller-only cluster node (process.roles: broker, controller, or
  # both, the default); broker-only nodes list no CONTROLLER listener
  samsa server --set process.roles=controller --set node.id=1 \
    --set controller.quorum.voters=1@10.0.0.1:9093,2@10.0.0.2:9093,3@10.0.0.3:9093 \
    --set listeners=CONTROLLER://10.0.0.1:9093 --set controller.listener.names=CONTROLLER`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			props := map[string]string{}
			if configFile != "" {
				fp, err := config.LoadFile(configFile)
				if err != nil {
					return usagef("%v", err)
				}
				maps.Copy(props, fp)
			}
			sp, err := config.ParseSets(sets)
			if err != nil {
				return usagef("%v", err)
			}
			maps.Copy(props, sp)
			cfg, err := config.NewBroker(props)
			if err != nil {
				return usageError{fmt.Errorf("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))}
			}
			if err := checkCompanions(cfg); err != nil {
				return usageError{fmt.Errorf("invalid configuration: %v", err)}
			}
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return usagef("%v", err)
			}
			if pprofAddr != "" {
				stop, err := servePprof(pprofAddr, log)
				if err != nil {
					return usagef("--pprof: %v", err)
				}
				defer stop()
			}
			return runServer(cmd.Context(), cfg, log)
		},
	}
	cmd.Flags().StringVarP(&configFile, "config", "c", "", "Kafka-style properties file (e.g. server.properties)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "set a config key, key=value (repeatable; wins over --config)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go's net/http/pprof on this address, e.g. 127.0.0.1:6060 (profiling; off by default)")
	return cmd
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q (want debug, info, warn or error)", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q (want text or json)", format)
}

// servePprof serves the runtime profiles (/debug/pprof/) on addr until stop
// is called. It has its own mux, so nothing else is ever exposed on it, and
// is meant for loopback addresses: the profiles reveal internals.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("serving pprof", "address", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { srv.Close() }, nil
}

// version is the module version when built with module info.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func runServer(ctx context.Context, cfg *config.Broker, log *slog.Logger) error {
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	for _, k := range cfg.Ignored() {
		log.Warn("config key accepted but not used by samsa yet", "key", k)
	}
	dirs := make([]string, len(cfg.LogDirs))
	for i, d := range cfg.LogDirs {
		dirs[i], _ = filepath.Abs(d)
	}
	log.Info("starting samsa", "version", version(), "node_id", cfg.NodeID,
		"process_roles", strings.Join(cfg.ProcessRoles, ","), "log_dirs", strings.Join(dirs, ","))
	b, err := broker.New(cfg, log, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	if err := b.Start(); err != nil {
		b.Close(context.Background())
		return err
	}
	var companions []*companion
	ready := []any{"cluster_id", b.ClusterID(), "kafka", b.Addr("")}
	if cfg.HasRole("broker") {
		companions = startCompanions(ctx, cfg, b.Addr(""), log)
	} else {
		// A controller-only node serves no clients, so neither registry
		// nor proxy has a broker here (config refuses them when set).
		ready = []any{"cluster_id", b.ClusterID(), "controller", b.Addr(cfg.ControllerListenerNames[0])}
	}
	topics := b.Metadata().Image().TopicNames()
	for _, c := range companions {
		ready = append(ready, strings.ToLower(strings.ReplaceAll(c.name, " ", "_")), "http://"+c.addr)
	}
	log.Info("samsa is ready", append(ready, "data", strings.Join(dirs, ","), "topics", len(topics),
		"startup", time.Since(start).Round(time.Millisecond))...)

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case s := <-sig:
		log.Info("shutting down: finishing requests in flight and closing logs", "signal", s.String())
	case <-ctx.Done():
		log.Info("shutting down")
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		select {
		case s := <-sig:
			log.Warn("second signal: exiting without a clean shutdown", "signal", s.String())
			os.Exit(1)
		case <-closeCtx.Done():
		}
	}()
	if err := stopCompanions(closeCtx, companions); err != nil {
		log.Warn("stopping the companion services", "err", err)
	}
	if err := b.Close(closeCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("samsa stopped cleanly", "topics", len(slices.Collect(maps.Keys(b.Metadata().Image().Topics))))
	return nil
}
