package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// defaultFileMode is used for a file or directory the agent creates when no
// mode is given.
const (
	defaultFileMode = 0o644
	defaultDirMode  = 0o755
)

// CheckApply brings the path to its desired state.
func (f *File) CheckApply(ctx context.Context, apply bool) (bool, error) {
	switch f.state() {
	case FileStateAbsent:
		return f.checkAbsent(apply)
	case FileStateDirectory:
		return f.checkDir(apply)
	}
	return f.checkFile(ctx, apply)
}

func (f *File) checkAbsent(apply bool) (bool, error) {
	if _, err := os.Lstat(f.path()); errors.Is(err, fs.ErrNotExist) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("stat: %w", err)
	}
	if !apply {
		return false, nil
	}
	// os.Remove refuses a non-empty directory: deleting a tree is too
	// dangerous to do by accident.
	if err := os.Remove(f.path()); err != nil {
		return false, fmt.Errorf("remove: %w", err)
	}
	return false, nil
}

func (f *File) checkDir(apply bool) (bool, error) {
	fi, err := os.Lstat(f.path())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !apply {
			return false, nil
		}
		if err := os.Mkdir(f.path(), f.modeOr(defaultDirMode)); err != nil {
			return false, fmt.Errorf("mkdir: %w", err)
		}
		return f.fixAttrs(apply, false)
	case err != nil:
		return false, fmt.Errorf("stat: %w", err)
	case !fi.IsDir():
		return false, fmt.Errorf("%s exists and is not a directory", f.path())
	}
	return f.fixAttrs(apply, true)
}

func (f *File) checkFile(ctx context.Context, apply bool) (bool, error) {
	want, managed, err := f.desired(ctx)
	if err != nil {
		return false, err
	}
	fi, err := os.Lstat(f.path())
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("stat: %w", err)
	}
	if exists && fi.IsDir() {
		return false, fmt.Errorf("%s is a directory", f.path())
	}
	// A symlink is replaced: we manage the path, not what it points to.
	same := exists && fi.Mode().IsRegular() && (!managed || sameContent(f.path(), want))
	if same {
		return f.fixAttrs(apply, true)
	}
	if !apply {
		return false, nil
	}
	return false, f.write(want, fi)
}

// write replaces the file atomically, keeping the old mode and owner for
// whatever is not managed.
func (f *File) write(data []byte, old fs.FileInfo) error {
	mode := f.modeOr(defaultFileMode)
	uid, gid, err := resolveIDs(f.Root, f.Owner, f.Group)
	if err != nil {
		return err
	}
	if old != nil && old.Mode().IsRegular() {
		if f.Mode == "" {
			mode = old.Mode().Perm() | old.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
		}
		st := old.Sys().(*syscall.Stat_t)
		uid, gid = keepID(uid, int(st.Uid)), keepID(gid, int(st.Gid))
	}
	return writeAtomic(f.path(), data, mode, uid, gid)
}

func keepID(want, have int) int {
	if want < 0 {
		return have
	}
	return want
}

func sameContent(path string, want []byte) bool {
	have, err := os.ReadFile(path)
	return err == nil && bytes.Equal(have, want)
}
