package lab

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestQEMUArgvSecureBoot checks the Secure Boot VM's command line against
// what OVMF's Secure Boot build needs: SMM, the secure flash, its code,
// a private copy of the variable store with Microsoft's keys, and no
// option ROM on the NIC (QEMU's is unsigned iPXE).
func TestQEMUArgvSecureBoot(t *testing.T) {
	if _, err := os.Stat(ovmfSBVars); err != nil {
		t.Skipf("%s: %v (Debian's ovmf package)", ovmfSBVars, err)
	}
	v := VM{Name: "vm1", MAC: MAC(1), UUID: "u", Firmware: FirmwareSecureBoot, Dir: t.TempDir(), Tap: "tap1", Sockets: "/run/rackboot-lab/x", MemoryMB: 512}
	argv, err := qemuArgv(v, false)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(argv, " ")
	for _, want := range []string{"-machine q35,smm=on", "driver=cfi.pflash01,property=secure,value=on",
		"file=" + ovmfSBCode, "file=" + filepath.Join(v.Dir, "OVMF_VARS.fd"), "bootindex=1,romfile= "} {
		if !strings.Contains(line, want) {
			t.Errorf("argv lacks %q:\n%s", want, line)
		}
	}
	got, _ := os.ReadFile(filepath.Join(v.Dir, "OVMF_VARS.fd"))
	ms, _ := os.ReadFile(ovmfSBVars)
	if !bytes.Equal(got, ms) {
		t.Errorf("the VM's variable store is not a copy of %s", ovmfSBVars)
	}
	v.Firmware = FirmwareUEFI
	if argv, _ := qemuArgv(v, false); slices.Contains(argv, "q35,smm=on") || strings.Contains(strings.Join(argv, " "), "romfile=") {
		t.Errorf("a plain UEFI VM got Secure Boot's machine or NIC: %q", argv)
	}
	if _, err := qemuArgv(VM{Firmware: "secureboot", Dir: t.TempDir()}, false); !errors.Is(err, ErrConfig) {
		t.Errorf("firmware secureboot: %v, want ErrConfig", err)
	}
}

// TestSocketPathsFit: a VM's sockets are under the lab's socket dir,
// whose path does not grow with the lab's directory, and fit AF_UNIX's
// 108 bytes with the longest VM directory name.
func TestSocketPathsFit(t *testing.T) {
	deep := "/tmp/" + strings.Repeat("TestAVeryLongTestNameIndeed/", 8)
	ns, _ := names(deep)
	v := VM{Dir: filepath.Join(deep, "vm99"), Sockets: SocketDir(ns)}
	for _, p := range []string{v.ConsoleSocket(), v.QMPSocket()} {
		if len(p) >= 108 || strings.HasPrefix(p, deep) {
			t.Errorf("%s: %d bytes, or under the lab's directory", p, len(p))
		}
	}
}
