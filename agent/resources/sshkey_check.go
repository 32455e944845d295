package resources

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// CheckApply adds, corrects or removes the key's line.
func (k *SSHKey) CheckApply(ctx context.Context, apply bool) (bool, error) {
	dir, file, uid, gid, err := k.paths()
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", file, err)
	}
	lines, changed := k.edit(splitLines(string(data)))
	if !changed {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if err := ensureSSHDir(dir, uid, gid); err != nil {
		return false, err
	}
	out := strings.Join(lines, "\n")
	if out != "" {
		out += "\n"
	}
	return false, writeAtomic(file, []byte(out), 0o600, uid, gid)
}

// edit returns the new lines and whether anything changed.
func (k *SSHKey) edit(lines []string) ([]string, bool) {
	id, _ := keyID(k.Key)
	want := strings.TrimSpace(k.Key)
	var out []string
	found, changed := false, false
	for _, l := range lines {
		lid, err := keyID(l)
		switch {
		case err != nil || lid != id:
			out = append(out, l)
		case k.state() == StatePresent && !found:
			found = true
			out = append(out, want)
			changed = changed || strings.TrimSpace(l) != want
		default:
			changed = true // absent, or a duplicate of the key: drop it
		}
	}
	if k.state() == StatePresent && !found {
		out, changed = append(out, want), true
	}
	return out, changed
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ensureSSHDir creates ~/.ssh as sshd wants it: owned by the user, 0700.
func ensureSSHDir(dir string, uid, gid int) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	if err := os.Lchown(dir, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", dir, err)
	}
	return nil
}
