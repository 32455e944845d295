package installer

import (
	"strings"
	"testing"
)

// TestSecureBoot reads the SecureBoot variable as efivarfs shows it: four
// bytes of attributes (NV|BS|RT = 0x06 here, as OVMF sets them), then the
// value.
func TestSecureBoot(t *testing.T) {
	const v = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  bool
		err   string
	}{
		{"BIOS", map[string]string{"proc/cmdline": ""}, false, ""},
		{"UEFI, on", map[string]string{v: "\x06\x00\x00\x00\x01"}, true, ""},
		{"UEFI, off", map[string]string{v: "\x06\x00\x00\x00\x00"}, false, ""},
		{"UEFI, no variable", map[string]string{"sys/firmware/efi/efivars/Boot0000-8be4df61-93ca-11d2-aa0d-00e098032b8c": "x"}, false, ""},
		{"UEFI, truncated", map[string]string{v: "\x06\x00\x00\x00"}, false, "4 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := secureBoot(fakeRoot(t, tc.files, nil))
			if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, %v; want %v, error %q", got, err, tc.want, tc.err)
			}
		})
	}
	f, _ := Gather(fakeRoot(t, map[string]string{v: "\x06\x00\x00\x00\x01"}, nil))
	if f.Firmware != "uefi" || !f.SecureBoot {
		t.Fatalf("Gather: firmware %q secure_boot %v", f.Firmware, f.SecureBoot)
	}
}
