// Package cli holds samsa's command line: one file per subcommand, built on
// spf13/cobra. `samsa server` runs the platform; every other subcommand is a
// Kafka client built on franz-go (kgo for data, kadm for administration) and
// reaches the broker only over the wire, like any other client.
//
// Flags live only here. Commands print results on stdout (JSON where
// --format json is offered) and one-line errors on stderr; Main turns an
// error into exit status 1 (2 for usage errors).
package cli
