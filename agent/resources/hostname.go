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

// hostnameTick is how often the kernel hostname is re-read: procfs cannot be
// watched, only /etc/hostname can.
const hostnameTick = 10 * time.Second

// Hostname sets the running hostname (/proc/sys/kernel/hostname) and the
// persistent one (/etc/hostname).
type Hostname struct {
	Named    `yaml:"-"`
	Watched  `yaml:"-"`
	Hostname string `yaml:"hostname"` // defaults to the resource name

	// Root prefixes /proc and /etc, so tests can use a temp dir.
	Root string `yaml:"-"`
}

func (h *Hostname) Kind() string { return "hostname" }

func (h *Hostname) want() string {
	if h.Hostname == "" {
		return h.ResName
	}
	return h.Hostname
}

// hostnameRE is RFC 1123: dot-separated labels of letters, digits and
// inner hyphens, each up to 63 characters.
var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

func validHostname(s string) bool {
	return len(s) <= 253 && hostnameRE.MatchString(s)
}

// Validate checks the hostname.
func (h *Hostname) Validate() error {
	if !validHostname(h.want()) {
		return fieldErr("hostname", "%q is not a valid host name", h.want())
	}
	return nil
}

// Cmp reports whether other sets the same hostname under the same root.
func (h *Hostname) Cmp(other engine.Resource) bool {
	o, ok := other.(*Hostname)
	return ok && h.ResName == o.ResName && h.want() == o.want() && h.Root == o.Root
}

func (h *Hostname) files() []string {
	return []string{
		filepath.Join(h.Root, "/proc/sys/kernel/hostname"),
		filepath.Join(h.Root, "/etc/hostname"),
	}
}

// Watch watches /etc/hostname and re-reads the kernel's name every tick.
func (h *Hostname) Watch(ctx context.Context, events chan<- struct{}) error {
	return watchPaths(ctx, h.FS, events, hostnameTick, h.files()[1])
}

// CheckApply writes whichever of the two names is wrong.
func (h *Hostname) CheckApply(ctx context.Context, apply bool) (bool, error) {
	ok := true
	for _, path := range h.files() {
		have, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return false, fmt.Errorf("read %s: %w", path, err)
		}
		if strings.TrimSpace(string(have)) == h.want() {
			continue
		}
		ok = false
		if apply {
			if err := writeProcOrFile(path, h.want()+"\n"); err != nil {
				return false, err
			}
		}
	}
	return ok, nil
}

// writeProcOrFile writes procfs files in place (they cannot be renamed
// over) and everything else atomically.
func writeProcOrFile(path, value string) error {
	if strings.Contains(path, "/proc/sys/") {
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	return writeAtomic(path, []byte(value), 0o644, -1, -1)
}
