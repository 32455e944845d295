package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/spf13/cobra"
)

// finding is what one check of doctor found: nothing to fix when Fix is
// empty.
type finding struct {
	Check string
	What  string // what was found
	Fix   string // what to do; empty when all is well
}

// errDoctor is doctor's exit when a check found something to fix.
var errDoctor = errors.New("doctor found problems")

func newDoctorCmd() *cobra.Command {
	var cfg serveConfig
	var configPath string
	var probeWait time.Duration
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what serve needs before the first boot, and say what to fix",
		Long: `Check, with serve's own settings (flags, RACKBOOT_* variables, --config), what an
operator gets wrong before the first boot: the interface exists and has an
IPv4 address; the listen ports are free; no other DHCP server answers on the
interface (a DHCPDISCOVER is broadcast there); the iPXE loaders and the
installer kernel and initrd are readable; the data dir is writable; the clock
is sane. Prints one line per check and what to fix; exits 1 on a problem.

Run it before serve starts: a running rackboot holds the ports it checks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyLayers(cmd.Flags(), configPath, os.Getenv); err != nil {
				return err
			}
			found := doctor(cmd.Context(), cfg, probeWait)
			if printFindings(cmd.OutOrStdout(), found) > 0 {
				return errDoctor
			}
			return nil
		},
	}
	addServeFlags(cmd.Flags(), &cfg, &configPath)
	cmd.Flags().DurationVar(&probeWait, "dhcp-probe-wait", 4*time.Second, "how long to wait for other DHCP servers' offers")
	return cmd
}

// printFindings prints one line per finding and returns how many need a
// fix.
func printFindings(w io.Writer, found []finding) int {
	n := 0
	for _, f := range found {
		if f.Fix == "" {
			fmt.Fprintf(w, "ok       %-16s %s\n", f.Check, f.What)
			continue
		}
		n++
		fmt.Fprintf(w, "PROBLEM  %-16s %s\n         %-16s fix: %s\n", f.Check, f.What, "", f.Fix)
	}
	if n > 0 {
		fmt.Fprintf(w, "%d problem(s) to fix before rackboot serve\n", n)
	}
	return n
}

// doctor runs every check.
func doctor(ctx context.Context, cfg serveConfig, probeWait time.Duration) []finding {
	var found []finding
	mode, err := dhcp.ParseMode(cfg.DHCP.Mode)
	if err != nil {
		return []finding{{Check: "dhcp-mode", What: err.Error(), Fix: "set --dhcp-mode to proxy, full, reservation or off"}}
	}
	iface := checkInterface(cfg.DHCP.Interface, mode)
	found = append(found, iface)
	// The DHCP checks need the interface: without it they would only
	// repeat its finding.
	dhcpOn := mode != dhcp.ModeOff && cfg.DHCP.Interface != "" && iface.Fix == ""
	found = append(found, checkPorts(cfg, mode, dhcpOn)...)
	if dhcpOn {
		found = append(found, checkOtherDHCP(ctx, cfg.DHCP, mode, probeWait))
	}
	found = append(found, checkBootFiles(cfg.Boot)...)
	found = append(found, checkDataDir(cfg.DataDir))
	found = append(found, checkClock(cfg.DataDir, time.Now()))
	return found
}

func checkInterface(name string, mode dhcp.Mode) finding {
	f := finding{Check: "interface"}
	if name == "" {
		f.What = "no --interface: DHCP is off, machines must be pointed at rackboot by another DHCP server"
		if mode != dhcp.ModeOff {
			f.Fix = "set --interface to the provisioning network's interface (or --dhcp-mode off on purpose)"
		}
		return f
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		f.What = fmt.Sprintf("%s: %v", name, err)
		f.Fix = "name an interface that exists (ip -br link)"
		return f
	}
	p, err := interfacePrefix(name)
	if err != nil {
		f.What = err.Error()
		f.Fix = fmt.Sprintf("give %s a static IPv4 address on the provisioning network (ip addr add ADDR/LEN dev %s, and in /etc/network/interfaces)", name, name)
		return f
	}
	f.What = fmt.Sprintf("%s has %s", name, p)
	if ifi.Flags&net.FlagUp == 0 {
		f.What = fmt.Sprintf("%s has %s but is down", name, p)
		f.Fix = fmt.Sprintf("bring it up: ip link set %s up", name)
	}
	return f
}

// checkPorts tries to listen where serve will, and lets go at once.
func checkPorts(cfg serveConfig, mode dhcp.Mode, dhcpOn bool) []finding {
	var found []finding
	try := func(name, network, addr string) {
		if addr == "" {
			return
		}
		f := finding{Check: "port " + name, What: fmt.Sprintf("%s %s is free", addr, network)}
		var err error
		if network == "tcp" {
			var ln net.Listener
			if ln, err = net.Listen("tcp", addr); err == nil {
				ln.Close()
			}
		} else {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp4", addr); err == nil {
				c.Close()
			}
		}
		if err != nil {
			f.What = fmt.Sprintf("%s %s: %v", addr, network, err)
			f.Fix = "stop what listens there (ss -lntup), or move rackboot with --" + name
		}
		found = append(found, f)
	}
	try("api-addr", "tcp", cfg.APIAddr)
	try("http-addr", "tcp", cfg.Boot.HTTPAddr)
	try("tftp-addr", "udp", cfg.Boot.TFTPAddr)
	if dhcpOn {
		ports := []int{67}
		if mode == dhcp.ModeProxy {
			ports = append(ports, 4011)
		}
		for _, p := range ports {
			f := finding{Check: fmt.Sprintf("port %d", p), What: fmt.Sprintf("udp %d on %s is free", p, cfg.DHCP.Interface)}
			c, err := dhcp.Listen(cfg.DHCP.Interface, p)
			if err == nil {
				c.Close()
			} else {
				f.What = fmt.Sprintf("udp %d on %s: %v", p, cfg.DHCP.Interface, err)
				f.Fix = "stop the DHCP server that holds it (dnsmasq, isc-dhcp-server, kea), or run rackboot with CAP_NET_BIND_SERVICE and CAP_NET_RAW (the Debian package's unit does)"
			}
			found = append(found, f)
		}
	}
	return found
}

// checkOtherDHCP broadcasts a DISCOVER on the interface. In proxy mode
// another server is what proxy mode is for; in the other modes it is a
// problem: two servers giving addresses make clients' leases clash.
func checkOtherDHCP(ctx context.Context, c dhcpConfig, mode dhcp.Mode, wait time.Duration) finding {
	f := finding{Check: "other DHCP"}
	conn, err := dhcp.Listen(c.Interface, 68)
	if err != nil {
		f.What = fmt.Sprintf("cannot probe on %s: %v", c.Interface, err)
		f.Fix = "run doctor as root (or with CAP_NET_RAW and CAP_NET_BIND_SERVICE) while nothing holds udp 68 on the interface"
		return f
	}
	var self netip.Addr
	if p, err := interfacePrefix(c.Interface); err == nil {
		self = p.Addr()
	}
	others, err := dhcp.Probe(ctx, conn, wait, self)
	if err != nil {
		f.What = fmt.Sprintf("probe on %s: %v", c.Interface, err)
		f.Fix = "check the interface can send broadcasts"
		return f
	}
	switch {
	case len(others) == 0 && mode == dhcp.ModeProxy:
		f.What = fmt.Sprintf("no DHCP server answered on %s within %v", c.Interface, wait)
		f.Fix = "proxy mode only adds boot information to another server's offers: start that server, or use --dhcp-mode full"
	case len(others) == 0:
		f.What = fmt.Sprintf("no other DHCP server answered on %s within %v", c.Interface, wait)
	case mode == dhcp.ModeProxy:
		f.What = fmt.Sprintf("%s answers on %s (offered %s): proxy mode works beside it", others[0].IP, c.Interface, others[0].Offered)
	default:
		f.What = fmt.Sprintf("%s answers on %s (offered %s to our DISCOVER)", others[0].IP, c.Interface, others[0].Offered)
		f.Fix = fmt.Sprintf("stop the DHCP server at %s on this segment, or run --dhcp-mode proxy beside it", others[0].IP)
	}
	return f
}

func checkBootFiles(c bootConfig) []finding {
	var found []finding
	for _, name := range boot.Loaders {
		found = append(found, readable("iPXE "+name, filepath.Join(c.IPXEDir, name), "install Debian's ipxe package (apt install ipxe), or point --ipxe-dir at the loaders"))
	}
	found = append(found, checkSignedChainFiles(c)...)
	for _, f := range []struct{ name, path, flag string }{
		{"installer kernel", c.InstallerKernel, "installer-kernel"},
		{"installer initrd", c.InstallerInitrd, "installer-initrd"},
	} {
		if f.path == "" {
			found = append(found, finding{Check: f.name, What: "--" + f.flag + " is not set: machines cannot be inspected or deployed",
				Fix: "set --" + f.flag + " (rackboot image initramfs builds the initrd; the kernel comes from a linux-image package)"})
			continue
		}
		found = append(found, readable(f.name, f.path, "make "+f.path+" readable by the rackboot user, or fix --"+f.flag))
	}
	return found
}

// checkSignedChainFiles checks shim and GRUB as serve does: a problem
// when the signed chain was asked for (--uefi-loader shim, or a file
// named), otherwise a note, since only hosts with Secure Boot on, or set
// to shim, are offered them.
func checkSignedChainFiles(c bootConfig) []finding {
	required := c.signedChainRequired()
	var found []finding
	for _, f := range c.signedChainFiles() {
		r := readable(f.what, f.path, "install Debian's "+f.pkg+" package (apt install "+f.pkg+"), or point --"+f.flag+" at it")
		if r.Fix != "" && !required {
			r = finding{Check: f.what, What: f.path + ": " + r.What + "; only hosts with Secure Boot on (or set to shim) need it, and they cannot netboot without it"}
		}
		found = append(found, r)
	}
	return found
}

// readable opens path and reads its first byte.
func readable(check, path, fix string) finding {
	fh, err := os.Open(path)
	if err == nil {
		defer fh.Close()
		var fi os.FileInfo
		if fi, err = fh.Stat(); err == nil && fi.Size() == 0 {
			err = errors.New("empty file")
		} else if err == nil {
			_, err = fh.Read(make([]byte, 1))
		}
	}
	if err != nil {
		return finding{Check: check, What: err.Error(), Fix: fix}
	}
	return finding{Check: check, What: path + " is readable"}
}

// checkDataDir writes and removes a file in the data dir (or, when it
// does not exist yet, checks serve may create it).
func checkDataDir(dir string) finding {
	f := finding{Check: "data dir"}
	target := dir
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		target = filepath.Dir(dir)
	}
	tmp, err := os.CreateTemp(target, ".rackboot-doctor-*")
	if err != nil {
		f.What = err.Error()
		f.Fix = fmt.Sprintf("make %s writable by the user rackboot runs as (the Debian package: chown rackboot: %s)", dir, dir)
		return f
	}
	tmp.Close()
	os.Remove(tmp.Name())
	f.What = dir + " is writable"
	if target != dir {
		f.What = dir + " does not exist yet; serve creates it in " + target
	}
	return f
}

// checkClock: a clock before the database's last write went back (a
// dead RTC battery, no NTP), which breaks lease times and timeouts; a
// year before rackboot existed is not set at all.
func checkClock(dir string, now time.Time) finding {
	f := finding{Check: "clock", What: "now is " + now.UTC().Format(time.RFC3339)}
	if now.Year() < 2025 {
		f.Fix = "set the clock (timedatectl set-ntp true, or date -s)"
		return f
	}
	if fi, err := os.Stat(filepath.Join(dir, inventory.DatabaseFile)); err == nil && fi.ModTime().After(now.Add(time.Minute)) {
		f.What += fmt.Sprintf(", before the inventory's last write at %s", fi.ModTime().UTC().Format(time.RFC3339))
		f.Fix = "the clock went back: set it (timedatectl set-ntp true) before serving, or leases and timeouts go wrong"
	}
	return f
}
