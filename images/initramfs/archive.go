package initramfs

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// LoadList is where the installer reads the modules to load, in order; the
// installer declares the same path (installer.LoadListPath).
const LoadList = "lib/modules/rackboot.load"

// emptyDirs are mount points and scratch directories the installer expects.
var emptyDirs = []string{"dev", "etc", "proc", "run", "sys", "tmp"}

// Build writes the ramdisk for cfg to w as a gzip'd newc cpio.
func Build(cfg Config, w io.Writer) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return fmt.Errorf("build initramfs: %w", err)
	}
	recs, err := records(cfg)
	if err != nil {
		return fmt.Errorf("build initramfs: %w", err)
	}
	if err := writeArchive(w, recs); err != nil {
		return fmt.Errorf("build initramfs: %w", err)
	}
	return nil
}

// BuildFile writes the ramdisk to path crash-safely: a reader of path sees
// the old ramdisk or the new one, never half of one.
func BuildFile(cfg Config, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".initramfs-*")
	if err != nil {
		return fmt.Errorf("build initramfs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := Build(cfg, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("build initramfs: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("build initramfs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("build initramfs: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("build initramfs: %w", err)
	}
	return nil
}

// records gathers every entry of the ramdisk: /init, the modules and their
// load list, /dev/console (the kernel opens it for init's stdio before
// anything could create it), and the directories they need.
func records(cfg Config) ([]cpio.Record, error) {
	bin, err := readStaticBinary(cfg.Binary)
	if err != nil {
		return nil, err
	}
	mods, err := moduleRecords(cfg)
	if err != nil {
		return nil, err
	}
	recs := append(mods, cpio.StaticRecord(bin, cpio.Info{Name: "init", Mode: cpio.S_IFREG | 0o755}))
	recs = append(recs, cpio.CharDev("dev/console", 0o600, 5, 1))
	for _, d := range emptyDirs {
		recs = append(recs, cpio.Directory(d, 0o755))
	}
	return withParents(recs), nil
}

// moduleRecords resolves the modules, reads them decompressed, and writes
// the load list with their paths in the ramdisk.
func moduleRecords(cfg Config) ([]cpio.Record, error) {
	ix, err := newIndex(cfg.ModulesDir)
	if err != nil {
		return nil, err
	}
	var src depSource = modinfoDeps{ix}
	if df, err := readDepFile(filepath.Join(cfg.ModulesDir, "modules.dep")); err == nil {
		src = df
	}
	order, err := loadOrder(cfg.wanted(), ix, src)
	if err != nil {
		return nil, err
	}
	var recs []cpio.Record
	var list strings.Builder
	for _, name := range order {
		data, err := readModule(filepath.Join(cfg.ModulesDir, ix.paths[name]))
		if err != nil {
			return nil, err
		}
		rel := plainKo(filepath.ToSlash(ix.paths[name]))
		p := path.Join("lib/modules", cfg.KernelVersion, rel)
		recs = append(recs, cpio.StaticRecord(data, cpio.Info{Name: p, Mode: cpio.S_IFREG | 0o644}))
		list.WriteString("/" + p + "\n")
	}
	cfg.Log.Info("modules included", "count", len(order), "order", strings.Join(order, " "))
	recs = append(recs, cpio.StaticFile(LoadList, list.String(), 0o644))
	return recs, nil
}

// plainKo names a decompressed module: foo.ko.xz becomes foo.ko.
func plainKo(p string) string {
	if i := strings.LastIndex(p, ".ko"); i >= 0 {
		return p[:i+len(".ko")]
	}
	return p
}

// withParents adds a directory record for every parent not already listed
// and sorts by name, which puts each directory before its contents.
func withParents(recs []cpio.Record) []cpio.Record {
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Name] = true
	}
	for _, r := range recs {
		for d := path.Dir(r.Name); d != "." && !have[d]; d = path.Dir(d) {
			have[d] = true
			recs = append(recs, cpio.Directory(d, 0o755))
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	return recs
}

// writeArchive writes the records as newc inside gzip with a fixed header
// (no name, no time), so the same records give the same bytes.
func writeArchive(w io.Writer, recs []cpio.Record) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	cw := cpio.Newc.Writer(zw)
	for i, r := range recs {
		r = cpio.MakeReproducible(r)
		r.Ino = uint64(i + 1) // unique, so no two entries look like hard links
		r.NLink = 1
		if err := cw.WriteRecord(r); err != nil {
			return fmt.Errorf("write %s: %w", r.Name, err)
		}
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		return err
	}
	return zw.Close()
}
