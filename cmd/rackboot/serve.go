package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/cluster"
	"github.com/rackboot/rackboot/fleetconfig"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/web"
	"github.com/rackboot/rackboot/web/dashboard"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"golang.org/x/term"
)

// serveConfig is everything `rackboot serve` can be told, by flag, by
// RACKBOOT_* variable or by the config file.
type serveConfig struct {
	DataDir         string
	Init            bool
	APIAddr         string
	TLS             tlsConfig
	LogLevel        slog.Level
	LogFormat       string
	InspectTimeout  time.Duration
	DeployTimeout   time.Duration
	ShutdownTimeout time.Duration
	Boot            bootConfig
	BMC             bmcConfig
	DHCP            dhcpConfig
	Etcd            etcdConfig
}

// service is one long-running part of serve; it returns when ctx ends.
type service func(ctx context.Context) error

func newServeCmd() *cobra.Command {
	var cfg serveConfig
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the appliance",
		Long: `Run the appliance: the inventory and the operator API.

Settings come from flags, then RACKBOOT_* environment variables (data-dir →
RACKBOOT_DATA_DIR), then the YAML file given by --config, then defaults.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyLayers(cmd.Flags(), configPath, os.Getenv); err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	addServeFlags(cmd.Flags(), &cfg, &configPath)
	return cmd
}

// addServeFlags registers serve's settings on f: serve and doctor read
// the same flags, variables and config file.
func addServeFlags(f *pflag.FlagSet, cfg *serveConfig, configPath *string) {
	f.StringVar(configPath, "config", "", "YAML config file (keys are these flag names)")
	f.StringVar(&cfg.DataDir, "data-dir", "/var/lib/rackboot", "directory for the inventory, keys and tokens (created 0700)")
	f.BoolVar(&cfg.Init, "init", false, "begin afresh where the data dir lost part of an inventory: replace an empty rackboot.db, or make a new secret.key beside one (its sealed secrets are then lost)")
	f.StringVar(&cfg.APIAddr, "api-addr", ":8080", "listen address of the operator API and dashboard")
	f.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	f.StringVar(&cfg.LogFormat, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text, json")
	f.DurationVar(&cfg.InspectTimeout, "inspect-timeout", 30*time.Minute, "time a host may stay inspecting before it is failed")
	f.DurationVar(&cfg.DeployTimeout, "deploy-timeout", 60*time.Minute, "time a host may stay deploying before it is failed")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 1500*time.Millisecond, "time open requests get to finish on SIGINT/SIGTERM")
	addTLSFlags(f, &cfg.TLS)
	addBootFlags(f, &cfg.Boot)
	addBMCFlags(f, &cfg.BMC)
	addDHCPFlags(f, &cfg.DHCP)
	addEtcdFlags(f, &cfg.Etcd)
}

func newLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want auto, text or json", format)
}

func serve(ctx context.Context, cfg serveConfig, stderr io.Writer) error {
	log, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	tokenPath := filepath.Join(cfg.DataDir, web.TokenFile)
	token, err := web.LoadOrCreateToken(tokenPath)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fleet := newFleet(cfg.BMC, store, log)
	imgs, err := images.Open(filepath.Join(cfg.DataDir, "images"), images.Options{Logger: log})
	if err != nil {
		return err
	}
	hl := &health{}
	bs, err := openBoot(ctx, cfg.Boot, cfg.DHCP.Interface, log, hl)
	if err != nil {
		return err
	}
	defer bs.close()
	bc := boot.Config{URL: bs.url, ARM64File: cfg.DHCP.ARM64BootFile, NoBootFileDeployed: cfg.DHCP.NoBootDeployed,
		NoDiscovery: cfg.Boot.NoDiscovery, KernelArgs: cfg.Boot.KernelArgs, UEFILoader: cfg.Boot.UEFILoader}
	lc := provision.New(provision.Config{Store: store, Images: imgs, Boot: bc, Logger: log.With("part", "provision"),
		Discovery: provision.DiscoveryLimits{Max: cfg.Boot.DiscoveryMax, PerMinute: cfg.Boot.DiscoveryRate},
		Timeouts:  provision.Timeouts{Inspecting: cfg.InspectTimeout, Deploying: cfg.DeployTimeout}})
	hl.lifecycle = lc
	reg.MustRegister(discoveryCollector{lc})
	graphs := &fleetconfig.Graphs{Store: store, Logger: log.With("part", "fleetconfig")}
	member := cfg.Etcd.member(store, log)
	var peerKey []byte
	if member != nil {
		peerKey = store.DeriveKey(peerBlobPurpose)
	}
	if err := bs.serveMachines(cfg.Boot, lc, graphs, cfg.DataDir, imgs, peerKey, log, cfg.ShutdownTimeout, hl); err != nil {
		return err
	}
	backup, _ := store.(web.Backuper) // nil, not a typed nil, if it is none
	api := &web.Server{Store: store, Lifecycle: lc, BootTrace: bs.trace, Token: token, Logger: log, Registry: reg, Power: fleet, Images: imgs,
		Backup: backup, Dashboard: dashboard.Config{Health: hl, TokenPath: tokenPath}}
	tlsCfg, tlsInfo, err := operatorTLS(cfg.TLS, cfg.DataDir, cfg.APIAddr, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	hup, stopHup := hangups()
	defer stopHup()
	side := operatorSide
	side.tls = tlsCfg
	svcs := []service{
		func(ctx context.Context) error {
			return serveHTTP(ctx, ln, api.Handler(), cfg.ShutdownTimeout, side)
		},
		func(ctx context.Context) error { return lc.RunTimeouts(ctx, 30*time.Second) },
		fleet.Run,
		graphs.Run,
		func(ctx context.Context) error { return bs.reloadOnHangup(ctx, hup, log) },
		func(ctx context.Context) error { return logStalledBoots(ctx, bs.trace, lc, log) },
	}
	svcs = append(svcs, bs.svcs...)
	bootInfo := bs.info
	dhcpSvcs, dhcpInfo, err := dhcpService(cfg.DHCP, lc, store, bs.trace, member, reg, log, hl)
	if err != nil {
		ln.Close()
		return err
	}
	svcs, bootInfo = append(svcs, dhcpSvcs...), append(bootInfo, dhcpInfo...)
	if member != nil {
		api.Appliances, hl.member = member, member
		fleet.Shard = member.Shard
		sync := &cluster.ImageSync{Member: member, Store: imgs, Key: peerKey}
		api.Images = sharedImages{imgs, sync}
		svcs = append(svcs, sync.Run)
		reg := cfg.registration(bs.url, apiURL(tlsCfg, ln.Addr()))
		svcs = append(svcs, func(ctx context.Context) error { return member.Register(ctx, reg) })
		bootInfo = append(bootInfo, "appliance_id", member.ID)
	}
	log.Info("rackboot serving", append([]any{"version", version, "api", ln.Addr().String(), "api_url", apiURL(tlsCfg, ln.Addr()), "data_dir", cfg.DataDir, "token_file", tokenPath}, append(tlsInfo, bootInfo...)...)...)

	g, ctx := errgroup.WithContext(ctx)
	for _, svc := range svcs {
		g.Go(func() error { return svc(ctx) })
	}
	err = g.Wait()
	log.Info("rackboot stopped")
	return err
}
