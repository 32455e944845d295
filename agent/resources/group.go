package resources

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/rackboot/rackboot/agent/engine"
)

// Presence states shared by user, group and ssh-key.
const (
	StatePresent = "present"
	StateAbsent  = "absent"
)

// Group manages a local group through groupadd, groupmod and groupdel,
// checked against /etc/group.
type Group struct {
	Named   `yaml:"-"`
	Watched `yaml:"-"`
	Group   string `yaml:"group"` // defaults to the resource name
	GID     *int   `yaml:"gid"`
	System  bool   `yaml:"system"`
	State   string `yaml:"state"` // present (default) or absent

	// Root is passed to the tools as --prefix and prefixes /etc/group.
	Root string `yaml:"-"`
	Run  Runner `yaml:"-"`
}

func (g *Group) Kind() string { return "group" }

func (g *Group) name() string  { return cmp.Or(g.Group, g.ResName) }
func (g *Group) state() string { return cmp.Or(g.State, StatePresent) }

// Validate checks every parameter, naming the one at fault.
func (g *Group) Validate() error {
	if !validAccountName(g.name()) {
		return fieldErr("group", "%q is not a valid group name", g.name())
	}
	if g.GID != nil && *g.GID < 0 {
		return fieldErr("gid", "must not be negative")
	}
	return oneOf("state", g.state(), StatePresent, StateAbsent)
}

// Cmp reports whether other is the same desired group.
func (g *Group) Cmp(other engine.Resource) bool {
	o, ok := other.(*Group)
	return ok && g.ResName == o.ResName && g.name() == o.name() && equalPtr(g.GID, o.GID) &&
		g.System == o.System && g.state() == o.state() && g.Root == o.Root
}

// Watch watches /etc/group: the tools replace it by rename, which is seen.
func (g *Group) Watch(ctx context.Context, events chan<- struct{}) error {
	return watchPaths(ctx, g.FS, events, 0, filepath.Join(g.Root, "/etc/group"))
}

// CheckApply adds, changes or deletes the group.
func (g *Group) CheckApply(ctx context.Context, apply bool) (bool, error) {
	have, err := lookupGroupName(g.Root, g.name())
	if err != nil {
		return false, err
	}
	args := g.change(have)
	if args == nil {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if _, err := runnerOr(g.Run).Run(ctx, nil, args[0], args[1:]...); err != nil {
		return false, fmt.Errorf("group %s: %w", g.name(), err)
	}
	return false, nil
}

// change returns the command that fixes the group, or nil.
func (g *Group) change(have *groupEntry) []string {
	switch {
	case g.state() == StateAbsent && have == nil, g.state() == StatePresent && have != nil && g.gidOK(have):
		return nil
	case g.state() == StateAbsent:
		return prefixed("groupdel", g.Root, g.name())
	case have != nil:
		return prefixed("groupmod", g.Root, "-g", strconv.Itoa(*g.GID), g.name())
	}
	var args []string
	if g.GID != nil {
		args = append(args, "-g", strconv.Itoa(*g.GID))
	}
	if g.System {
		args = append(args, "--system")
	}
	return prefixed("groupadd", g.Root, append(args, g.name())...)
}

func (g *Group) gidOK(have *groupEntry) bool { return g.GID == nil || *g.GID == have.GID }

// lookupGroupName finds a group by name only (a numeric name is a name here).
func lookupGroupName(root, name string) (*groupEntry, error) {
	groups, err := readGroup(root)
	for i := range groups {
		if groups[i].Name == name {
			return &groups[i], nil
		}
	}
	return nil, err
}

// prefixed builds a shadow-utils command, with --prefix when root is set so
// the tools edit root/etc instead of the host's.
func prefixed(tool, root string, args ...string) []string {
	cmd := []string{tool}
	if root != "" {
		cmd = append(cmd, "--prefix", root)
	}
	return append(cmd, args...)
}
