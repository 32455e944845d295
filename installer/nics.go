package installer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/rackboot/rackboot/machineapi"
)

// nics lists the physical network interfaces in /sys/class/net, sorted by
// name. An interface without a device link (loopback, bridges, bonds,
// VLANs) is virtual and not a fact about the machine.
func nics(root string) ([]machineapi.NIC, error) {
	dir := filepath.Join(root, "sys/class/net")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("nics: %w", err)
	}
	var out []machineapi.NIC
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(p, "device")); err != nil {
			continue
		}
		out = append(out, readNIC(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// readNIC reads one /sys/class/net/<name> directory. Up means the link has
// carrier: operstate is "up", or "unknown" (drivers that do not report it)
// with carrier 1.
func readNIC(dir string) machineapi.NIC {
	n := machineapi.NIC{
		Name: filepath.Base(dir),
		MAC:  readTrim(filepath.Join(dir, "address")),
	}
	if target, err := os.Readlink(filepath.Join(dir, "device/driver")); err == nil {
		n.Driver = filepath.Base(target)
	}
	switch readTrim(filepath.Join(dir, "operstate")) {
	case "up":
		n.Up = true
	case "unknown":
		n.Up = readTrim(filepath.Join(dir, "carrier")) == "1"
	}
	return n
}
