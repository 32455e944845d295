package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mirror serves files from loopback like a distribution's mirror: ETag,
// ranges, and, when cut is set, a first answer that breaks off after
// that many bytes (a dropped connection), so the CLI must resume.
type mirror struct {
	mu    sync.Mutex
	files map[string][]byte
	cut   int
	gets  []string
}

func (m *mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	b, ok := m.files[strings.TrimPrefix(r.URL.Path, "/")]
	cut := 0
	if strings.HasSuffix(r.URL.Path, ".img") {
		cut, m.cut = m.cut, 0
	}
	m.gets = append(m.gets, r.URL.Path+" "+r.Header.Get("Range"))
	m.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", fmt.Sprintf(`"%x"`, len(b)))
	if cut > 0 && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b[:cut])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// TestImageImportURL imports from a loopback mirror with the checksum
// read from its SHA256SUMS, through a download that breaks and resumes;
// then a file whose sum does not match stores nothing.
func TestImageImportURL(t *testing.T) {
	dir := t.TempDir()
	api, stop := startServe(t, dir)
	defer stop()
	file, sum := gptImage(t)
	gz, _ := os.ReadFile(file)
	raw := gunzipped(t, gz)
	m := &mirror{files: map[string][]byte{
		"debian/disk.img": gz, "debian/other.raw": raw,
		"debian/SHA256SUMS": []byte(fmt.Sprintf("%s  disk.img\n%s  other.raw\n", sha(gz), strings.Repeat("0", 64))),
	}, cut: len(gz) / 3}
	srv := httptest.NewServer(m)
	defer srv.Close()
	image := func(args ...string) (string, int) {
		return cli(t, append(append([]string{"image"}, args...), "--server", api, "--data-dir", dir)...)
	}
	out, code := image("import", srv.URL+"/debian/disk.img", "--name", "deb", "--checksums", srv.URL+"/debian/SHA256SUMS")
	if code != 0 || !strings.Contains(out, "imported deb: raw gzip, 4.0 MiB, sha256 "+sum) || !strings.Contains(out, "resuming") {
		t.Fatalf("import: %d %s\nmirror saw %q", code, out, m.gets)
	}
	if !strings.Contains(strings.Join(m.gets, ","), fmt.Sprintf("/debian/disk.img bytes=%d-", len(gz)/3)) {
		t.Errorf("no ranged request after the break: %q", m.gets)
	}
	if out, code := image("show", "deb"); code != 0 || !strings.Contains(out, srv.URL+"/debian/disk.img") || !strings.Contains(out, "a 16 MiB CIDATA partition is added") {
		t.Errorf("show: %d %s", code, out)
	}
	out, code = image("import", srv.URL+"/debian/other.raw", "--name", "bad", "--checksums", srv.URL+"/debian/SHA256SUMS")
	if code != 1 || !strings.Contains(out, "checksum mismatch: the file's sha256 is "+sha(raw)+", expected "+strings.Repeat("0", 64)+"; nothing was stored") {
		t.Fatalf("mismatch: %d %s", code, out)
	}
	if out, code := image("import", srv.URL+"/debian/other.raw", "--name", "bad", "--sha256", "xyz"); code != 1 || !strings.Contains(out, "want 64 hex digits") {
		t.Errorf("bad --sha256: %d %s", code, out)
	}
	// Debian publishes SHA512SUMS: a sha512 the download does not match
	// cuts the upload off, so nothing is stored either.
	m.files["debian/SHA512SUMS"] = []byte(strings.Repeat("ab", 64) + "  other.raw\n" + sha512hex(raw) + "  good.raw\n")
	m.files["debian/good.raw"] = raw
	if out, code := image("import", srv.URL+"/debian/other.raw", "--name", "bad", "--checksums", srv.URL+"/debian/SHA512SUMS"); code != 1 || !strings.Contains(out, "the download's sha512 is "+sha512hex(raw)) {
		t.Fatalf("sha512 mismatch: %d %s", code, out)
	}
	if out, code := image("import", srv.URL+"/debian/good.raw", "--name", "good", "--checksums", srv.URL+"/debian/SHA512SUMS"); code != 0 || !strings.Contains(out, "imported good") {
		t.Fatalf("sha512 match: %d %s", code, out)
	}
	image("rm", "good")
	if out, code := image("import", srv.URL+"/debian/nope.img", "--name", "bad", "--checksums", srv.URL+"/debian/SHA256SUMS"); code != 1 || !strings.Contains(out, `no sha256 or sha512 for "nope.img"`) {
		t.Errorf("not in SHA256SUMS: %d %s", code, out)
	}
	if out, _ := image("list"); strings.Contains(out, "bad") {
		t.Errorf("a refused import was stored:\n%s", out)
	}
	blobs, _ := os.ReadDir(filepath.Join(dir, "images", "blobs", "sha256"))
	if len(blobs) != 1 {
		t.Errorf("%d blobs stored, want the one of deb", len(blobs))
	}
}

func gunzipped(t *testing.T, b []byte) []byte {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func sha512hex(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}
