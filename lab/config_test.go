package lab

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512M": 512 << 20, "4G": 4 << 30, "4GiB": 4 << 30, "1024": 1024, "2k": 2048, " 1T ": 1 << 40} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "-1G", "1.5G", "4X", "0"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	ok := Config{Dir: "d", Binary: "b", Firmware: []string{"bios", "uefi"}, BMC: "ipmi"}
	if err := ok.check(); err != nil {
		t.Fatal(err)
	}
	if ok.firmware(0) != "bios" || ok.firmware(3) != "uefi" || (Config{}).firmware(2) != "bios" {
		t.Error("firmware is not taken in turn")
	}
	for _, c := range []Config{{Binary: "b"}, {Dir: "d", Binary: "b", VMs: 41}, {Dir: "d", Binary: "b", Firmware: []string{"arm"}}, {Dir: "d", Binary: "b", BMC: "amt"}} {
		if err := c.check(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
}

// Two directories never share a namespace, and the veth's name fits the
// kernel's 15 bytes.
func TestNames(t *testing.T) {
	ns1, veth1 := names("/a/lab")
	ns2, veth2 := names("/b/lab")
	if ns1 == ns2 || veth1 == veth2 || len(veth1) > 15 {
		t.Errorf("%s %s / %s %s", ns1, veth1, ns2, veth2)
	}
	if again, _ := names("/a/lab"); again != ns1 {
		t.Error("names is not a function of the directory")
	}
}
