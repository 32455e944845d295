package initramfs

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

// fakeTree lays out a modules tree like Debian's package: no modules.dep,
// the virtio stack with its real dependency shape, one module gzipped.
func fakeTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "6.1.0-99-amd64")
	mods := map[string][]byte{
		"kernel/drivers/virtio/virtio.ko":                     fakeELF("name=virtio"),
		"kernel/drivers/virtio/virtio_ring.ko":                fakeELF("depends=virtio"),
		"kernel/drivers/virtio/virtio_pci_legacy_dev.ko":      fakeELF("depends="),
		"kernel/drivers/virtio/virtio_pci_modern_dev.ko":      fakeELF("depends="),
		"kernel/drivers/virtio/virtio_pci.ko":                 fakeELF("depends=virtio_pci_modern_dev,virtio_ring,virtio,virtio_pci_legacy_dev"),
		"kernel/net/core/failover.ko":                         fakeELF("depends="),
		"kernel/drivers/net/net_failover.ko":                  fakeELF("depends=failover"),
		"kernel/drivers/net/virtio_net.ko":                    fakeELF("depends=net_failover,virtio,virtio_ring"),
		"kernel/drivers/nvme/host/nvme-core.ko":               fakeELF("depends=t10-pi"),
		"kernel/drivers/nvme/host/nvme.ko":                    fakeELF("depends=nvme-core", "softdep=pre: crc32c_intel post: absent"),
		"kernel/arch/x86/crypto/crc32c-intel.ko":              fakeELF("depends="),
		"kernel/drivers/net/ethernet/intel/e1000/e1000.ko.gz": gz(t, fakeELF("depends=")),
		"kernel/drivers/unrelated/unrelated.ko":               fakeELF("depends=virtio"),
	}
	for p, b := range mods {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// t10-pi is built in on this kernel.
	if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/block/t10-pi.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadOrderFromModinfo(t *testing.T) {
	ix, err := newIndex(fakeTree(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := loadOrder([]string{"virtio_pci", "virtio_net", "nvme", "e1000"}, ix, modinfoDeps{ix})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring", "virtio_pci",
		"failover", "net_failover", "virtio_net",
		"crc32c_intel", "nvme_core", "nvme", "e1000",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestLoadOrderFromModulesDep(t *testing.T) {
	dir := fakeTree(t)
	dep := "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n" +
		"kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n" +
		"kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n" +
		"kernel/drivers/virtio/virtio.ko:\nkernel/net/core/failover.ko:\n"
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := newIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	df, err := readDepFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := loadOrder([]string{"virtio-net"}, ix, df)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"failover", "net_failover", "virtio", "virtio_ring", "virtio_net"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestLoadOrderErrors(t *testing.T) {
	ix, err := newIndex(fakeTree(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrder([]string{"no_such_driver"}, ix, modinfoDeps{ix}); err == nil || !strings.Contains(err.Error(), "no_such_driver") {
		t.Errorf("missing module: err = %v", err)
	}
	cycle := depFile{"virtio": {"virtio_ring"}, "virtio_ring": {"virtio"}}
	if _, err := loadOrder([]string{"virtio"}, ix, cycle); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: err = %v", err)
	}
	if got, err := loadOrder([]string{"t10_pi"}, ix, cycle); err != nil || len(got) != 0 {
		t.Errorf("built-in: got %v, %v; want nothing to load", got, err)
	}
}

func buildFake(t *testing.T) (Config, []byte) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rackboot")
	if err := os.WriteFile(bin, fakeELF(), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Config{ModulesDir: fakeTree(t), Binary: bin, Modules: []string{"virtio_net", "virtio_pci"}, Extra: []string{"e1000"}}
	var out bytes.Buffer
	if err := Build(cfg, &out); err != nil {
		t.Fatal(err)
	}
	return cfg, out.Bytes()
}

func readArchive(t *testing.T, gzipped []byte) map[string]cpio.Record {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gzipped))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.EOFReader{RecordReader: cpio.Newc.Reader(bytes.NewReader(raw))})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]cpio.Record{}
	var names []string
	for _, r := range recs {
		m[r.Name] = r
		names = append(names, r.Name)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("entries not sorted: %q before %q", names[i-1], names[i])
		}
	}
	return m
}

func content(t *testing.T, r cpio.Record) string {
	t.Helper()
	b, err := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuildContents(t *testing.T) {
	cfg, out := buildFake(t)
	recs := readArchive(t, out)

	initRec, ok := recs["init"]
	if !ok || initRec.Mode != cpio.S_IFREG|0o755 || content(t, initRec) != string(fakeELF()) {
		t.Errorf("init: %v", initRec.Info)
	}
	con := recs["dev/console"]
	if con.Mode != cpio.S_IFCHR|0o600 || con.Rmajor != 5 || con.Rminor != 1 {
		t.Errorf("dev/console: %v", con.Info)
	}
	for _, d := range []string{"dev", "etc", "proc", "sys", "run", "tmp", "lib", "lib/modules", "lib/modules/6.1.0-99-amd64/kernel/drivers"} {
		if recs[d].Mode != cpio.S_IFDIR|0o755 {
			t.Errorf("%s: %v, want a directory", d, recs[d].Info)
		}
	}
	wantList := strings.Join([]string{
		"failover.ko", "net_failover.ko", "virtio.ko", "virtio_ring.ko", "virtio_net.ko",
		"virtio_pci_legacy_dev.ko", "virtio_pci_modern_dev.ko", "virtio_pci.ko", "e1000.ko",
	}, " ")
	var gotList []string
	for _, line := range strings.Fields(content(t, recs[LoadList])) {
		gotList = append(gotList, filepath.Base(line))
		if _, ok := recs[strings.TrimPrefix(line, "/")]; !ok {
			t.Errorf("load list names %s, not in the archive", line)
		}
	}
	if strings.Join(gotList, " ") != wantList {
		t.Errorf("load list %v\nwant      %v", gotList, wantList)
	}
	e1000 := recs["lib/modules/6.1.0-99-amd64/kernel/drivers/net/ethernet/intel/e1000/e1000.ko"]
	if content(t, e1000) != string(fakeELF("depends=")) {
		t.Error("e1000.ko.gz was not stored decompressed as e1000.ko")
	}
	if _, ok := recs["lib/modules/6.1.0-99-amd64/kernel/drivers/unrelated/unrelated.ko"]; ok {
		t.Error("a module nobody asked for is in the archive")
	}
	for name, r := range recs {
		if r.MTime != 0 || r.UID != 0 || r.GID != 0 {
			t.Errorf("%s: mtime %d uid %d gid %d, want zeros", name, r.MTime, r.UID, r.GID)
		}
	}
	_ = cfg
}

func TestBuildDeterministic(t *testing.T) {
	cfg, first := buildFake(t)
	var second bytes.Buffer
	if err := Build(cfg, &second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second.Bytes()) {
		t.Error("two builds of the same inputs differ")
	}
}

func TestBuildFile(t *testing.T) {
	cfg, want := buildFake(t)
	out := filepath.Join(t.TempDir(), "installer.cpio.gz")
	if err := BuildFile(cfg, out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file differs from Build's output (err %v)", err)
	}
}

func TestBuildRefusesDynamicBinary(t *testing.T) {
	cfg, _ := buildFake(t)
	cfg.Binary = "/bin/sh" // Debian's is dynamically linked
	if err := Build(cfg, io.Discard); !errors.Is(err, ErrNotStatic) {
		t.Fatalf("err = %v, want ErrNotStatic", err)
	}
}
