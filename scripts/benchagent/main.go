// Command benchagent measures the host agent's engine: how fast a managed
// file is put back after drift (content, delete, chmod), what the engine
// costs while converged and idle, and how long a graph of many files takes
// to converge. It runs the engine in its own process and reads its own
// /proc entries for CPU and RSS. Run it through scripts/bench-agent.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

type options struct {
	trials int
	idle   time.Duration
	files  int
	dir    string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchagent:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("benchagent", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.trials, "trials", 1000, "drift trials per kind")
	fs.DurationVar(&o.idle, "idle", 60*time.Second, "how long to sample the idle engine")
	fs.IntVar(&o.files, "files", 1000, "file resources in the convergence graph")
	fs.StringVar(&o.dir, "dir", "", "work directory (default: a new temp dir, removed after)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "benchagent-")
		if err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	if err := benchDrift(ctx, o, out); err != nil {
		return err
	}
	return benchConverge(ctx, o, out)
}
