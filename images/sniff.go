package images

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// Kind is what a file's first bytes say it is.
type Kind uint8

// The kinds Sniff tells apart. Only GPT, MBR and ISO9660 are imported;
// the compressions are unwrapped first; everything else is named in the
// refusal so the operator knows what they uploaded.
const (
	Unknown Kind = iota
	Empty
	Zeros
	GzipStream
	XZStream
	ZstdStream
	Bzip2Stream
	LZ4Stream
	Qcow2
	VMDK
	VHDX
	VHD
	VDI
	ISO9660
	LinuxKernel
	GPT
	MBR
	ELF
	PE
	Zip
	Tar
	Cpio
	Squashfs
	Text
	UTF8Text
)

var kindNames = [...]string{
	Unknown:     "unknown data",
	Empty:       "an empty file",
	Zeros:       "only zero bytes",
	GzipStream:  "a gzip stream",
	XZStream:    "an xz stream",
	ZstdStream:  "a zstd stream",
	Bzip2Stream: "a bzip2 stream (not supported: recompress with gzip, xz or zstd)",
	LZ4Stream:   "an LZ4 stream (not supported: recompress with gzip, xz or zstd)",
	Qcow2:       "a qcow2 image",
	VMDK:        "a VMware VMDK image (convert it with `qemu-img convert -O raw`)",
	VHDX:        "a Hyper-V VHDX image (convert it with `qemu-img convert -O raw`)",
	VHD:         "a VHD image (convert it with `qemu-img convert -O raw`)",
	VDI:         "a VirtualBox VDI image (convert it with `qemu-img convert -O raw`)",
	ISO9660:     "an ISO 9660 image",
	LinuxKernel: "a Linux kernel (bzImage)",
	GPT:         "a GPT disk image",
	MBR:         "an MBR disk image",
	ELF:         "an ELF executable",
	PE:          "a Windows/EFI PE executable",
	Zip:         "a zip archive",
	Tar:         "a tar archive",
	Cpio:        "a cpio archive",
	Squashfs:    "a squashfs filesystem",
	Text:        "ASCII text",
	UTF8Text:    "UTF-8 text",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return kindNames[Unknown]
}

// sniffLen is how much of a stream Sniff wants: enough to reach the ISO
// 9660 volume descriptor at 32 KiB and the GPT header of a 4Kn disk.
const sniffLen = 64 << 10

// magic is a byte signature at an offset.
type magic struct {
	off  int
	sig  string
	kind Kind
}

// magics are checked in order. Containers and VM formats come before
// partition tables because they can carry a boot signature too; ISO comes
// before MBR/GPT because hybrid ISOs have both; a bzImage has 0x55AA at 510
// like an MBR, so its "HdrS" is checked first.
var magics = []magic{
	{0, "\x1f\x8b", GzipStream},
	{0, "\xfd7zXZ\x00", XZStream},
	{0, "\x28\xb5\x2f\xfd", ZstdStream},
	{0, "BZh", Bzip2Stream},
	{0, "\x04\x22\x4d\x18", LZ4Stream},
	{0, "QFI\xfb", Qcow2},
	{0, "KDMV", VMDK},
	{0, "# Disk DescriptorFile", VMDK},
	{0, "vhdxfile", VHDX},
	{0, "conectix", VHD},
	{0x40, "\x7f\x10\xda\xbe", VDI},
	{0x8001, "CD001", ISO9660},
	{0x202, "HdrS", LinuxKernel},
	{512, "EFI PART", GPT},
	{4096, "EFI PART", GPT},
	{510, "\x55\xaa", MBR},
	{0, "\x7fELF", ELF},
	{0, "MZ", PE},
	{0, "PK\x03\x04", Zip},
	{257, "ustar", Tar},
	{0, "070701", Cpio},
	{0, "070702", Cpio},
	{0, "070707", Cpio},
	{0, "hsqs", Squashfs},
}

// Sniff says what head, the first bytes of a file (up to 64 KiB; fewer if
// the file is shorter), is. It never fails: what it cannot name is Unknown.
func Sniff(head []byte) Kind {
	if len(head) == 0 {
		return Empty
	}
	for _, m := range magics {
		if len(head) >= m.off+len(m.sig) && string(head[m.off:m.off+len(m.sig)]) == m.sig {
			return m.kind
		}
	}
	switch {
	case allZero(head):
		return Zeros
	case isText(head):
		if isASCII(head) {
			return Text
		}
		return UTF8Text
	}
	return Unknown
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	return len(bytes.Trim(b, "\x00")) == 0
}

// isText: the first 4 KiB are UTF-8 with no control bytes besides
// whitespace. A rune cut at the end of head is allowed.
func isText(b []byte) bool {
	b = b[:min(len(b), 4096)]
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' || r == 0x7f {
			return false
		}
		b = b[n:]
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b[:min(len(b), 4096)] {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// compressionOf maps a sniffed kind to the compression an import unwraps.
func compressionOf(k Kind) Compression {
	switch k {
	case GzipStream:
		return Gzip
	case XZStream:
		return XZ
	case ZstdStream:
		return Zstd
	}
	return None
}

// classify decides whether uncompressed content is something Import keeps.
// head is its first bytes; whole says head is all of it, so a refusal can
// give the size.
func classify(head []byte, whole bool, inside Compression, wantISO bool) (Format, error) {
	k := Sniff(head)
	size := int64(-1)
	if whole {
		size = int64(len(head))
	}
	refuse := &FormatError{Found: k, Inside: inside, Size: size}
	if wantISO && k != ISO9660 {
		refuse.Want = "an ISO 9660 image"
		return "", refuse
	}
	switch k {
	case ISO9660:
		return FormatISO, nil
	case GPT, MBR:
		return FormatRaw, nil
	case Qcow2:
		return formatQcow2, nil
	}
	return "", refuse
}
