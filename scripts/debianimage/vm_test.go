package debianimage

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A firmware the image must boot under, with the QEMU arguments for it.
type firmware struct {
	name       string
	machine    string
	code, vars string // pflash images; none for SeaBIOS
	secure     bool
}

var firmwares = []firmware{
	{name: "bios", machine: "pc"},
	{name: "uefi", machine: "q35", code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd"},
	// Microsoft's keys enrolled, as on most servers: shim is signed by
	// Microsoft, grub and the kernel by Debian.
	{name: "secureboot", machine: "q35,smm=on", code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
		vars: "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", secure: true},
}

// vm is one QEMU process whose serial console goes to a file.
type vm struct {
	console string
	start   time.Time
	done    chan error
	stderr  bytes.Buffer
}

// boot starts QEMU (TCG, 1 GiB, one CPU) on the disk and the seed. Its
// only NIC is user-mode networking with restrict=on: DHCP from QEMU, so
// that systemd-networkd-wait-online is satisfied, and no route anywhere;
// no option ROM, so nothing but the disk boots. -no-reboot turns a reset
// (a firmware or shim falling back) into a failure.
func boot(ctx context.Context, t *testing.T, fw firmware, dir, disk, seed string) *vm {
	t.Helper()
	v := &vm{console: filepath.Join(dir, "console.log"), done: make(chan error, 1)}
	args := []string{"-accel", "tcg", "-machine", fw.machine, "-m", "1024", "-smp", "1",
		"-display", "none", "-nodefaults", "-no-user-config", "-no-reboot",
		"-serial", "file:" + v.console,
		"-drive", "if=virtio,format=qcow2,file=" + disk,
		"-drive", "if=virtio,format=raw,file=" + seed,
		"-netdev", "user,id=n0,restrict=on",
		"-device", "virtio-net-pci,netdev=n0,romfile=",
	}
	if fw.secure {
		args = append(args, "-global", "driver=cfi.pflash01,property=secure,value=on")
	}
	if fw.code != "" {
		vars := filepath.Join(dir, "OVMF_VARS.fd")
		b, err := os.ReadFile(fw.vars)
		if err == nil {
			err = os.WriteFile(vars, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+fw.code,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.Stderr = &v.stderr
	v.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { v.done <- cmd.Wait() }()
	return v
}

// text is the console so far, with the serial line's \r removed.
func (v *vm) text() string {
	b, _ := os.ReadFile(v.console)
	return string(bytes.ReplaceAll(b, []byte("\r"), nil))
}

// waitFor polls the console until it contains every one of the strings
// and returns when each first showed, counted from QEMU's start.
func (v *vm) waitFor(ctx context.Context, t *testing.T, want ...string) map[string]time.Duration {
	t.Helper()
	seen := map[string]time.Duration{}
	for {
		text := v.text()
		missing := ""
		for _, w := range want {
			if _, ok := seen[w]; ok {
				continue
			}
			if strings.Contains(text, w) {
				seen[w] = time.Since(v.start)
			} else if missing == "" {
				missing = w
			}
		}
		if missing == "" {
			return seen
		}
		select {
		case err := <-v.done:
			v.done <- err
			t.Fatalf("qemu exited before %q on the console: %v", missing, err)
		case <-ctx.Done():
			t.Fatalf("no %q on the console within %v", missing, time.Since(v.start).Round(time.Second))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// report is imgtest-report's "IMGTEST key=value" lines.
func (v *vm) report() map[string]string {
	r := map[string]string{}
	for _, line := range strings.Split(v.text(), "\n") {
		if i := strings.Index(line, "IMGTEST "); i >= 0 {
			if k, val, ok := strings.Cut(line[i+len("IMGTEST "):], "="); ok {
				r[k] = strings.TrimSpace(val)
			}
		}
	}
	return r
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
