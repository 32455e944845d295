package virtual

import (
	"fmt"
	"sync"
)

// Boot is the boot device for one power-on. The zero value means the
// machine's own order.
type Boot struct {
	Device     string // "", "Pxe" or "Hdd" (Redfish BootSourceOverrideTarget)
	Continuous bool   // the override outlives this boot (for QEMU: a reset keeps it)
}

// QEMUArgs translates the boot device into QEMU's -boot option: "once"
// falls back to the default order on the next guest reset, "order" keeps it.
func (b Boot) QEMUArgs() []string {
	drive := map[string]string{"Pxe": "n", "Hdd": "c"}[b.Device]
	if drive == "" {
		return nil
	}
	key := "once"
	if b.Continuous {
		key = "order"
	}
	return []string{"-boot", key + "=" + drive}
}

// bootOverride is the Redfish Boot object of the system: set by PATCH,
// consumed by the next power-on when it is "Once".
type bootOverride struct {
	mu      sync.Mutex
	target  string // None, Pxe, Hdd
	enabled string // Disabled, Once, Continuous
	mode    string // Legacy, UEFI
}

var bootTargets = []string{"None", "Pxe", "Hdd"}

func newBootOverride() *bootOverride {
	return &bootOverride{target: "None", enabled: "Disabled", mode: "Legacy"}
}

// set applies the fields of a PATCH that are present (empty = unchanged).
func (b *bootOverride) set(target, enabled, mode string) error {
	if target != "" && !oneOf(target, bootTargets...) {
		return fmt.Errorf("BootSourceOverrideTarget %q is not one of %v", target, bootTargets)
	}
	if enabled != "" && !oneOf(enabled, "Disabled", "Once", "Continuous") {
		return fmt.Errorf("BootSourceOverrideEnabled %q is not Disabled, Once or Continuous", enabled)
	}
	if mode != "" && !oneOf(mode, "Legacy", "UEFI") {
		return fmt.Errorf("BootSourceOverrideMode %q is not Legacy or UEFI", mode)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.target = or(target, b.target)
	b.enabled = or(enabled, b.enabled)
	b.mode = or(mode, b.mode)
	return nil
}

// take returns the boot device for a power-on happening now and clears a
// one-time override, as a real BMC does once the firmware has used it.
func (b *bootOverride) take() Boot {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.enabled == "Disabled" || b.target == "None" {
		return Boot{}
	}
	boot := Boot{Device: b.target, Continuous: b.enabled == "Continuous"}
	if b.enabled == "Once" {
		b.target, b.enabled = "None", "Disabled"
	}
	return boot
}

// pending reports whether the next power-on would use an override.
func (b *bootOverride) pending() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.enabled != "Disabled" && b.target != "None"
}

func (b *bootOverride) json() map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return map[string]any{
		"BootSourceOverrideTarget":                         b.target,
		"BootSourceOverrideEnabled":                        b.enabled,
		"BootSourceOverrideMode":                           b.mode,
		"BootSourceOverrideTarget@Redfish.AllowableValues": bootTargets,
	}
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
