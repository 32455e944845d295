package resources

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
)

const realPkg = "rackboot-vmtest-hello"

// localAptRepo builds a one-package .deb with dpkg-deb, serves it as a
// flat file: apt repository (Packages and Release written here: no
// dpkg-dev or apt-utils needed) and runs apt-get update. It returns the
// file the package installs.
func localAptRepo(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("/var/tmp", "rackboot-apt-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755) // apt's _apt user reads the repository
	t.Cleanup(func() { os.RemoveAll(base) })

	pkgRoot := filepath.Join(base, "pkg")
	installed := "/usr/share/" + realPkg + "/hello"
	writeFile(t, filepath.Join(pkgRoot, installed), "hello from rackboot\n")
	control := "Package: " + realPkg + "\nVersion: 1.0\nArchitecture: all\nMaintainer: rackboot tests <tests@rackboot.invalid>\n" +
		"Section: misc\nPriority: optional\nDescription: rackboot pkg resource test\n a file, nothing else\n"
	writeFile(t, filepath.Join(pkgRoot, "DEBIAN", "control"), control)

	repo := filepath.Join(base, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(repo, realPkg+"_1.0_all.deb")
	sh(t, false, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", pkgRoot, deb)
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	desc := strings.Index(control, "Description:")
	packages := fmt.Sprintf("%sFilename: ./%s\nSize: %d\nSHA256: %x\n%s\n",
		control[:desc], filepath.Base(deb), len(data), sha256.Sum256(data), control[desc:])
	writeFile(t, filepath.Join(repo, "Packages"), packages)
	release := fmt.Sprintf("Origin: rackboot\nLabel: rackboot\nSuite: tests\nCodename: tests\nDate: %s\nArchitectures: all amd64\nSHA256:\n %x %d Packages\n",
		time.Now().UTC().Format(time.RFC1123), sha256.Sum256([]byte(packages)), len(packages))
	writeFile(t, filepath.Join(repo, "Release"), release)

	list := "/etc/apt/sources.list.d/" + realPkg + ".list"
	writeFile(t, list, "deb [trusted=yes] file:"+repo+" ./\n")
	t.Cleanup(func() {
		os.Remove(list)
		exec.Command("dpkg", "--purge", realPkg).Run()
	})
	t.Logf("apt-get update: %s", lastLine(sh(t, false, "apt-get", "update", "-q")))
	if out := sh(t, false, "apt-cache", "policy", realPkg); !strings.Contains(out, "Candidate: 1.0") {
		t.Fatalf("apt does not see the local package:\n%s", out)
	}
	return installed
}

func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }

// TestPkgRealApt installs and removes a package through the real apt-get
// and dpkg, from a local repository (the VM has no network), and, under the
// engine, reinstalls it after a dpkg --remove from outside, which the
// watch on dpkg's status file notices (the poll is 60 s).
func TestPkgRealApt(t *testing.T) {
	needRealHost(t, "apt-get", "dpkg-deb", "dpkg-query")
	file := localAptRepo(t)
	status := func() string {
		return sh(t, true, "dpkg-query", "-W", "-f=${db:Status-Abbrev}", realPkg)
	}
	present := func() bool {
		_, err := os.Stat(file)
		return strings.HasPrefix(status(), "ii") && err == nil
	}
	if present() {
		t.Fatal("the test package is installed before the test")
	}

	absent := &Pkg{Named: Named{"hello"}, Package: realPkg, State: PkgAbsent}
	if !mustCheck(t, absent, false) {
		t.Fatal("a package never installed not reported absent")
	}
	inst := &Pkg{Named: Named{"hello"}, Package: realPkg, Manager: "apt"}
	if err := inst.Validate(); err != nil {
		t.Fatal(err)
	}
	converge(t, inst)
	if !present() {
		t.Fatalf("after install: status %q", status())
	}
	t.Logf("installed: %s", status())

	converge(t, absent)
	if present() {
		t.Fatalf("after remove: status %q", status())
	}
	t.Logf("removed: status %q", status())

	// Drift: the engine keeps the package installed. An apt-get started
	// while dpkg still holds its lock fails; the retry metaparameter covers
	// that, as a deployed config would.
	state := runGraphMeta(t, &Pkg{Named: Named{"hello"}, Package: realPkg}, engine.Meta{Retry: -1, Delay: 500 * time.Millisecond})
	eventually(t, 60*time.Second, "engine installs the package", func() bool { return state() == string(engine.StateOK) && present() })
	sh(t, false, "dpkg", "--remove", realPkg)
	removed := time.Now()
	eventually(t, 30*time.Second, "package reinstalled after dpkg --remove", present)
	t.Logf("drift: dpkg --remove undone in %v", time.Since(removed).Round(time.Millisecond))
}
