package images_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
	"github.com/klauspost/compress/zstd"
	"github.com/rackboot/rackboot/images"
	"github.com/ulikunitz/xz"
)

const diskSize = 4 << 20

// gptDisk is a 4 MiB disk image with a protective MBR and a GPT holding
// one partition, written by go-diskfs, with a marker in the partition so
// two calls with different markers differ.
func gptDisk(t testing.TB, marker string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gpt.img")
	d, err := diskfs.Create(p, diskSize, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	tbl := &gpt.Table{ProtectiveMBR: true, Partitions: []*gpt.Partition{
		{Index: 1, Start: 2048, End: 8191 - 34, Type: gpt.LinuxFilesystem, Name: "root"},
	}}
	if err := d.Partition(tbl); err != nil {
		t.Fatal(err)
	}
	d.Close()
	return withMarker(t, p, marker)
}

// mbrDisk is a 4 MiB disk image with a DOS partition table.
func mbrDisk(t testing.TB, marker string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mbr.img")
	d, err := diskfs.Create(p, diskSize, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	tbl := &mbr.Table{Partitions: []*mbr.Partition{{Index: 1, Bootable: true, Type: mbr.Linux, Start: 2048, Size: 6144}}}
	if err := d.Partition(tbl); err != nil {
		t.Fatal(err)
	}
	d.Close()
	return withMarker(t, p, marker)
}

func withMarker(t testing.TB, p, marker string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[2048*512:], marker)
	return b
}

// isoImage is an ISO 9660 image built by go-diskfs holding files (path →
// content), with Rock Ridge names as distributions ship them, or plain
// ISO 9660 names (upper case, 8.3) when plain is set.
func isoImage(t testing.TB, files map[string]string, plain bool) []byte {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "test.iso")
	d, err := diskfs.Create(p, 8<<20, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	d.LogicalBlocksize = 2048
	fsys, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 0, FSType: filesystem.TypeISO9660, VolumeLabel: "TEST"})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := fsys.Mkdir(filepath.Dir(name)); err != nil {
			t.Fatal(err)
		}
		f, err := fsys.OpenFile(name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := fsys.(*iso9660.FileSystem).Finalize(iso9660.FinalizeOptions{RockRidge: !plain}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func xzed(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := xz.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zstded(t testing.TB, b []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return w.EncodeAll(b, nil)
}

// longZstded compresses b with the zstd command at --long=31 from a pipe:
// the frame then declares a 2 GiB window whatever b's size, which a
// decoder with the library's default limit (512 MiB) refuses.
func longZstded(t testing.TB, b []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("zstd"); err != nil {
		t.Fatal("no zstd command (scripts/ci-deps installs it)")
	}
	cmd := exec.Command("zstd", "--long=31", "-1", "-q", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func openStore(t testing.TB, dir string) *images.Store {
	t.Helper()
	s, err := images.Open(dir, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// files lists the regular files under dir, relative to it.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}
