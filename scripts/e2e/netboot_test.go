package e2e

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// TestNetbootInspect powers on two blank-disk VMs, one SeaBIOS and one
// OVMF, through their virtual BMCs; each must netboot from rackboot alone
// (DHCP, iPXE, the installer over HTTP) and reach ready with facts that
// match what QEMU was given.
func TestNetbootInspect(t *testing.T) {
	needLab(t)
	l := newLab(t)
	vms := []vm{l.addVM(1, "bios"), l.addVM(2, "uefi")}
	start := time.Now()
	for _, v := range vms {
		l.power(v.mac, "on")
	}
	var wg sync.WaitGroup
	for _, v := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := l.waitState(v.mac, inventory.StateReady, 6*time.Minute, v.dir)
			t.Logf("%s (%s) ready %v after power-on", v.mac, v.firmware, time.Since(start).Round(time.Second))
			checkFacts(t, v, h)
		}()
	}
	wg.Wait()
	for _, v := range vms {
		l.power(v.mac, "off")
	}
}

func checkFacts(t *testing.T, v vm, h inventory.Host) {
	f := h.Facts
	if f == nil {
		t.Errorf("%s: no facts", v.mac)
		return
	}
	if f.Firmware != v.firmware {
		t.Errorf("%s: firmware %q, want %q", v.mac, f.Firmware, v.firmware)
	}
	if f.UUID != v.uuid || h.UUID != v.uuid {
		t.Errorf("%s: uuid %q (host %q), want %q", v.mac, f.UUID, h.UUID, v.uuid)
	}
	if f.MemoryBytes != uint64(v.memMB)<<20 {
		t.Errorf("%s: memory %d bytes, want %d", v.mac, f.MemoryBytes, uint64(v.memMB)<<20)
	}
	if !slices.ContainsFunc(f.Disks, func(d inventory.Disk) bool { return d.SizeBytes == uint64(v.diskBytes) }) {
		t.Errorf("%s: disks %+v, want one of %d bytes", v.mac, f.Disks, v.diskBytes)
	}
	if !slices.ContainsFunc(f.NICs, func(n inventory.NIC) bool { return n.MAC == v.mac }) {
		t.Errorf("%s: NICs %+v lack the boot NIC", v.mac, f.NICs)
	}
}
