package tftp

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// testTree is two roots and a directory outside them. Each regular file holds
// its own path relative to base, so a test can tell which one it got.
type testTree struct {
	base, r1, r2, outside string
	roots                 []*os.Root
}

func newTestTree(t testing.TB) *testTree {
	t.Helper()
	base := t.TempDir()
	tr := &testTree{
		base:    base,
		r1:      filepath.Join(base, "r1"),
		r2:      filepath.Join(base, "r2"),
		outside: filepath.Join(base, "outside"),
	}
	for _, f := range []string{"r1/a.bin", "r1/sub/b.bin", "r2/a.bin", "r2/only2.bin", "outside/secret"} {
		tr.write(t, f)
	}
	for _, d := range []string{"r1/dir"} {
		must(t, os.MkdirAll(filepath.Join(base, d), 0o755))
	}
	links := map[string]string{
		"r1/link-in":      "a.bin",
		"r1/sub/up":       "../a.bin",
		"r1/link-out":     "../outside/secret",
		"r1/link-out-dir": "../outside",
		"r1/link-abs":     filepath.Join(tr.outside, "secret"),
		"r1/link-abs-in":  filepath.Join(tr.r1, "a.bin"),
		"r1/dangling":     "nothing-here",
	}
	for link, target := range links {
		must(t, os.Symlink(target, filepath.Join(base, link)))
	}
	must(t, syscall.Mkfifo(filepath.Join(tr.r1, "fifo"), 0o644))
	for _, dir := range []string{tr.r1, tr.r2} {
		root, err := os.OpenRoot(dir)
		must(t, err)
		t.Cleanup(func() { root.Close() })
		tr.roots = append(tr.roots, root)
	}
	return tr
}

func (tr *testTree) write(t testing.TB, rel string) {
	path := filepath.Join(tr.base, rel)
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(rel), 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	tr := newTestTree(t)
	tests := []struct {
		name    string
		want    string // content of the file served, when err is nil
		wantErr error
	}{
		{name: "a.bin", want: "r1/a.bin"},
		{name: "/a.bin", want: "r1/a.bin"},
		{name: "///a.bin", want: "r1/a.bin"},
		{name: "only2.bin", want: "r2/only2.bin"},
		{name: "sub/b.bin", want: "r1/sub/b.bin"},
		{name: "/sub/./b.bin", want: "r1/sub/b.bin"},
		{name: "sub/../a.bin", want: "r1/a.bin"},
		{name: "link-in", want: "r1/a.bin"},
		{name: "sub/up", want: "r1/a.bin"},
		{name: "../outside/secret", wantErr: errRefused},
		{name: "/../outside/secret", wantErr: errRefused},
		{name: "sub/../../outside/secret", wantErr: errRefused},
		{name: "..", wantErr: errRefused},
		{name: "link-out", wantErr: errRefused},
		{name: "link-out-dir/secret", wantErr: errRefused},
		{name: "link-abs", wantErr: errRefused},
		{name: "link-abs-in", wantErr: errRefused},  // os.Root refuses every absolute symlink
		{name: "/etc/passwd", wantErr: errNotFound}, // looked up as etc/passwd inside the roots
		{name: "etc/passwd", wantErr: errNotFound},
		{name: `..\..\etc\passwd`, wantErr: errNotFound}, // a plain file name on Linux
		{name: "missing.bin", wantErr: errNotFound},
		{name: "dangling", wantErr: errNotFound},
		{name: "a.bin/x", wantErr: errNotFound},
		{name: "a\x00.bin", wantErr: errRefused},
		{name: "", wantErr: errRefused},
		{name: "/", wantErr: errRefused},
		{name: ".", wantErr: errRefused},
		{name: "dir", wantErr: errRefused},
		{name: "fifo", wantErr: errRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			f, _, err := (&source{roots: tr.roots}).open(tt.name)
			if d := time.Since(start); d > time.Second {
				t.Errorf("resolve took %v", d) // a FIFO open must not block
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("resolve(%q) error = %v, want %v", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve(%q): %v", tt.name, err)
			}
			defer f.Close()
			got, err := io.ReadAll(f)
			must(t, err)
			if string(got) != tt.want {
				t.Errorf("resolve(%q) served %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestSourceFilesOutsideRoots(t *testing.T) {
	tr := newTestTree(t)
	src := &source{
		roots: tr.roots,
		files: map[string]string{"ipxe.efi": filepath.Join(tr.r1, "link-abs"), "gone.efi": filepath.Join(tr.base, "gone")},
	}
	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{name: "ipxe.efi", want: "outside/secret"}, // the operator's symlink is followed
		{name: "/ipxe.efi", want: "outside/secret"},
		{name: "a.bin", want: "r1/a.bin"},
		{name: "gone.efi", wantErr: errNotFound},
		{name: "ipxe.efi/../link-abs", wantErr: errRefused}, // cleaned to link-abs, a root name
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := src.open(tt.name)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("open(%q) error = %v, want %v", tt.name, err, tt.wantErr)
				}
				return
			}
			must(t, err)
			defer f.Close()
			got, _ := io.ReadAll(f)
			if string(got) != tt.want {
				t.Errorf("open(%q) served %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"undionly.kpxe", "undionly.kpxe", true},
		{"/undionly.kpxe", "undionly.kpxe", true},
		{"//efi//ipxe.efi", "efi/ipxe.efi", true},
		{"a/./b/../c", "a/c", true},
		{"a/../..", "", false},
		{"../x", "", false},
		{"", "", false},
		{"x\x00", "", false},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("cleanName(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
