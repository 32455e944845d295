package httpboot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"text/template"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
)

// Store is what httpboot needs of the inventory.
type Store interface {
	Host(ctx context.Context, mac string) (inventory.Host, error)
	CreateHost(ctx context.Context, h inventory.Host, actor string) (inventory.Host, error)
	UpdateHost(ctx context.Context, mac string, version uint64, fn func(*inventory.Host) error, ev inventory.Event) (inventory.Host, error)
	Transition(ctx context.Context, mac string, to inventory.State, cause, actor string) (inventory.Host, error)
	Subscribe(ctx context.Context) <-chan inventory.Change
	AppendEvent(ctx context.Context, mac string, e inventory.Event) error
}

// DefaultIPXEFiles are the iPXE binaries offered for UEFI HTTP Boot, where
// Debian's ipxe package puts them.
var DefaultIPXEFiles = map[string]string{
	"ipxe.efi":      "/usr/lib/ipxe/ipxe.efi",
	"snponly.efi":   "/usr/lib/ipxe/snponly.efi",
	"undionly.kpxe": "/usr/lib/ipxe/undionly.kpxe",
}

// Server is the machine-facing HTTP side. Store, Tokens and URL are
// required; the zero value of every other field is the documented default.
type Server struct {
	Store  Store
	Tokens *Tokens
	// URL is the base URL machines reach this server at, e.g.
	// http://10.0.0.1:8081; it goes into every script and kernel command line.
	URL string
	// NoDiscovery makes unknown MACs boot from their disk instead of the
	// installer (no auto-enlist).
	NoDiscovery bool
	// IPXEFiles maps names under /boot/ipxe/ to files; nil means
	// DefaultIPXEFiles. Symlinks are followed: the operator chose them.
	IPXEFiles map[string]string
	// InstallerKernel and InstallerInitrd are served as
	// /boot/installer/vmlinuz and /boot/installer/initrd.cpio.gz.
	InstallerKernel, InstallerInitrd string
	// KernelArgs are added to the installer's command line; default
	// "console=tty0 console=ttyS0,115200n8".
	KernelArgs string
	// Images holds the images hosts are deployed with; nil refuses deploys.
	Images ImageSource
	// TemplatesDir may hold installer.ipxe, localboot.ipxe and hold.ipxe
	// to replace the built-in scripts.
	TemplatesDir string
	Logger       *slog.Logger // silent when nil
	// MaxBodyBytes bounds inspect and agent reports; default 1 MiB.
	MaxBodyBytes int64

	templates map[string]*template.Template
}

// Handler builds the router, after loading the script templates (an
// override that does not parse is reported here, at start).
func (s *Server) Handler() (http.Handler, error) {
	if s.Store == nil || s.Tokens == nil || s.URL == "" {
		return nil, fmt.Errorf("httpboot: Store, Tokens and URL are required")
	}
	s.URL = strings.TrimRight(s.URL, "/")
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.IPXEFiles == nil {
		s.IPXEFiles = DefaultIPXEFiles
	}
	if s.KernelArgs == "" {
		s.KernelArgs = "console=tty0 console=ttyS0,115200n8"
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = 1 << 20
	}
	t, err := loadTemplates(s.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("httpboot: %w", err)
	}
	s.templates = t
	r := chi.NewRouter()
	r.Get("/boot.ipxe", s.handle(s.script))
	r.Get("/boot/ipxe/{name}", s.handle(s.ipxeFile))
	r.Head("/boot/ipxe/{name}", s.handle(s.ipxeFile))
	r.Get("/boot/installer/{name}", s.handle(s.installerFile))
	r.Post("/machine/v1/inspect", s.handle(s.inspect))
	r.Get("/machine/v1/next", s.handle(s.machine(s.next)))
	s.agentRoutes(r)
	s.deployRoutes(r)
	r.NotFound(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return httperr.Errorf(http.StatusNotFound, "no such boot resource: %s", r.URL.Path)
	}))
	return r, nil
}
