package virtual

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestQEMUMachineAndQMP(t *testing.T) {
	if testing.Short() {
		t.Skip("needs QEMU; skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Fatalf("qemu-system-x86_64 not installed: %v", err)
	}
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	m, err := NewQEMU(QEMUConfig{Argv: []string{"qemu-system-x86_64", "-accel", "tcg", "-m", "64",
		"-nographic", "-nodefaults", "-display", "none"}, QMPSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.PowerOn(ctx, Boot{Device: "Pxe"}); err != nil {
		t.Fatal(err)
	}
	if !m.Powered() {
		t.Fatal("not powered after PowerOn")
	}
	ret, err := m.current().qmp.Execute(ctx, "query-status", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("query-status: %s", ret)
	if _, err := m.current().qmp.Execute(ctx, "no-such-command", nil); err == nil {
		t.Error("unknown command: no error")
	}
	for _, f := range []func(context.Context) error{m.Reset, m.NMI, m.Shutdown} {
		if err := f(ctx); err != nil {
			t.Error(err)
		}
	}
	if err := m.PowerOff(ctx); err != nil {
		t.Fatal(err)
	}
	if m.Powered() {
		t.Error("powered after PowerOff")
	}
	if err := m.Reset(ctx); err == nil {
		t.Error("reset of a machine that is off: no error")
	}
}
