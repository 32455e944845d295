package resources

import (
	"slices"
	"strconv"
	"strings"
)

// change returns the command that fixes the account, or nil when it is right.
func (u *User) change() ([]string, error) {
	have, err := lookupUserName(u.Root, u.name())
	if err != nil {
		return nil, err
	}
	switch {
	case u.state() == StateAbsent && have == nil:
		return nil, nil
	case u.state() == StateAbsent:
		return prefixed("userdel", u.Root, u.name()), nil
	case have == nil:
		return prefixed("useradd", u.Root, append(u.addFlags(), u.name())...), nil
	}
	flags, err := u.modFlags(have)
	if err != nil || len(flags) == 0 {
		return nil, err
	}
	return prefixed("usermod", u.Root, append(flags, u.name())...), nil
}

func (u *User) addFlags() []string {
	var f []string
	if u.CreateHome {
		f = append(f, "--create-home")
	}
	if u.System {
		f = append(f, "--system")
	}
	return append(f, u.attrFlags()...)
}

// attrFlags are the flags useradd and usermod share, for every managed field.
func (u *User) attrFlags() []string {
	var f []string
	add := func(flag, v string) {
		if v != "" {
			f = append(f, flag, v)
		}
	}
	if u.UID != nil {
		add("-u", strconv.Itoa(*u.UID))
	}
	add("-g", u.Group)
	if u.Groups != nil {
		f = append(f, "-G", strings.Join(u.Groups, ","))
	}
	add("-d", u.Home)
	add("-s", u.Shell)
	return f
}

// modFlags returns usermod flags for the managed fields that differ, and
// only those (usermod --prefix in shadow 4.13 resolves -g against the host's
// groups, so passing an unchanged -g would break the temp-root tests).
func (u *User) modFlags(have *passwdEntry) ([]string, error) {
	var f []string
	if u.UID != nil && *u.UID != have.UID {
		f = append(f, "-u", strconv.Itoa(*u.UID))
	}
	if u.Group != "" {
		gid, err := groupID(u.Root, u.Group)
		if err != nil {
			return nil, err
		}
		if gid != have.GID {
			f = append(f, "-g", u.Group)
		}
	}
	if u.Groups != nil {
		ok, err := u.groupsMatch()
		if err != nil {
			return nil, err
		}
		if !ok {
			f = append(f, "-G", strings.Join(u.Groups, ","))
		}
	}
	if u.Home != "" && u.Home != have.Home {
		f = append(f, "-d", u.Home)
	}
	if u.Shell != "" && u.Shell != have.Shell {
		f = append(f, "-s", u.Shell)
	}
	return f, nil
}

// groupsMatch compares the supplementary groups listing the user.
func (u *User) groupsMatch() (bool, error) {
	groups, err := readGroup(u.Root)
	if err != nil {
		return false, err
	}
	var have []string
	for _, g := range groups {
		if slices.Contains(g.Members, u.name()) {
			have = append(have, g.Name)
		}
	}
	want := slices.Clone(u.Groups)
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want), nil
}

// lookupUserName finds a user by name only.
func lookupUserName(root, name string) (*passwdEntry, error) {
	users, err := readPasswd(root)
	for i := range users {
		if users[i].Name == name {
			return &users[i], nil
		}
	}
	return nil, err
}
