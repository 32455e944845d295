package compression

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// payload is data that compresses but not to nothing: random blocks, each
// repeated, so every decoder has back-references to follow.
func payload(t *testing.T, n int) []byte {
	t.Helper()
	block := make([]byte, 4096)
	rand.Read(block)
	var b bytes.Buffer
	for b.Len() < n {
		b.Write(block)
		b.Write(block[:b.Len()%4096])
	}
	return b.Bytes()[:n]
}

func compress(t *testing.T, k Kind, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch k {
	case None, "", "raw":
		return data
	case Gzip:
		w = gzip.NewWriter(&buf)
	case XZ:
		w, err = xz.NewWriter(&buf)
	case Zstd:
		w, err = zstd.NewWriter(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := payload(t, 3<<20)
	for _, k := range append(Kinds, "", "raw") {
		t.Run(string(k)+"_", func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(compress(t, k, data)), k)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, not the %d written", len(got), len(data))
			}
		})
	}
}

// TestTruncated: a stream cut short is an error from every decoder, never a
// shorter clean read.
func TestTruncated(t *testing.T) {
	data := payload(t, 1<<20)
	for _, k := range []Kind{Gzip, XZ, Zstd} {
		for _, cut := range []int{5, 1 << 10, -7} {
			c := compress(t, k, data)
			if cut < 0 {
				cut += len(c)
			}
			r, err := NewReader(bytes.NewReader(c[:cut]), k)
			if err == nil {
				_, err = io.ReadAll(r)
				r.Close()
			}
			if err == nil {
				t.Errorf("%s cut at %d of %d: read without error", k, cut, len(c))
			}
			if k != Zstd && !errors.Is(err, ErrTruncated) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s cut at %d: %v, want a truncation", k, cut, err)
			}
		}
	}
}

func TestUnknownKind(t *testing.T) {
	if _, err := NewReader(bytes.NewReader(nil), "bzip2"); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"bzip2"`)) {
		t.Fatalf("err = %v, want one naming bzip2", err)
	}
}

// longZstd compresses data with the zstd command at --long=31 from a pipe,
// so the frame declares the full 2 GiB window whatever the data's size:
// what an operator's `xzcat disk.xz | zstd --long=31` produces.
func longZstd(t *testing.T, data []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("zstd"); err != nil {
		if testing.Short() {
			t.Skip("no zstd command (scripts/ci-deps installs it)")
		}
		t.Fatal("no zstd command (scripts/ci-deps installs it)")
	}
	cmd := exec.Command("zstd", "--long=31", "-1", "-q", "-c")
	cmd.Stdin, cmd.Stderr = bytes.NewReader(data), os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLongWindow(t *testing.T) {
	data := payload(t, 4<<20)
	c := longZstd(t, data)
	w, err := Window(Zstd, c)
	if err != nil {
		t.Fatal(err)
	}
	if w != MaxZstdWindow {
		t.Fatalf("window %d, want %d: the test stream is not what it claims", w, MaxZstdWindow)
	}
	r, err := NewReader(bytes.NewReader(c), Zstd)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("--long=31 stream decoded to other bytes")
	}
}

func TestWindow(t *testing.T) {
	data := payload(t, 1<<20)
	for _, k := range []Kind{None, Gzip, XZ} {
		if w, err := Window(k, compress(t, k, data)); w != 0 || err != nil {
			t.Errorf("%s: window %d, %v; want 0", k, w, err)
		}
	}
	w, err := Window(Zstd, compress(t, Zstd, data))
	if err != nil || w == 0 || w > 8<<20 {
		t.Errorf("zstd default: window %d, %v", w, err)
	}
	if _, err := Window(Zstd, []byte("not zstd")); err == nil {
		t.Error("garbage has a zstd window")
	}
}
