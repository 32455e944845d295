package installer

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memoryBytes is the machine's memory as the firmware describes it (the sum
// of the SMBIOS memory devices), falling back to the kernel's MemTotal.
//
// Why the firmware's figure first: MemTotal is what is left after the
// firmware's reservations and the kernel's own image, so a VM given 512 MiB
// shows about 480 MiB and the figure moves with the kernel version and its
// options. The installed size is the stable hardware fact an operator
// bought, compares against what QEMU was given, and matches a BMC's view.
func memoryBytes(root string) (uint64, error) {
	if table, err := os.ReadFile(filepath.Join(root, "sys/firmware/dmi/tables/DMI")); err == nil {
		if n := smbiosMemory(parseSMBIOS(table)); n > 0 {
			return n, nil
		}
	}
	return memTotal(root)
}

// memTotal returns /proc/meminfo's MemTotal in bytes.
func memTotal(root string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return 0, fmt.Errorf("meminfo: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("meminfo: MemTotal: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("meminfo: no MemTotal")
}
