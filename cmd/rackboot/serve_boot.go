package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/fleetconfig"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/machine"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/tftp"
	"github.com/spf13/pflag"
)

// bootConfig is the netboot chain's part of serveConfig: TFTP for the
// first-stage loaders and the machine-facing HTTP server.
type bootConfig struct {
	HTTPAddr        string
	BootURL         string
	TFTPAddr        string
	IPXEDir         string
	UEFILoader      string
	ShimFile        string
	GRUBFile        string
	InstallerKernel string
	InstallerInitrd string
	TemplatesDir    string
	KernelArgs      string
	NoDiscovery     bool
	DiscoveryMax    int
	DiscoveryRate   int
}

func addBootFlags(f *pflag.FlagSet, c *bootConfig) {
	f.StringVar(&c.HTTPAddr, "http-addr", ":8081", "listen address of the machine-facing HTTP server (scripts, kernels, installer callbacks); empty turns it off")
	f.StringVar(&c.BootURL, "boot-url", "", "URL machines reach --http-addr at (default http://<http-addr host>:<port> when the host is an IP)")
	f.StringVar(&c.TFTPAddr, "tftp-addr", ":69", "listen address of the TFTP server for the iPXE loaders; empty turns it off")
	f.StringVar(&c.IPXEDir, "ipxe-dir", boot.LoaderDir, "directory holding undionly.kpxe, ipxe.efi and snponly.efi")
	f.StringVar(&c.UEFILoader, "uefi-loader", boot.UEFIIPXE, "what UEFI x86-64 clients get first: ipxe, or shim (Debian's signed shim, GRUB and a grub.cfg, for Secure Boot); a host's uefi_loader overrides it, and a host whose facts say Secure Boot is on always gets shim")
	f.StringVar(&c.ShimFile, "shim-file", boot.ShimFile, "Debian's signed shim (package shim-signed), served as bootx64.efi")
	f.StringVar(&c.GRUBFile, "grub-file", boot.GRUBFile, "Debian's signed network GRUB (package grub-efi-amd64-signed), served beside shim as grubx64.efi")
	f.StringVar(&c.InstallerKernel, "installer-kernel", "", "kernel the installer boots (served as /boot/installer/vmlinuz)")
	f.StringVar(&c.InstallerInitrd, "installer-initrd", "", "installer initramfs built by `rackboot image initramfs` (served as /boot/installer/initrd.cpio.gz)")
	f.StringVar(&c.TemplatesDir, "templates-dir", "", "directory of script overrides: installer, localboot and hold, each .ipxe (iPXE) or .grub (grub.cfg) (default DATA_DIR/templates)")
	f.StringVar(&c.KernelArgs, "installer-args", "", "extra installer kernel arguments (default console=tty0 console=ttyS0,115200n8)")
	f.BoolVar(&c.NoDiscovery, "no-discovery", false, "do not enlist unknown machines: they boot from their disk")
	f.IntVar(&c.DiscoveryMax, "discovery-max", 1024, "most hosts discovered or inspecting at once; beyond it unknown machines are not enlisted (-1: no cap)")
	f.IntVar(&c.DiscoveryRate, "discovery-rate", 120, "most unknown machines enlisted a minute, in bursts of as many (-1: no limit)")
}

// ipxeFiles are the loaders, served as they are named in the iPXE dir.
// They are operator-named files, so symlinks are followed (Debian's
// ipxe.efi is a link to /boot/ipxe.efi).
func ipxeFiles(dir string) map[string]string {
	m := map[string]string{}
	for _, name := range boot.Loaders {
		m[name] = filepath.Join(dir, name)
	}
	return m
}

// bootURL is where machines reach the HTTP boot server: --boot-url, else
// the listener's address, where a wildcard address (the default :8081)
// stands for the address of --interface, the provisioning network.
func (c *bootConfig) bootURL(ln net.Listener, iface string) (string, error) {
	if c.BootURL != "" {
		u, err := url.Parse(c.BootURL)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return "", fmt.Errorf("--boot-url %q: want http://HOST:PORT", c.BootURL)
		}
		return c.BootURL, nil
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsUnspecified() {
		return "http://" + addr.String(), nil
	}
	if iface == "" {
		return "", fmt.Errorf("--http-addr %s listens on every address: set --interface (the provisioning network) or --boot-url to the URL machines reach it at", c.HTTPAddr)
	}
	local, err := interfacePrefix(iface)
	if err != nil {
		return "", err
	}
	return "http://" + net.JoinHostPort(local.Addr().String(), strconv.Itoa(addr.Port)), nil
}

// bootSide is the netboot chain's part of serve: TFTP for the loaders and
// the listener of the machine-facing HTTP side.
type bootSide struct {
	svcs []service
	info []any
	ln   net.Listener // nil: no HTTP side here
	url  string       // where machines reach it; "" when served nowhere
	ms   *machine.Server
	tftp *tftp.Server // nil: no TFTP here
	// trace is the boot steps DHCP, TFTP and the HTTP side see.
	trace *boottrace.Trace
}

// openBoot opens the TFTP and HTTP boot listeners; a listener that cannot
// open fails serve at start. iface is --interface.
func openBoot(ctx context.Context, c bootConfig, iface string, log *slog.Logger, hl *health) (*bootSide, error) {
	b := &bootSide{url: c.BootURL, trace: &boottrace.Trace{}}
	if err := c.checkSignedChain(log); err != nil {
		return nil, err
	}
	if c.TFTPAddr != "" {
		conn, err := tftp.Listen(ctx, "", c.TFTPAddr)
		if err != nil {
			return nil, err
		}
		ts := &tftp.Server{Roots: []string{c.IPXEDir}, Files: c.tftpFiles(), Logger: log.With("part", "tftp"), Sent: b.traceTFTP}
		hl.tftp = ts
		b.tftp = ts
		b.svcs = append(b.svcs, func(ctx context.Context) error { return ts.Serve(ctx, conn) })
		b.info = append(b.info, "tftp", conn.LocalAddr().String())
	}
	if c.HTTPAddr == "" {
		return b, nil // HTTP boot served elsewhere, or not at all
	}
	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		b.close()
		return nil, fmt.Errorf("http boot: %w", err)
	}
	b.ln = ln
	if b.url, err = c.bootURL(ln, iface); err != nil {
		b.close()
		return nil, err
	}
	b.info = append(b.info, "http", ln.Addr().String(), "boot_url", b.url)
	return b, nil
}

// serveMachines adds the machine-facing HTTP side on the listener, for lc;
// graphs renders the agents' configs (serve runs it). With a peerKey
// (several appliances), it also serves image blobs to peers.
func (b *bootSide) serveMachines(c bootConfig, lc *provision.Lifecycle, graphs *fleetconfig.Graphs, dataDir string, imgs *images.Store, peerKey []byte, log *slog.Logger, grace time.Duration, hl *health) error {
	if b.ln == nil {
		return nil
	}
	ms := &machine.Server{Lifecycle: lc, Graphs: graphs, IPXEFiles: ipxeFiles(c.IPXEDir), Images: imgs, InstallerKernel: c.InstallerKernel,
		InstallerInitrd: c.InstallerInitrd, TemplatesDir: firstOf(c.TemplatesDir, filepath.Join(dataDir, "templates")),
		ShimFile: c.ShimFile, GRUBFile: c.GRUBFile, Trace: b.trace, Logger: log.With("part", "machine")}
	if peerKey != nil {
		ms.PeerBlobs, ms.PeerKey = imgs, peerKey
	}
	h, err := ms.Handler()
	if err != nil {
		return err
	}
	b.ms = ms
	if b.tftp != nil {
		b.tftp.Generate = ms.GRUBConfig // before the TFTP service starts
	}
	h = hl.countBytes(h)
	b.svcs = append(b.svcs, func(ctx context.Context) error { return serveHTTP(ctx, b.ln, h, grace, machineSide) })
	return nil
}

// close closes what openBoot opened but no service serves yet.
func (b *bootSide) close() {
	if b.ln != nil {
		b.ln.Close()
	}
}

// hangups delivers SIGHUP (systemctl reload) from now on, instead of its
// default of ending the process; stop undoes it. serve calls it before it
// says it is serving, so no reload sent after that can kill it.
func hangups() (ch <-chan os.Signal, stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup, func() { signal.Stop(hup) }
}

// reloadOnHangup reads the script templates again on each SIGHUP until
// ctx ends. A set that does not parse is logged and the scripts in use
// stay.
func (b *bootSide) reloadOnHangup(ctx context.Context, hup <-chan os.Signal, log *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
		}
		if b.ms == nil {
			log.Info("SIGHUP: no machine-facing side here, nothing to reload")
			continue
		}
		if err := b.ms.ReloadTemplates(); err != nil {
			log.Error("SIGHUP: templates not reloaded; the ones in use stay", "err", err)
			continue
		}
		log.Info("SIGHUP: templates reloaded", "dir", b.ms.TemplatesDir)
	}
}
