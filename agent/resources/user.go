package resources

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/rackboot/rackboot/agent/engine"
)

// User manages a local account through useradd, usermod and userdel,
// checked against /etc/passwd and /etc/group. Only the fields that are set
// are managed; Groups, when set, is the exact list of supplementary groups.
type User struct {
	Named      `yaml:"-"`
	Watched    `yaml:"-"`
	User       string   `yaml:"user"` // login; defaults to the resource name
	UID        *int     `yaml:"uid"`
	Group      string   `yaml:"group"` // primary group, name or gid
	Groups     []string `yaml:"groups"`
	Home       string   `yaml:"home"`
	Shell      string   `yaml:"shell"`
	CreateHome bool     `yaml:"create_home"`
	System     bool     `yaml:"system"`
	State      string   `yaml:"state"` // present (default) or absent

	// Root is passed to the tools as --prefix and prefixes /etc.
	Root string `yaml:"-"`
	Run  Runner `yaml:"-"`
}

func (u *User) Kind() string { return "user" }

func (u *User) name() string  { return cmp.Or(u.User, u.ResName) }
func (u *User) state() string { return cmp.Or(u.State, StatePresent) }

var accountNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*\$?$`)

func validAccountName(s string) bool {
	return len(s) <= 32 && accountNameRE.MatchString(s)
}

// Validate checks every parameter, naming the one at fault.
func (u *User) Validate() error {
	switch {
	case !validAccountName(u.name()):
		return fieldErr("user", "%q is not a valid user name", u.name())
	case u.UID != nil && *u.UID < 0:
		return fieldErr("uid", "must not be negative")
	case u.Home != "" && !filepath.IsAbs(u.Home):
		return fieldErr("home", "%q must be an absolute path", u.Home)
	case u.Shell != "" && !filepath.IsAbs(u.Shell):
		return fieldErr("shell", "%q must be an absolute path", u.Shell)
	}
	for i, g := range u.Groups {
		if !validAccountName(g) {
			return fieldErr(fmt.Sprintf("groups[%d]", i), "%q is not a valid group name", g)
		}
	}
	return oneOf("state", u.state(), StatePresent, StateAbsent)
}

// Cmp reports whether other is the same desired account.
func (u *User) Cmp(other engine.Resource) bool {
	o, ok := other.(*User)
	return ok && u.ResName == o.ResName && u.name() == o.name() && equalPtr(u.UID, o.UID) &&
		u.Group == o.Group && slices.Equal(u.Groups, o.Groups) && u.Home == o.Home &&
		u.Shell == o.Shell && u.CreateHome == o.CreateHome && u.System == o.System &&
		u.state() == o.state() && u.Root == o.Root
}

// Watch watches /etc/passwd and /etc/group (supplementary groups live there).
func (u *User) Watch(ctx context.Context, events chan<- struct{}) error {
	return watchPaths(ctx, u.FS, events, 0, filepath.Join(u.Root, "/etc/passwd"), filepath.Join(u.Root, "/etc/group"))
}

// CheckApply adds, changes or deletes the account.
func (u *User) CheckApply(ctx context.Context, apply bool) (bool, error) {
	args, err := u.change()
	if err != nil || args == nil {
		return err == nil, err
	}
	if !apply {
		return false, nil
	}
	if _, err := runnerOr(u.Run).Run(ctx, nil, args[0], args[1:]...); err != nil {
		return false, fmt.Errorf("user %s: %w", u.name(), err)
	}
	return false, nil
}
