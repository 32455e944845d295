package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Lab is a running lab; its State is also in Dir/lab.json.
type Lab struct {
	State
	// Progress receives one line per step of Up; nil discards them.
	Progress io.Writer
}

// ErrRunning is returned by Up for a directory whose lab is still up.
var ErrRunning = errors.New("a lab is running there")

// Up builds the lab described by cfg: the namespace and its network, the
// appliance, and cfg.VMs VMs enrolled with their BMCs and (unless
// cfg.NoPowerOn) powered on. On failure it removes what it made.
func Up(ctx context.Context, cfg Config, progress io.Writer) (l *Lab, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab dir: %w", err)
	}
	ns, veth := names(dir)
	if nsExists(ns) {
		return nil, fmt.Errorf("%s: %w (rackboot lab down --dir %s)", dir, ErrRunning, dir)
	}
	// A lab whose owner was killed mid-way may have left its veth.
	if err := removeNetwork(ns, veth); err != nil {
		return nil, err
	}
	// Two labs coming up at once must not pick the same veth addresses.
	unlock, err := lockNetworks()
	if err != nil {
		return nil, err
	}
	defer unlock()
	hostAddr, labAddr, err := pickVethNet()
	if err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return nil, err
	}
	l = &Lab{Progress: progress, State: State{Dir: dir, Namespace: ns, Veth: veth, HostAddr: hostAddr, LabAddr: labAddr,
		Net: "10.213.0", API: "https://" + labAddr + ":8080", Sockets: SocketDir(ns), DataDir: filepath.Join(dir, "data"), Binary: bin, KVM: KVMUsable()}}
	// Saved before anything exists, so that Down finds whatever follows.
	if err := l.save(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			l.Down()
			l = nil
		}
	}()
	if err := os.MkdirAll(l.Sockets, 0o700); err != nil {
		return l, fmt.Errorf("lab sockets: %w", err)
	}
	l.say("network: namespace %s, bridge %s.1/24, API at %s (veth %s)", l.Namespace, l.Net, l.LabAddr, l.Veth)
	err = makeNetwork(ctx, &l.State)
	unlock()
	if err != nil {
		return l, err
	}
	if cfg.NoAppliance {
		if cfg.VMs > 0 {
			return l, fmt.Errorf("%w: a lab with no appliance gets no VMs from Up (add them with AddVM, NoEnrol)", ErrConfig)
		}
		return l, nil
	}
	if err := l.start(ctx, cfg); err != nil {
		return l, err
	}
	if err := l.provide(ctx, cfg); err != nil {
		return l, err
	}
	for i := 0; i < cfg.VMs; i++ {
		if _, err := l.AddVM(ctx, VMSpec{Firmware: cfg.firmware(i), MemoryMB: cfg.MemoryMB, DiskBytes: cfg.DiskBytes, BMC: cfg.BMC}); err != nil {
			return l, err
		}
	}
	if !cfg.NoPowerOn {
		for _, v := range l.VMs {
			if err := l.Power(ctx, v.MAC, "on"); err != nil {
				return l, err
			}
		}
	}
	return l, nil
}

func (l *Lab) say(format string, args ...any) {
	if l.Progress != nil {
		fmt.Fprintf(l.Progress, format+"\n", args...)
	}
}

// start runs the appliance in the lab's network.
func (l *Lab) start(ctx context.Context, cfg Config) error {
	kernel, initrd := cfg.InstallerKernel, cfg.InstallerInitrd
	if kernel == "" || initrd == "" {
		l.say("installer: Debian's kernel (cached in %s) and a ramdisk with this rackboot as /init", CacheDir())
		k, err := FetchKernel(ctx)
		if err != nil {
			return err
		}
		kernel, initrd = k.Vmlinuz, filepath.Join(l.Dir, "installer.cpio.gz")
		if err := BuildInstaller(k, l.Binary, initrd); err != nil {
			return err
		}
	}
	if err := l.identity(); err != nil {
		return err
	}
	args := []string{l.Binary, "serve", "--data-dir", l.DataDir, "--log-format", "json",
		"--api-addr", l.LabAddr + ":8080", "--http-addr", l.Net + ".1:8081", "--tftp-addr", l.Net + ".1:69",
		"--interface", "br0", "--dhcp-mode", "full", "--dhcp-range", l.Net + ".100-" + l.Net + ".150",
		"--installer-kernel", kernel, "--installer-initrd", initrd, "--bmc-min-gap", "200ms"}
	if !l.KVM {
		// Under TCG on a loaded machine the installer kernel's IO-APIC
		// timer check can miss its ticks and panic ("IO-APIC + timer
		// doesn't work!"), seen here at a load average of 30.
		args = append(args, "--installer-args", "console=tty0 console=ttyS0,115200n8 no_timer_check")
	}
	if _, err := startIn(l.Namespace, filepath.Join(l.Dir, "serve.log"), nil, append(args, cfg.ServeArgs...)...); err != nil {
		return err
	}
	if err := l.waitAPI(ctx, time.Minute); err != nil {
		return fmt.Errorf("%w (see %s)", err, filepath.Join(l.Dir, "serve.log"))
	}
	l.say("appliance: up (log %s)", filepath.Join(l.Dir, "serve.log"))
	return nil
}

// waitAPI polls the API's health check from the host side of the veth.
func (l *Lab) waitAPI(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	c, err := l.httpClient()
	if err != nil {
		return err
	}
	c.Timeout = 2 * time.Second
	for {
		resp, err := c.Get(l.API + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("appliance: API not answering at %s after %v", l.API, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Open reads the lab in dir, made by Up in this or another process.
func Open(dir string) (*Lab, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s, err := readState(abs)
	if err != nil {
		return nil, err
	}
	return &Lab{State: *s}, nil
}

// Running reports whether the lab's namespace exists.
func (l *Lab) Running() bool { return nsExists(l.Namespace) }

// Down removes the lab: every process in its namespace, the namespace
// (and with it the bridge, taps and veth) and its state file. The
// directory keeps the logs, consoles and disks.
func (l *Lab) Down() error {
	err := removeNetwork(l.Namespace, l.Veth)
	if l.Sockets != "" { // after the processes that listen on them
		os.RemoveAll(l.Sockets)
	}
	if err == nil {
		err = os.Remove(filepath.Join(l.Dir, StateFile))
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	}
	return err
}

// DownDir removes the lab of dir, whether or not its state file is left:
// the namespace and veth names follow from the directory.
func DownDir(dir string) error {
	if l, err := Open(dir); err == nil {
		return l.Down()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	ns, veth := names(abs)
	err = removeNetwork(ns, veth)
	os.RemoveAll(SocketDir(ns))
	return err
}

// DashboardURL is where a browser on this machine opens the dashboard.
func (l *Lab) DashboardURL() string { return l.API + "/ui/" }

// TokenFile holds the operator token the dashboard and API ask for.
func (l *Lab) TokenFile() string { return filepath.Join(l.DataDir, "admin.token") }

// Token reads the operator token.
func (l *Lab) Token() (string, error) {
	b, err := os.ReadFile(l.TokenFile())
	return strings.TrimSpace(string(b)), err
}
