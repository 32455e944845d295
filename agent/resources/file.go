package resources

import (
	"context"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rackboot/rackboot/agent/engine"
)

// File states.
const (
	FileStateFile      = "file"
	FileStateDirectory = "directory"
	FileStateAbsent    = "absent"
)

// File manages a regular file, a directory, or the absence of either.
// Content comes from Content or from Source (a file:// or http(s):// URL,
// fetched once per File value); with neither, an existing file's content is
// left alone. Mode, Owner and Group are managed only when set.
type File struct {
	Named   `yaml:"-"`
	Watched `yaml:"-"`
	Path    string  `yaml:"path"`    // defaults to the resource name
	Content *string `yaml:"content"` // nil: not managed
	Source  string  `yaml:"source"`
	Mode    string  `yaml:"mode"`  // octal, for example "0644"
	Owner   string  `yaml:"owner"` // user name or uid
	Group   string  `yaml:"group"` // group name or gid
	State   string  `yaml:"state"` // file (default), directory, absent

	// Root prefixes /etc/passwd and /etc/group when resolving Owner and Group.
	Root string `yaml:"-"`

	src *fetched // Source content, fetched once
}

func (f *File) Kind() string { return "file" }

func (f *File) path() string {
	if f.Path == "" {
		return f.ResName
	}
	return f.Path
}

func (f *File) state() string {
	if f.State == "" {
		return FileStateFile
	}
	return f.State
}

// Validate checks every parameter, naming the one at fault.
func (f *File) Validate() error {
	if p := f.path(); p == "" || !filepath.IsAbs(p) {
		return fieldErr("path", "%q must be an absolute path", p)
	}
	if err := oneOf("state", f.state(), FileStateFile, FileStateDirectory, FileStateAbsent); err != nil {
		return err
	}
	if f.Content != nil && f.Source != "" {
		return fieldErr("content", "set content or source, not both")
	}
	if (f.Content != nil || f.Source != "") && f.state() != FileStateFile {
		return fieldErr("state", "content and source need state %q", FileStateFile)
	}
	if err := validateSource(f.Source); err != nil {
		return err
	}
	_, err := parseMode(f.Mode)
	return err
}

func parseMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0, nil
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fieldErr("mode", "%q is not an octal mode like 0644", s)
	}
	return fileMode(m), nil
}

// fileMode maps Unix permission bits (with setuid, setgid, sticky) to Go's.
func fileMode(m uint64) os.FileMode {
	mode := os.FileMode(m & 0o777)
	for bit, gm := range map[uint64]os.FileMode{0o4000: os.ModeSetuid, 0o2000: os.ModeSetgid, 0o1000: os.ModeSticky} {
		if m&bit != 0 {
			mode |= gm
		}
	}
	return mode
}

// Cmp reports whether other is a File with the same desired state.
func (f *File) Cmp(other engine.Resource) bool {
	o, ok := other.(*File)
	return ok && f.ResName == o.ResName && f.path() == o.path() && f.state() == o.state() &&
		equalPtr(f.Content, o.Content) && f.Source == o.Source && f.Mode == o.Mode &&
		f.Owner == o.Owner && f.Group == o.Group && f.Root == o.Root
}

// Watch watches the file through its parent directory.
func (f *File) Watch(ctx context.Context, events chan<- struct{}) error {
	return watchPaths(ctx, f.FS, events, 0, f.path())
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
