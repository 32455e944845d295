package bmc

import "testing"

// ipmitool 1.8.19's answer to `chassis bootparam get 5` after
// `chassis bootdev pxe`, from ipmi_sim.
const bootParamPXE = `Boot parameter version: 1
Boot parameter 5 is valid/unlocked
Boot parameter data: 8004000000
 Boot Flags :
   - Boot Flag Valid
   - Options apply to only next boot
   - BIOS PC Compatible (legacy) boot
   - Boot Device Selector : Force PXE
`

func TestParseBootFlags(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want bootOverride
	}{
		{bootParamPXE, bootOverride{Device: "pxe", Enabled: true, DeviceOnly: true}},
		{"Boot parameter data: c008000000\n", bootOverride{Device: "disk", Enabled: true, Persistent: true, DeviceOnly: true}},
		{"Boot parameter data: 0004000000\n", bootOverride{Device: "pxe", DeviceOnly: true}},
		{"Boot parameter data: 8000000000\n", bootOverride{Device: "none", DeviceOnly: true}},
	} {
		got, err := parseBootFlags(tc.out)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.out, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "Boot parameter data: zz\n", "Boot parameter data: 80\n"} {
		if _, err := parseBootFlags(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseBootFlags: ipmitool's output is the BMC's word; no panic.
func FuzzParseBootFlags(f *testing.F) {
	f.Add(bootParamPXE)
	f.Add("Boot parameter data: c0080000\n")
	f.Fuzz(func(t *testing.T, out string) {
		o, err := parseBootFlags(out)
		if err == nil && o.Device == "" {
			t.Fatalf("%q: no device", out)
		}
	})
}
