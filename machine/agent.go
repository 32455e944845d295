package machine

import (
	"context"
	"net/http"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/machineapi"
)

// agentConfig answers an agent's poll for its graph: the configs that
// select the host, rendered for it by Graphs from the live inventory. It
// long-polls: while the graph is the version the agent runs (?version=),
// or none has rendered for the host yet, it waits (up to ?wait=, default
// 25 s) for a new one and answers 304 if none came.
func (s *Server) agentConfig(w http.ResponseWriter, r *http.Request, mac string) error {
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	g, err := s.Graphs.Wait(ctx, mac, r.URL.Query().Get(machineapi.ParamVersion))
	if err != nil && ctx.Err() != nil { // the wait ran out (or the agent left): nothing new
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if err != nil {
		return err
	}
	return writeJSON(w, g)
}

// agentExport stores a value the host's agent publishes (an export
// resource) for other hosts' configs to read.
func (s *Server) agentExport(w http.ResponseWriter, r *http.Request, mac string) error {
	var ex machineapi.Export
	if err := decode(w, r, maxCallbackBytes, &ex); err != nil {
		return err
	}
	changed, err := s.Lifecycle.Publish(r.Context(), mac, ex)
	if err != nil {
		return err
	}
	if !changed {
		return status(w, "unchanged")
	}
	return status(w, "stored")
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
