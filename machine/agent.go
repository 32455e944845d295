package machine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"net/http"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// graphOf returns the graph of host mac as it is now, and the labels it
// was chosen by: every config that selects the host, ordered by name, and
// a version naming that set. The agent parses each config on its own and
// merges them; a resource in two configs is its error to report.
func (s *Server) graphOf(ctx context.Context, mac string) (machineapi.Graph, map[string]string, error) {
	h, err := s.store.Host(ctx, mac)
	if err != nil {
		return machineapi.Graph{}, nil, err
	}
	cs, err := s.store.AgentConfigsFor(ctx, h.Labels)
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
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	have := r.URL.Query().Get(machineapi.ParamVersion)
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	changes := s.store.Subscribe(ctx) // before the read, so no change slips between
	for {
		g, labels, err := s.graphOf(r.Context(), mac)
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

// agentStatus stores an agent's report on its host (provision.CheckIn: a
// deployed host's first check-in makes it active).
func (s *Server) agentStatus(w http.ResponseWriter, r *http.Request, mac string) error {
	var rep machineapi.AgentReport
	if err := httperr.DecodeJSON(w, r, s.MaxBodyBytes, "agent report", &rep); err != nil {
		return err
	}
	h, err := s.Lifecycle.CheckIn(r.Context(), mac, rep)
	if err != nil {
		return err
	}
	return writeJSON(w, machineapi.AgentState{State: string(h.State)})
}

// firstBoot records the installed OS's first report, made with the agent
// token from its seed: the proof that the host booted from its own disk.
func (s *Server) firstBoot(w http.ResponseWriter, r *http.Request, mac string) error {
	var fb machineapi.FirstBoot
	if err := decode(w, r, maxCallbackBytes, &fb); err != nil {
		return err
	}
	if err := s.Lifecycle.FirstBoot(r.Context(), mac, fb); err != nil {
		return err
	}
	return status(w, "ok")
}
