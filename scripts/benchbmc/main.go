// Command benchbmc measures power-cycling many machines through rackboot's
// BMC Controller: N virtual Redfish BMCs on 127.0.0.1, each in front of its
// own QEMU VM (-backend qemu) or of an in-memory machine (-backend sim,
// which still goes through HTTP, the virtual BMC and bmclib), cycled one
// alone, N one after another, and N in one Controller.Each call.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/bmc/virtual"
)

type options struct {
	n           int
	backend     string
	mem         string
	gap         time.Duration
	maxSessions int
	simDelay    time.Duration
	sequential  bool
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 50, "virtual BMCs")
	flag.StringVar(&o.backend, "backend", "sim", "machine behind each BMC: qemu or sim")
	flag.StringVar(&o.mem, "mem", "64", "QEMU memory (MiB) per VM")
	flag.DurationVar(&o.gap, "gap", 2*time.Second, "Controller MinGap between commands to one BMC")
	flag.IntVar(&o.maxSessions, "max-sessions", 8, "Controller MaxSessions")
	flag.DurationVar(&o.simDelay, "sim-delay", 0, "power-on time of a simulated machine")
	flag.BoolVar(&o.sequential, "sequential", true, "also cycle the N one after another")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchbmc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "benchbmc")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fleet, err := startFleet(ctx, o, dir)
	defer fleet.stop()
	if err != nil {
		return err
	}
	ctl := bmc.New(bmc.Config{MinGap: o.gap, MaxSessions: o.maxSessions,
		ConfirmInterval: 50 * time.Millisecond, Timeout: 10 * time.Minute})
	fmt.Printf("%d virtual BMCs, backend %s, MinGap %v, MaxSessions %d, %d CPUs\n",
		o.n, o.backend, o.gap, o.maxSessions, runtime.NumCPU())
	if err := timed("power on all (setup)", func() error { return firstErr(ctl.Each(ctx, fleet.targets, ctl.PowerOn)) }); err != nil {
		return err
	}
	if err := timed("cycle 1 alone", func() error { return ctl.Cycle(ctx, fleet.targets[0]) }); err != nil {
		return err
	}
	if o.sequential {
		err := timed(fmt.Sprintf("cycle %d one after another", o.n), func() error {
			for _, t := range fleet.targets {
				if err := ctl.Cycle(ctx, t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return timed(fmt.Sprintf("cycle %d in one call (Each)", o.n), func() error {
		return firstErr(ctl.Each(ctx, fleet.targets, ctl.Cycle))
	})
}

func timed(what string, f func() error) error {
	start := time.Now()
	err := f()
	fmt.Printf("%-34s %8.2fs\n", what, time.Since(start).Seconds())
	return err
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fleet is the running virtual BMCs.
type fleet struct {
	targets []bmc.Target
	servers []*virtual.Server
	cancel  context.CancelFunc
	done    chan error
}

func startFleet(ctx context.Context, o options, dir string) (*fleet, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := &fleet{cancel: cancel, done: make(chan error, o.n)}
	for i := range o.n {
		cfg := virtual.Config{Username: "admin", Password: "secret"}
		if o.backend == "sim" {
			cfg.Machine = &virtual.Simulated{Delay: o.simDelay}
		} else {
			cfg.QEMUArgv = []string{"qemu-system-x86_64", "-accel", "tcg", "-m", o.mem,
				"-nographic", "-nodefaults", "-display", "none"}
			cfg.QMPSocket = filepath.Join(dir, fmt.Sprintf("vm%d.qmp", i))
		}
		s, err := virtual.New(cfg)
		if err != nil {
			return f, err
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return f, err
		}
		f.servers = append(f.servers, s)
		f.targets = append(f.targets, bmc.Target{Address: "http://127.0.0.1", Protocol: bmc.Redfish,
			Port: l.Addr().(*net.TCPAddr).Port, Username: "admin", Password: "secret"})
		go func() { f.done <- s.Serve(ctx, l) }()
	}
	return f, nil
}

// stop ends the HTTP servers and powers every machine off.
func (f *fleet) stop() {
	f.cancel()
	for range f.servers {
		<-f.done
	}
	for _, s := range f.servers {
		s.Close()
	}
}
