package lab

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Config is the shape of a lab; the zero value is one SeaBIOS VM with
// 512 MiB and a 1 GiB disk behind a Redfish BMC.
type Config struct {
	// Dir holds the lab's state, data and logs (created). Required.
	Dir string
	// Binary is a static rackboot binary: the appliance, the virtual
	// BMCs and the installer's /init. Required.
	Binary string
	// InstallerKernel and InstallerInitrd are the installer's files; empty
	// means Debian's kernel (FetchKernel) and a ramdisk built from it.
	InstallerKernel, InstallerInitrd string
	// VMs is how many VMs Up creates and powers on.
	VMs int
	// Firmware is each VM's firmware in turn, one of Firmwares (bios,
	// uefi, uefi-sb), repeated when shorter than VMs; empty is bios.
	Firmware []string
	// BMC is the VMs' BMC: "redfish" (the default, rackboot bmc virtual)
	// or "ipmi" (OpenIPMI's ipmi_sim).
	BMC string
	// MemoryMB and DiskBytes size every VM; 0 is 512 MiB and 1 GiB.
	MemoryMB  int
	DiskBytes int64
	// ServeArgs are extra flags for `rackboot serve`.
	ServeArgs []string
	// Image is an OS image file Up imports (as ImageName); AgentConfig an
	// agent config it applies to the VMs (selector lab=yes).
	Image, AgentConfig string
	// NoPowerOn leaves the VMs off after enrolling them.
	NoPowerOn bool
	// NoAppliance makes the network only: the namespace, its bridge and
	// the veth to the host, with no appliance and no VMs, for tests that
	// run appliances of their own on the bridge (several on one etcd
	// inventory). VMs added to it must be NoEnrol.
	NoAppliance bool
}

// ErrConfig marks a lab configuration that cannot be built.
var ErrConfig = errors.New("lab config")

func (c Config) firmware(i int) string {
	if len(c.Firmware) == 0 {
		return "bios"
	}
	return c.Firmware[i%len(c.Firmware)]
}

func (c Config) check() error {
	if c.Dir == "" || c.Binary == "" {
		return fmt.Errorf("%w: a directory and a rackboot binary are required", ErrConfig)
	}
	if c.VMs < 0 || c.VMs > 40 {
		return fmt.Errorf("%w: --vms %d: want 0 to 40", ErrConfig, c.VMs)
	}
	for _, f := range c.Firmware {
		if !slices.Contains(Firmwares, f) {
			return badFirmware(f)
		}
	}
	if b := cmp.Or(c.BMC, "redfish"); b != "redfish" && b != "ipmi" {
		return fmt.Errorf("%w: bmc %q: want redfish or ipmi", ErrConfig, b)
	}
	return nil
}

// ParseSize reads a size such as 512M, 4G, 4GiB or a plain byte count.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "IB"), "B")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional K, M, G or T", s)
	}
	return n * mult, nil
}
