package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// usageError marks errors caused by wrong flags or arguments (exit code 2).
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// Main runs the samsa command line with args (without the program name) and
// returns the process exit code.
func Main(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintf(os.Stderr, "samsa: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "samsa",
		Short: "samsa: a Kafka-compatible event streaming platform in one binary",
		Long: `samsa speaks the Apache Kafka wire protocol, so every Kafka client and tool works with it.

Start a single-node platform with its data in ./samsa-data:

  samsa server

Then use any Kafka client against 127.0.0.1:9092, or samsa's own client commands:

  samsa topic create orders --partitions 6
  echo 'k1:hello' | samsa produce orders --key-separator :
  samsa consume orders --from-beginning --count 1

The same server runs a Schema Registry on http://127.0.0.1:8081 (Confluent's
API; see samsa schema) and a REST Proxy on http://127.0.0.1:8082.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	for _, add := range commands {
		root.AddCommand(add())
	}
	return root
}

// commands lists subcommand constructors. Each subcommand file appends its
// constructor in an init function, so adding a command touches one file.
var commands []func() *cobra.Command
