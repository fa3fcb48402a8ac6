package restproxy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config configures a Proxy. Field comments give the reference REST Proxy
// property each one matches.
type Config struct {
	// BootstrapServers are the brokers to bootstrap from (bootstrap.servers).
	BootstrapServers []string
	// ClientID is sent to the brokers by the shared producer/admin client
	// (client.id). Default "samsa-rest-proxy".
	ClientID string
	// ConsumerInstanceTimeout is how long a consumer instance may stay idle
	// before it is closed (consumer.instance.timeout.ms). Default 5 minutes.
	ConsumerInstanceTimeout time.Duration
	// ConsumerRequestTimeout is how long GET .../records waits for records
	// when the request gives no timeout (consumer.request.timeout.ms).
	// Default 1 second.
	ConsumerRequestTimeout time.Duration
	// ConsumerRequestMaxBytes caps the key and value bytes a GET .../records
	// returns when the request gives no max_bytes
	// (consumer.request.max.bytes). Default 64 MiB.
	ConsumerRequestMaxBytes int64
	// MaxRequestBytes limits a request body (and each record of a v3
	// streaming produce). Default 16 MiB.
	MaxRequestBytes int64
	// RequestTimeout bounds the Kafka requests made for one HTTP request.
	// Default 30 seconds.
	RequestTimeout time.Duration
	// SchemaRegistryURL is the schema registry used by the avro, jsonschema
	// and protobuf formats (schema.registry.url). Empty: those formats are
	// refused.
	SchemaRegistryURL string
}

// SetDefaults fills the zero fields with their defaults.
func (c *Config) SetDefaults() {
	if c.ClientID == "" {
		c.ClientID = "samsa-rest-proxy"
	}
	if c.ConsumerInstanceTimeout == 0 {
		c.ConsumerInstanceTimeout = 5 * time.Minute
	}
	if c.ConsumerRequestTimeout == 0 {
		c.ConsumerRequestTimeout = time.Second
	}
	if c.ConsumerRequestMaxBytes == 0 {
		c.ConsumerRequestMaxBytes = 64 << 20
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 16 << 20
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
}

// Validate reports every problem with c, one per line.
func (c *Config) Validate() error {
	var errs []error
	if len(c.BootstrapServers) == 0 {
		errs = append(errs, errors.New("bootstrap servers: none given"))
	}
	for _, s := range c.BootstrapServers {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, errors.New("bootstrap servers: empty address"))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"consumer.instance.timeout.ms", c.ConsumerInstanceTimeout},
		{"consumer.request.timeout.ms", c.ConsumerRequestTimeout},
		{"request timeout", c.RequestTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %v", d.name, d.v))
		}
	}
	if c.MaxRequestBytes < 0 {
		errs = append(errs, fmt.Errorf("max request bytes: must not be negative, got %d", c.MaxRequestBytes))
	}
	if c.ConsumerRequestMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("consumer.request.max.bytes: must not be negative, got %d", c.ConsumerRequestMaxBytes))
	}
	return errors.Join(errs...)
}

// Redacted returns a copy of c that is safe to log. It copies field by
// field, so a secret added later stays out until it is added here.
func (c Config) Redacted() Config {
	return Config{
		BootstrapServers:        append([]string(nil), c.BootstrapServers...),
		ClientID:                c.ClientID,
		ConsumerInstanceTimeout: c.ConsumerInstanceTimeout,
		ConsumerRequestTimeout:  c.ConsumerRequestTimeout,
		ConsumerRequestMaxBytes: c.ConsumerRequestMaxBytes,
		MaxRequestBytes:         c.MaxRequestBytes,
		RequestTimeout:          c.RequestTimeout,
		SchemaRegistryURL:       redactURL(c.SchemaRegistryURL),
	}
}

// redactURL drops a password from a URL's user info.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return u
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
}
