package installer

import "encoding/binary"

// SMBIOS structure types the installer reads.
const (
	smbiosMemoryDevice    = 17
	smbiosMemArrayMapped  = 19
	smbiosEndOfTable      = 127
	smbiosHeaderLen       = 4
	smbiosSizeUnknown     = 0xFFFF
	smbiosSizeExtended    = 0x7FFF
	smbiosSizeKBGranular  = 0x8000
	smbiosAddrUseExtended = 0xFFFFFFFF
)

// smbiosStruct is one structure of the raw table: its type and formatted
// area (header included, so offsets match the specification's). The string
// set is skipped: the installer reads only numbers from the table.
type smbiosStruct struct {
	Type byte
	Data []byte
}

// parseSMBIOS splits the raw table the kernel exports at
// /sys/firmware/dmi/tables/DMI into structures, stopping at the end-of-table
// marker or at the first malformed structure.
func parseSMBIOS(table []byte) []smbiosStruct {
	var out []smbiosStruct
	for len(table) >= smbiosHeaderLen {
		length := int(table[1])
		if length < smbiosHeaderLen || length > len(table) {
			break
		}
		s := smbiosStruct{Type: table[0], Data: table[:length]}
		if s.Type == smbiosEndOfTable {
			break
		}
		out = append(out, s)
		// The string set ends with two NULs (an empty set is just those two).
		rest := table[length:]
		end := 0
		for end+1 < len(rest) && (rest[end] != 0 || rest[end+1] != 0) {
			end++
		}
		if end+2 > len(rest) {
			break
		}
		table = rest[end+2:]
	}
	return out
}

// smbiosMemory sums the installed memory devices (type 17); where a
// firmware lists none, it sums the mapped address ranges (type 19). Zero
// means the table says nothing usable.
func smbiosMemory(structs []smbiosStruct) uint64 {
	var devices, mapped uint64
	for _, s := range structs {
		switch s.Type {
		case smbiosMemoryDevice:
			devices += memoryDeviceSize(s.Data)
		case smbiosMemArrayMapped:
			mapped += mappedRangeSize(s.Data)
		}
	}
	if devices > 0 {
		return devices
	}
	return mapped
}

// memoryDeviceSize decodes a type 17 Size field (offset 0x0C): 0 is an empty
// slot, 0xFFFF unknown, bit 15 selects KiB over MiB, and 0x7FFF defers to
// the 32-bit Extended Size in MiB at 0x1C (SMBIOS 2.7+).
func memoryDeviceSize(d []byte) uint64 {
	if len(d) < 0x0E {
		return 0
	}
	size := binary.LittleEndian.Uint16(d[0x0C:])
	switch {
	case size == 0 || size == smbiosSizeUnknown:
		return 0
	case size == smbiosSizeExtended:
		if len(d) < 0x20 {
			return 0
		}
		return uint64(binary.LittleEndian.Uint32(d[0x1C:])&0x7FFFFFFF) << 20
	case size&smbiosSizeKBGranular != 0:
		return uint64(size&^smbiosSizeKBGranular) << 10
	default:
		return uint64(size) << 20
	}
}

// mappedRangeSize decodes a type 19 range: starting and ending addresses in
// KiB at 0x04 and 0x08, or in bytes at 0x0F and 0x17 when the KiB start is
// all ones (SMBIOS 2.7+). The end address is inclusive.
func mappedRangeSize(d []byte) uint64 {
	if len(d) < 0x0F {
		return 0
	}
	start := binary.LittleEndian.Uint32(d[0x04:])
	end := binary.LittleEndian.Uint32(d[0x08:])
	if start == smbiosAddrUseExtended {
		if len(d) < 0x1F {
			return 0
		}
		xs := binary.LittleEndian.Uint64(d[0x0F:])
		xe := binary.LittleEndian.Uint64(d[0x17:])
		if xe < xs {
			return 0
		}
		return xe - xs + 1
	}
	if end < start {
		return 0
	}
	return (uint64(end) - uint64(start) + 1) << 10
}
