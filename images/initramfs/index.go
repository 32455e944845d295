package initramfs

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// moduleSuffixes are the module file names the kernel tree may hold;
// Debian 12 ships plain .ko, later releases .ko.xz.
var moduleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// index maps normalised module names to their paths in a modules tree.
type index struct {
	dir     string
	paths   map[string]string // name → path relative to dir
	builtin map[string]bool
}

// modName normalises a module name or file name: the kernel treats - and _
// alike in module names, and files may be compressed.
func modName(s string) string {
	s = filepath.Base(s)
	for _, suf := range moduleSuffixes {
		if strings.HasSuffix(s, suf) {
			s = strings.TrimSuffix(s, suf)
			break
		}
	}
	return strings.ReplaceAll(s, "-", "_")
}

func isModuleFile(name string) bool {
	for _, suf := range moduleSuffixes {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}

// newIndex walks dir for module files and reads modules.builtin.
func newIndex(dir string) (*index, error) {
	ix := &index{dir: dir, paths: map[string]string{}, builtin: map[string]bool{}}
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && isModuleFile(d.Name()) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", dir, err)
	}
	sort.Strings(found) // a name found twice resolves the same way every run
	for _, p := range found {
		rel, _ := filepath.Rel(dir, p)
		if _, dup := ix.paths[modName(p)]; !dup {
			ix.paths[modName(p)] = rel
		}
	}
	return ix, ix.readBuiltin()
}

// readBuiltin reads modules.builtin: a dependency built into the kernel
// needs no file and no loading.
func (ix *index) readBuiltin() error {
	f, err := os.Open(filepath.Join(ix.dir, "modules.builtin"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			ix.builtin[modName(line)] = true
		}
	}
	return sc.Err()
}
