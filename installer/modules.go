package installer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// LoadListPath is where the ramdisk builder writes the modules to load, one
// path a line, already in dependency order. It is shared with the builder.
const LoadListPath = "lib/modules/rackboot.load"

// readLoadList returns the module paths in root's load list. Paths are
// relative to the ramdisk root (a leading slash is allowed); blank lines and
// # comments are skipped.
func readLoadList(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, LoadListPath))
	if err != nil {
		return nil, fmt.Errorf("load list: %w", err)
	}
	var paths []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		paths = append(paths, line)
	}
	return paths, sc.Err()
}

// moduleLoader inserts one module from an open file (finit_module on Linux).
type moduleLoader func(f *os.File) error

// loadModules loads every module in the list in order and returns how many
// the kernel took. A module already loaded (EEXIST) counts; one that fails
// is logged and skipped, because the others (a second NIC driver, the disk
// drivers) are still worth having.
func loadModules(root string, paths []string, load moduleLoader, log *slog.Logger) int {
	n := 0
	for _, p := range paths {
		err := loadModule(filepath.Join(root, p), load)
		switch {
		case err == nil || errors.Is(err, syscall.EEXIST):
			n++
		default:
			log.Error("module not loaded", "module", filepath.Base(p), "err", err)
		}
	}
	return n
}

func loadModule(path string, load moduleLoader) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := load(f); err != nil {
		return fmt.Errorf("load %s: %w", filepath.Base(path), err)
	}
	return nil
}
