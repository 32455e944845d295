package machine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"text/template"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/fleetconfig"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/provision"
)

// ImageSource is what image streams need of the image store.
type ImageSource interface {
	Open(name string) (*os.File, images.Image, error)
}

// Server is the machine-facing HTTP side. Lifecycle is required, with a
// boot URL in its boot.Config; the zero value of every other field is the
// documented default.
type Server struct {
	Lifecycle *provision.Lifecycle
	// Graphs renders each host's graph for the agent's config poll; it is
	// required, and its Run must be running.
	Graphs *fleetconfig.Graphs
	// IPXEFiles maps each of boot.Loaders to its file; a loader without
	// one is not served. Symlinks are followed: the operator chose them.
	IPXEFiles map[string]string
	// ShimFile and GRUBFile are the signed chain (boot.ShimFile and
	// boot.GRUBFile on Debian), served to HTTP Boot clients under
	// boot.PathShim; empty serves none.
	ShimFile, GRUBFile string
	// Trace records the boot steps seen here (script, grub.cfg, loader and
	// installer fetches, claims); nil keeps a private one. Share it with
	// DHCP and TFTP to see a whole chain.
	Trace *boottrace.Trace
	// InstallerKernel and InstallerInitrd are served under
	// boot.PathInstaller as boot.InstallerKernel and boot.InstallerInitrd.
	InstallerKernel, InstallerInitrd string
	// Images streams the images hosts are deployed with; nil serves none.
	Images ImageSource
	// TemplatesDir may hold installer.ipxe, localboot.ipxe and hold.ipxe
	// to replace the built-in scripts.
	TemplatesDir string
	Logger       *slog.Logger // silent when nil
	// MaxBodyBytes bounds an agent's report; default 1 MiB. An inspect
	// report is bounded by maxFactsBytes.
	MaxBodyBytes int64
	// PeerBlobs, with PeerKey, serves image blobs by sha256 to the other
	// appliances of a shared inventory (machineapi.PathPeerBlob); unset,
	// the route is not there.
	PeerBlobs PeerBlobSource
	PeerKey   []byte

	store     inventory.Store
	boot      boot.Config
	templates atomic.Pointer[map[string]*template.Template] // swapped whole by ReloadTemplates
	routes    chi.Routes
}

// Handler builds the router, after loading the script templates (an
// override that does not parse is reported here, at start).
func (s *Server) Handler() (http.Handler, error) {
	if s.Lifecycle == nil || s.Lifecycle.Boot().URL == "" {
		return nil, fmt.Errorf("machine: a Lifecycle with a boot URL is required")
	}
	if s.Graphs == nil {
		return nil, fmt.Errorf("machine: Graphs is required (the agent's configs)")
	}
	s.store, s.boot = s.Lifecycle.Store(), s.Lifecycle.Boot()
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Trace == nil {
		s.Trace = &boottrace.Trace{}
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = 1 << 20
	}
	if err := s.ReloadTemplates(); err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Get(boot.PathScript, s.handle(s.script))
	r.Get(boot.PathLoaders+"{name}", s.handle(s.loader))
	r.Head(boot.PathLoaders+"{name}", s.handle(s.loader))
	r.Get(boot.PathInstaller+"{name}", s.handle(s.installerFile))
	r.Get(boot.PathShim+"{name}", s.handle(s.shimFile))
	r.Head(boot.PathShim+"{name}", s.handle(s.shimFile))
	r.Get("/"+boot.GRUBConfig, s.handle(s.grubHTTP))
	r.Get("/"+boot.GRUBHostConfig+"{mac}", s.handle(s.grubHTTP))
	s.installerRoutes(r)
	s.agentRoutes(r)
	if s.PeerBlobs != nil && len(s.PeerKey) > 0 {
		r.Get(machineapi.PathPeerBlob+"{digest}", s.handle(s.peerBlob))
	}
	r.NotFound(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return httperr.Errorf(http.StatusNotFound, "no such boot resource: %s", r.URL.Path)
	}))
	s.routes = r
	return r, nil
}

// ReloadTemplates reads the script templates again (serve calls it on
// SIGHUP: systemctl reload). A set that does not parse is refused whole
// and the scripts in use stay; scripts being rendered finish with the set
// they began with.
func (s *Server) ReloadTemplates() error {
	t, err := loadTemplates(s.TemplatesDir)
	if err != nil {
		return fmt.Errorf("machine: %w", err)
	}
	s.templates.Store(&t)
	return nil
}

func (s *Server) installerRoutes(r chi.Router) {
	r.Post(machineapi.PathClaim, s.handle(s.claim))
	r.Post(machineapi.PathInspect, s.handle(s.installer(s.inspect)))
	r.Post(machineapi.PathSeed, s.handle(s.installer(s.seed)))
	r.Get(machineapi.PathNext, s.handle(s.installer(s.next)))
	r.Get(machineapi.PathImage, s.handle(s.installer(s.image)))
	r.Post(machineapi.PathProgress, s.handle(s.installer(s.progress)))
	r.Post(machineapi.PathDeployed, s.handle(s.installer(s.deployed)))
	r.Post(machineapi.PathFailed, s.handle(s.installer(s.failed)))
	r.Post(machineapi.PathWiped, s.handle(s.installer(s.wiped)))
}

func (s *Server) agentRoutes(r chi.Router) {
	r.Get(machineapi.PathAgentConfig, s.handle(s.agent(s.agentConfig)))
	r.Post(machineapi.PathAgentStatus, s.handle(s.agent(s.agentStatus)))
	r.Post(machineapi.PathAgentExport, s.handle(s.agent(s.agentExport)))
	r.Post(machineapi.PathFirstBoot, s.handle(s.agent(s.firstBoot)))
	r.Get(machineapi.PathAgentBinary, s.handle(s.agentBinary))
}

// handle turns a returned error into a plain-text answer (a firmware
// console shows it as it is) and a log line, and a panic into a 500.
// Refusals are logged at info: this side faces the provisioning network.
func (s *Server) handle(h httperr.Func) http.HandlerFunc {
	return httperr.Handler{Log: s.Logger, Render: httperr.Text, Quiet: slog.LevelInfo}.Wrap(h)
}

// maxCallbackBytes bounds the small calls (the installer's claim, booted,
// progress, deployed, failed, wiped; the agent's firstboot and export);
// inspect and agent reports, which carry facts and resource lists, are
// bounded by maxFactsBytes and Server.MaxBodyBytes.
const maxCallbackBytes = 64 << 10

// maxFactsBytes bounds an inspect report: the facts machineapi allows (256
// disks and NICs with their bounded fields) fit with room to spare.
const maxFactsBytes = 256 << 10

// decode reads the JSON body of a machine's call into v.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return httperr.DecodeJSON(w, r, limit, "report", v)
}

// writeJSON answers v as compact JSON: machines read it, not people.
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

func status(w http.ResponseWriter, s string) error {
	return writeJSON(w, machineapi.Status{Status: s})
}

// waitForChange waits for a change of mac that wake accepts (nil: any)
// and reports whether one came before ctx ended. A feed dropped for
// falling behind is replaced and counts as a change, since what it
// missed is unknown.
func (s *Server) waitForChange(ctx context.Context, changes *<-chan inventory.Change, mac string, wake func(inventory.Change) bool) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case c, ok := <-*changes:
			if !ok {
				if ctx.Err() != nil {
					return false
				}
				*changes = s.store.Subscribe(ctx)
				return true
			}
			if c.Host.MAC == mac && (wake == nil || wake(c)) {
				return true
			}
		}
	}
}
