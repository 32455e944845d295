package resources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     File
		field string
	}{
		{"relative path", File{Path: "etc/motd"}, "path"},
		{"bad state", File{Path: "/x", State: "link"}, "state"},
		{"content and source", File{Path: "/x", Content: ptr("a"), Source: "file:///y"}, "content"},
		{"content on directory", File{Path: "/x", Content: ptr("a"), State: "directory"}, "state"},
		{"bad scheme", File{Path: "/x", Source: "ftp://h/y"}, "source"},
		{"bad mode", File{Path: "/x", Mode: "0999"}, "mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.field+":") {
				t.Fatalf("Validate = %v, want an error naming %q", err, tc.field)
			}
		})
	}
	if err := (&File{Named: Named{"/etc/motd"}, Mode: "0644"}).Validate(); err != nil {
		t.Fatalf("valid file: %v", err)
	}
}

func TestFileContentModeAndNoop(t *testing.T) {
	p := filepath.Join(t.TempDir(), "motd")
	f := &File{Path: p, Content: ptr("hello\n"), Mode: "0600"}
	if mustCheck(t, f, false) {
		t.Fatal("missing file reported correct")
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("noop check created the file")
	}
	converge(t, f)
	if got := readFile(t, p); got != "hello\n" {
		t.Fatalf("content = %q", got)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", fi.Mode())
	}
	os.Chmod(p, 0o666)
	converge(t, f)
	writeFile(t, p, "changed")
	converge(t, f)
}

func TestFileKeepsUnmanagedMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	writeFile(t, p, "old")
	os.Chmod(p, 0o640)
	converge(t, &File{Path: p, Content: ptr("new")})
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Fatalf("unmanaged mode changed to %v", fi.Mode())
	}
}

func TestFileDirectoryAndAbsent(t *testing.T) {
	d := filepath.Join(t.TempDir(), "d")
	converge(t, &File{Path: d, State: FileStateDirectory, Mode: "0750"})
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Fatalf("directory = %v, %v", fi, err)
	}
	converge(t, &File{Path: d, State: FileStateAbsent})
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Fatal("absent directory still there")
	}
	p := filepath.Join(t.TempDir(), "f")
	writeFile(t, p, "x")
	if _, err := (&File{Path: p, State: FileStateDirectory}).CheckApply(t.Context(), true); err == nil {
		t.Fatal("a file was silently accepted as a directory")
	}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, "from source")
	converge(t, &File{Path: dst, Source: "file://" + src})
	if got := readFile(t, dst); got != "from source" {
		t.Fatalf("content = %q", got)
	}
}

func TestFileOwnerFromRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/passwd"), "svc:x:4321:4322::/nonexistent:/bin/false\n")
	writeFile(t, filepath.Join(root, "etc/group"), "svc:x:4322:\n")
	p := filepath.Join(root, "owned")
	converge(t, &File{Path: p, Content: ptr("x"), Owner: "svc", Group: "svc", Root: root})
	fi, _ := os.Stat(p)
	if st := statIDs(fi); st != [2]uint32{4321, 4322} {
		t.Fatalf("owner = %v", st)
	}
	if _, err := (&File{Path: p, Owner: "nobody-here", Root: root}).CheckApply(t.Context(), true); err == nil {
		t.Fatal("unknown owner accepted")
	}
}

// TestFileDriftRestoredByEngine measures how fast a running engine puts
// the file back after each kind of drift.
func TestFileDriftRestoredByEngine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "managed")
	f := &File{Path: p, Content: ptr("wanted\n"), Mode: "0640"}
	runGraph(t, f)
	correct := func() bool {
		fi, err := os.Stat(p)
		b, _ := os.ReadFile(p)
		return err == nil && fi.Mode().Perm() == 0o640 && string(b) == "wanted\n"
	}
	// The parent does not exist yet: the watch must follow it being created.
	os.MkdirAll(filepath.Dir(p), 0o755)
	within(t, 2*time.Second, "created", correct)
	for _, drift := range []struct {
		name string
		do   func() error
	}{
		{"content", func() error { return os.WriteFile(p, []byte("tampered"), 0o640) }},
		{"delete", func() error { return os.Remove(p) }},
		{"chmod", func() error { return os.Chmod(p, 0o777) }},
	} {
		if err := drift.do(); err != nil {
			t.Fatal(err)
		}
		d := within(t, time.Second, drift.name+" restored", correct)
		t.Logf("%s drift restored in %v", drift.name, d)
	}
}
