package images

import (
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Decompress returns the uncompressed stream of r, stored with c. Every
// decoder reports a stream that ends early as an error, never as a short
// clean EOF, so a truncated download cannot pass for a smaller image.
// Close releases the decoder; it does not close r.
func Decompress(r io.Reader, c Compression) (io.ReadCloser, error) {
	switch c {
	case None, "":
		return io.NopCloser(r), nil
	case Gzip:
		return gzip.NewReader(r)
	case XZ:
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(zr), nil
	case Zstd:
		// One goroutine: the import already runs beside a hasher and a
		// writer, and the installer runs in a small ramdisk. The window
		// limit admits `zstd --long=31` archives.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<31))
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("decompress: unknown compression %q", c)
}
