// Package boot is rackboot's boot decision: what a netbooting client gets,
// from what it says about itself and its host's lifecycle state. Decide is
// a pure function of those; DHCP, TFTP and the machine-facing HTTP side
// only carry out the Plan it returns. Every loader file name and boot path
// is defined here and nowhere else.
//
// It reads the host record and nothing more: no store, no clock, no I/O,
// so DHCP may call it for every packet.
package boot

import (
	"strings"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// The first-stage loaders, named as Debian's ipxe package names them.
const (
	LoaderBIOS    = "undionly.kpxe" // PXE ROMs under BIOS
	LoaderEFI     = "ipxe.efi"      // PXE ROMs and HTTP Boot under UEFI x86-64
	LoaderSNPOnly = "snponly.efi"   // UEFI, through the firmware's own NIC driver
)

// Loaders lists every loader the appliance serves, over TFTP and HTTP.
var Loaders = []string{LoaderBIOS, LoaderEFI, LoaderSNPOnly}

// LoaderDir is where Debian's ipxe package installs the loaders.
const LoaderDir = "/usr/lib/ipxe"

// The signed chain for UEFI Secure Boot: Debian's Microsoft-signed shim as
// the boot file, Debian's signed network GRUB beside it under the name
// shim loads, and GRUB's configs. Debian's iPXE is unsigned, so a firmware
// with Secure Boot on refuses it; this chain is what such a host boots.
const (
	LoaderShim = "bootx64.efi" // shim, the boot file (TFTP name, and last element of its HTTP URL)
	LoaderGRUB = "grubx64.efi" // GRUB: shim loads the file of this name beside itself
	// ShimFile and GRUBFile are where Debian's shim-signed and
	// grub-efi-amd64-signed install them.
	ShimFile = "/usr/lib/shim/shimx64.efi.signed"
	GRUBFile = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"
	// GRUBConfig is the first config Debian's grubnetx64 reads (its prefix
	// is /grub): the same for every host, it loads the host's own,
	// GRUBHostConfig + the MAC GRUB puts in ${net_default_mac}.
	GRUBConfig     = "grub/grub.cfg"
	GRUBHostConfig = "grub/grub.cfg-"
	// PathShim is where HTTP Boot clients fetch shim, and shim GRUB.
	PathShim = "/boot/shim/"
)

// UEFI loaders: what a UEFI x86-64 client gets first, appliance-wide
// (Config.UEFILoader) or per host (inventory.Host.UEFILoader).
const (
	UEFIIPXE = "ipxe" // iPXE, then an iPXE script (the default)
	UEFIShim = "shim" // shim, GRUB and a grub.cfg: boots with Secure Boot on
)

// UEFILoaders lists the valid values of a UEFI loader setting.
var UEFILoaders = []string{UEFIIPXE, UEFIShim}

// Paths of the boot files on the machine-facing HTTP side.
const (
	PathScript       = "/boot.ipxe"       // the host's iPXE script, ?mac=
	PathLoaders      = "/boot/ipxe/"      // + a name of Loaders
	PathInstaller    = "/boot/installer/" // + InstallerKernel or InstallerInitrd
	InstallerKernel  = "vmlinuz"
	InstallerInitrd  = "initrd.cpio.gz"
	defaultKernelArg = "console=tty0 console=ttyS0,115200n8"
)

// SNPOnlyLabel is the host label that swaps ipxe.efi for snponly.efi
// (value "snponly.efi"), for NICs whose UEFI driver iPXE's own drivers do
// not handle.
const SNPOnlyLabel = "rackboot.io/ipxe"

// Kind is what is asking.
type Kind int

const (
	KindPlain  Kind = iota // a DHCP client that is not netbooting
	KindPXE                // a firmware PXE ROM (option 60 "PXEClient…")
	KindHTTP               // UEFI HTTP Boot (option 60 "HTTPClient…" or 93 = 16/19)
	KindIPXE               // iPXE asking DHCP (option 175, or user class "iPXE")
	KindScript             // iPXE asking the HTTP side for its script
	KindGRUB               // GRUB asking for its host's grub.cfg
)

// Arch is a client architecture of DHCP option 93 (RFC 4578).
type Arch uint16

// The architectures the table distinguishes.
const (
	ArchBIOS      Arch = 0
	ArchEFIx86    Arch = 7
	ArchEFIBC     Arch = 9
	ArchEFIARM64  Arch = 11
	ArchHTTPx86   Arch = 16
	ArchHTTPARM64 Arch = 19
)

// Client is who asks: its MAC (lowercase, colon-separated), its kind and
// its architecture (BIOS when it did not say).
type Client struct {
	MAC  string
	Kind Kind
	Arch Arch
}

// Config is the appliance's part of the decision.
type Config struct {
	// URL is the machine-facing base URL, e.g. http://10.0.0.1:8081;
	// without it, HTTP Boot and iPXE clients get no boot file.
	URL string
	// ARM64File is the TFTP loader for UEFI arm64 PXE ROMs; none when empty.
	ARM64File string
	// NoBootFileDeployed answers deployed and active hosts with no boot
	// file at DHCP, so the firmware goes on to the disk before any iPXE.
	NoBootFileDeployed bool
	// NoDiscovery: unknown MACs boot their disk instead of the installer,
	// and are not enlisted.
	NoDiscovery bool
	// KernelArgs are added to the installer's command line; default
	// "console=tty0 console=ttyS0,115200n8".
	KernelArgs string
	// UEFILoader is what UEFI x86-64 clients get first, UEFIIPXE (the
	// default, also when empty) or UEFIShim; a host's own setting wins, and
	// a host whose facts say Secure Boot is on always gets shim.
	UEFILoader string
}

// Action is what a Plan does.
type Action int

const (
	None      Action = iota // no boot file: the firmware moves on
	Loader                  // load the first-stage loader File (TFTP name or HTTP URL)
	Script                  // iPXE: fetch the host's script at File
	Installer               // script or grub.cfg: boot the installer (Kernel, Initrd, Args)
	LocalDisk               // script or grub.cfg: boot the local disk
	Hold                    // script or grub.cfg: wait for an operator, then ask again
)

var actionNames = [...]string{None: "none", Loader: "loader", Script: "script", Installer: "installer", LocalDisk: "localboot", Hold: "hold"}

func (a Action) String() string { return actionNames[a] }

// Plan is the answer to one client.
type Plan struct {
	Action Action
	// File is the loader (a TFTP file name, or an HTTP URL when HTTP is
	// set) or the script URL.
	File string
	TFTP bool // File is on the appliance's TFTP server: siaddr, option 43
	HTTP bool // UEFI HTTP Boot: File is a URL; echo option 60 "HTTPClient"
	// Mode is the installer's mode: inspect or deploy.
	Mode string
	// Kernel, Initrd and Args boot the installer; InitrdName is the name
	// the initrd is loaded under, which a kernel started by UEFI finds only
	// through initrd=NAME on its command line (the script adds it).
	Kernel, Initrd, InitrdName string
	Args                       []string
	// ScriptURL is the host's own script, which Hold and a failed
	// installer load chain back to: the iPXE script's URL, or for GRUB
	// the path of the host's grub.cfg on the TFTP server GRUB booted from.
	ScriptURL string
	// Why says which row of the table chose the plan, for logs.
	Why string
}

// Installer modes.
const (
	ModeInspect = "inspect"
	ModeDeploy  = "deploy"
)

// ScriptURL is the URL of mac's iPXE script below base. A normalised MAC
// (hex digits and colons) needs no escaping in a query.
func ScriptURL(base, mac string) string {
	return strings.TrimRight(base, "/") + PathScript + "?" + machineapi.ParamMAC + "=" + mac
}

// GRUBConfigName is the TFTP name of mac's own grub.cfg.
func GRUBConfigName(mac string) string { return GRUBHostConfig + mac }

// Shim reports whether a UEFI x86-64 client of host h (nil: unknown) gets
// the signed chain: always when its facts say Secure Boot is on (iPXE
// would be refused), else as the host's setting says, else as cfg says.
func Shim(h *inventory.Host, cfg Config) bool {
	if h != nil {
		if h.Facts != nil && h.Facts.SecureBoot {
			return true
		}
		if h.UEFILoader != "" {
			return h.UEFILoader == UEFIShim
		}
	}
	return cfg.UEFILoader == UEFIShim
}

// Decide is the boot table of DESIGN.md:
//
//	client says                                  answer
//	PXE ROM, BIOS (93 = 0)                       TFTP undionly.kpxe
//	PXE ROM, UEFI x86-64 (93 = 7 or 9)           TFTP ipxe.efi (per-host snponly.efi),
//	                                             or bootx64.efi (shim) when Shim says so
//	                                             (none for a deployed or active host)
//	PXE ROM, UEFI arm64 (93 = 11)                TFTP arm64 loader, if configured
//	UEFI HTTP Boot (60 HTTPClient, 93 = 16/19)   HTTP URL of ipxe.efi, 60 echoed;
//	                                             of shim (93 = 16) when Shim says so
//	iPXE at DHCP (77 "iPXE" or 175 present)      HTTP URL of /boot.ipxe for this MAC
//	iPXE fetching its script, or GRUB its grub.cfg, by state:
//	  unknown MAC, discovered, inspecting, ready   the installer, inspect mode
//	  deploying                                    the installer, deploy mode
//	  deployed, active                             boot the local disk
//	  failed                                       hold: wait for an operator
//	  unknown MAC with discovery off               boot the local disk
//
// With NoBootFileDeployed, a deployed or active host gets no boot file at
// DHCP at all; on the signed chain it never does: Debian's GRUB can neither
// start the disk's shim from under the network's (the second shim fails)
// nor hand back to the firmware with a failure (its exit reports success,
// and OVMF opens its setup menu), so the firmware goes to the disk itself. h is nil for a MAC the inventory does not know. A state
// this build does not know takes the discovery path.
func Decide(c Client, h *inventory.Host, cfg Config) Plan {
	if c.Kind == KindScript || c.Kind == KindGRUB {
		return script(c, h, cfg)
	}
	deployed := h != nil && (h.State == inventory.StateDeployed || h.State == inventory.StateActive)
	if cfg.NoBootFileDeployed && deployed {
		return Plan{Action: None, Why: "deployed: no boot file, the firmware boots the disk"}
	}
	if deployed && uefiX86(c) && Shim(h, cfg) {
		return Plan{Action: None, Why: "deployed, signed chain: no boot file, the firmware boots the disk's own chain"}
	}
	base := strings.TrimRight(cfg.URL, "/")
	switch {
	case c.Kind == KindIPXE && base != "":
		return Plan{Action: Script, File: ScriptURL(base, c.MAC), Why: "iPXE: its script"}
	case c.Kind == KindHTTP && base != "" && c.Arch == ArchHTTPx86 && Shim(h, cfg):
		return Plan{Action: Loader, File: base + PathShim + LoaderShim, HTTP: true, Why: "UEFI HTTP Boot, signed chain"}
	case c.Kind == KindHTTP && base != "":
		return Plan{Action: Loader, File: base + PathLoaders + LoaderEFI, HTTP: true, Why: "UEFI HTTP Boot"}
	case c.Kind == KindPXE && c.Arch == ArchBIOS:
		return Plan{Action: Loader, File: LoaderBIOS, TFTP: true, Why: "PXE, BIOS"}
	case c.Kind == KindPXE && (c.Arch == ArchEFIx86 || c.Arch == ArchEFIBC) && Shim(h, cfg):
		return Plan{Action: Loader, File: LoaderShim, TFTP: true, Why: "PXE, UEFI x86-64, signed chain"}
	case c.Kind == KindPXE && (c.Arch == ArchEFIx86 || c.Arch == ArchEFIBC):
		return Plan{Action: Loader, File: efiLoader(h), TFTP: true, Why: "PXE, UEFI x86-64"}
	case c.Kind == KindPXE && c.Arch == ArchEFIARM64 && cfg.ARM64File != "":
		return Plan{Action: Loader, File: cfg.ARM64File, TFTP: true, Why: "PXE, UEFI arm64"}
	}
	return Plan{Action: None, Why: "not a netboot this appliance answers"}
}

// uefiX86 reports whether c is a UEFI x86-64 firmware asking for its
// first loader: the clients the signed chain is for.
func uefiX86(c Client) bool {
	return c.Kind == KindPXE && (c.Arch == ArchEFIx86 || c.Arch == ArchEFIBC) || c.Kind == KindHTTP && c.Arch == ArchHTTPx86
}

func efiLoader(h *inventory.Host) string {
	if h != nil && h.Labels[SNPOnlyLabel] == LoaderSNPOnly {
		return LoaderSNPOnly
	}
	return LoaderEFI
}

// script is the iPXE script's and grub.cfg's part of the table.
func script(c Client, h *inventory.Host, cfg Config) Plan {
	base := strings.TrimRight(cfg.URL, "/")
	p := Plan{ScriptURL: ScriptURL(base, c.MAC)}
	if c.Kind == KindGRUB {
		p.ScriptURL = "/" + GRUBConfigName(c.MAC) // on the TFTP server GRUB booted from
	}
	if h == nil {
		if cfg.NoDiscovery {
			p.Action, p.Why = LocalDisk, "unknown MAC, discovery off"
			return p
		}
		return installer(p, c, base, cfg, ModeInspect, "unknown MAC: discover")
	}
	switch h.State {
	case inventory.StateDeploying:
		return installer(p, c, base, cfg, ModeDeploy, "deploying")
	case inventory.StateDeployed, inventory.StateActive:
		p.Action, p.Why = LocalDisk, string(h.State)+": boot the disk"
		return p
	case inventory.StateFailed:
		p.Action, p.Why = Hold, "failed: wait for an operator"
		return p
	}
	return installer(p, c, base, cfg, ModeInspect, string(h.State))
}

func installer(p Plan, c Client, base string, cfg Config, mode, why string) Plan {
	p.Action, p.Mode, p.Why = Installer, mode, why
	p.Kernel = base + PathInstaller + InstallerKernel
	p.Initrd = base + PathInstaller + InstallerInitrd
	if c.Kind == KindGRUB {
		// Debian's signed GRUB has no HTTP client: it loads over TFTP,
		// from the server it booted from, the same files by path.
		p.Kernel, p.Initrd = PathInstaller+InstallerKernel, PathInstaller+InstallerInitrd
	}
	p.InitrdName = InstallerInitrd
	args := cfg.KernelArgs
	if args == "" {
		args = defaultKernelArg
	}
	p.Args = append([]string{machineapi.CmdlineURL + "=" + base, machineapi.CmdlineMAC + "=" + c.MAC, machineapi.CmdlineMode + "=" + mode},
		strings.Fields(args)...)
	return p
}
