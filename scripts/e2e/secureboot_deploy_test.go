package e2e

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	lablib "github.com/rackboot/rackboot/lab"
)

// TestDeployDebianSecureBoot deploys the Debian cloud image (built with
// shim-signed, grub-efi-amd64-signed and the signed kernel) to a VM under
// OVMF's Secure Boot firmware through the signed chain, and, in the same
// run, to an OVMF VM without Secure Boot through iPXE, for the comparison
// in docs/benchmarks.md (logged, not asserted). The Secure Boot VM must
// reach active with Secure Boot still on in the installed OS; power-cycled
// with the network first in its boot order, it is offered no boot file
// (and fetches nothing), so its firmware boots the disk's own shim, and it
// comes back to its login prompt with Secure Boot on.
func TestDeployDebianSecureBoot(t *testing.T) {
	needLab(t)
	needSignedChain(t)
	for _, tool := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (scripts/ci-deps)", tool)
		}
	}
	img := debianImage(t)
	l := newLab(t)
	keepOnFailure(t, l)
	key := sshKeyPair(t, l.dir)
	l.importImage(img["ZSTD"], "debian-zst")
	sb := l.addVMWith(vmSpec{i: 5, firmware: lablib.FirmwareSecureBoot, memMB: 1024, diskBytes: 4 << 30, hostname: "deb-sb", ip: l.net + ".205"})
	plain := l.addVMWith(vmSpec{i: 6, firmware: lablib.FirmwareUEFI, memMB: 1024, diskBytes: 4 << 30, hostname: "deb-plain", ip: l.net + ".206"})
	start := time.Now()
	for _, v := range []vm{sb, plain} {
		l.power(v.mac, "on")
	}
	var ready, active [2]time.Duration
	var wg sync.WaitGroup
	for i, v := range []vm{sb, plain} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h := l.waitState(v.mac, inventory.StateReady, 15*time.Minute, v.dir); h.State != inventory.StateReady {
				return
			}
			ready[i] = time.Since(start)
			asked := time.Now()
			if out, err := l.cli(nil, "host", "deploy", v.mac, "--image", "debian-zst", "--ssh-key", key+".pub"); err != nil {
				t.Errorf("host deploy %s: %v\n%s", v.mac, err, out)
				return
			}
			l.waitState(v.mac, inventory.StateActive, activeWithin(t), v.dir)
			active[i] = time.Since(asked)
		}()
	}
	wg.Wait()
	t.Logf("same run: power-on → ready: Secure Boot (shim) %v, no Secure Boot (iPXE) %v; deploy → active: Secure Boot %v, no Secure Boot %v",
		ready[0].Round(time.Second), ready[1].Round(time.Second), active[0].Round(time.Second), active[1].Round(time.Second))
	l.power(plain.mac, "off")
	if t.Failed() {
		return
	}
	ip := l.net + ".205"
	checkSecureBootOn(t, l, key, ip, sb, "after the deploy")

	// The next PXE boot: no boot file, so the firmware boots the disk's
	// own signed chain.
	prev := console(sb)
	cycled := time.Now()
	l.power(sb.mac, "cycle")
	if !waitNewLine(t, l, sb, prev, "\ndeb-sb login:", 10*time.Minute) {
		return
	}
	for _, s := range l.bootSteps(sb.mac) {
		if s.Time.After(cycled) {
			t.Errorf("%s: a boot step after the deploy: %s", sb.mac, s)
		}
	}
	checkSecureBootOn(t, l, key, ip, sb, "after a network-first reboot")
	l.power(sb.mac, "off")
}

// checkSecureBootOn logs in and reads the SecureBoot variable on the host.
func checkSecureBootOn(t *testing.T, l *lab, key, ip string, v vm, when string) {
	var out string
	var err error
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(5 * time.Second) {
		out, err = l.ssh(key, ip, "od -An -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if f := strings.Fields(out); err != nil || len(f) != 5 || f[4] != "1" {
		t.Errorf("%s %s: SecureBoot variable %q (%v), want its value 1", v.mac, when, out, err)
		l.dump(v.dir)
		return
	}
	t.Logf("%s %s: Secure Boot on in the installed OS", v.mac, when)
}
