// Package compression is rackboot's one decompressor. The image store
// reads imports through it to hash and classify their content, and the
// installer reads downloads through it to write them to disk, so the two
// accept exactly the same streams: an image that imports is an image that
// deploys.
//
// It knows the four ways an image blob may be stored (none, gzip, xz,
// zstd) and nothing about sniffing, images or disks.
package compression

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Kind is how a blob is compressed; the strings are the ones stored in
// image records and sent to installers.
type Kind string

// The kinds NewReader opens.
const (
	None Kind = "none"
	Gzip Kind = "gzip"
	XZ   Kind = "xz"
	Zstd Kind = "zstd"
)

// Kinds lists every kind, in the order they are documented.
var Kinds = []Kind{None, Gzip, XZ, Zstd}

// MaxZstdWindow is the largest zstd window NewReader accepts: 2 GiB, the
// most `zstd --long=31` writes. The decoder allocates the window an
// archive declares, so this also bounds its memory.
const MaxZstdWindow = 1 << 31

// ErrTruncated is a stream that ended before its end: a cut download, a
// partial file.
var ErrTruncated = errors.New("truncated image stream")

// NewReader returns the uncompressed stream of r, stored as k ("" and
// "raw" mean None). Every decoder reports a stream that ends early as an
// error (wrapping ErrTruncated where the decoder says so), never as a
// short clean EOF. Close releases the decoder; it does not close r.
func NewReader(r io.Reader, k Kind) (io.ReadCloser, error) {
	switch k {
	case None, "", "raw":
		return io.NopCloser(r), nil
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", Truncated(err))
		}
		return z, nil
	case XZ:
		z, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", Truncated(err))
		}
		return io.NopCloser(z), nil
	case Zstd:
		// One goroutine: the import already runs beside a hasher and a
		// writer, and the installer runs in a ramdisk. Low-memory mode
		// allocates the window once, not twice: the window a frame
		// declares is what it costs (see Window).
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(MaxZstdWindow),
			zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return z.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("unknown compression %q (want one of %v)", k, Kinds)
}

// Truncated marks an end-of-file error as ErrTruncated; other errors are
// returned as they are.
func Truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %v", ErrTruncated, err)
	}
	return err
}

// Window is the memory a decoder of kind k needs for a stream that starts
// with head (the first bytes of the blob): the window its first frame
// declares for zstd, which may be anything up to MaxZstdWindow, and 0 for
// the others, whose windows are small and fixed (gzip 32 KiB, xz at most
// its preset's 64 MiB dictionary). The store records it at import so that
// a deploy to a machine too small to decode the image is refused before
// anything is written.
func Window(k Kind, head []byte) (uint64, error) {
	if k != Zstd {
		return 0, nil
	}
	var h zstd.Header
	if err := h.Decode(head); err != nil {
		return 0, fmt.Errorf("zstd frame header: %w", err)
	}
	if h.SingleSegment {
		return h.FrameContentSize, nil
	}
	return h.WindowSize, nil
}
