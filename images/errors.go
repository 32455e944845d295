package images

import (
	"errors"
	"fmt"
)

// Errors callers branch on (the API maps them to status codes).
var (
	// ErrNotFound: no image has that name.
	ErrNotFound = errors.New("image not found")
	// ErrExists: the name is taken and the import did not ask to replace it.
	ErrExists = errors.New("image already exists")
	// ErrInvalid: a bad name or import option.
	ErrInvalid = errors.New("invalid")
	// ErrCorrupt: the compressed stream is truncated or damaged, or the ISO
	// cannot be read; nothing was stored.
	ErrCorrupt = errors.New("corrupt image")
	// ErrChecksum: the file's sha256 is not the one the import was told
	// to expect; nothing was stored.
	ErrChecksum = errors.New("checksum mismatch")
)

// FormatError refuses content that is not what an import accepts, and says
// what it is instead.
type FormatError struct {
	// Found is what the content is.
	Found Kind
	// Inside is the compression around it; None when it was not compressed.
	Inside Compression
	// Size is the content's length when the sniffer saw all of it, else -1.
	Size int64
	// Want is what was expected; "a disk image" when empty.
	Want string
}

func (e *FormatError) Error() string {
	want := e.Want
	if want == "" {
		want = "a disk image"
	}
	found := e.Found.String()
	switch {
	case e.Found == Unknown && e.Size >= 0:
		found = fmt.Sprintf("%d bytes with no partition table (no MBR boot signature at byte 510, no GPT header at byte 512)", e.Size)
	case e.Found == Unknown:
		found = "no partition table (no MBR boot signature at byte 510, no GPT header at byte 512)"
	case e.Found == Zeros && e.Size >= 0:
		found = fmt.Sprintf("%d zero bytes", e.Size)
	}
	if e.Inside != None && e.Inside != "" {
		found += " inside the " + string(e.Inside) + " stream"
	}
	return fmt.Sprintf("not %s: found %s", want, found)
}
