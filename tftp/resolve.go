package tftp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Errors behind every refused request; what the client is told comes from
// wireError, so host paths never leave the server.
var (
	errNotFound = errors.New("file not found")
	errRefused  = errors.New("access refused")
)

// O_NONBLOCK keeps a FIFO planted in a root from blocking the open; it has no
// effect on regular files, the only kind served.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK

// source is what a Serve call reads from: operator-named files, then roots.
type source struct {
	files map[string]string
	roots []*os.Root
}

func openSource(dirs []string, files map[string]string) (*source, error) {
	src := &source{files: files}
	for _, dir := range dirs {
		root, err := os.OpenRoot(dir)
		if err != nil {
			src.close()
			return nil, fmt.Errorf("open root: %w", err)
		}
		src.roots = append(src.roots, root)
	}
	return src, nil
}

func (s *source) close() {
	for _, r := range s.roots {
		r.Close()
	}
}

// open finds the file a client asked for. Operator-named files win, so a name
// listed in Files cannot be shadowed by one dropped into a root.
func (s *source) open(name string) (*os.File, fs.FileInfo, error) {
	rel, err := cleanName(name)
	if err != nil {
		return nil, nil, err
	}
	if path, ok := s.files[rel]; ok {
		return openRegular(func() (*os.File, error) { return os.OpenFile(path, openFlags, 0) })
	}
	return resolve(s.roots, rel)
}

// resolve opens name in the first root that has it. os.Root does the
// containment: ".." and symlinks are followed only while they stay beneath the
// root, which also closes the race between checking a path and opening it.
// A name that escapes is refused outright rather than tried in the next root.
// rel is a name cleanName has passed.
func resolve(roots []*os.Root, rel string) (*os.File, fs.FileInfo, error) {
	for _, root := range roots {
		f, info, err := openRegular(func() (*os.File, error) { return root.OpenFile(rel, openFlags, 0) })
		if errors.Is(err, errNotFound) {
			continue
		}
		return f, info, err
	}
	return nil, nil, fmt.Errorf("resolve %q: %w", rel, errNotFound)
}

// cleanName turns a requested name into a path relative to a root. PXE ROMs
// often send a leading "/", so it is stripped; what is left must be local:
// not empty, not absolute, no ".." climbing above its start.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("name %q: NUL byte: %w", name, errRefused)
	}
	rel := strings.TrimLeft(name, "/")
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("name %q: not inside a root: %w", name, errRefused)
	}
	return filepath.Clean(rel), nil
}

// openRegular opens with the given function and keeps the file only if it is
// a regular file: directories, devices and FIFOs are refused.
func openRegular(open func() (*os.File, error)) (*os.File, fs.FileInfo, error) {
	f, err := open()
	if err != nil {
		// ENOTDIR: a name like "undionly.kpxe/x" is simply not there.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil, fmt.Errorf("%w: %w", errNotFound, err)
		}
		return nil, nil, fmt.Errorf("%w: %w", errRefused, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %w", errRefused, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w: not a regular file", f.Name(), errRefused)
	}
	return f, info, nil
}
