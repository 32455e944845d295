package resources

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// accountRoot makes a throwaway /etc that useradd --prefix can edit, so the
// tests run the real tools without touching the host's accounts.
func accountRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("useradd/groupadd need root")
	}
	for _, tool := range []string{"useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n")
	writeFile(t, filepath.Join(root, "etc/group"), "root:x:0:\n")
	writeFile(t, filepath.Join(root, "etc/shadow"), "root:*:19000:0:99999:7:::\n")
	writeFile(t, filepath.Join(root, "etc/gshadow"), "root:*::\n")
	return root
}

func TestGroupRealTools(t *testing.T) {
	root := accountRoot(t)
	g := &Group{Named: Named{"devs"}, GID: ptr(1500), Root: root}
	converge(t, g)
	converge(t, &Group{Named: Named{"devs"}, GID: ptr(1501), Root: root})
	if e, _ := lookupGroupName(root, "devs"); e == nil || e.GID != 1501 {
		t.Fatalf("group = %+v", e)
	}
	converge(t, &Group{Named: Named{"devs"}, State: StateAbsent, Root: root})
	if e, _ := lookupGroupName(root, "devs"); e != nil {
		t.Fatal("group not deleted")
	}
}

func TestUserRealTools(t *testing.T) {
	root := accountRoot(t)
	converge(t, &Group{Named: Named{"devs"}, GID: ptr(1500), Root: root})
	converge(t, &Group{Named: Named{"ops"}, GID: ptr(1600), Root: root})
	u := &User{Named: Named{"alice"}, UID: ptr(1501), Group: "devs", Groups: []string{"ops"}, Shell: "/bin/sh", Home: "/home/alice", Root: root}
	converge(t, u)
	u2 := *u
	u2.Shell, u2.Groups = "/bin/bash", []string{"devs", "ops"}
	converge(t, &u2)
	e, _ := lookupUserName(root, "alice")
	if e == nil || e.UID != 1501 || e.GID != 1500 || e.Shell != "/bin/bash" {
		t.Fatalf("user = %+v", e)
	}
	if ok, err := u2.groupsMatch(); !ok || err != nil {
		t.Fatalf("supplementary groups not set: %v", err)
	}
	converge(t, &User{Named: Named{"alice"}, State: StateAbsent, Root: root})
}

func TestUserValidate(t *testing.T) {
	for field, u := range map[string]*User{
		"user":      {Named: Named{"Bad Name"}},
		"uid":       {Named: Named{"a"}, UID: ptr(-2)},
		"home":      {Named: Named{"a"}, Home: "rel"},
		"groups[1]": {Named: Named{"a"}, Groups: []string{"ok", "NO!"}},
		"state":     {Named: Named{"a"}, State: "gone"},
	} {
		if err := u.Validate(); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Validate = %v, want error naming %s", err, field)
		}
	}
}

func TestSSHKey(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/passwd"), "alice:x:1501:1500::/home/alice:/bin/sh\n")
	os.MkdirAll(filepath.Join(root, "home/alice"), 0o755)
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyDataForTestsOnly0000000000000000 alice@laptop"
	auth := filepath.Join(root, "home/alice/.ssh/authorized_keys")
	k := &SSHKey{Named: Named{"alice-laptop"}, User: "alice", Key: key, Root: root}
	converge(t, k)
	writeFile(t, auth, "ssh-rsa AAAAB3NzaC1yc2E= other\n"+strings.Replace(key, "alice@laptop", "renamed", 1)+"\n")
	converge(t, k) // comment corrected, other key kept
	if got := readFile(t, auth); got != "ssh-rsa AAAAB3NzaC1yc2E= other\n"+key+"\n" {
		t.Fatalf("authorized_keys = %q", got)
	}
	converge(t, &SSHKey{Named: Named{"alice-laptop"}, User: "alice", Key: key, State: StateAbsent, Root: root})
	if got := readFile(t, auth); got != "ssh-rsa AAAAB3NzaC1yc2E= other\n" {
		t.Fatalf("after absent: %q", got)
	}
	if fi, _ := os.Stat(auth); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", fi.Mode())
	}
	if err := (&SSHKey{User: "alice", Key: "not a key"}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "key:") {
		t.Fatalf("Validate = %v", err)
	}
}
