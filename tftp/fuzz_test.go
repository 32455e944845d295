package tftp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// FuzzResolve checks the one promise resolve makes: whatever the name, a file
// it opens lies inside one of the roots. The check asks the kernel where the
// open descriptor really points, so it does not trust resolve's own logic.
// Seeds live in testdata/fuzz/FuzzResolve.
func FuzzResolve(f *testing.F) {
	if runtime.GOOS != "linux" {
		f.Skip("reads /proc/self/fd")
	}
	tr := newTestTree(f)
	var realRoots []string
	for _, dir := range []string{tr.r1, tr.r2} {
		real, err := filepath.EvalSymlinks(dir)
		must(f, err)
		realRoots = append(realRoots, real+string(filepath.Separator))
	}
	f.Fuzz(func(t *testing.T, name string) {
		file, info, err := (&source{roots: tr.roots}).open(name)
		if err != nil {
			if !errors.Is(err, errNotFound) && !errors.Is(err, errRefused) {
				t.Fatalf("resolve(%q): unclassified error %v", name, err)
			}
			return
		}
		defer file.Close()
		if !info.Mode().IsRegular() {
			t.Fatalf("resolve(%q) opened a %v", name, info.Mode())
		}
		path, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", file.Fd()))
		must(t, err)
		for _, root := range realRoots {
			if strings.HasPrefix(path, root) {
				return
			}
		}
		t.Fatalf("resolve(%q) opened %s, outside every root", name, path)
	})
}
