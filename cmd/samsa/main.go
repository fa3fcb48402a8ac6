// Command samsa is a Kafka-compatible event streaming platform in one binary.
package main

import (
	"os"

	"github.com/samsa-io/samsa/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
