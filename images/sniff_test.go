package images

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// at returns n bytes with sig written at off.
func at(n, off int, sig string) []byte {
	b := make([]byte, n)
	copy(b[off:], sig)
	return b
}

func TestSniff(t *testing.T) {
	mbr := at(512, 510, "\x55\xaa")
	gpt := append(bytes.Clone(mbr), at(512, 0, "EFI PART")...)
	hybridISO := append(bytes.Clone(gpt), at(0x9000-1024, 0x8001-1024, "CD001")...)
	kernel := at(1024, 510, "\x55\xaa")
	copy(kernel, "MZ")
	copy(kernel[0x202:], "HdrS")
	for _, tc := range []struct {
		name string
		head []byte
		want Kind
	}{
		{"empty", nil, Empty},
		{"gzip", []byte("\x1f\x8b\x08\x00"), GzipStream},
		{"xz", []byte("\xfd7zXZ\x00\x00"), XZStream},
		{"zstd", []byte("\x28\xb5\x2f\xfd\x04"), ZstdStream},
		{"qcow2", []byte("QFI\xfb\x00\x00\x00\x03"), Qcow2},
		{"vmdk", []byte("KDMV\x01"), VMDK},
		{"mbr", mbr, MBR},
		{"gpt", gpt, GPT},
		{"gpt 4k", append(at(4096, 510, "\x55\xaa"), at(512, 0, "EFI PART")...), GPT},
		{"hybrid iso is an iso", hybridISO, ISO9660},
		{"bzImage is not an mbr", kernel, LinuxKernel},
		{"elf", []byte("\x7fELF\x02\x01"), ELF},
		{"zip", []byte("PK\x03\x04\x14"), Zip},
		{"tar", at(1024, 257, "ustar"), Tar},
		{"cpio", []byte("070701000000"), Cpio},
		{"ascii", []byte("hello\tworld\r\n"), Text},
		{"utf-8", []byte("grüße\n"), UTF8Text},
		{"utf-8 cut mid rune", []byte("gr\xc3"), UTF8Text},
		{"control bytes", []byte("a\x01b"), Unknown},
		{"zeros", make([]byte, 100), Zeros},
		{"short mbr", []byte{0x55, 0xaa}, Unknown},
	} {
		if got := Sniff(tc.head); got != tc.want {
			t.Errorf("%s: Sniff = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	gpt := at(1024, 510, "\x55\xaa")
	copy(gpt[512:], "EFI PART")
	if f, err := classify(gpt, false, None, false); f != FormatRaw || err != nil {
		t.Fatalf("gpt: %v %v", f, err)
	}
	_, err := classify(make([]byte, sniffLen), false, Zstd, false)
	if want := "not a disk image: found only zero bytes inside the zstd stream"; err == nil || err.Error() != want {
		t.Fatalf("zeros: %v, want %q", err, want)
	}
	_, err = classify(bytes.Repeat([]byte{1, 0x80}, sniffLen/2), false, None, false)
	if err == nil || !strings.Contains(err.Error(), "found no partition table") {
		t.Fatalf("noise: %v", err)
	}
}

// FuzzSniff: the sniffer and the classifier take any bytes without
// panicking; an accepted head really carries the signature it was accepted
// for; every refusal names what it found. Seeds are in testdata/fuzz.
func FuzzSniff(f *testing.F) {
	f.Add([]byte("\x1f\x8b\x08"))
	f.Add(at(1024, 510, "\x55\xaa"))
	f.Fuzz(func(t *testing.T, head []byte) {
		k := Sniff(head)
		if k.String() == "" {
			t.Fatalf("kind %d has no name", k)
		}
		if k2 := Sniff(bytes.Clone(head)); k2 != k {
			t.Fatalf("Sniff is not deterministic: %v then %v", k, k2)
		}
		format, err := classify(head, true, None, false)
		var fe *FormatError
		switch {
		case err == nil && format == FormatRaw && !hasPartitionTable(head):
			t.Fatalf("accepted as raw without a partition table: %v", k)
		case err == nil && format == FormatISO && (len(head) < 0x8006 || string(head[0x8001:0x8006]) != "CD001"):
			t.Fatal("accepted as ISO without CD001")
		case err != nil && (!errors.As(err, &fe) || !strings.Contains(err.Error(), "found") && k != Qcow2):
			t.Fatalf("refusal does not say what it found: %v", err)
		}
	})
}

func hasPartitionTable(b []byte) bool {
	return len(b) >= 512 && string(b[510:512]) == "\x55\xaa" ||
		len(b) >= 520 && string(b[512:520]) == "EFI PART" ||
		len(b) >= 4104 && string(b[4096:4104]) == "EFI PART"
}
