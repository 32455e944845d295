package machineapi

import "time"

// Facts are what the installer found on a machine. The appliance stores
// them as they are (inventory.Facts is this type) and stamps InspectedAt
// itself, so a machine with a wrong clock cannot set it.
type Facts struct {
	Vendor   string `json:"vendor,omitempty"`
	Product  string `json:"product,omitempty"`
	Serial   string `json:"serial,omitempty"`
	UUID     string `json:"uuid,omitempty"`
	Firmware string `json:"firmware,omitempty"` // "bios" or "uefi"
	// SecureBoot is the firmware's SecureBoot variable: true when UEFI
	// Secure Boot is enforcing, so the host must never be offered iPXE.
	SecureBoot  bool      `json:"secure_boot"`
	CPUs        int       `json:"cpus,omitempty"`
	CPUModel    string    `json:"cpu_model,omitempty"`
	MemoryBytes uint64    `json:"memory_bytes,omitempty"`
	Disks       []Disk    `json:"disks,omitempty"`
	NICs        []NIC     `json:"nics,omitempty"`
	InspectedAt time.Time `json:"inspected_at,omitzero"` // set by the appliance
}

// Disk is one block device.
type Disk struct {
	Name      string `json:"name"`
	SizeBytes uint64 `json:"size_bytes"`
	Model     string `json:"model,omitempty"`
	Serial    string `json:"serial,omitempty"`
	Removable bool   `json:"removable,omitempty"`
}

// NIC is one physical network interface.
type NIC struct {
	Name   string `json:"name"`
	MAC    string `json:"mac"`
	Driver string `json:"driver,omitempty"`
	Up     bool   `json:"up,omitempty"`
}
