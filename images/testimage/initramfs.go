package testimage

import (
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/u-root/u-root/pkg/cpio"
)

// WriteInitramfs archives the directory root as a gzip'd newc cpio at out,
// reproducibly: entries sorted by name, times, owners and device numbers
// zeroed, inode numbers given in order, a gzip header without name or time.
// Files keep their permission bits.
func WriteInitramfs(root, out string) (err error) {
	var names []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	sort.Strings(names)
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("initramfs: %w", cerr)
		}
		if err != nil {
			os.Remove(out)
		}
	}()
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	cw := cpio.Newc.Writer(zw)
	rec := cpio.NewRecorder()
	for _, p := range names {
		r, err := rec.GetRecord(p)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		r.Name = filepath.ToSlash(rel)
		r = cpio.MakeReproducible(r)
		if err := cw.WriteRecord(r); err != nil {
			return fmt.Errorf("initramfs: %s: %w", rel, err)
		}
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return zw.Close()
}
