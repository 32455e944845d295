package images_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/images/partition"
)

func needQemuImg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"qemu-img", "qemu-io"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testing.Short() {
				t.Skip("qemu-utils not installed")
			}
			t.Fatalf("%s not installed (scripts/ci-deps: qemu-utils)", tool)
		}
	}
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// rawForQcow2 is a 24 MiB MBR disk whose content has random runs, zero
// runs and an odd-sized tail, so every kind of cluster turns up.
func rawForQcow2(t *testing.T) []byte {
	b := make([]byte, 24<<20+3*512)
	r := rand.New(rand.NewPCG(7, 9))
	for i := 0; i < len(b); i += 1 << 20 {
		if (i>>20)%3 == 1 {
			continue // a zero MiB
		}
		for j := i; j < min(i+300<<10, len(b)); j++ {
			b[j] = byte(r.Uint32())
		}
	}
	clear(b[:512])
	b[446+4], b[510], b[511] = 0x83, 0x55, 0xaa
	copy(b[446+8:], []byte{0x00, 0x08, 0, 0, 0x00, 0x80, 0, 0}) // LBA 2048, 32768 sectors
	return b
}

func writeTemp(t *testing.T, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func allocatedBytes(t *testing.T, path string) int64 {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestImportQcow2 converts qcow2 files that qemu-img made, in every shape
// the issue names (v2 and v3, zlib and zstd compressed clusters, zero
// clusters, cluster sizes from 512 bytes to 2 MiB, and a gzip'd one), and
// wants each stored as the raw content: same sha256 and size as the raw
// file, sparse, the source format and the qcow2's own checksum recorded.
func TestImportQcow2(t *testing.T) {
	needQemuImg(t)
	raw := rawForQcow2(t)
	rawPath := writeTemp(t, "disk.raw", raw)
	zeroed := bytes.Clone(raw)
	clear(zeroed[4<<20 : 6<<20])
	for _, tc := range []struct {
		name string
		args string // qemu-img convert options
		zero bool   // then write zero clusters over 4-6 MiB with qemu-io
		gzip bool
	}{
		{"v2 uncompressed", "-o compat=0.10", false, false},
		{"v2 zlib", "-c -o compat=0.10", false, false},
		{"v3 zlib 512", "-c -o compat=1.1,cluster_size=512", false, false},
		{"v3 zstd", "-c -o compat=1.1,compression_type=zstd", false, false},
		{"v3 zstd 2M", "-c -o compat=1.1,compression_type=zstd,cluster_size=2M", false, false},
		{"v3 zero clusters", "-o compat=1.1", true, false},
		{"v3 zlib gzipped", "-c -o compat=1.1", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := filepath.Join(t.TempDir(), "disk.qcow2")
			runTool(t, "qemu-img", append(append([]string{"convert", "-f", "raw", "-O", "qcow2"}, strings.Fields(tc.args)...), rawPath, q)...)
			want := raw
			if tc.zero {
				runTool(t, "qemu-io", "-f", "qcow2", "-c", "write -z 4M 2M", q)
				want = zeroed
			}
			input, err := os.ReadFile(q)
			if err != nil {
				t.Fatal(err)
			}
			if tc.gzip {
				input = gzipped(t, input)
			}
			dir := t.TempDir()
			s := openStore(t, dir)
			img, err := s.Import(context.Background(), bytes.NewReader(input), images.ImportOptions{Name: "q", SHA256: sha(input)})
			if err != nil {
				t.Fatal(err)
			}
			if img.Format != images.FormatRaw || img.Compression != images.None || img.SourceFormat != "qcow2" ||
				img.SHA256 != sha(want) || img.Size != int64(len(want)) || img.StoredSHA256 != img.SHA256 ||
				img.SourceSHA256 != sha(input) || img.SourceSize != int64(len(input)) {
				t.Fatalf("record %+v", img)
			}
			if l := img.Layout; l == nil || l.Table != partition.MBR || len(l.Partitions) != 1 || l.FreeEntries != 3 {
				t.Errorf("layout %+v", img.Layout)
			}
			f, _, err := s.Open("q")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, _ := io.ReadAll(f)
			if !bytes.Equal(got, want) {
				t.Fatal("the stored blob is not the raw content")
			}
			if a := allocatedBytes(t, f.Name()); a >= int64(len(want))*3/4 {
				t.Errorf("blob allocates %d of %d bytes: not sparse", a, len(want))
			}
		})
	}
}

// TestImportQcow2Refused: what cannot be converted on its own is refused
// with the reason, and nothing is stored.
func TestImportQcow2Refused(t *testing.T) {
	needQemuImg(t)
	dir := t.TempDir()
	base := writeTemp(t, "base.raw", rawForQcow2(t))
	mk := func(name string, args ...string) []byte {
		p := filepath.Join(dir, name)
		runTool(t, "qemu-img", append([]string{"create", "-q", "-f", "qcow2"}, append(args, p, "24M")...)...)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		body []byte
		want string
		is   error
	}{
		{"backing file", mk("overlay.qcow2", "-b", base, "-F", "raw"), `has a backing file "` + base + `"`, images.ErrUnsupported},
		{"external data file", mk("ext.qcow2", "-o", "data_file="+filepath.Join(dir, "ext.data")), "external data file", images.ErrUnsupported},
		// AES, not LUKS: making a LUKS header benchmarks the CPU, which
		// qemu-img refuses to do on a loaded machine.
		{"encrypted", mk("enc.qcow2", "--object", "secret,id=s0,data=pw", "-o", "encrypt.format=aes,encrypt.key-secret=s0"), "encrypted", images.ErrUnsupported},
		{"garbage header", append([]byte("QFI\xfb\x00\x00\x00\x03"), make([]byte, 504)...), "qcow2 header: cluster bits 0", images.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sdir := t.TempDir()
			s := openStore(t, sdir)
			_, err := s.Import(context.Background(), bytes.NewReader(tc.body), images.ImportOptions{Name: "x"})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.is, tc.want)
			}
			t.Logf("%s: %v", tc.name, err)
			assertEmpty(t, s, sdir)
		})
	}
}

// A file whose sha256 is not the expected one stores nothing, whatever
// its format.
func TestImportChecksumMismatch(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	disk := gptDisk(t, "x")
	_, err := s.Import(context.Background(), bytes.NewReader(disk), images.ImportOptions{Name: "x", SHA256: sha([]byte("other"))})
	if !errors.Is(err, images.ErrChecksum) || !strings.Contains(err.Error(), "the file's sha256 is "+sha(disk)) {
		t.Fatalf("err = %v", err)
	}
	assertEmpty(t, s, dir)
	if _, err := s.Import(context.Background(), bytes.NewReader(disk), images.ImportOptions{Name: "x", SHA256: "ABC"}); !errors.Is(err, images.ErrInvalid) {
		t.Fatalf("a malformed sha256: err = %v", err)
	}
}
