package lab

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// VMSpec is the shape of one VM; zero fields are the defaults: the next
// index, name vmN, bios, 512 MiB, a 1 GiB disk, hostname vmN, a DHCP reservation
// of NET.(10+N), the label lab=yes.
type VMSpec struct {
	Index     int    // 1 to 99: numbers the VM's MAC, tap, BMC port and directory (vmN)
	Name      string // default vmN
	Firmware  string
	MemoryMB  int
	DiskBytes int64
	Hostname  string
	IP        string
	Labels    map[string]string
	// BMC is "redfish" (default: rackboot bmc virtual) or "ipmi"
	// (OpenIPMI's ipmi_sim with Chassis as its chassis control).
	BMC string
	// IgnoreBootOverride makes the BMC accept boot overrides and keep its
	// old one, like a faulty vendor BMC (for tests).
	IgnoreBootOverride bool
	// UEFILoader is the host's uefi_loader (ipxe or shim); empty is shim
	// for a Secure Boot VM (the only chain its firmware starts) and serve's
	// default otherwise.
	UEFILoader string
	// Unenrolled starts the VM at once with no BMC and no host record: a
	// machine the appliance has never heard of, netbooting.
	Unenrolled bool
	// NoEnrol starts the VM's BMC (the VM stays off) and enrols it
	// nowhere: the caller enrols it with its own appliance (v.BMC,
	// BMCPassword(v)). BMCHost is the address the BMC listens on inside
	// the lab's namespace; empty is 127.0.0.1, which only an appliance in
	// that namespace reaches.
	NoEnrol bool
	BMCHost string
}

// MAC is the MAC address of the lab's VM number i.
func MAC(i int) string { return fmt.Sprintf("52:54:00:1a:b0:%02x", i) }

// AddVM creates a VM with a blank disk behind its own virtual BMC and
// enrols it with the appliance; it is left powered off (unless
// s.Unenrolled: then it has no BMC and runs at once).
func (l *Lab) AddVM(ctx context.Context, s VMSpec) (VM, error) {
	i := cmp.Or(s.Index, len(l.VMs)+1)
	if i < 1 || i > 99 {
		return VM{}, fmt.Errorf("%w: VM index %d: want 1 to 99", ErrConfig, i)
	}
	v := VM{Name: cmp.Or(s.Name, fmt.Sprintf("vm%d", i)), MAC: MAC(i), Sockets: l.Sockets,
		UUID:     fmt.Sprintf("a1b2c3d4-0000-4000-8000-0000000000%02x", i),
		Firmware: cmp.Or(s.Firmware, "bios"), Dir: filepath.Join(l.Dir, fmt.Sprintf("vm%d", i)), Tap: fmt.Sprintf("tap%d", i),
		BMC: fmt.Sprintf("http://%s:%d", cmp.Or(s.BMCHost, "127.0.0.1"), 9000+i), MemoryMB: cmp.Or(s.MemoryMB, 512), DiskBytes: cmp.Or(s.DiskBytes, 1<<30)}
	v.BMCProtocol = cmp.Or(s.BMC, "redfish")
	if v.BMCProtocol == "ipmi" {
		v.BMC = fmt.Sprintf("%s:%d", cmp.Or(s.BMCHost, "127.0.0.1"), 9000+i)
	} else if v.BMCProtocol != "redfish" {
		return VM{}, fmt.Errorf("%w: bmc %q: want redfish or ipmi", ErrConfig, v.BMCProtocol)
	}
	v.Hostname = cmp.Or(s.Hostname, v.Name)
	v.IP = cmp.Or(s.IP, fmt.Sprintf("%s.%d", l.Net, 10+i))
	if _, dup := l.State.VM(v.Name); dup {
		return VM{}, fmt.Errorf("%w: %s exists", ErrConfig, v.Name)
	}
	l.say("%s: %s, %d MiB, %d MiB disk, MAC %s, BMC %s (%s)", v.Name, v.Firmware, v.MemoryMB, v.DiskBytes>>20, v.MAC, v.BMC, v.BMCProtocol)
	if err := os.MkdirAll(v.Dir, 0o755); err != nil {
		return VM{}, err
	}
	if err := os.Remove(v.Console()); err != nil && !os.IsNotExist(err) { // an earlier lab's
		return VM{}, err
	}
	if err := newSparse(v.Disk(), v.DiskBytes); err != nil {
		return VM{}, err
	}
	if err := addTap(ctx, l.Namespace, v.Tap); err != nil {
		return VM{}, err
	}
	argv, err := qemuArgv(v, l.KVM)
	if err != nil {
		return VM{}, err
	}
	if s.Unenrolled {
		v.BMC, v.BMCProtocol = "", ""
	}
	l.VMs = append(l.VMs, v)
	if err := l.save(); err != nil {
		return VM{}, err
	}
	if s.Unenrolled {
		_, err := startIn(l.Namespace, filepath.Join(v.Dir, "qemu.log"), nil, argv...)
		return v, err
	}
	env := []string{"RACKBOOT_BMC_PASSWORD=" + bmcPassword(v)}
	if err := l.startBMC(ctx, v, s, 9000+i, argv); err != nil {
		return VM{}, err
	}
	if s.NoEnrol {
		return v, nil
	}
	labels := s.Labels
	if labels == nil {
		labels = map[string]string{"lab": "yes"}
	}
	args := []string{"host", "add", v.MAC, "--hostname", v.Hostname, "--ip", v.IP,
		"--bmc-address", v.BMC, "--bmc-protocol", v.BMCProtocol, "--bmc-username", "admin"}
	if loader := s.UEFILoader; loader != "" || v.Firmware == FirmwareSecureBoot {
		args = append(args, "--uefi-loader", cmp.Or(loader, "shim"))
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--label", k+"="+labels[k])
	}
	// The VM is new (blank disk): so is its host record, even when an
	// earlier lab in this directory left one in the data dir it keeps.
	if _, err := l.Host(ctx, v.MAC); err == nil {
		if out, err := l.CLI(ctx, nil, "host", "rm", v.MAC); err != nil {
			return VM{}, fmt.Errorf("%s: remove an earlier lab's host record: %w: %s", v.Name, err, out)
		}
	}
	if out, err := l.CLI(ctx, env, args...); err != nil {
		return VM{}, fmt.Errorf("enrol %s: %w: %s", v.Name, err, out)
	}
	return v, nil
}

// bmcPassword is the VM's BMC password: the lab is private to root on
// this machine, and a password per VM shows each host keeps its own. IPMI
// takes at most 20 bytes.
func bmcPassword(v VM) string { return "lab-" + strings.ReplaceAll(v.MAC, ":", "") }

// BMCPassword is the password of v's BMC, for enrolling a NoEnrol VM.
func BMCPassword(v VM) string { return bmcPassword(v) }

func newSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startBMC runs the VM's BMC in the namespace and waits until it answers.
func (l *Lab) startBMC(ctx context.Context, v VM, s VMSpec, port int, qemu []string) error {
	log := filepath.Join(v.Dir, "bmc.log")
	listen := strings.TrimPrefix(v.BMC, "http://")
	if v.BMCProtocol == "ipmi" {
		argv, err := IPMISim(l.Binary, filepath.Join(v.Dir, "ipmi"), port, "admin", bmcPassword(v), qemu)
		if err != nil {
			return err
		}
		if _, err := startIn(l.Namespace, log, nil, argv...); err != nil {
			return err
		}
		return l.waitIPMI(ctx, v)
	}
	bmc := []string{l.Binary, "bmc", "virtual", "--listen", listen, "--qmp-socket", v.QMPSocket(), "--log-format", "json"}
	if s.IgnoreBootOverride {
		bmc = append(bmc, "--ignore-boot-override")
	}
	env := []string{"RACKBOOT_BMC_PASSWORD=" + bmcPassword(v)}
	if _, err := startIn(l.Namespace, log, env, append(append(bmc, "--"), qemu...)...); err != nil {
		return err
	}
	if err := waitListening(ctx, l.Namespace, listen, 30*time.Second); err != nil {
		return fmt.Errorf("%s's BMC: %w (see %s)", v.Name, err, log)
	}
	return nil
}

// waitIPMI asks ipmi_sim for the chassis power until it answers.
func (l *Lab) waitIPMI(ctx context.Context, v VM) error {
	host, port, _ := strings.Cut(v.BMC, ":")
	var out string
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if out, err = l.Exec(ctx, "ipmitool", "-I", "lanplus", "-H", host, "-p", port, "-U", "admin", "-P", bmcPassword(v),
			"-N", "2", "-R", "1", "chassis", "power", "status"); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s's IPMI BMC does not answer: %v: %s (see %s)", v.Name, err, strings.TrimSpace(out), filepath.Join(v.Dir, "bmc.log"))
}
