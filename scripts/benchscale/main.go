// Command benchscale makes the hosts of scripts/bench-scale real clients:
// on each of several appliances that share one etcd inventory it enrols
// -hosts hosts (deployed, with an agent token) through that appliance's
// API, runs one agent per host in this process (agentrun.Agent, as
// benchfleet -mode inproc does) against that appliance's machine-facing
// side, waits until every agent has written its file, then changes the one
// agent config through the first appliance's API and times how long until
// the agents on every appliance have written the new file: the change
// travels through etcd to every appliance's watch and on to their agents'
// long polls. Run it through scripts/bench-scale.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

type options struct {
	apis, boots, tokens []string      // per appliance: API URL, machine-facing URL, admin token file
	hosts               int           // hosts (agents) per appliance
	changes             int           // config changes to time
	clients             int           // concurrent enrolments per appliance
	dir                 string        // where the agents' files go
	idle                time.Duration // how long to sample with every agent idle
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("benchscale", flag.ContinueOnError)
	var o options
	var apis, boots, tokens string
	fs.StringVar(&apis, "api", "", "the appliances' API URLs, comma-separated (required)")
	fs.StringVar(&boots, "boot", "", "their machine-facing URLs, in the same order (required)")
	fs.StringVar(&tokens, "token-files", "", "their admin token files, in the same order (required)")
	fs.IntVar(&o.hosts, "hosts", 1000, "hosts, each with its agent, per appliance")
	fs.IntVar(&o.changes, "changes", 1, "config changes to time, one after another")
	fs.IntVar(&o.clients, "c", 16, "concurrent enrolments per appliance")
	fs.StringVar(&o.dir, "dir", "", "directory for the agents' files (required)")
	fs.DurationVar(&o.idle, "idle", 30*time.Second, "how long to sample with every agent idle in its long poll")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.apis, o.boots, o.tokens = strings.Split(apis, ","), strings.Split(boots, ","), strings.Split(tokens, ",")
	if apis == "" || o.dir == "" || len(o.boots) != len(o.apis) || len(o.tokens) != len(o.apis) {
		return fmt.Errorf("-api, -boot and -token-files name the same number of appliances, and -dir is required")
	}
	return bench(ctx, o, out)
}
