package httpboot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"text/template"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/boot"
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

// Server is the machine-facing HTTP side. Store, Tokens and Boot.URL are
// required; the zero value of every other field is the documented default.
type Server struct {
	Store  Store
	Tokens *Tokens
	// Boot configures the boot decision; its URL is the base URL machines
	// reach this server at, e.g. http://10.0.0.1:8081, which goes into
	// every script and kernel command line.
	Boot boot.Config
	// IPXEFiles maps each of boot.Loaders to its file; a loader without
	// one is not served. Symlinks are followed: the operator chose them.
	IPXEFiles map[string]string
	// InstallerKernel and InstallerInitrd are served as
	// /boot/installer/vmlinuz and /boot/installer/initrd.cpio.gz.
	InstallerKernel, InstallerInitrd string
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
	if s.Store == nil || s.Tokens == nil || s.Boot.URL == "" {
		return nil, fmt.Errorf("httpboot: Store, Tokens and Boot.URL are required")
	}
	s.Boot.URL = strings.TrimRight(s.Boot.URL, "/")
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
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
	r.Get(boot.PathScript, s.handle(s.script))
	r.Get(boot.PathLoaders+"{name}", s.handle(s.ipxeFile))
	r.Head(boot.PathLoaders+"{name}", s.handle(s.ipxeFile))
	r.Get(boot.PathInstaller+"{name}", s.handle(s.installerFile))
	r.Post("/machine/v1/inspect", s.handle(s.inspect))
	r.Get("/machine/v1/next", s.handle(s.machine(s.next)))
	s.agentRoutes(r)
	s.deployRoutes(r)
	r.NotFound(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return httperr.Errorf(http.StatusNotFound, "no such boot resource: %s", r.URL.Path)
	}))
	return r, nil
}
