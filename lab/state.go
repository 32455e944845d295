package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rackboot/rackboot/atomicfile"
)

// StateFile is the name of a lab's state inside its directory.
const StateFile = "lab.json"

// ErrNoLab is returned by Open for a directory without a lab.
var ErrNoLab = errors.New("no lab")

// State is what a lab is made of, written to Dir/lab.json as it is built
// so that another process can reach it and Down can remove it.
type State struct {
	Dir       string `json:"dir"`
	Namespace string `json:"namespace"` // rb-…, holds the bridge, taps and processes
	Veth      string `json:"veth"`      // host side of the pair into the namespace
	HostAddr  string `json:"host_addr"` // the veth's host side, CIDR
	LabAddr   string `json:"lab_addr"`  // its namespace side, where the API listens
	Net       string `json:"net"`       // the bridge's first three octets, e.g. 10.213.0
	API       string `json:"api"`       // https://LabAddr:8080
	// Cert is the operator API's TLS certificate (its own root) and
	// Fingerprint its SHA-256, for a browser's warning page.
	Cert        string `json:"cert"`
	Fingerprint string `json:"fingerprint"`
	// Sockets is the lab's directory of unix sockets (SocketDir).
	Sockets string `json:"sockets"`
	DataDir string `json:"data_dir"`
	Binary  string `json:"binary"`
	KVM     bool   `json:"kvm"`
	VMs     []VM   `json:"vms"`
}

// VM is one lab machine.
type VM struct {
	Name     string `json:"name"` // vm1, vm2, …
	MAC      string `json:"mac"`
	UUID     string `json:"uuid"`
	Firmware string `json:"firmware"`
	Dir      string `json:"dir"`
	// Sockets holds the console and QMP sockets: a short path under /run,
	// since a unix socket's path must fit in 108 bytes and Dir may be deep.
	Sockets     string `json:"sockets"`
	Tap         string `json:"tap"`
	BMC         string `json:"bmc"` // the BMC's address, inside the namespace
	BMCProtocol string `json:"bmc_protocol"`
	Hostname    string `json:"hostname"`
	IP          string `json:"ip"` // its DHCP reservation
	MemoryMB    int    `json:"memory_mb"`
	DiskBytes   int64  `json:"disk_bytes"`
}

// Console is the VM's serial console log; ConsoleSocket takes a client
// that types into it; QMPSocket is its BMC's line to QEMU.
func (v VM) Console() string       { return filepath.Join(v.Dir, "console.log") }
func (v VM) ConsoleSocket() string { return filepath.Join(v.Sockets, filepath.Base(v.Dir)+".con") }
func (v VM) QMPSocket() string     { return filepath.Join(v.Sockets, filepath.Base(v.Dir)+".qmp") }
func (v VM) Disk() string          { return filepath.Join(v.Dir, "disk.raw") }

func (s *State) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.Dir, StateFile), append(b, '\n'), 0o600)
}

func readState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (rackboot lab up --dir %s)", dir, ErrNoLab, dir)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return &s, nil
}

// VM finds a VM by name or MAC.
func (s *State) VM(name string) (VM, bool) {
	for _, v := range s.VMs {
		if v.Name == name || v.MAC == name || v.Hostname == name {
			return v, true
		}
	}
	return VM{}, false
}
