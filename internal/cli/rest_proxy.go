package cli

import (
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/samsa-io/samsa/internal/restproxy"
	"github.com/spf13/cobra"
)

// samsa rest-proxy: the REST Proxy as its own process, a client of any
// Kafka cluster. `samsa server` embeds the same restproxy.Proxy.

func init() { commands = append(commands, newRestProxyCmd) }

func newRestProxyCmd() *cobra.Command {
	var (
		bootstrap       string
		listen          string
		instanceTimeout time.Duration
		maxBody         int64
		logLevel        string
		logFormat       string
		registryURL     string
	)
	cmd := &cobra.Command{
		Use:   "rest-proxy",
		Short: "Run a Kafka REST Proxy (Confluent REST Proxy API v2 and v3) against a cluster",
		Long: `Run the REST Proxy on its own, in front of a samsa (or any Kafka) cluster it
reaches over the Kafka protocol. Applications that cannot speak Kafka produce
and consume over HTTP with the Confluent REST Proxy API:

  v2: GET /topics, GET /topics/{t}, POST /topics/{t}[/partitions/{p}] with
      embedded formats binary and json (application/vnd.kafka.binary.v2+json,
      application/vnd.kafka.json.v2+json) and, with --schema-registry-url,
      avro, jsonschema and protobuf (value_schema or value_schema_id, the
      same for keys; schemas registered under TOPIC-value and TOPIC-key),
      consumer instances under /consumers/{group}, GET /brokers.
  v3: /v3/clusters[/{id}], brokers, topics (list, create, get, delete),
      partitions, topic configs (list, get, set, reset, :alter), consumer
      groups with their consumers, lags and lag-summary, and
      POST /v3/clusters/{id}/topics/{t}/records (one JSON per record; a
      chunked body streams one delivery report per line).

Consumer instances live in this process and are closed after
--consumer-instance-timeout without a request (consumer.instance.timeout.ms).
Every error is a JSON body {"error_code":...,"message":...}.

SIGINT or SIGTERM stop it: requests in flight finish, consumer instances
leave their groups.`,
		Example: `  samsa rest-proxy --bootstrap-server 127.0.0.1:9092 --listen 127.0.0.1:8082

  curl -s -X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' \
    --data '{"records":[{"key":"k","value":{"n":1}}]}' http://127.0.0.1:8082/topics/orders`,
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
			cfg := restproxy.Config{
				BootstrapServers:        seeds,
				ConsumerInstanceTimeout: instanceTimeout,
				MaxRequestBytes:         maxBody,
				SchemaRegistryURL:       strings.TrimSpace(registryURL),
			}
			if err := cfg.Validate(); err != nil {
				return usagef("%v", err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usagef("--listen %s: %v", listen, err)
			}
			p, err := restproxy.New(cfg, log)
			if err != nil {
				ln.Close()
				return err
			}
			defer p.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serveUntilDone(ctx, "REST proxy", ln, p.Handler(), log)
		},
	}
	def := defaultBootstrap
	if env := strings.TrimSpace(os.Getenv("SAMSA_BOOTSTRAP")); env != "" {
		def = env
	}
	cmd.Flags().StringVarP(&bootstrap, "bootstrap-server", "b", def, "comma-separated host:port list of brokers to bootstrap from (env SAMSA_BOOTSTRAP)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8082", "address the HTTP API listens on")
	cmd.Flags().DurationVar(&instanceTimeout, "consumer-instance-timeout", 5*time.Minute, "close consumer instances idle this long (consumer.instance.timeout.ms)")
	cmd.Flags().Int64Var(&maxBody, "max-request-bytes", 16<<20, "largest request body accepted (413 above)")
	cmd.Flags().StringVar(&registryURL, "schema-registry-url", "", "schema registry for the avro, jsonschema and protobuf formats (schema.registry.url); empty: those formats are refused")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}
