// Command benchboot measures boot-server throughput under a boot storm: many
// concurrent clients fetching one file over TFTP or HTTP. With -serve-tftp it
// is instead a bare rackboot TFTP server, so scripts/bench-boot can put it
// side by side with a peer (tftpd-hpa).
//
// One process, loopback targets only by intent: it sends as fast as the
// server answers, so point it at servers on this machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchboot:", err)
		os.Exit(1)
	}
}

// config is every flag; zero values are never used, parseFlags sets them.
type config struct {
	proto, target, file string
	clients, rounds     int
	blockSize           int
	timeout             time.Duration
	sha256              string
	serveDir, listen    string
	anticipate          uint
	verbose             bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.serveDir != "" {
		return serve(ctx, cfg, stdout, stderr)
	}
	return load(ctx, cfg, stdout, stderr)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("benchboot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.proto, "proto", "tftp", "protocol to load: tftp or http")
	fs.StringVar(&cfg.target, "target", "", "server address host:port")
	fs.StringVar(&cfg.file, "file", "ipxe.efi", "file to fetch")
	fs.IntVar(&cfg.clients, "n", 200, "concurrent clients")
	fs.IntVar(&cfg.rounds, "rounds", 1, "fetches per client, one after another")
	fs.IntVar(&cfg.blockSize, "blksize", 1468, "TFTP block size asked for (client) or offered at most (server)")
	fs.DurationVar(&cfg.timeout, "timeout", 2*time.Second, "TFTP per-packet timeout (client)")
	fs.StringVar(&cfg.sha256, "sha256", "", "expected sha256 of the file; a transfer that differs counts as an error")
	fs.StringVar(&cfg.serveDir, "serve-tftp", "", "serve this directory over rackboot's TFTP instead of loading a server")
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "address for -serve-tftp")
	fs.UintVar(&cfg.anticipate, "anticipate", 0, "with -serve-tftp: blocks sent before waiting for an ACK (pin/tftp's experimental window; 0 = lockstep)")
	fs.BoolVar(&cfg.verbose, "v", false, "with -serve-tftp: log every transfer")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	return cfg, cfg.check()
}

func (c config) check() error {
	switch {
	case c.serveDir != "":
		return nil
	case c.proto != "tftp" && c.proto != "http":
		return fmt.Errorf("-proto %q: want tftp or http", c.proto)
	case c.target == "":
		return errors.New("-target is required")
	case c.clients < 1 || c.rounds < 1:
		return errors.New("-n and -rounds must be at least 1")
	}
	return nil
}
