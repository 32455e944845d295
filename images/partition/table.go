package partition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf16"
)

// Kind is a partition table's kind, as stored in image records.
type Kind string

// The tables Parse reads.
const (
	GPT Kind = "gpt"
	MBR Kind = "mbr"
)

// HeadSize is how much of a disk Parse wants: the MBR, the GPT header and
// its entries (16 KiB for the usual 128, at LBA 2), with room to spare.
const HeadSize = 1 << 20

// Errors callers branch on.
var (
	// ErrNoTable: neither an MBR boot signature nor a GPT header.
	ErrNoTable = errors.New("no partition table")
	// ErrCorrupt: a table that does not add up (checksums, bounds).
	ErrCorrupt = errors.New("corrupt partition table")
	// ErrNoRoom: no seed partition can be placed; nothing was written.
	ErrNoRoom = errors.New("no room for a seed partition")
)

// Partition is one used entry of a table. Start and Size are in bytes.
type Partition struct {
	Number int    `json:"number"`
	Start  int64  `json:"start"`
	Size   int64  `json:"size"`
	Type   string `json:"type"`           // GPT type GUID, or the MBR type byte as "0x0c"
	Name   string `json:"name,omitempty"` // GPT partition name
	FS     string `json:"fs,omitempty"`   // filesystem at its start: vfat or iso9660
	Label  string `json:"label,omitempty"`
}

// End is the first byte after the partition.
func (p Partition) End() int64 { return p.Start + p.Size }

// Layout is what a disk image's partition table says, as the image store
// records it.
type Layout struct {
	Table      Kind        `json:"table"`
	SectorSize int64       `json:"sector_size"`
	Partitions []Partition `json:"partitions"`
	// FreeEntries is how many table entries are unused (MBR: of 4).
	FreeEntries int `json:"free_entries"`
	// GPTEntries and GPTEntrySize describe the GPT's entry array, whose
	// backup copy sits before the backup header at the end of the disk.
	GPTEntries   int `json:"gpt_entries,omitempty"`
	GPTEntrySize int `json:"gpt_entry_size,omitempty"`
}

// Parse reads the partition table in head, the first bytes of a disk
// (HeadSize, or the whole image if it is shorter). A GPT is preferred to
// the protective MBR in front of it; its headers and entries must check
// out. Labels are not filled in: see Scanner and ReadLayout.
func Parse(head []byte) (Layout, error) {
	for _, ss := range []int64{512, 4096} {
		if int64(len(head)) >= 2*ss && string(head[ss:ss+8]) == "EFI PART" {
			return parseGPT(head, ss)
		}
	}
	if len(head) < 512 || head[510] != 0x55 || head[511] != 0xaa {
		return Layout{}, fmt.Errorf("%w: no MBR boot signature at byte 510 and no GPT header at byte 512", ErrNoTable)
	}
	return parseMBR(head)
}

// mbrEntry is one of the four primary entries at byte 446.
type mbrEntry struct {
	typ          byte
	start, count uint32
}

func mbrEntries(head []byte) [4]mbrEntry {
	var e [4]mbrEntry
	for i := range e {
		b := head[446+16*i:]
		e[i] = mbrEntry{typ: b[4], start: binary.LittleEndian.Uint32(b[8:]), count: binary.LittleEndian.Uint32(b[12:])}
	}
	return e
}

func parseMBR(head []byte) (Layout, error) {
	l := Layout{Table: MBR, SectorSize: 512, Partitions: []Partition{}}
	for i, e := range mbrEntries(head) {
		if e.typ == 0 || e.count == 0 {
			l.FreeEntries++
			continue
		}
		if e.typ == 0xee {
			return Layout{}, fmt.Errorf("%w: a protective MBR (type 0xee) but no GPT header at byte 512 or 4096", ErrCorrupt)
		}
		if e.start == 0 {
			return Layout{}, fmt.Errorf("%w: MBR partition %d starts at sector 0", ErrCorrupt, i+1)
		}
		l.Partitions = append(l.Partitions, Partition{Number: i + 1, Start: int64(e.start) * 512,
			Size: int64(e.count) * 512, Type: fmt.Sprintf("0x%02x", e.typ)})
	}
	return l, nil
}

// gptHeader is the fields of a GPT header this package reads or writes.
type gptHeader struct {
	size                   uint32
	myLBA, altLBA          uint64
	firstUsable, lastUsabl uint64
	entriesLBA             uint64
	entries, entrySize     uint32
	entriesCRC             uint32
}

// Bounds that keep a hostile header from asking for gigabytes.
const (
	maxGPTEntries     = 1024
	maxGPTEntrySize   = 4096
	minGPTEntrySize   = 128
	maxGPTEntryArray  = HeadSize - 8192
	gptHeaderMinBytes = 92
)

func readGPTHeader(b []byte, ss int64) (gptHeader, error) {
	if int64(len(b)) < ss || string(b[:8]) != "EFI PART" {
		return gptHeader{}, fmt.Errorf("%w: no GPT signature", ErrCorrupt)
	}
	h := gptHeader{size: binary.LittleEndian.Uint32(b[12:])}
	if h.size < gptHeaderMinBytes || int64(h.size) > ss {
		return gptHeader{}, fmt.Errorf("%w: GPT header size %d", ErrCorrupt, h.size)
	}
	if want := binary.LittleEndian.Uint32(b[16:]); headerCRC(b[:h.size]) != want {
		return gptHeader{}, fmt.Errorf("%w: GPT header checksum", ErrCorrupt)
	}
	le := binary.LittleEndian
	h.myLBA, h.altLBA = le.Uint64(b[24:]), le.Uint64(b[32:])
	h.firstUsable, h.lastUsabl = le.Uint64(b[40:]), le.Uint64(b[48:])
	h.entriesLBA, h.entries, h.entrySize, h.entriesCRC = le.Uint64(b[72:]), le.Uint32(b[80:]), le.Uint32(b[84:]), le.Uint32(b[88:])
	switch {
	case h.entries == 0 || h.entries > maxGPTEntries:
		return gptHeader{}, fmt.Errorf("%w: %d GPT entries", ErrCorrupt, h.entries)
	case h.entrySize < minGPTEntrySize || h.entrySize > maxGPTEntrySize || h.entrySize%8 != 0:
		return gptHeader{}, fmt.Errorf("%w: GPT entry size %d", ErrCorrupt, h.entrySize)
	case int64(h.entries)*int64(h.entrySize) > maxGPTEntryArray:
		return gptHeader{}, fmt.Errorf("%w: GPT entry array of %d bytes", ErrCorrupt, int64(h.entries)*int64(h.entrySize))
	case h.firstUsable > h.lastUsabl:
		return gptHeader{}, fmt.Errorf("%w: GPT first usable LBA %d after last %d", ErrCorrupt, h.firstUsable, h.lastUsabl)
	}
	return h, nil
}

// headerCRC is the CRC32 of a header with its checksum field as zero.
func headerCRC(b []byte) uint32 {
	c := make([]byte, len(b))
	copy(c, b)
	clear(c[16:20])
	return crc32.ChecksumIEEE(c)
}

func (h gptHeader) arrayBytes() int64 { return int64(h.entries) * int64(h.entrySize) }

func parseGPT(head []byte, ss int64) (Layout, error) {
	h, err := readGPTHeader(head[ss:], ss)
	if err != nil {
		return Layout{}, err
	}
	if h.myLBA != 1 {
		return Layout{}, fmt.Errorf("%w: primary GPT header says it is at LBA %d", ErrCorrupt, h.myLBA)
	}
	if h.entriesLBA < 2 || h.entriesLBA > uint64(HeadSize)/uint64(ss) {
		return Layout{}, fmt.Errorf("%w: GPT entries at LBA %d", ErrCorrupt, h.entriesLBA)
	}
	off := int64(h.entriesLBA) * ss
	if off+h.arrayBytes() > int64(len(head)) {
		return Layout{}, fmt.Errorf("%w: GPT entries end at byte %d, past the %d bytes read", ErrCorrupt, off+h.arrayBytes(), len(head))
	}
	array := head[off : off+h.arrayBytes()]
	if crc32.ChecksumIEEE(array) != h.entriesCRC {
		return Layout{}, fmt.Errorf("%w: GPT entry array checksum", ErrCorrupt)
	}
	l := Layout{Table: GPT, SectorSize: ss, Partitions: []Partition{}, GPTEntries: int(h.entries), GPTEntrySize: int(h.entrySize)}
	for i := 0; i < int(h.entries); i++ {
		e := array[i*int(h.entrySize):]
		if allZero(e[:16]) {
			l.FreeEntries++
			continue
		}
		first, last := binary.LittleEndian.Uint64(e[32:]), binary.LittleEndian.Uint64(e[40:])
		if first > last || first < h.firstUsable || last > h.lastUsabl {
			return Layout{}, fmt.Errorf("%w: GPT partition %d spans LBA %d-%d outside %d-%d", ErrCorrupt, i+1, first, last, h.firstUsable, h.lastUsabl)
		}
		l.Partitions = append(l.Partitions, Partition{Number: i + 1, Start: int64(first) * ss,
			Size: int64(last-first+1) * ss, Type: guidString(e[:16]), Name: utf16Name(e[56:128])})
	}
	return l, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// guidString formats a GUID stored mixed-endian, as GPT stores them.
func guidString(b []byte) string {
	le := binary.LittleEndian
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%x-%x", le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8:10], b[10:16]))
}

// guidBytes is the inverse of guidString for a well-formed GUID.
func guidBytes(s string) [16]byte {
	var g [16]byte
	var a uint32
	var b, c uint16
	var d [8]byte
	fmt.Sscanf(s[:8], "%x", &a)
	fmt.Sscanf(s[9:13], "%x", &b)
	fmt.Sscanf(s[14:18], "%x", &c)
	hex := s[19:23] + s[24:]
	for i := range d {
		fmt.Sscanf(hex[2*i:2*i+2], "%02x", &d[i])
	}
	binary.LittleEndian.PutUint32(g[:], a)
	binary.LittleEndian.PutUint16(g[4:], b)
	binary.LittleEndian.PutUint16(g[6:], c)
	copy(g[8:], d[:])
	return g
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
