package lab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// OVMF's firmware files, from Debian's ovmf package: the plain build and
// the Secure Boot build with Microsoft's keys enrolled in its variables.
const (
	ovmfCode   = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars   = "/usr/share/OVMF/OVMF_VARS_4M.fd"
	ovmfSBCode = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
	ovmfSBVars = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
)

// The firmware kinds a VM can have.
const (
	FirmwareBIOS       = "bios"    // SeaBIOS, PXE through the NIC's iPXE ROM
	FirmwareUEFI       = "uefi"    // OVMF without Secure Boot
	FirmwareSecureBoot = "uefi-sb" // OVMF with Secure Boot on and Microsoft's keys
)

// Firmwares lists the firmware kinds, for flags and errors.
var Firmwares = []string{FirmwareBIOS, FirmwareUEFI, FirmwareSecureBoot}

// KVMUsable reports whether /dev/kvm opens for reading and writing.
func KVMUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// qemuArgv is the VM's QEMU command line without -qmp and -boot (the
// virtual BMC adds both). The NIC boots first, the disk second; the
// serial console goes to console.log, and a client of console.sock types
// into it.
func qemuArgv(v VM, kvm bool) ([]string, error) {
	accel := []string{"-accel", "tcg"}
	if kvm {
		accel = []string{"-accel", "kvm", "-cpu", "host"}
	}
	argv := append([]string{"qemu-system-x86_64"}, accel...)
	machine, nic := "q35", ""
	if v.Firmware == FirmwareSecureBoot {
		// SMM guards the variable store; the NIC has no option ROM, since
		// QEMU's is iPXE, unsigned: OVMF's own virtio-net driver PXE boots.
		machine, nic = "q35,smm=on", ",romfile="
	}
	argv = append(argv, "-machine", machine, "-m", fmt.Sprint(v.MemoryMB), "-smp", "1", "-uuid", v.UUID,
		"-smbios", "type=1,manufacturer=rackboot-lab,product=lab-vm,serial=LAB-"+strings.ReplaceAll(v.MAC, ":", ""),
		"-display", "none", "-nodefaults", "-no-user-config",
		"-chardev", "socket,id=con0,path="+v.ConsoleSocket()+",server=on,wait=off,logfile="+v.Console()+",logappend=on",
		"-serial", "chardev:con0",
		"-netdev", "tap,id=n0,ifname="+v.Tap+",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n0,mac="+v.MAC+",bootindex=1"+nic,
		"-drive", "if=none,id=d0,file="+v.Disk()+",format=raw",
		"-device", "virtio-blk-pci,drive=d0,bootindex=2")
	code, varsSrc := ovmfCode, ovmfVars
	switch v.Firmware {
	case FirmwareBIOS:
		return argv, nil
	case FirmwareUEFI:
	case FirmwareSecureBoot:
		code, varsSrc = ovmfSBCode, ovmfSBVars
		argv = append(argv, "-global", "driver=cfi.pflash01,property=secure,value=on")
	default:
		return nil, badFirmware(v.Firmware)
	}
	vars := filepath.Join(v.Dir, "OVMF_VARS.fd")
	if err := copyIfMissing(varsSrc, vars); err != nil {
		return nil, fmt.Errorf("%s (Debian's ovmf package): %w", v.Firmware, err)
	}
	return append(argv, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+code,
		"-drive", "if=pflash,format=raw,unit=1,file="+vars,
		"-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"), nil
}

func badFirmware(f string) error {
	return fmt.Errorf("%w: firmware %q: want one of %s", ErrConfig, f, strings.Join(Firmwares, ", "))
}

// copyIfMissing gives the VM its own copy of OVMF's variable store,
// which the firmware writes to.
func copyIfMissing(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
