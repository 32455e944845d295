package dhcp

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/inventory"
)

var (
	testServerIP = netip.MustParseAddr("10.0.0.2")
	testLocal    = Subnet{Prefix: netip.MustParsePrefix("10.0.0.0/24"), First: netip.MustParseAddr("10.0.0.100"),
		Last: netip.MustParseAddr("10.0.0.109"), Router: netip.MustParseAddr("10.0.0.1"),
		DNS: []netip.Addr{netip.MustParseAddr("10.0.0.53")}, Domain: "lab.example"}
	testRelayed = Subnet{Prefix: netip.MustParsePrefix("10.1.0.0/24"), First: netip.MustParseAddr("10.1.0.100"),
		Last: netip.MustParseAddr("10.1.0.200"), Router: netip.MustParseAddr("10.1.0.1")}
)

// newHandler is a Server ready for handle, on a real inventory in a temp
// dir; set adjusts it before init.
func newHandler(t testing.TB, set func(*Server)) (*Server, *inventory.DB) {
	t.Helper()
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newHandlerOn(t, db, set)
}

// newHandlerOn is newHandler on an open inventory, as after a restart.
func newHandlerOn(t testing.TB, db *inventory.DB, set func(*Server)) (*Server, *inventory.DB) {
	t.Helper()
	s := &Server{Mode: ModeFull, ServerIP: testServerIP, Inventory: db, Leases: db,
		Subnets: []Subnet{testLocal, testRelayed}, Boot: boot.Config{URL: "http://10.0.0.2:8081"}}
	if set != nil {
		set(s)
	}
	if err := s.setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, db
}

func mac(i int) net.HardwareAddr { return net.HardwareAddr{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)} }

// request builds a client packet.
func request(t testing.TB, hw net.HardwareAddr, typ dhcpv4.MessageType, mods ...dhcpv4.Modifier) []byte {
	t.Helper()
	m := append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(typ)}, mods...)
	d, err := dhcpv4.New(m...)
	if err != nil {
		t.Fatal(err)
	}
	return d.ToBytes()
}

func pxe(arch iana.Arch) []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(arch)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, append([]byte{0}, make([]byte, 16)...)),
	}
}

var clientSrc = &net.UDPAddr{IP: net.IPv4zero, Port: 68}

// answer runs handle and parses the reply as a client would.
func answer(t testing.TB, s *Server, raw []byte, port int) (*dhcpv4.DHCPv4, response) {
	t.Helper()
	r, ok := s.handle(raw, clientSrc, port)
	if !ok || r.reply == nil {
		return nil, r
	}
	got, err := dhcpv4.FromBytes(r.reply.ToBytes())
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return got, r
}

func TestBootDecision(t *testing.T) {
	ipxeUC := dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("iPXE"))
	tests := []struct {
		name     string
		mods     []dhcpv4.Modifier
		host     *inventory.Host
		set      func(*Server)
		file     string
		class    string // option 60 in the reply
		direct   bool   // option 43 = 6,1,8
		echoGUID bool
	}{
		{name: "plain client: lease only", mods: nil},
		{name: "PXE BIOS", mods: pxe(iana.INTEL_X86PC), file: "undionly.kpxe", class: "PXEClient", direct: true, echoGUID: true},
		{name: "PXE UEFI x86-64 (7)", mods: pxe(iana.EFI_X86_64), file: "ipxe.efi", class: "PXEClient", direct: true, echoGUID: true},
		{name: "PXE UEFI x86-64 (9)", mods: pxe(iana.EFI_BC), file: "ipxe.efi", class: "PXEClient", direct: true, echoGUID: true},
		{name: "PXE UEFI x86-64, snponly label", mods: pxe(iana.EFI_X86_64),
			host: &inventory.Host{Labels: map[string]string{boot.SNPOnlyLabel: "snponly.efi"}}, file: "snponly.efi", class: "PXEClient", direct: true, echoGUID: true},
		{name: "PXE UEFI arm64, none configured", mods: pxe(iana.EFI_ARM64)},
		{name: "PXE UEFI arm64, configured", mods: pxe(iana.EFI_ARM64), set: func(s *Server) { s.Boot.ARM64File = "ipxe-arm64.efi" },
			file: "ipxe-arm64.efi", class: "PXEClient", direct: true, echoGUID: true},
		{name: "UEFI HTTP Boot", mods: []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00016:UNDI:003001")),
			dhcpv4.WithOption(dhcpv4.OptClientArch(iana.Arch(16)))}, file: "http://10.0.0.2:8081/boot/ipxe/ipxe.efi", class: "HTTPClient"},
		{name: "iPXE by user class", mods: append(pxe(iana.INTEL_X86PC), ipxeUC), file: "http://10.0.0.2:8081/boot.ipxe?mac=52:54:00:00:00:01", class: "PXEClient"},
		{name: "iPXE by option 175", mods: []dhcpv4.Modifier{dhcpv4.WithGeneric(dhcpv4.GenericOptionCode(175), []byte{1, 1, 1})},
			file: "http://10.0.0.2:8081/boot.ipxe?mac=52:54:00:00:00:01"},
		{name: "deployed host, no boot file wanted", mods: pxe(iana.EFI_X86_64), host: &inventory.Host{State: inventory.StateDeployed},
			set: func(s *Server) { s.Boot.NoBootFileDeployed = true }, class: ""},
		{name: "deployed host, switch off", mods: pxe(iana.EFI_X86_64), host: &inventory.Host{State: inventory.StateDeployed},
			file: "ipxe.efi", class: "PXEClient", direct: true, echoGUID: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, db := newHandler(t, tt.set)
			if tt.host != nil {
				h := *tt.host
				h.MAC = mac(1).String()
				if _, err := db.CreateHost(context.Background(), h, "test"); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := answer(t, s, request(t, mac(1), dhcpv4.MessageTypeDiscover, tt.mods...), 67)
			if got == nil || got.MessageType() != dhcpv4.MessageTypeOffer {
				t.Fatalf("no offer: %v", got)
			}
			file := got.BootFileName
			if o := got.BootFileNameOption(); o != "" {
				file = o
			}
			if file != tt.file {
				t.Errorf("boot file %q, want %q", file, tt.file)
			}
			if c := got.ClassIdentifier(); c != tt.class {
				t.Errorf("option 60 %q, want %q", c, tt.class)
			}
			if d := string(got.Options.Get(dhcpv4.OptionVendorSpecificInformation)) == string(pxeDirect); d != tt.direct {
				t.Errorf("option 43 direct boot = %v, want %v", d, tt.direct)
			}
			if g := got.Options.Has(dhcpv4.OptionClientMachineIdentifier); g != tt.echoGUID {
				t.Errorf("option 97 echoed = %v, want %v", g, tt.echoGUID)
			}
			if !got.ServerIPAddr.Equal(testServerIP.AsSlice()) || !got.ServerIdentifier().Equal(testServerIP.AsSlice()) {
				t.Errorf("siaddr %v, option 54 %v; want both %v", got.ServerIPAddr, got.ServerIdentifier(), testServerIP)
			}
		})
	}
}
