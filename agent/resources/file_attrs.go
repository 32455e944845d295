package resources

import (
	"fmt"
	"os"
	"syscall"
)

func (f *File) modeOr(def os.FileMode) os.FileMode {
	m, err := parseMode(f.Mode)
	if err != nil || f.Mode == "" {
		return def
	}
	return m
}

// fixAttrs corrects mode and ownership of an existing path. ok is passed
// through when nothing else was wrong: it says whether the path was already
// in place before this check.
func (f *File) fixAttrs(apply, ok bool) (bool, error) {
	fi, err := os.Lstat(f.path())
	if err != nil {
		return false, fmt.Errorf("stat: %w", err)
	}
	modeOK, err := f.fixMode(fi, apply)
	if err != nil {
		return false, err
	}
	ownerOK, err := f.fixOwner(fi, apply)
	if err != nil {
		return false, err
	}
	return ok && modeOK && ownerOK, nil
}

func (f *File) fixMode(fi os.FileInfo, apply bool) (bool, error) {
	if f.Mode == "" {
		return true, nil
	}
	want := f.modeOr(0)
	const bits = os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky
	if fi.Mode()&bits == want {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if err := os.Chmod(f.path(), want); err != nil {
		return false, fmt.Errorf("chmod: %w", err)
	}
	return false, nil
}

func (f *File) fixOwner(fi os.FileInfo, apply bool) (bool, error) {
	if f.Owner == "" && f.Group == "" {
		return true, nil
	}
	uid, gid, err := resolveIDs(f.Root, f.Owner, f.Group)
	if err != nil {
		return false, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	if (uid < 0 || uint32(uid) == st.Uid) && (gid < 0 || uint32(gid) == st.Gid) {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if err := os.Lchown(f.path(), uid, gid); err != nil {
		return false, fmt.Errorf("chown: %w", err)
	}
	return false, nil
}
