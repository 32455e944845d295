package dashboard

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Dashboard serves the web UI under /ui/ (and / as its entry point). It is
// an http.Handler, deliberately not a chi.Routes: a parent router mounts it
// as one opaque handler, and every path it serves either needs a session
// or answers 401 with the login page.
type Dashboard struct {
	cfg      Config
	sessions *sessions
	origin   *http.CrossOriginProtection
	views    *views
	asset    string
	router   chi.Router
	pages    pageCache
}

// New builds the dashboard. It fails only if Store or Token is missing or
// the embedded templates do not parse.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Store == nil || cfg.Token == "" {
		return nil, errors.New("dashboard: Store and Token are required")
	}
	cfg.setDefaults()
	v, err := loadViews()
	if err != nil {
		return nil, err
	}
	d := &Dashboard{cfg: cfg, sessions: newSessions(cfg.Token, cfg.SessionTTL, cfg.Now),
		origin: http.NewCrossOriginProtection(), views: v, asset: assetVersion()}
	d.router = d.routes()
	return d, nil
}

// ServeHTTP routes on the full path with a route context of its own, so
// the dashboard behaves the same whether a parent router mounted it, gave
// it a wildcard route, or it is served alone.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := context.WithValue(r.Context(), chi.RouteCtxKey, chi.NewRouteContext())
	d.router.ServeHTTP(w, r.WithContext(ctx))
}

// Routes are the dashboard's routes, for tests that walk every one.
func (d *Dashboard) Routes() chi.Routes { return d.router }

func (d *Dashboard) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(securityHeaders)
	r.Handle("/ui/static/*", staticHandler())
	r.Get("/ui/login", d.handle(d.loginPage))
	r.Post("/ui/login", d.handle(d.login))
	r.Group(func(r chi.Router) {
		r.Use(d.requireSession, d.requireCSRF)
		r.Get("/", http.RedirectHandler("/ui/", http.StatusFound).ServeHTTP)
		r.Get("/ui", http.RedirectHandler("/ui/", http.StatusFound).ServeHTTP)
		r.Get("/ui/", d.handle(d.hostList))
		r.Get("/ui/hosts/{mac}", d.handle(d.hostPage))
		r.Post("/ui/hosts/{mac}/actions/{action}", d.handle(d.hostAction))
		r.Get("/ui/live", d.handle(d.live))
		r.Get("/ui/images", d.handle(d.imagesPage))
		r.Post("/ui/images/{name}/remove", d.handle(d.removeImage))
		r.Post("/ui/logout", d.handle(d.logout))
		r.NotFound(d.handle(notFound))
		r.MethodNotAllowed(d.handle(methodNotAllowed))
	})
	return r
}
