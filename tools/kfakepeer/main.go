// Command kfakepeer runs franz-go's in-memory kfake cluster on a loopback
// port until interrupted. It is the comparison peer in docs/benchmarks.md: the
// same `samsa bench` run against it shows what a broker that keeps everything
// in memory does on this machine. It is a development tool, not part of samsa.
//
//	go run ./tools/kfakepeer -port 19092 -topics bench -partitions 6
//	samsa bench produce --bootstrap 127.0.0.1:19092 --topic bench --records 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 19092, "loopback port to listen on (0: any free port)")
	topics := flag.String("topics", "", "comma-separated topics to create at start")
	partitions := flag.Int("partitions", 1, "partitions of each -topics topic and of auto-created topics")
	flag.Parse()

	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
	}
	if *topics != "" {
		var ts []string
		for _, t := range strings.Split(*topics, ",") {
			if t = strings.TrimSpace(t); t != "" {
				ts = append(ts, t)
			}
		}
		opts = append(opts, kfake.SeedTopics(int32(*partitions), ts...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfakepeer: %v\n", err)
		os.Exit(1)
	}
	defer c.Close()
	fmt.Fprintf(os.Stderr, "kfakepeer: listening on %s; Ctrl-C stops\n", strings.Join(c.ListenAddrs(), ","))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "kfakepeer: stopping")
}
