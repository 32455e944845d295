package machine

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/inventory"
)

// TestGRUBConfigByState renders each state's grub.cfg as TFTP asks for it
// (GRUB spells the MAC its own way), checks it boots what the iPXE script
// would, loads only over TFTP paths, carries no token, writes nothing, and
// leaves a step in the boot trace.
func TestGRUBConfigByState(t *testing.T) {
	cases := []struct {
		state inventory.State // "" = unknown MAC
		want  []string
	}{
		{"", []string{"linux /boot/installer/vmlinuz 'rackboot.url=http://10.9.0.1:8081' 'rackboot.mac=" + testMAC + "' 'rackboot.mode=inspect' 'console=tty0'",
			"initrd /boot/installer/initrd.cpio.gz", "\nboot\n", "configfile /grub/grub.cfg-" + testMAC}},
		{inventory.StateReady, []string{"rackboot.mode=inspect"}},
		{inventory.StateDeploying, []string{"rackboot.mode=deploy"}},
		{inventory.StateDeployed, []string{"chainloader ($disk)/EFI/debian/shimx64.efi", "chainloader ($disk)/EFI/BOOT/BOOTX64.EFI", "exit 1"}},
		{inventory.StateActive, []string{"search --no-floppy --set=disk --file /EFI/debian/shimx64.efi"}},
		{inventory.StateFailed, []string{"waiting for an operator", `'(disk on '\''fire'\''; reboot)'`, "configfile /grub/grub.cfg-" + testMAC}},
	}
	for _, tc := range cases {
		t.Run(cmp.Or(string(tc.state), "unknown"), func(t *testing.T) {
			b := newBootTest(t, nil)
			if tc.state != "" {
				h := inventory.Host{MAC: testMAC, State: tc.state}
				if tc.state == inventory.StateFailed {
					h.Failure = &inventory.Failure{Cause: "disk on 'fire'; reboot", From: inventory.StateDeploying}
				}
				if tc.state == inventory.StateDeploying {
					b.importImage("testos", mbrImage())
					b.deploying(h, "testos")
				} else if _, err := b.store.CreateHost(context.Background(), h, "test"); err != nil {
					t.Fatal(err)
				}
			}
			rev := b.store.Revision()
			cfg, ok, err := b.boot.GRUBConfig(context.Background(), "grub/grub.cfg-52:54:00:12:34:56")
			if err != nil || !ok {
				t.Fatalf("GRUBConfig: ok %v, %v", ok, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(cfg), w) {
					t.Errorf("grub.cfg lacks %q:\n%s", w, cfg)
				}
			}
			for _, bad := range []string{"http://10.9.0.1:8081/boot", "token", "ipxe"} {
				if strings.Contains(string(cfg), bad) {
					t.Errorf("grub.cfg holds %q:\n%s", bad, cfg)
				}
			}
			if r := b.store.Revision(); r != rev {
				t.Fatalf("rendering grub.cfg wrote (revision %d → %d)", rev, r)
			}
			steps := b.boot.Trace.Steps(testMAC)
			if len(steps) != 1 || steps[0].Step != boottrace.StepConfig {
				t.Fatalf("boot trace %v, want one config step", steps)
			}
		})
	}
}

// TestGRUBConfigNames: the chain config is the same for every host and
// loads the host's own by GRUB's MAC variable; names that are not GRUB's
// configs pass on to TFTP's files; a malformed MAC is an error.
func TestGRUBConfigNames(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	chain, ok, err := b.boot.GRUBConfig(ctx, "grub/grub.cfg")
	if err != nil || !ok || !strings.Contains(string(chain), "configfile /grub/grub.cfg-${net_default_mac}") {
		t.Fatalf("chain config: %v %v %q", ok, err, chain)
	}
	for _, name := range []string{"bootx64.efi", "grub/x86_64-efi/command.lst", "grub/grub.cfg.bak"} {
		if _, ok, err := b.boot.GRUBConfig(ctx, name); ok || err != nil {
			t.Errorf("%s: ok %v err %v, want passed on", name, ok, err)
		}
	}
	for _, name := range []string{"grub/grub.cfg-", "grub/grub.cfg-zz", "grub/grub.cfg-01-52-54-00-12-34-56-ff"} {
		if _, ok, err := b.boot.GRUBConfig(ctx, name); !ok || err == nil {
			t.Errorf("%s: ok %v err %v, want an error", name, ok, err)
		}
	}
	// Over HTTP, for a GRUB that came by HTTP Boot.
	if code, body := b.get("/grub/grub.cfg-" + testMAC); code != 200 || !strings.Contains(body, "linux /boot/installer/vmlinuz") {
		t.Fatalf("HTTP grub.cfg: %d %s", code, body)
	}
	if code, body := b.get("/grub/grub.cfg"); code != 200 || body != string(chain) {
		t.Fatalf("HTTP chain config: %d %s", code, body)
	}
}

// TestGRUBTemplateOverride: a .grub override replaces the built-in one.
func TestGRUBTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "installer.grub"), []byte("linux /unsigned {{.Cmdline}}\nboot\n"), 0o644)
	b := newBootTest(t, func(s *Server) { s.TemplatesDir = dir })
	cfg, _, err := b.boot.GRUBConfig(context.Background(), "grub/grub.cfg-"+testMAC)
	if err != nil || !strings.HasPrefix(string(cfg), "linux /unsigned 'rackboot.url=") {
		t.Fatalf("override not used: %v %q", err, cfg)
	}
}

// TestShimFiles: HTTP Boot clients get shim and GRUB under boot.PathShim,
// and nothing else there.
func TestShimFiles(t *testing.T) {
	dir := t.TempDir()
	shim, grub := filepath.Join(dir, "shim"), filepath.Join(dir, "grub")
	os.WriteFile(shim, []byte("shim bytes"), 0o644)
	os.WriteFile(grub, []byte("grub bytes"), 0o644)
	b := newBootTest(t, func(s *Server) { s.ShimFile, s.GRUBFile = shim, grub })
	if code, body := b.get("/boot/shim/bootx64.efi"); code != 200 || body != "shim bytes" {
		t.Errorf("shim: %d %q", code, body)
	}
	if code, body := b.get("/boot/shim/grubx64.efi"); code != 200 || body != "grub bytes" {
		t.Errorf("grub: %d %q", code, body)
	}
	if code, _ := b.get("/boot/shim/mmx64.efi"); code != 404 {
		t.Errorf("mmx64.efi: %d, want 404", code)
	}
}

// TestClaimLogsBootSteps: the installer's claim writes the steps of its
// boot so far to the host's events, and takes them from the trace.
func TestClaimLogsBootSteps(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	// An unknown MAC: its claim enlists it.
	b.boot.Trace.Record(testMAC, boottrace.StepLoader, "bootx64.efi", "tftp")
	b.get("/boot.ipxe?mac=" + testMAC)
	code, body := b.post("/machine/v1/claim?mac="+testMAC, "", `{"nonce":"0123456789abcdef0123","mode":"inspect"}`)
	if code != 200 {
		t.Fatalf("claim: %d %s", code, body)
	}
	ev, err := b.store.Events(ctx, testMAC, 10)
	if err != nil {
		t.Fatal(err)
	}
	var found string
	for _, e := range ev {
		if e.Type == "boot" {
			found = e.Cause
		}
	}
	if found != "loader bootx64.efi (tftp) → script (http) → claimed (http)" {
		t.Fatalf("boot event %q in %+v", found, ev)
	}
	if left := b.boot.Trace.Take(testMAC); left != nil {
		t.Fatalf("steps left pending after the claim: %v", left)
	}
}
