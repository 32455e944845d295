package web

import (
	"cmp"
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/fleetconfig"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
)

// agentRoutes adds the config routes, agent-token minting and the values
// hosts published to /api/v1.
func (s *Server) agentRoutes(r chi.Router) {
	r.Get("/configs", s.handle(s.listConfigs))
	r.Post("/configs", s.handle(s.createConfig))
	r.Get("/configs/{name}", s.handle(s.getConfig))
	r.Put("/configs/{name}", s.handle(s.putConfig))
	r.Delete("/configs/{name}", s.handle(s.deleteConfig))
	r.Post("/hosts/{mac}/agent-token", s.handle(s.mintAgentToken))
	r.Get("/hosts/{mac}/values", s.handle(s.hostValues))
}

// hostValues lists what a host's agent published (export resources) for
// other hosts' configs.
func (s *Server) hostValues(w http.ResponseWriter, r *http.Request) error {
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	if _, err := s.Store.Host(r.Context(), mac); err != nil {
		return err
	}
	vals, err := s.Store.PublishedValues(r.Context(), mac)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"values": vals})
	return nil
}

// configBody is a config as operators send it. On PUT the name comes from
// the path and may be left out of the body.
type configBody struct {
	Name     string            `json:"name"`
	Selector map[string]string `json:"selector"`
	Body     string            `json:"body"`
}

// configView is a stored config and how many hosts it selects right now,
// so an operator sees at once that an empty selector selects none.
type configView struct {
	inventory.AgentConfig
	SelectedHosts int `json:"selected_hosts"`
}

// decodeConfig reads and checks a config: its template must parse
// (fleetconfig names the line and column of a syntax error) and, when it
// has no template actions, its YAML must be a valid graph on its own
// (agent/config names the line, column, resource and field of the first
// mistake), so nothing stored can fail on every host for those reasons.
// On PUT, name is the path's and the body may leave it out.
func (s *Server) decodeConfig(w http.ResponseWriter, r *http.Request, name string) (inventory.AgentConfig, error) {
	var b configBody
	if err := s.decodeBody(w, r, &b); err != nil {
		return inventory.AgentConfig{}, err
	}
	if name != "" && b.Name != "" && b.Name != name {
		return inventory.AgentConfig{}, httperr.Errorf(http.StatusBadRequest, "request body: name %q differs from the path's %q", b.Name, name)
	}
	c := inventory.AgentConfig{Name: cmp.Or(name, b.Name), Selector: b.Selector, Body: b.Body}
	if err := fleetconfig.Check(c.Name, b.Body); err != nil {
		return c, httperr.Errorf(http.StatusBadRequest, "config %s: %v", c.Name, err)
	}
	return c, nil
}

func (s *Server) listConfigs(w http.ResponseWriter, r *http.Request) error {
	store := s.Store
	all, err := store.AgentConfigs(r.Context())
	if err != nil {
		return err
	}
	labels, err := s.allLabels(r.Context())
	if err != nil {
		return err
	}
	views := make([]configView, len(all))
	for i, c := range all {
		views[i] = viewConfig(c, labels)
	}
	writeJSON(w, http.StatusOK, map[string]any{"configs": views})
	return nil
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) error {
	store := s.Store
	c, err := store.AgentConfig(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		return err
	}
	return s.writeConfig(w, r, http.StatusOK, c)
}

func (s *Server) createConfig(w http.ResponseWriter, r *http.Request) error {
	store := s.Store
	c, err := s.decodeConfig(w, r, "")
	if err != nil {
		return err
	}
	if c, err = store.CreateAgentConfig(r.Context(), c, actor(r)); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/configs/"+c.Name)
	return s.writeConfig(w, r, http.StatusCreated, c)
}

// putConfig creates or replaces a config; If-Match makes it conditional
// on the stored version.
func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) error {
	store := s.Store
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	c, err := s.decodeConfig(w, r, chi.URLParam(r, "name"))
	if err != nil {
		return err
	}
	c, created, err := store.PutAgentConfig(r.Context(), c, version, actor(r))
	if err != nil {
		return err
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	return s.writeConfig(w, r, code, c)
}

func (s *Server) deleteConfig(w http.ResponseWriter, r *http.Request) error {
	store := s.Store
	if err := store.DeleteAgentConfig(r.Context(), chi.URLParam(r, "name"), actor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) writeConfig(w http.ResponseWriter, r *http.Request, code int, c inventory.AgentConfig) error {
	labels, err := s.allLabels(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, code, viewConfig(c, labels))
	return nil
}

func viewConfig(c inventory.AgentConfig, labels []map[string]string) configView {
	v := configView{AgentConfig: c}
	for _, l := range labels {
		if c.Selects(l) {
			v.SelectedHosts++
		}
	}
	return v
}

// allLabels returns every host's labels, reading the index a page at a time.
func (s *Server) allLabels(ctx context.Context) ([]map[string]string, error) {
	var out []map[string]string
	q := inventory.Query{Limit: inventory.MaxLimit}
	for {
		page, err := s.Store.Hosts(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, h := range page.Hosts {
			out = append(out, h.Labels)
		}
		if page.Next == "" {
			return out, nil
		}
		q.After = page.Next
	}
}
