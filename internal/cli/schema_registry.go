package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/samsa-io/samsa/internal/schemaregistry"
	"github.com/spf13/cobra"
)

// samsa schema-registry: the Schema Registry alone, as a client of a
// cluster (the same service `samsa server` embeds), for separate
// deployment like Confluent's schema-registry-start.

func init() { commands = append(commands, newSchemaRegistryCmd) }

func newSchemaRegistryCmd() *cobra.Command {
	var (
		bootstrap, listen, topic, compat, logLevel, logFormat string
		timeout                                               time.Duration
		maxBody                                               int64
	)
	cmd := &cobra.Command{
		Use:   "schema-registry",
		Short: "Run a Confluent-compatible Schema Registry against a Kafka cluster",
		Long: `Serve the Confluent Schema Registry REST API (v1) with its state in the
compacted topic _schemas of the cluster at --bootstrap-server, created if
missing. Any number of instances may run against one cluster: each reads
_schemas to the end before a write, and the order of _schemas decides ids,
so all agree. Schema types: AVRO, JSON and PROTOBUF, with references.

Existing clients work unchanged: point their schema.registry.url at
http://<--listen>.`,
		Example: `  samsa schema-registry --bootstrap-server 127.0.0.1:9092
  samsa schema-registry -b kafka1:9092,kafka2:9092 --listen 0.0.0.0:8081
  curl -s -XPOST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data '{"schema":"\"string\""}' http://127.0.0.1:8081/subjects/t-value/versions`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			seeds, err := splitSeeds(bootstrap, "--bootstrap-server")
			if err != nil {
				return err
			}
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return usagef("%v", err)
			}
			reg, err := schemaregistry.New(schemaregistry.Config{
				Seeds:         seeds,
				Topic:         topic,
				Compatibility: strings.ToUpper(compat),
				MaxBodyBytes:  maxBody,
				Timeout:       timeout,
			}, log)
			if err != nil {
				return usagef("%v", err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				reg.Close()
				return fmt.Errorf("listen %s: %w", listen, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := reg.Start(ctx); err != nil {
				ln.Close()
				reg.Close()
				return fmt.Errorf("%w — is the cluster at %s reachable?", err, bootstrap)
			}
			return errors.Join(serveUntilDone(ctx, "schema registry", ln, reg.Handler(), log), reg.Close())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&bootstrap, "bootstrap-server", "b", defaultBootstrap, "comma-separated host:port list of brokers")
	f.StringVar(&listen, "listen", "127.0.0.1:8081", "HTTP address to serve the API on")
	f.StringVar(&topic, "topic", "_schemas", "the store topic (Confluent's kafkastore.topic)")
	f.StringVar(&compat, "compatibility", "BACKWARD", "global compatibility level until one is PUT to /config")
	f.Int64Var(&maxBody, "max-body-bytes", 16<<20, "largest request body accepted")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "how long a request waits for the cluster")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}
