package schemaregistry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Config configures a Registry.
type Config struct {
	// Seeds are the bootstrap brokers (host:port).
	Seeds []string
	// ClientOpts are extra franz-go options (TLS, SASL, client id...),
	// applied after the registry's own.
	ClientOpts []kgo.Opt
	// Topic is the store topic, "_schemas" by default (Confluent's
	// kafkastore.topic).
	Topic string
	// ReplicationFactor for creating Topic; -1 (the default) lets the
	// broker decide (default.replication.factor).
	ReplicationFactor int16
	// Compatibility is the global level used until one is PUT to /config:
	// BACKWARD unless set.
	Compatibility string
	// MaxBodyBytes bounds request bodies (default 16 MiB).
	MaxBodyBytes int64
	// Timeout bounds each wait for the broker: catching up with the
	// topic, producing a record (default 30s, Confluent's
	// kafkastore.timeout.ms is 500ms per operation plus retries).
	Timeout time.Duration
}

// SetDefaults fills the zero fields.
func (c *Config) SetDefaults() {
	if c.Topic == "" {
		c.Topic = "_schemas"
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.Compatibility == "" {
		c.Compatibility = "BACKWARD"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 16 << 20
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
}

// Validate reports every problem of c.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Seeds) == 0 {
		errs = append(errs, errors.New("schema registry: no bootstrap servers"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("schema registry: empty topic name"))
	}
	if _, ok := levels[strings.ToUpper(c.Compatibility)]; !ok {
		errs = append(errs, fmt.Errorf("schema registry: unknown compatibility level %q", c.Compatibility))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("schema registry: negative max body bytes %d", c.MaxBodyBytes))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("schema registry: negative timeout %v", c.Timeout))
	}
	return errors.Join(errs...)
}

// Redacted returns a copy safe to log: ClientOpts may carry credentials and
// are left out.
func (c Config) Redacted() Config {
	return Config{
		Seeds:             c.Seeds,
		Topic:             c.Topic,
		ReplicationFactor: c.ReplicationFactor,
		Compatibility:     c.Compatibility,
		MaxBodyBytes:      c.MaxBodyBytes,
		Timeout:           c.Timeout,
	}
}
