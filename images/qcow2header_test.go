package images

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzQcow2Header feeds arbitrary bytes to the qcow2 header check that
// runs before any library reads an imported qcow2: no panic, every
// refusal classified, and nothing accepted that names a backing file.
func FuzzQcow2Header(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseQcow2Head(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		if len(b) < 72 || b[8]|b[9]|b[10]|b[11]|b[12]|b[13]|b[14]|b[15] != 0 || h.size == 0 || h.size > MaxQcow2Size {
			t.Fatalf("accepted %+v from a header with a backing file or no size", h)
		}
	})
}

// TestWriteQcow2Corpus regenerates the fuzz seed corpus from headers
// qemu-img writes, when RACKBOOT_FUZZ_CORPUS=1.
func TestWriteQcow2Corpus(t *testing.T) {
	if os.Getenv("RACKBOOT_FUZZ_CORPUS") == "" {
		t.Skip("set RACKBOOT_FUZZ_CORPUS=1 to regenerate testdata/fuzz/FuzzQcow2Header")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzQcow2Header")
	os.MkdirAll(dir, 0o755)
	tmp := t.TempDir()
	for name, args := range map[string][]string{
		"v2":      {"-o", "compat=0.10"},
		"v3-zstd": {"-o", "compat=1.1,compression_type=zstd"},
		"backing": {"-b", "/etc/base.img", "-F", "raw", "-u"},
		"extdata": {"-o", "data_file=" + filepath.Join(tmp, "ext")},
	} {
		p := filepath.Join(tmp, name)
		cmd := exec.Command("qemu-img", append(append([]string{"create", "-q", "-f", "qcow2"}, args...), p, "1G")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", name, err, out)
		}
		b, _ := os.ReadFile(p)
		b = b[:min(len(b), 1024)]
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n[]byte("+strconv.Quote(string(b))+")\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
