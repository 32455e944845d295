package resources

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// passwdEntry is one line of /etc/passwd.
type passwdEntry struct {
	Name  string
	UID   int
	GID   int
	Home  string
	Shell string
}

// groupEntry is one line of /etc/group.
type groupEntry struct {
	Name    string
	GID     int
	Members []string
}

// readPasswd parses root/etc/passwd; a missing file is an empty database.
func readPasswd(root string) ([]passwdEntry, error) {
	var out []passwdEntry
	err := readColonFile(filepath.Join(root, "/etc/passwd"), 7, func(f []string) error {
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("user %q: bad uid or gid", f[0])
		}
		out = append(out, passwdEntry{Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6]})
		return nil
	})
	return out, err
}

// readGroup parses root/etc/group; a missing file is an empty database.
func readGroup(root string) ([]groupEntry, error) {
	var out []groupEntry
	err := readColonFile(filepath.Join(root, "/etc/group"), 4, func(f []string) error {
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			return fmt.Errorf("group %q: bad gid", f[0])
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		out = append(out, groupEntry{Name: f[0], GID: gid, Members: members})
		return nil
	})
	return out, err
}

// readColonFile calls fn with the fields of every non-comment line that has
// exactly n fields; NIS "+" lines and short lines are skipped.
func readColonFile(path string, n int, fn func([]string) error) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		f := strings.Split(text, ":")
		if text == "" || text[0] == '#' || text[0] == '+' || text[0] == '-' || len(f) != n {
			continue
		}
		if err := fn(f); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
	return nil
}

// lookupUser finds a user by name or numeric uid.
func lookupUser(root, nameOrID string) (*passwdEntry, error) {
	users, err := readPasswd(root)
	if err != nil {
		return nil, err
	}
	for i, u := range users {
		if u.Name == nameOrID || strconv.Itoa(u.UID) == nameOrID {
			return &users[i], nil
		}
	}
	return nil, nil
}

// lookupGroup finds a group by name or numeric gid.
func lookupGroup(root, nameOrID string) (*groupEntry, error) {
	groups, err := readGroup(root)
	if err != nil {
		return nil, err
	}
	for i, g := range groups {
		if g.Name == nameOrID || strconv.Itoa(g.GID) == nameOrID {
			return &groups[i], nil
		}
	}
	return nil, nil
}

// resolveIDs turns owner and group (names or numbers) into ids; -1 means
// "not managed". A number is taken as is; a name must exist.
func resolveIDs(root, owner, group string) (uid, gid int, err error) {
	uid, gid = -1, -1
	if owner != "" {
		if uid, err = userID(root, owner); err != nil {
			return 0, 0, err
		}
	}
	if group != "" {
		if gid, err = groupID(root, group); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

func userID(root, name string) (int, error) {
	if id, err := strconv.Atoi(name); err == nil && id >= 0 {
		return id, nil
	}
	u, err := lookupUser(root, name)
	if err != nil {
		return 0, err
	}
	if u == nil {
		return 0, fmt.Errorf("user %q: no such user", name)
	}
	return u.UID, nil
}

func groupID(root, name string) (int, error) {
	if id, err := strconv.Atoi(name); err == nil && id >= 0 {
		return id, nil
	}
	g, err := lookupGroup(root, name)
	if err != nil {
		return 0, err
	}
	if g == nil {
		return 0, fmt.Errorf("group %q: no such group", name)
	}
	return g.GID, nil
}
