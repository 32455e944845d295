package boot

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

const (
	mac  = "52:54:00:12:34:56"
	base = "http://10.0.0.1:8081"
)

// TestDecideFirmwareRows is the DHCP half of DESIGN.md's boot table, one
// row per case, for a known host in every state that netboots.
func TestDecideFirmwareRows(t *testing.T) {
	cfg := Config{URL: base, ARM64File: "arm64/ipxe.efi"}
	for _, tc := range []struct {
		row    string
		client Client
		labels map[string]string
		want   Plan
	}{
		{"PXE ROM, BIOS (93 = 0)", Client{MAC: mac, Kind: KindPXE, Arch: ArchBIOS}, nil,
			Plan{Action: Loader, File: "undionly.kpxe", TFTP: true}},
		{"PXE ROM, UEFI x86-64 (93 = 7)", Client{MAC: mac, Kind: KindPXE, Arch: ArchEFIx86}, nil,
			Plan{Action: Loader, File: "ipxe.efi", TFTP: true}},
		{"PXE ROM, UEFI x86-64 (93 = 9)", Client{MAC: mac, Kind: KindPXE, Arch: ArchEFIBC}, nil,
			Plan{Action: Loader, File: "ipxe.efi", TFTP: true}},
		{"PXE ROM, UEFI x86-64, per-host snponly.efi", Client{MAC: mac, Kind: KindPXE, Arch: ArchEFIx86}, map[string]string{SNPOnlyLabel: "snponly.efi"},
			Plan{Action: Loader, File: "snponly.efi", TFTP: true}},
		{"PXE ROM, UEFI arm64 (93 = 11)", Client{MAC: mac, Kind: KindPXE, Arch: ArchEFIARM64}, nil,
			Plan{Action: Loader, File: "arm64/ipxe.efi", TFTP: true}},
		{"UEFI HTTP Boot (93 = 16)", Client{MAC: mac, Kind: KindHTTP, Arch: ArchHTTPx86}, nil,
			Plan{Action: Loader, File: base + "/boot/ipxe/ipxe.efi", HTTP: true}},
		{"UEFI HTTP Boot (93 = 19)", Client{MAC: mac, Kind: KindHTTP, Arch: ArchHTTPARM64}, nil,
			Plan{Action: Loader, File: base + "/boot/ipxe/ipxe.efi", HTTP: true}},
		{"iPXE (175 or user class iPXE)", Client{MAC: mac, Kind: KindIPXE, Arch: ArchBIOS}, nil,
			Plan{Action: Script, File: base + "/boot.ipxe?mac=52:54:00:12:34:56"}},
		{"not netbooting", Client{MAC: mac, Kind: KindPlain}, nil, Plan{Action: None}},
	} {
		for _, st := range append([]inventory.State{""}, inventory.States...) {
			if st == "" && tc.labels != nil {
				continue // an unknown MAC has no labels
			}
			t.Run(fmt.Sprintf("%s/%s", tc.row, stateName(st)), func(t *testing.T) {
				got := Decide(tc.client, host(st, tc.labels), cfg)
				checkPlan(t, got, tc.want)
			})
		}
	}
}

// TestDecideFirmwareNeedsConfig: HTTP Boot and iPXE get nothing without a
// boot URL, arm64 nothing without its loader.
func TestDecideFirmwareNeedsConfig(t *testing.T) {
	for _, c := range []Client{{MAC: mac, Kind: KindHTTP, Arch: ArchHTTPx86}, {MAC: mac, Kind: KindIPXE}, {MAC: mac, Kind: KindPXE, Arch: ArchEFIARM64}} {
		if got := Decide(c, nil, Config{}); got.Action != None {
			t.Errorf("%+v with no config: %v %q, want none", c, got.Action, got.File)
		}
	}
}

// TestDecideNoBootFileDeployed: with the option, deployed and active hosts
// get no boot file from any row; every other state is answered as usual.
func TestDecideNoBootFileDeployed(t *testing.T) {
	cfg := Config{URL: base, NoBootFileDeployed: true}
	for _, c := range []Client{{MAC: mac, Kind: KindPXE}, {MAC: mac, Kind: KindPXE, Arch: ArchEFIx86}, {MAC: mac, Kind: KindHTTP}, {MAC: mac, Kind: KindIPXE}} {
		for _, st := range append([]inventory.State{""}, inventory.States...) {
			got := Decide(c, host(st, nil), cfg)
			quiet := st == inventory.StateDeployed || st == inventory.StateActive
			if quiet != (got.Action == None) {
				t.Errorf("kind %d arch %d, %s: action %v", c.Kind, c.Arch, stateName(st), got.Action)
			}
		}
	}
}

// TestDecideScript is the script half of the table: every lifecycle state,
// an unknown MAC with discovery on and off.
func TestDecideScript(t *testing.T) {
	want := map[inventory.State]struct {
		action Action
		mode   string
	}{
		"":                        {Installer, ModeInspect}, // unknown MAC, discovery on
		inventory.StateDiscovered: {Installer, ModeInspect},
		inventory.StateInspecting: {Installer, ModeInspect},
		inventory.StateReady:      {Installer, ModeInspect},
		inventory.StateDeploying:  {Installer, ModeDeploy},
		inventory.StateDeployed:   {LocalDisk, ""},
		inventory.StateActive:     {LocalDisk, ""},
		inventory.StateFailed:     {Hold, ""},
	}
	for _, st := range inventory.States {
		if _, ok := want[st]; !ok {
			t.Fatalf("state %s has no expected script: the table must cover every state", st)
		}
	}
	cfg := Config{URL: base + "/", KernelArgs: "console=ttyS1 quiet"}
	for st, w := range want {
		t.Run(stateName(st), func(t *testing.T) {
			got := Decide(Client{MAC: mac, Kind: KindScript}, host(st, nil), cfg)
			if got.Action != w.action || got.Mode != w.mode {
				t.Fatalf("action %v mode %q, want %v %q", got.Action, got.Mode, w.action, w.mode)
			}
			if got.ScriptURL != base+"/boot.ipxe?mac=52:54:00:12:34:56" {
				t.Errorf("script URL %q", got.ScriptURL)
			}
			if got.Action != Installer {
				if got.Kernel != "" || len(got.Args) != 0 {
					t.Errorf("%v plan boots a kernel: %+v", got.Action, got)
				}
				return
			}
			if got.Kernel != base+"/boot/installer/vmlinuz" || got.Initrd != base+"/boot/installer/initrd.cpio.gz" || got.InitrdName != "initrd.cpio.gz" {
				t.Errorf("installer files %q %q %q", got.Kernel, got.Initrd, got.InitrdName)
			}
			args := strings.Join(got.Args, " ")
			for _, a := range []string{"rackboot.url=" + base, "rackboot.mac=" + mac, "rackboot.mode=" + w.mode, "console=ttyS1", "quiet"} {
				if !slices.Contains(got.Args, a) {
					t.Errorf("args %q lack %q", args, a)
				}
			}
		})
	}
	t.Run("unknown MAC, discovery off", func(t *testing.T) {
		got := Decide(Client{MAC: mac, Kind: KindScript}, nil, Config{URL: base, NoDiscovery: true})
		if got.Action != LocalDisk {
			t.Fatalf("action %v, want localboot", got.Action)
		}
	})
	t.Run("default kernel args", func(t *testing.T) {
		got := Decide(Client{MAC: mac, Kind: KindScript}, nil, Config{URL: base})
		if !slices.Contains(got.Args, "console=ttyS0,115200n8") {
			t.Fatalf("args %q", got.Args)
		}
	})
}

// host is a host in state st, or nil (an unknown MAC) for "".
func host(st inventory.State, labels map[string]string) *inventory.Host {
	if st == "" {
		return nil
	}
	return &inventory.Host{MAC: mac, State: st, Labels: labels}
}

func stateName(st inventory.State) string {
	if st == "" {
		return "unknown"
	}
	return string(st)
}

func checkPlan(t *testing.T, got, want Plan) {
	t.Helper()
	if got.Action != want.Action || got.File != want.File || got.TFTP != want.TFTP || got.HTTP != want.HTTP {
		t.Fatalf("got %v %q tftp=%v http=%v (%s), want %v %q tftp=%v http=%v",
			got.Action, got.File, got.TFTP, got.HTTP, got.Why, want.Action, want.File, want.TFTP, want.HTTP)
	}
}

// TestDecideSignedChain is the signed chain's part of the table: which
// UEFI x86-64 clients get shim, by the appliance's setting, the host's and
// its facts; everything else is answered as without it.
func TestDecideSignedChain(t *testing.T) {
	pxe := Client{MAC: mac, Kind: KindPXE, Arch: ArchEFIx86}
	shimPXE := Plan{Action: Loader, File: "bootx64.efi", TFTP: true}
	ipxePXE := Plan{Action: Loader, File: "ipxe.efi", TFTP: true}
	sb := func(h *inventory.Host) *inventory.Host {
		h.Facts = &inventory.Facts{Firmware: "uefi", SecureBoot: true}
		return h
	}
	loader := func(h *inventory.Host, l string) *inventory.Host { h.UEFILoader = l; return h }
	for _, tc := range []struct {
		row       string
		client    Client
		host      *inventory.Host
		appliance string
		want      Plan
	}{
		{"appliance default, unknown MAC", pxe, nil, "", ipxePXE},
		{"appliance ipxe, unknown MAC", pxe, nil, UEFIIPXE, ipxePXE},
		{"appliance shim, unknown MAC", pxe, nil, UEFIShim, shimPXE},
		{"appliance shim, 93 = 9", Client{MAC: mac, Kind: KindPXE, Arch: ArchEFIBC}, nil, UEFIShim, shimPXE},
		{"appliance shim, known host", pxe, host(inventory.StateReady, nil), UEFIShim, shimPXE},
		{"host shim, appliance ipxe", pxe, loader(host(inventory.StateReady, nil), UEFIShim), "", shimPXE},
		{"host ipxe, appliance shim", pxe, loader(host(inventory.StateReady, nil), UEFIIPXE), UEFIShim, ipxePXE},
		{"Secure Boot on, appliance ipxe", pxe, sb(host(inventory.StateReady, nil)), "", shimPXE},
		{"Secure Boot on, host ipxe: never iPXE", pxe, loader(sb(host(inventory.StateReady, nil)), UEFIIPXE), "", shimPXE},
		{"Secure Boot on, snponly label: never iPXE", pxe, sb(host(inventory.StateReady, map[string]string{SNPOnlyLabel: "snponly.efi"})), "", shimPXE},
		{"Secure Boot off in facts, host unset", pxe, func() *inventory.Host {
			h := host(inventory.StateReady, nil)
			h.Facts = &inventory.Facts{Firmware: "uefi"}
			return h
		}(), "", ipxePXE},
		{"HTTP Boot x86-64, shim", Client{MAC: mac, Kind: KindHTTP, Arch: ArchHTTPx86}, nil, UEFIShim,
			Plan{Action: Loader, File: base + "/boot/shim/bootx64.efi", HTTP: true}},
		{"HTTP Boot x86-64, Secure Boot on", Client{MAC: mac, Kind: KindHTTP, Arch: ArchHTTPx86}, sb(host(inventory.StateDiscovered, nil)), "",
			Plan{Action: Loader, File: base + "/boot/shim/bootx64.efi", HTTP: true}},
		{"HTTP Boot arm64: no x86 shim", Client{MAC: mac, Kind: KindHTTP, Arch: ArchHTTPARM64}, nil, UEFIShim,
			Plan{Action: Loader, File: base + "/boot/ipxe/ipxe.efi", HTTP: true}},
		{"BIOS: shim is UEFI only", Client{MAC: mac, Kind: KindPXE, Arch: ArchBIOS}, nil, UEFIShim,
			Plan{Action: Loader, File: "undionly.kpxe", TFTP: true}},
		{"iPXE already running asks DHCP", Client{MAC: mac, Kind: KindIPXE}, nil, UEFIShim,
			Plan{Action: Script, File: base + "/boot.ipxe?mac=52:54:00:12:34:56"}},
	} {
		t.Run(tc.row, func(t *testing.T) {
			checkPlan(t, Decide(tc.client, tc.host, Config{URL: base, UEFILoader: tc.appliance}), tc.want)
		})
	}
	for _, st := range []inventory.State{inventory.StateDeployed, inventory.StateActive} {
		for _, c := range []Client{pxe, {MAC: mac, Kind: KindHTTP, Arch: ArchHTTPx86}} {
			t.Run("signed chain, "+string(st)+": no boot file", func(t *testing.T) {
				checkPlan(t, Decide(c, loader(host(st, nil), UEFIShim), Config{URL: base}), Plan{Action: None})
				checkPlan(t, Decide(c, sb(host(st, nil)), Config{URL: base}), Plan{Action: None})
			})
		}
		t.Run("iPXE chain, "+string(st)+": ipxe.efi, then localboot", func(t *testing.T) {
			checkPlan(t, Decide(pxe, host(st, nil), Config{URL: base}), ipxePXE)
		})
	}
	t.Run("deployed, no boot file at DHCP", func(t *testing.T) {
		got := Decide(pxe, sb(host(inventory.StateActive, nil)), Config{URL: base, NoBootFileDeployed: true})
		checkPlan(t, got, Plan{Action: None})
	})
}

// TestDecideGRUB: GRUB asking for its grub.cfg gets the same Plan as iPXE
// asking for its script, in every state, with the installer's files as
// TFTP paths (Debian's signed GRUB has no HTTP client) and its own config
// to chain back to.
func TestDecideGRUB(t *testing.T) {
	cfg := Config{URL: base, UEFILoader: UEFIShim}
	for _, st := range append([]inventory.State{""}, inventory.States...) {
		t.Run(stateName(st), func(t *testing.T) {
			ipxe := Decide(Client{MAC: mac, Kind: KindScript}, host(st, nil), cfg)
			grub := Decide(Client{MAC: mac, Kind: KindGRUB}, host(st, nil), cfg)
			if grub.Action != ipxe.Action || grub.Mode != ipxe.Mode || !slices.Equal(grub.Args, ipxe.Args) {
				t.Fatalf("grub %v %q %q, iPXE %v %q %q", grub.Action, grub.Mode, grub.Args, ipxe.Action, ipxe.Mode, ipxe.Args)
			}
			if grub.ScriptURL != "/grub/grub.cfg-"+mac {
				t.Errorf("grub config %q", grub.ScriptURL)
			}
			if grub.Action == Installer && (grub.Kernel != "/boot/installer/vmlinuz" || grub.Initrd != "/boot/installer/initrd.cpio.gz") {
				t.Errorf("installer files %q %q, want TFTP paths", grub.Kernel, grub.Initrd)
			}
		})
	}
}
