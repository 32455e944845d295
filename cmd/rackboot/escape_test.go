package main

import (
	"context"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// TestShowEscapesMachineText: facts a machine reported (stored before the
// appliance refused such text, or by any path that skipped it) print with
// their terminal escapes escaped, in host show and host list alike.
func TestShowEscapesMachineText(t *testing.T) {
	dir := t.TempDir()
	const mac = "52:54:00:ee:00:01"
	const hostile = "QEMU\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[H"
	db, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.CreateHost(context.Background(), inventory.Host{MAC: mac}, "test")
	_, err = db.ModifyHost(context.Background(), mac, 0, func(h *inventory.Host) (inventory.Edit, error) {
		h.Facts = &inventory.Facts{Vendor: hostile, Product: "\u202egpj.exe", CPUs: 2, Firmware: "bios"}
		return inventory.Edit{Cause: "facts " + hostile}, nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	server, stop := startServe(t, dir)
	defer stop()
	for _, args := range [][]string{{"host", "show", mac}, {"host", "list"}} {
		out, code := cli(t, append(args, "--server", server, "--data-dir", dir)...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, out)
		}
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("%v printed raw control characters: %q", args, out)
		}
		if args[1] == "show" && (!strings.Contains(out, `QEMU\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[H`) || !strings.Contains(out, `\u202egpj.exe`)) {
			t.Errorf("host show does not show the escaped text:\n%s", out)
		}
	}
}
