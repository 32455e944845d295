package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// maxStoredResources bounds the per-resource statuses kept on a host: every
// host record is in memory and in every host listing, so a graph of
// thousands of resources keeps only the ones that are not ok.
const maxStoredResources = 256

// CheckIn stores an agent's report on its host. The first check-in of a
// deployed host is the proof that the installed OS boots and runs the
// agent, so it moves the host to active, in the same transaction.
func (l *Lifecycle) CheckIn(ctx context.Context, mac string, rep machineapi.AgentReport) (inventory.Host, error) {
	if rep.Status != machineapi.AgentConverged && rep.Status != machineapi.AgentUnconverged {
		return inventory.Host{}, fmt.Errorf("agent report: status %q is not converged or unconverged: %w", rep.Status, inventory.ErrInvalid)
	}
	st := agentStatus(&rep)
	st.LastCheckIn = l.now()
	h, err := l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		h.Agent = &st
		ed := inventory.Edit{Type: "agent", Cause: agentSummary(&rep), Actor: "agent"}
		if h.State == inventory.StateDeployed {
			ed.To, ed.Cause = inventory.StateActive, "agent checked in: "+ed.Cause
		}
		return ed, nil
	})
	if err == nil && h.State == inventory.StateActive && h.StateChangedAt.Equal(st.LastCheckIn) {
		l.log.Info("host active: agent checked in", "mac", mac)
	}
	return h, err
}

func agentStatus(rep *machineapi.AgentReport) inventory.AgentStatus {
	st := inventory.AgentStatus{AgentReport: *rep}
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

// FirstBoot records the installed OS's first report, made with the agent
// token from its seed: the proof that the host booted from its own disk.
func (l *Lifecycle) FirstBoot(ctx context.Context, mac string, fb machineapi.FirstBoot) error {
	cause := fmt.Sprintf("booted from its own disk (%s)", fb.Firmware)
	return l.store.AppendEvent(ctx, mac, inventory.Event{Type: "first-boot", Cause: cause, Actor: "host"})
}
