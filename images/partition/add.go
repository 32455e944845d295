package partition

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf16"
)

// Disk is what AddSeed edits: a block device or an image file.
type Disk interface {
	io.ReaderAt
	io.WriterAt
}

// basicData is the GPT type of a FAT data partition (what a CIDATA
// partition made by other tools carries too).
const basicData = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"

// mbrFAT16LBA is the MBR type of a FAT16 filesystem addressed by LBA.
const mbrFAT16LBA = 0x0e

// AddSeed adds the planned partition to the table of disk, which is
// diskSize bytes: on GPT the primary and backup entry arrays get the
// entry, the backup header and entries move to the end of the disk, both
// headers' checksums are made again and the protective MBR is widened to
// the disk; on MBR the free primary entry is filled. A reused partition
// needs nothing. The table is read again from the disk first and the
// partition checked against it, so a plan made from a stale layout writes
// nothing.
func AddSeed(disk Disk, diskSize int64, p Plan) error {
	if p.Reuse {
		return nil
	}
	head := make([]byte, HeadSize)
	n, err := disk.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return fmt.Errorf("read partition table: %w", err)
	}
	head = head[:n]
	l, err := Parse(head)
	if err != nil {
		return err
	}
	if err := fits(l, p, diskSize); err != nil {
		return err
	}
	if l.Table == MBR {
		return addMBR(disk, head, p)
	}
	return addGPT(disk, head, l.SectorSize, diskSize, p)
}

// fits refuses a plan that overlaps a partition, takes a used number, or
// runs past the disk.
func fits(l Layout, p Plan, diskSize int64) error {
	if l.Table != p.Table || p.Start < 0 || p.Size <= 0 || p.Start+p.Size > diskSize || p.Start%l.SectorSize != 0 || p.Size%l.SectorSize != 0 {
		return fmt.Errorf("%w: plan %s does not fit a %s disk of %d bytes", ErrNoRoom, p, l.Table, diskSize)
	}
	for _, q := range l.Partitions {
		if q.Number == p.Number || (p.Start < q.End() && q.Start < p.Start+p.Size) {
			return fmt.Errorf("%w: plan %s collides with partition %d (bytes %d-%d)", ErrNoRoom, p, q.Number, q.Start, q.End())
		}
	}
	return nil
}

func addMBR(disk Disk, head []byte, p Plan) error {
	if p.Number < 1 || p.Number > 4 || p.Start/512 > 1<<32-1 || p.Size/512 > 1<<32-1 {
		return fmt.Errorf("%w: MBR entry %d for %s", ErrNoRoom, p.Number, p)
	}
	e := make([]byte, 16)
	// CHS fields say "beyond CHS" (1023/254/63), as for any disk today.
	copy(e[1:4], []byte{0xfe, 0xff, 0xff})
	e[4] = mbrFAT16LBA
	copy(e[5:8], []byte{0xfe, 0xff, 0xff})
	binary.LittleEndian.PutUint32(e[8:], uint32(p.Start/512))
	binary.LittleEndian.PutUint32(e[12:], uint32(p.Size/512))
	_, err := disk.WriteAt(e, int64(446+16*(p.Number-1)))
	return err
}

func addGPT(disk Disk, head []byte, ss, diskSize int64, p Plan) error {
	h, err := readGPTHeader(head[ss:], ss)
	if err != nil {
		return err
	}
	if p.Number > int(h.entries) {
		return fmt.Errorf("%w: GPT entry %d of %d", ErrNoRoom, p.Number, h.entries)
	}
	arrayOff := int64(h.entriesLBA) * ss
	array := append([]byte(nil), head[arrayOff:arrayOff+h.arrayBytes()]...)
	if err := putEntry(array[(p.Number-1)*int(h.entrySize):], p, ss); err != nil {
		return err
	}

	last := uint64(diskSize/ss - 1)
	arraySectors := uint64(ceilDiv(h.arrayBytes(), ss))
	backupArrayLBA := last - arraySectors
	if uint64((p.Start+p.Size)/ss) > backupArrayLBA {
		return fmt.Errorf("%w: %s overlaps the backup GPT at LBA %d", ErrNoRoom, p, backupArrayLBA)
	}
	oldAlt := h.altLBA
	primary := append([]byte(nil), head[ss:ss+int64(h.size)]...)
	le := binary.LittleEndian
	le.PutUint64(primary[32:], last)
	le.PutUint64(primary[48:], backupArrayLBA-1)
	le.PutUint32(primary[88:], crc32.ChecksumIEEE(array))
	backup := append([]byte(nil), primary...)
	le.PutUint64(backup[24:], last)
	le.PutUint64(backup[32:], 1)
	le.PutUint64(backup[72:], backupArrayLBA)
	sealHeader(primary)
	sealHeader(backup)

	// Backup first, then the primary: a crash between leaves the old
	// primary, which still describes the image.
	writes := []struct {
		b   []byte
		off int64
	}{
		{array, int64(backupArrayLBA) * ss},
		{padSector(backup, ss), int64(last) * ss},
		{array, arrayOff},
		{padSector(primary, ss), ss},
	}
	for _, w := range writes {
		if _, err := disk.WriteAt(w.b, w.off); err != nil {
			return fmt.Errorf("write GPT: %w", err)
		}
	}
	if err := dropOldBackup(disk, ss, oldAlt, last, h); err != nil {
		return err
	}
	return widenProtective(disk, head, diskSize/512)
}

// putEntry writes p as a GPT entry: basic data type, a random unique
// GUID, the name CIDATA.
func putEntry(e []byte, p Plan, ss int64) error {
	if !allZero(e[:16]) {
		return fmt.Errorf("%w: GPT entry %d is in use", ErrNoRoom, p.Number)
	}
	t := guidBytes(basicData)
	copy(e[:16], t[:])
	if _, err := rand.Read(e[16:32]); err != nil {
		return err
	}
	e[16+7] = e[16+7]&0x0f | 0x40 // version 4, stored mixed-endian
	e[16+8] = e[16+8]&0x3f | 0x80
	binary.LittleEndian.PutUint64(e[32:], uint64(p.Start/ss))
	binary.LittleEndian.PutUint64(e[40:], uint64((p.Start+p.Size)/ss-1))
	binary.LittleEndian.PutUint64(e[48:], 0)
	clear(e[56:128])
	for i, c := range utf16.Encode([]rune(SeedLabel)) {
		binary.LittleEndian.PutUint16(e[56+2*i:], c)
	}
	return nil
}

func sealHeader(h []byte) {
	binary.LittleEndian.PutUint32(h[16:], 0)
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
}

func padSector(b []byte, ss int64) []byte {
	s := make([]byte, ss)
	copy(s, b)
	return s
}

// dropOldBackup zeroes the image's backup header, now in the free space
// between the image and the seed, so no tool takes it for the disk's.
// The old backup entries stay: without their header they mean nothing.
func dropOldBackup(disk Disk, ss int64, oldAlt, last uint64, h gptHeader) error {
	if oldAlt == last || oldAlt <= h.lastUsabl || oldAlt >= last {
		return nil
	}
	old := make([]byte, ss)
	if _, err := disk.ReadAt(old, int64(oldAlt)*ss); err != nil {
		return nil // nothing readable there: nothing to drop
	}
	if string(old[:8]) != "EFI PART" {
		return nil
	}
	_, err := disk.WriteAt(make([]byte, ss), int64(oldAlt)*ss)
	return err
}

// widenProtective makes a protective MBR's single 0xee entry cover the
// disk (as sgdisk -e does); a hybrid MBR is left alone.
func widenProtective(disk Disk, head []byte, sectors int64) error {
	if len(head) < 512 || head[510] != 0x55 || head[511] != 0xaa {
		return nil
	}
	e := mbrEntries(head)
	prot := -1
	for i, x := range e {
		switch {
		case x.typ == 0xee && x.start == 1 && prot < 0:
			prot = i
		case x.typ != 0:
			return nil
		}
	}
	if prot < 0 {
		return nil
	}
	size := uint32(min(sectors-1, 1<<32-1))
	b := binary.LittleEndian.AppendUint32(nil, size)
	_, err := disk.WriteAt(b, int64(446+16*prot+12))
	return err
}
