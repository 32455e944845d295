package httpboot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// maxStoredResources bounds the per-resource statuses kept on a host: every
// host record is in memory and in every host listing, so a graph of
// thousands of resources keeps only the ones that are not ok.
const maxStoredResources = 256

func (s *Server) decodeAgentReport(w http.ResponseWriter, r *http.Request) (machineapi.AgentReport, error) {
	var rep machineapi.AgentReport
	if err := decodeJSON(w, r, s.MaxBodyBytes, "agent report", &rep); err != nil {
		return rep, err
	}
	if rep.Status != "converged" && rep.Status != "unconverged" {
		return rep, httperr.Errorf(http.StatusBadRequest, "agent report: status %q is not converged or unconverged", rep.Status)
	}
	return rep, nil
}

// agentStatus stores an agent's report on its host. The first check-in of
// a deployed host is the proof that the installed OS boots and runs the
// agent, so it moves the host to active.
func (s *Server) agentStatus(w http.ResponseWriter, r *http.Request, mac string) error {
	rep, err := s.decodeAgentReport(w, r)
	if err != nil {
		return err
	}
	st := agentStatusOf(&rep, time.Now().UTC())
	h, err := s.Store.UpdateHost(r.Context(), mac, 0, func(h *inventory.Host) error {
		h.Agent = &st
		return nil
	}, inventory.Event{Type: "agent", Cause: agentSummary(&rep), Actor: "agent"})
	if err != nil {
		return err
	}
	if h, err = s.activate(r.Context(), h); err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"state": string(h.State)})
}

// activate moves a deployed host to active. Another check-in may have
// done it first, which is not an error.
func (s *Server) activate(ctx context.Context, h inventory.Host) (inventory.Host, error) {
	if h.State != inventory.StateDeployed {
		return h, nil
	}
	next, err := s.Store.Transition(ctx, h.MAC, inventory.StateActive, "agent checked in", "agent")
	if errors.Is(err, inventory.ErrTransition) {
		return s.Store.Host(ctx, h.MAC)
	}
	if err == nil {
		s.Logger.Info("host active: agent checked in", "mac", h.MAC)
	}
	return next, err
}

func agentStatusOf(rep *machineapi.AgentReport, now time.Time) inventory.AgentStatus {
	st := inventory.AgentStatus{Status: rep.Status, Message: rep.Message, LastCheckIn: now,
		ConfigVersion: rep.ConfigVersion, ConfigError: rep.ConfigError, Resources: rep.Resources}
	if len(st.Resources) > maxStoredResources {
		st.Resources = nil
		for _, rs := range rep.Resources {
			if rs.State != "ok" && len(st.Resources) < maxStoredResources {
				st.Resources = append(st.Resources, rs)
			}
		}
		st.Message = strings.TrimSpace(fmt.Sprintf("%s (%d resources; only those not ok are kept)", st.Message, len(rep.Resources)))
	}
	return st
}

// agentSummary is the report as one line of the host's event log.
func agentSummary(rep *machineapi.AgentReport) string {
	n := map[string]int{}
	first := ""
	for _, rs := range rep.Resources {
		n[rs.State]++
		if first == "" && rs.State != "ok" {
			first = rs.Resource + " " + rs.State
		}
	}
	s := fmt.Sprintf("%s: %d of %d resources ok", rep.Status, n["ok"], len(rep.Resources))
	if first != "" {
		s += "; " + first
	}
	if rep.ConfigError != "" {
		s += "; config not applied: " + rep.ConfigError
	}
	return s
}
