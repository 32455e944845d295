// Command benchfleet measures the agent configs that follow the inventory
// (package fleetconfig) at the scale of a fleet: it starts `rackboot
// serve` as its own process on loopback, enrols N hosts, applies the
// rack-hosts example (docs/examples) to the share of them in rack r1, and
// runs N agents, in this process (-mode inproc, sharing one inotify
// instance) or as `rackboot agent` processes (-mode process). It then
// makes changes one at a time (a host becomes active, an r1 host changes
// IP, the host that joined last leaves) and times each from the change to
// every r1 agent's file being right; last it samples the appliance's CPU
// and RSS while every agent sits in its long poll. Run it through
// scripts/bench-fleet.
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
	rackboot string        // the rackboot binary
	agents   int           // agents at the start
	selected float64       // share of them in rack r1
	changes  int           // changes to time
	mode     string        // inproc or process
	idle     time.Duration // how long to sample the idle appliance
	examples string        // docs/examples
	dir      string        // work dir
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchfleet:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("benchfleet", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.rackboot, "rackboot", "", "the rackboot binary (required)")
	fs.IntVar(&o.agents, "agents", 100, "agents at the start")
	fs.Float64Var(&o.selected, "selected", 0.6, "share of the agents in rack r1, which the config selects")
	fs.IntVar(&o.changes, "changes", 50, "changes to time")
	fs.StringVar(&o.mode, "mode", "inproc", "inproc: agents in this process; process: one `rackboot agent` each")
	fs.DurationVar(&o.idle, "idle", 60*time.Second, "how long to sample the appliance with every agent idle")
	fs.StringVar(&o.examples, "examples", "docs/examples", "directory of the example configs")
	fs.StringVar(&o.dir, "dir", "", "work directory (default: a new temp dir, removed after)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rackboot == "" || (o.mode != "inproc" && o.mode != "process") {
		return fmt.Errorf("-rackboot is required and -mode is inproc or process")
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "benchfleet-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	return bench(ctx, o, out)
}
