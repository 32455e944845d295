package resources

import (
	"context"
	"fmt"
	"strings"
)

// pkgManager is one distribution's package CLI.
type pkgManager interface {
	installed(ctx context.Context, name string) (bool, error)
	install(ctx context.Context, name string) error
	remove(ctx context.Context, name string) error
}

type aptManager struct{ run Runner }

// env keeps apt and debconf from asking questions nobody can answer.
func (aptManager) env() []string { return []string{"DEBIAN_FRONTEND=noninteractive"} }

// installed asks dpkg-query for the package's status; "ii" is installed.
// An unknown package makes dpkg-query exit 1, which means not installed.
func (a aptManager) installed(ctx context.Context, name string) (bool, error) {
	out, err := a.run.Run(ctx, nil, "dpkg-query", "-W", "-f=${db:Status-Abbrev}", name)
	if exitedNonZero(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dpkg-query %s: %w", name, err)
	}
	return strings.HasPrefix(string(out), "ii"), nil
}

func (a aptManager) install(ctx context.Context, name string) error {
	_, err := a.run.Run(ctx, a.env(), "apt-get", "install", "-y", "-q", "--no-install-recommends", name)
	if err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	return nil
}

func (a aptManager) remove(ctx context.Context, name string) error {
	if _, err := a.run.Run(ctx, a.env(), "apt-get", "remove", "-y", "-q", name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

type dnfManager struct{ run Runner }

// installed uses rpm -q, which exits 1 for a package that is not installed.
func (d dnfManager) installed(ctx context.Context, name string) (bool, error) {
	_, err := d.run.Run(ctx, nil, "rpm", "-q", "--quiet", name)
	if exitedNonZero(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rpm -q %s: %w", name, err)
	}
	return true, nil
}

func (d dnfManager) install(ctx context.Context, name string) error {
	if _, err := d.run.Run(ctx, nil, "dnf", "install", "-y", "-q", name); err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	return nil
}

func (d dnfManager) remove(ctx context.Context, name string) error {
	if _, err := d.run.Run(ctx, nil, "dnf", "remove", "-y", "-q", name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}
