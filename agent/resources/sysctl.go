package resources

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
)

// sysctlTick is how often a sysctl is re-read: procfs cannot be watched.
const sysctlTick = 5 * time.Second

// Sysctl sets one kernel parameter through /proc/sys. It does not write
// /etc/sysctl.d: the agent itself puts the value back after a reboot.
type Sysctl struct {
	Named `yaml:"-"`
	Key   string `yaml:"key"` // dotted, e.g. net.ipv4.ip_forward; defaults to the name
	Value string `yaml:"value"`

	// Root prefixes /proc, so tests can use a temp dir.
	Root string `yaml:"-"`
}

func (s *Sysctl) Kind() string { return "sysctl" }

func (s *Sysctl) key() string {
	if s.Key == "" {
		return s.ResName
	}
	return s.Key
}

var sysctlKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+([./][A-Za-z0-9_*:@-]+)*$`)

// Validate checks the key's shape and that a value is given.
func (s *Sysctl) Validate() error {
	if !sysctlKeyRE.MatchString(s.key()) || strings.Contains(s.key(), "..") {
		return fieldErr("key", "%q is not a sysctl key", s.key())
	}
	if strings.TrimSpace(s.Value) == "" {
		return fieldErr("value", "must be set")
	}
	return nil
}

// Cmp reports whether other sets the same key to the same value.
func (s *Sysctl) Cmp(other engine.Resource) bool {
	o, ok := other.(*Sysctl)
	return ok && s.ResName == o.ResName && s.key() == o.key() && norm(s.Value) == norm(o.Value) && s.Root == o.Root
}

// path maps net.ipv4.ip_forward to /proc/sys/net/ipv4/ip_forward. Keys
// written with slashes are taken as they are.
func (s *Sysctl) path() string {
	k := s.key()
	if !strings.Contains(k, "/") {
		k = strings.ReplaceAll(k, ".", "/")
	}
	return filepath.Join(s.Root, "/proc/sys", k)
}

// Watch polls: procfs sends no inotify events.
func (s *Sysctl) Watch(ctx context.Context, events chan<- struct{}) error {
	return watchPaths(ctx, nil, events, sysctlTick)
}

// CheckApply compares whitespace-normalised values ("4096 16384" and
// "4096\t16384" are the same) and writes the wanted one.
func (s *Sysctl) CheckApply(ctx context.Context, apply bool) (bool, error) {
	have, err := os.ReadFile(s.path())
	if err != nil {
		return false, fmt.Errorf("read %s: %w", s.key(), err)
	}
	if norm(string(have)) == norm(s.Value) {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if err := os.WriteFile(s.path(), []byte(norm(s.Value)+"\n"), 0o644); err != nil {
		return false, fmt.Errorf("write %s: %w", s.key(), err)
	}
	return false, nil
}

func norm(v string) string { return strings.Join(strings.Fields(v), " ") }
