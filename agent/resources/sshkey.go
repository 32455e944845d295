package resources

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rackboot/rackboot/agent/engine"
)

// SSHKey keeps one public key in (or out of) a user's authorized_keys.
// A key is identified by its type and blob; the rest of the line (options,
// comment) is corrected when it differs. Other lines are left untouched.
type SSHKey struct {
	Named   `yaml:"-"`
	Watched `yaml:"-"`
	User    string `yaml:"user"`
	Key     string `yaml:"key"`   // a full authorized_keys line
	State   string `yaml:"state"` // present (default) or absent

	// Root prefixes /etc/passwd and the user's home directory.
	Root string `yaml:"-"`
}

func (k *SSHKey) Kind() string { return "ssh-key" }

func (k *SSHKey) state() string { return cmp.Or(k.State, StatePresent) }

// Validate checks the user name and the key line.
func (k *SSHKey) Validate() error {
	if !validAccountName(k.User) {
		return fieldErr("user", "%q is not a valid user name", k.User)
	}
	if strings.ContainsAny(k.Key, "\r\n") {
		return fieldErr("key", "must be a single line")
	}
	if _, err := keyID(k.Key); err != nil {
		return fieldErr("key", "%v", err)
	}
	return oneOf("state", k.state(), StatePresent, StateAbsent)
}

// Cmp reports whether other manages the same key the same way.
func (k *SSHKey) Cmp(other engine.Resource) bool {
	o, ok := other.(*SSHKey)
	return ok && k.ResName == o.ResName && k.User == o.User && strings.TrimSpace(k.Key) == strings.TrimSpace(o.Key) &&
		k.state() == o.state() && k.Root == o.Root
}

// keyID returns "type blob" of an authorized_keys line: the first field that
// is a key type, and the base64 field after it. Options may come before.
func keyID(line string) (string, error) {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if !isKeyType(f[i]) {
			continue
		}
		if _, err := base64.StdEncoding.DecodeString(f[i+1]); err != nil {
			return "", fmt.Errorf("key data after %s is not base64", f[i])
		}
		return f[i] + " " + f[i+1], nil
	}
	return "", fmt.Errorf("no key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-..., sk-...) followed by key data")
}

func isKeyType(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// paths returns the user's ~/.ssh and authorized_keys under Root, with the
// owner's ids.
func (k *SSHKey) paths() (dir, file string, uid, gid int, err error) {
	u, err := lookupUserName(k.Root, k.User)
	if err != nil {
		return "", "", 0, 0, err
	}
	if u == nil {
		return "", "", 0, 0, fmt.Errorf("user %q: no such user", k.User)
	}
	dir = filepath.Join(k.Root, u.Home, ".ssh")
	return dir, filepath.Join(dir, "authorized_keys"), u.UID, u.GID, nil
}

// Watch watches authorized_keys, and /etc/passwd in case the home moves.
func (k *SSHKey) Watch(ctx context.Context, events chan<- struct{}) error {
	paths := []string{filepath.Join(k.Root, "/etc/passwd")}
	if _, file, _, _, err := k.paths(); err == nil {
		paths = append(paths, file)
	}
	return watchPaths(ctx, k.FS, events, 0, paths...)
}
