package images

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrUnsupported is wrapped by the refusal of an image rackboot cannot
// write as it stands (a qcow2 with a backing file, an external data file
// or encryption): the reason names what.
var ErrUnsupported = errors.New("unsupported image")

// MaxQcow2Size bounds a qcow2 image's virtual size: its header is input,
// and a forged one must not start a conversion of exabytes of zeros.
const MaxQcow2Size = 16 << 40

// qcow2Header is what an import needs of a qcow2 header: enough to refuse
// what it cannot convert, before any library reads the file.
type qcow2Header struct {
	version     uint32
	clusterBits uint32
	size        uint64 // virtual size: the raw content's
	compression string // zlib or zstd
}

// qcow2 header extension types that make a file unreadable on its own.
const (
	extExternalData = 0x44415441
	extEncryption   = 0x0537be77
)

// Incompatible feature bits (qcow2 v3).
const (
	featDirty        = 0
	featCorrupt      = 1
	featExternalData = 2
	featCompression  = 3
	featExtendedL2   = 4
)

// parseQcow2 reads and checks the header at the start of r (the first
// cluster holds the header and its extensions). It refuses, naming the
// reason, a file that needs anything besides itself (a backing file, an
// external data file), an encrypted one, a corrupt-marked one, and
// features or compression it does not know.
func parseQcow2(r io.ReaderAt) (qcow2Header, error) {
	b := make([]byte, 64<<10)
	n, err := r.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return qcow2Header{}, err
	}
	return parseQcow2Head(b[:n])
}

// parseQcow2Head is parseQcow2 on the file's first bytes (up to 64 KiB).
func parseQcow2Head(b []byte) (qcow2Header, error) {
	be := binary.BigEndian
	bad := func(format string, args ...any) (qcow2Header, error) {
		return qcow2Header{}, fmt.Errorf("%w: qcow2 header: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(b) < 72 || string(b[:4]) != "QFI\xfb" {
		return bad("too short or no magic")
	}
	h := qcow2Header{version: be.Uint32(b[4:]), clusterBits: be.Uint32(b[20:]), size: be.Uint64(b[24:]), compression: "zlib"}
	backingOff, backingLen := be.Uint64(b[8:]), be.Uint32(b[16:])
	switch {
	case h.version != 2 && h.version != 3:
		return bad("version %d (want 2 or 3)", h.version)
	case h.clusterBits < 9 || h.clusterBits > 21:
		return bad("cluster bits %d (want 9 to 21)", h.clusterBits)
	case h.size == 0:
		return bad("virtual size 0")
	case h.size > MaxQcow2Size:
		return qcow2Header{}, fmt.Errorf("%w: qcow2 virtual size %d bytes is more than %d", ErrUnsupported, h.size, uint64(MaxQcow2Size))
	case backingOff != 0:
		name := "(name beyond the header)"
		if backingLen <= 1023 && backingOff+uint64(backingLen) <= uint64(len(b)) {
			name = fmt.Sprintf("%q", b[backingOff:backingOff+uint64(backingLen)])
		}
		return qcow2Header{}, fmt.Errorf("%w: the qcow2 image has a backing file %s: it is not whole on its own; merge it first with `qemu-img convert -O qcow2 FILE OUT` (or -O raw)", ErrUnsupported, name)
	case be.Uint32(b[32:]) != 0:
		return qcow2Header{}, fmt.Errorf("%w: the qcow2 image is encrypted (method %d): decrypt it first with qemu-img convert", ErrUnsupported, be.Uint32(b[32:]))
	}
	hdrLen := uint32(72)
	if h.version == 3 {
		if len(b) < 104 {
			return bad("version 3 header cut short")
		}
		if err := qcow2Features(be.Uint64(b[72:])); err != nil {
			return qcow2Header{}, err
		}
		hdrLen = be.Uint32(b[100:])
		if hdrLen < 104 || hdrLen%8 != 0 || int(hdrLen) > len(b) {
			return bad("header length %d", hdrLen)
		}
		if hdrLen >= 105 && be.Uint64(b[72:])&(1<<featCompression) != 0 {
			switch b[104] {
			case 0:
			case 1:
				h.compression = "zstd"
			default:
				return qcow2Header{}, fmt.Errorf("%w: qcow2 compression type %d (rackboot reads zlib and zstd)", ErrUnsupported, b[104])
			}
		}
	}
	return h, qcow2Extensions(b, hdrLen)
}

func qcow2Features(f uint64) error {
	for bit := 0; bit < 64; bit++ {
		if f&(1<<bit) == 0 {
			continue
		}
		switch bit {
		case featDirty, featCompression, featExtendedL2:
		case featCorrupt:
			return fmt.Errorf("%w: the qcow2 image is marked corrupt: check it with `qemu-img check -r all`", ErrCorrupt)
		case featExternalData:
			return fmt.Errorf("%w: the qcow2 image keeps its data in an external data file: convert it first with `qemu-img convert -O raw`", ErrUnsupported)
		default:
			return fmt.Errorf("%w: the qcow2 image uses incompatible feature bit %d, which rackboot does not know", ErrUnsupported, bit)
		}
	}
	return nil
}

// qcow2Extensions walks the header extensions that follow the header and
// refuses the ones that make the file depend on another or on a key.
func qcow2Extensions(b []byte, off uint32) error {
	be := binary.BigEndian
	for i := 0; i < 1024 && int(off)+8 <= len(b); i++ {
		typ, n := be.Uint32(b[off:]), be.Uint32(b[off+4:])
		switch typ {
		case 0:
			return nil
		case extExternalData:
			return fmt.Errorf("%w: the qcow2 image names an external data file: convert it first with `qemu-img convert -O raw`", ErrUnsupported)
		case extEncryption:
			return fmt.Errorf("%w: the qcow2 image carries a full-disk encryption header: decrypt it first with qemu-img convert", ErrUnsupported)
		}
		next := uint64(off) + 8 + (uint64(n)+7)/8*8
		if next > uint64(len(b)) {
			return nil // the extensions run past what was read: none of the refused kinds came first
		}
		off = uint32(next)
	}
	return nil
}
