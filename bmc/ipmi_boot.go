package bmc

import (
	"context"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// BootOverride reads IPMI system boot option 5 (the boot flags) with
// `ipmitool chassis bootparam get 5`, which bmclib does not offer.
func (s *ipmiSession) BootOverride(ctx context.Context) (bootOverride, error) {
	args := []string{"-I", "lanplus", "-U", s.t.Username, "-E", "-N", "5", "-H", s.t.host(), "-p", strconv.Itoa(s.t.port()),
		"-C", s.cipher, "chassis", "bootparam", "get", "5"}
	tool := s.tool
	if tool == "" {
		tool = "ipmitool"
	}
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = []string{"IPMITOOL_PASSWORD=" + s.t.Password}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return bootOverride{}, s.classify(ctx, fmt.Errorf("chassis bootparam get 5: %w: %s", err, strings.TrimSpace(string(out))))
	}
	return parseBootFlags(string(out))
}

// parseBootFlags reads the "Boot parameter data:" bytes ipmitool prints
// for parameter 5 (IPMI 2.0, table 28-14): byte 1 bit 7 valid, bit 6
// persistent; byte 2 bits 5:2 the device. Only the device is checked
// (bootOverride.DeviceOnly).
func parseBootFlags(out string) (bootOverride, error) {
	for _, line := range strings.Split(out, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "Boot parameter data:")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil || len(b) < 2 {
			return bootOverride{}, fmt.Errorf("boot parameter 5 data %q: want at least 2 hex bytes", strings.TrimSpace(v))
		}
		dev := map[byte]string{0: "none", 1: string(BootPXE), 2: string(BootDisk), 3: string(BootDisk), 4: "diag", 5: "cdrom", 6: "bios", 15: "floppy"}[b[1]>>2&0x0f]
		if dev == "" {
			dev = fmt.Sprintf("device %d", b[1]>>2&0x0f)
		}
		return bootOverride{Device: dev, Enabled: b[0]&0x80 != 0 && dev != "none", Persistent: b[0]&0x40 != 0, DeviceOnly: true}, nil
	}
	return bootOverride{}, fmt.Errorf("no boot parameter data in ipmitool's answer: %.200q", out)
}
