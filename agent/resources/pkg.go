package resources

import (
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
)

// pkgTick is how often packages are re-checked besides the dpkg status
// file watch (dnf hosts rely on it alone).
const pkgTick = 60 * time.Second

// Package states.
const (
	PkgInstalled = "installed"
	PkgAbsent    = "absent"
)

// Pkg installs or removes one OS package with the distribution's own CLI
// (apt-get and dpkg-query, or dnf and rpm), never through PackageKit.
type Pkg struct {
	Named   `yaml:"-"`
	Watched `yaml:"-"`
	Package string `yaml:"package"` // defaults to the resource name
	State   string `yaml:"state"`   // installed (default) or absent
	Manager string `yaml:"manager"` // apt or dnf; empty: whichever is on PATH

	Run      Runner                       `yaml:"-"`
	LookPath func(string) (string, error) `yaml:"-"` // nil: exec.LookPath
}

func (p *Pkg) Kind() string { return "pkg" }

func (p *Pkg) name() string  { return cmp.Or(p.Package, p.ResName) }
func (p *Pkg) state() string { return cmp.Or(p.State, PkgInstalled) }

var pkgNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._:-]*$`)

// Validate checks every parameter, naming the one at fault.
func (p *Pkg) Validate() error {
	if !pkgNameRE.MatchString(p.name()) {
		return fieldErr("package", "%q is not a package name", p.name())
	}
	if p.Manager != "" {
		if err := oneOf("manager", p.Manager, "apt", "dnf"); err != nil {
			return err
		}
	}
	return oneOf("state", p.state(), PkgInstalled, PkgAbsent)
}

// Cmp reports whether other wants the same package in the same state.
func (p *Pkg) Cmp(other engine.Resource) bool {
	o, ok := other.(*Pkg)
	return ok && p.ResName == o.ResName && p.name() == o.name() && p.state() == o.state() && p.Manager == o.Manager
}

// Watch follows dpkg's status file (rewritten by every install or removal)
// and polls as well, for rpm hosts and for missed events.
func (p *Pkg) Watch(ctx context.Context, events chan<- struct{}) error {
	return watchPaths(ctx, p.FS, events, pkgTick, "/var/lib/dpkg/status")
}

// CheckApply installs or removes the package when its state differs.
func (p *Pkg) CheckApply(ctx context.Context, apply bool) (bool, error) {
	m, err := p.manager()
	if err != nil {
		return false, err
	}
	installed, err := m.installed(ctx, p.name())
	if err != nil {
		return false, err
	}
	if installed == (p.state() == PkgInstalled) {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if p.state() == PkgInstalled {
		return false, m.install(ctx, p.name())
	}
	return false, m.remove(ctx, p.name())
}

// manager picks apt or dnf.
func (p *Pkg) manager() (pkgManager, error) {
	run := runnerOr(p.Run)
	switch p.Manager {
	case "apt":
		return aptManager{run}, nil
	case "dnf":
		return dnfManager{run}, nil
	}
	look := p.LookPath
	if look == nil {
		look = exec.LookPath
	}
	if _, err := look("dpkg-query"); err == nil {
		return aptManager{run}, nil
	}
	if _, err := look("rpm"); err == nil {
		return dnfManager{run}, nil
	}
	return nil, fmt.Errorf("manager: neither dpkg-query nor rpm found on PATH")
}
