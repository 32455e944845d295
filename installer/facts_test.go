package installer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/machineapi"
)

// qemuRoot is what a QEMU VM (-m 512, one virtio NIC, one 1 GiB virtio
// disk, -uuid, -smbios type=1,serial=) shows, trimmed to what is read.
func qemuRoot(t *testing.T) string {
	return fakeRoot(t, map[string]string{
		"sys/class/dmi/id/sys_vendor":     "QEMU\n",
		"sys/class/dmi/id/product_name":   "Standard PC (i440FX + PIIX, 1996)\n",
		"sys/class/dmi/id/product_serial": "SN-0001\n",
		"sys/class/dmi/id/product_uuid":   "6A1E2D3C-0000-4000-8000-000000000001\n",
		"sys/firmware/dmi/tables/DMI":     smbiosTable(type17(512, 0), type19(0, 512*1024-1)),
		"proc/cpuinfo": "processor\t: 0\nmodel name\t: QEMU Virtual CPU version 2.5+\nflags\t\t: fpu\n\n" +
			"processor\t: 1\nmodel name\t: QEMU Virtual CPU version 2.5+\n",
		"proc/meminfo":                     "MemTotal:         490132 kB\nMemFree:          400000 kB\n",
		"sys/block/vda/size":               "2097152\n",
		"sys/block/vda/removable":          "0\n",
		"sys/block/vda/serial":             "disk-serial-1\n",
		"sys/block/sda/size":               "4194304\n",
		"sys/block/sda/removable":          "1\n",
		"sys/block/sda/device/model":       "QEMU HARDDISK   \n",
		"sys/block/sda/device/vpd_pg80":    "\x00\x80\x00\x04QM01",
		"sys/block/loop0/size":             "0\n",
		"sys/block/sr0/size":               "2\n",
		"sys/class/net/eth0/address":       "52:54:00:12:34:56\n",
		"sys/class/net/eth0/operstate":     "up\n",
		"sys/class/net/eth0/device/vendor": "0x1af4\n",
		"sys/class/net/eth1/address":       "52:54:00:12:34:57\n",
		"sys/class/net/eth1/operstate":     "unknown\n",
		"sys/class/net/eth1/carrier":       "0\n",
		"sys/class/net/eth1/device/vendor": "0x8086\n",
		"sys/class/net/lo/address":         "00:00:00:00:00:00\n",
		"sys/class/net/lo/operstate":       "unknown\n",
	}, map[string]string{
		"sys/class/net/eth0/device/driver": "../../../bus/virtio/drivers/virtio_net",
		"sys/class/net/eth1/device/driver": "../../../bus/pci/drivers/e1000",
	})
}

func TestGatherQEMU(t *testing.T) {
	root := qemuRoot(t)
	got, err := Gather(root)
	if err != nil {
		t.Fatal(err)
	}
	want := machineapi.Facts{
		Vendor:      "QEMU",
		Product:     "Standard PC (i440FX + PIIX, 1996)",
		Serial:      "SN-0001",
		UUID:        "6a1e2d3c-0000-4000-8000-000000000001",
		Firmware:    "bios",
		CPUs:        2,
		CPUModel:    "QEMU Virtual CPU version 2.5+",
		MemoryBytes: 512 << 20,
		Disks: []machineapi.Disk{
			{Name: "sda", SizeBytes: 2 << 30, Model: "QEMU HARDDISK", Serial: "QM01", Removable: true},
			{Name: "vda", SizeBytes: 1 << 30, Serial: "disk-serial-1"},
		},
		NICs: []machineapi.NIC{
			{Name: "eth0", MAC: "52:54:00:12:34:56", Driver: "virtio_net", Up: true},
			{Name: "eth1", MAC: "52:54:00:12:34:57", Driver: "e1000"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestGatherUEFI(t *testing.T) {
	root := fakeRoot(t, map[string]string{"sys/firmware/efi/fw_platform_size": "64\n"}, nil)
	if got := firmware(root); got != "uefi" {
		t.Errorf("firmware = %q, want uefi", got)
	}
}

func TestGatherEmptyRootIsPartial(t *testing.T) {
	f, err := Gather(t.TempDir())
	if err == nil {
		t.Fatal("want the missing files reported")
	}
	for _, part := range []string{"cpuinfo", "meminfo", "disks", "nics"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %s", err, part)
		}
	}
	if f.Firmware != "bios" {
		t.Errorf("firmware = %q, want bios", f.Firmware)
	}
}

func TestDMIPlaceholdersAreEmpty(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"sys/class/dmi/id/sys_vendor":     "To Be Filled By O.E.M.\n",
		"sys/class/dmi/id/product_serial": "Default string\n",
	}, nil)
	v, _, s, _ := readDMI(root)
	if v != "" || s != "" {
		t.Errorf("vendor %q serial %q, want both empty", v, s)
	}
}

func TestMemoryBytes(t *testing.T) {
	tests := []struct {
		name  string
		table string // "" = no DMI table
		want  uint64
	}{
		{"no table: MemTotal", "", 490132 * 1024},
		{"devices in MiB", smbiosTable(type17(256, 0), type17(256, 0)), 512 << 20},
		{"device in KiB", smbiosTable(type17(0x8000|1024, 0)), 1 << 20},
		{"extended size", smbiosTable(type17(0x7FFF, 64<<10)), 64 << 30},
		{"empty slots skipped", smbiosTable(type17(0, 0), type17(0xFFFF, 0), type17(1024, 0)), 1 << 30},
		{"no devices: mapped ranges", smbiosTable(type19(0, 640-1), type19(1024, 2048*1024-1)), (640 + 2048*1024 - 1024) << 10},
		{"table without memory: MemTotal", smbiosTable([]byte{1, 4, 0, 0}), 490132 * 1024},
		{"garbage table: MemTotal", "\x11\xff", 490132 * 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"proc/meminfo": "MemTotal:         490132 kB\n"}
			if tt.table != "" {
				files["sys/firmware/dmi/tables/DMI"] = tt.table
			}
			got, err := memoryBytes(fakeRoot(t, files, nil))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseSMBIOSSkipsStrings(t *testing.T) {
	// A type 1 structure with two strings, then a memory device.
	table := "\x01\x08\x00\x00\x01\x02\x00\x00QEMU\x00pc\x00\x00" + smbiosTable(type17(128, 0))
	got := parseSMBIOS([]byte(table))
	if len(got) != 2 || got[0].Type != 1 || got[1].Type != smbiosMemoryDevice {
		t.Fatalf("got %+v", got)
	}
}

func FuzzParseSMBIOS(f *testing.F) {
	f.Add([]byte(smbiosTable(type17(512, 0), type19(0, 1023))))
	f.Add([]byte{0x11, 0x04, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		smbiosMemory(parseSMBIOS(b))
	})
}
