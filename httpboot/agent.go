package httpboot

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// AgentStore is what the agent routes need of the Store beyond the Store
// interface. *inventory.DB implements it; with a Store that does not, the
// agent routes answer 501, so the boot side needs no extra wiring.
type AgentStore interface {
	VerifyAgentToken(ctx context.Context, token, mac string) error
	MintAgentToken(ctx context.Context, mac string, revoke bool) (string, time.Time, error)
	AgentConfigsFor(ctx context.Context, labels map[string]string) ([]inventory.AgentConfig, error)
}

func (s *Server) agentStore() (AgentStore, error) {
	if a, ok := s.Store.(AgentStore); ok {
		return a, nil
	}
	return nil, httperr.Errorf(http.StatusNotImplemented, "this appliance's store keeps no agent configs")
}

// agentRoutes adds the routes of the config agent on installed hosts.
func (s *Server) agentRoutes(r chi.Router) {
	r.Get("/machine/v1/agent/config", s.handle(s.agent(s.agentConfig)))
	r.Post("/machine/v1/agent/status", s.handle(s.agent(s.agentStatus)))
	r.Get("/machine/v1/agent/binary", s.handle(s.agentBinary))
}

// agent authenticates an agent: its bearer token must be a current agent
// token of the host named by ?mac=. Boot tokens are not accepted: they are
// short-lived and meant for the installer.
func (s *Server) agent(h func(http.ResponseWriter, *http.Request, string) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		store, err := s.agentStore()
		if err != nil {
			return err
		}
		mac, token, err := agentCredentials(r)
		if err != nil {
			return err
		}
		if err := store.VerifyAgentToken(r.Context(), token, mac); err != nil {
			return agentAuthError(mac, err)
		}
		return h(w, r, mac)
	}
}

// agentCredentials returns the normalised ?mac= and the bearer token.
func agentCredentials(r *http.Request) (mac, token string, err error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", "", httperr.Errorf(http.StatusUnauthorized, "no agent token (Authorization: Bearer …)")
	}
	mac, err = inventory.NormalizeMAC(r.URL.Query().Get("mac"))
	return mac, token, err
}

func agentAuthError(mac string, err error) error {
	if errors.Is(err, inventory.ErrBadAgentToken) {
		return httperr.Errorf(http.StatusUnauthorized, "host %s: %v", mac, err)
	}
	return fmt.Errorf("host %s: agent token: %w", mac, err)
}

// graphOf returns the graph of host mac as it is now, and the labels it
// was chosen by.
func (s *Server) graphOf(ctx context.Context, store AgentStore, mac string) (machineapi.Graph, map[string]string, error) {
	h, err := s.Store.Host(ctx, mac)
	if err != nil {
		return machineapi.Graph{}, nil, err
	}
	cs, err := store.AgentConfigsFor(ctx, h.Labels)
	if err != nil {
		return machineapi.Graph{}, nil, err
	}
	g := machineapi.Graph{Configs: make([]machineapi.GraphConfig, len(cs))}
	sum := sha256.New()
	for i, c := range cs {
		g.Configs[i] = machineapi.GraphConfig{Name: c.Name, Version: c.Version, Body: c.Body}
		sum.Write(binary.BigEndian.AppendUint64([]byte(c.Name+"\x00"), c.Version))
	}
	g.Version = hex.EncodeToString(sum.Sum(nil)[:12])
	return g, h.Labels, nil
}

// agentConfig answers an agent's poll for its graph. It long-polls: while
// the graph is the version the agent runs (?version=), it waits (up to
// ?wait=, default 25 s) for what can change the graph (a config that
// selects the host, which the Store logs on the host as an agent-config
// event, or the host's labels) and answers 304 if nothing did. Other
// changes of the host, the agent's own status reports first among them,
// do not make it read the configs again.
func (s *Server) agentConfig(w http.ResponseWriter, r *http.Request, mac string) error {
	store, _ := s.agentStore() // checked by agent
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	have := r.URL.Query().Get("version")
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	changes := s.Store.Subscribe(ctx) // before the read, so no change slips between
	for {
		g, labels, err := s.graphOf(r.Context(), store, mac)
		if err != nil {
			return err
		}
		if g.Version != have {
			return writeJSON(w, g)
		}
		graphMayChange := func(c inventory.Change) bool {
			return c.Deleted || c.Event.Type == inventory.EventAgentConfig || !maps.Equal(c.Host.Labels, labels)
		}
		if !s.waitForChange(ctx, &changes, mac, graphMayChange) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
}

// waitParam is ?wait=, the longest a long-poll may wait; default 25 s,
// under the 30 s that proxies and clients commonly allow an idle request.
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 25 * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 60*time.Second {
		return 0, httperr.Errorf(http.StatusBadRequest, "wait %q: want a duration up to 60s", v)
	}
	return d, nil
}
