package web

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/web/dashboard"
)

// Server is the operator API. Its zero value is not usable: Store and Token
// are required. Other fields default as documented.
type Server struct {
	Store inventory.Store
	// Lifecycle runs the lifecycle's actions (deploy, release, retry,
	// agent tokens); required for them.
	Lifecycle *provision.Lifecycle
	// Token is the operator token every route except /healthz requires.
	Token string
	// Logger receives one line per failed request; silent when nil.
	Logger *slog.Logger
	// Registry collects the API's metrics; a private one when nil. Other
	// parts of rackboot register their collectors on the same registry.
	Registry *prometheus.Registry
	// Power runs the power actions; nil answers them with 501.
	Power PowerControl
	// MaxBodyBytes bounds request bodies; default 1 MiB. Image uploads
	// are not bounded: they stream to disk.
	MaxBodyBytes int64
	// Images is the image store; nil answers the image routes with 501.
	// It also feeds the dashboard unless Dashboard.Images is set.
	Images ImageStore
	// Backup serves GET /api/v1/backup; nil answers it with 501.
	Backup Backuper
	// BootTrace is the boot steps DHCP, TFTP and the machine side saw,
	// shown at /api/v1/hosts/{mac}/boot-steps; nil shows none.
	BootTrace *boottrace.Trace
	// Dashboard configures the web UI at / and /ui/ (images, health); its
	// Store, Token, Logger and Actions default to the API's own.
	Dashboard dashboard.Config
	// Appliances lists the appliances that share an etcd inventory; nil
	// (bbolt) answers /api/v1/appliances with 501.
	Appliances ApplianceLister
}

// Handler builds the router. Call it once.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = 1 << 20
	}
	m := newMetrics(s.Registry, s.Store)
	r := chi.NewRouter()
	r.Use(m.middleware)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	r.Group(func(r chi.Router) {
		r.Use(s.requireToken)
		r.Get("/metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}).ServeHTTP)
		r.Route("/api/v1", s.apiRoutes)
	})
	if s.Dashboard.Images == nil && s.Images != nil {
		s.Dashboard.Images = dashboardImages{s.Images, s}
	}
	// The dashboard authenticates with its own session cookie; without
	// one, every path it serves answers 401 with the login page.
	ui := dashboard.ForAPI(s.Dashboard, r, s.Store, s.Token, s.Logger)
	r.Handle("/", ui)
	r.Handle("/ui", ui)
	r.Handle("/ui/*", ui)
	r.NotFound(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return httperr.Errorf(http.StatusNotFound, "no route for %s %s", r.Method, r.URL.Path)
	}))
	r.MethodNotAllowed(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return httperr.Errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
	}))
	return r
}

func (s *Server) apiRoutes(r chi.Router) {
	r.Get("/hosts", s.handle(s.listHosts))
	r.Post("/hosts", s.handle(s.createHost))
	r.Get("/hosts/{mac}", s.handle(s.getHost))
	r.Patch("/hosts/{mac}", s.handle(s.patchHost))
	r.Delete("/hosts/{mac}", s.handle(s.deleteHost))
	r.Get("/hosts/{mac}/events", s.handle(s.hostEvents))
	r.Get("/hosts/{mac}/boot-steps", s.handle(s.bootSteps))
	r.Post("/hosts/{mac}/actions/{action}", s.handle(s.hostAction))
	r.Get("/appliances", s.handle(s.listAppliances))
	s.agentRoutes(r)
	s.userDataRoutes(r)
	s.imageRoutes(r)
	r.Get("/backup", s.handle(s.backup))
	r.Get("/openapi.json", s.handle(s.openAPI))
}
