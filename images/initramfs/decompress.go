package initramfs

import (
	"fmt"
	"io"
	"os"

	"github.com/u-root/u-root/pkg/kmodule"
)

// readModule returns a module file's ELF bytes, decompressed: the ramdisk
// holds plain .ko files so loading needs no decompressor in the kernel or
// in the installer, and the whole cpio compresses better as one stream.
func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	defer f.Close()
	r, err := kmodule.CompressionReader(f)
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", path, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", path, err)
	}
	return b, nil
}
