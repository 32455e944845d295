package virtual

import (
	"context"
	"fmt"
	"net/http"
)

const (
	systemPath  = "/redfish/v1/Systems/1"
	managerPath = "/redfish/v1/Managers/1"
	chassisPath = "/redfish/v1/Chassis/1"
)

var resetTypes = []string{"On", "ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart", "PowerCycle", "Nmi"}

func (s *Server) systems(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, collection("/redfish/v1/Systems",
		"#ComputerSystemCollection.ComputerSystemCollection", "Computer Systems", systemPath))
}

func (s *Server) powerState() string {
	if s.machine.Powered() {
		return "On"
	}
	return "Off"
}

func (s *Server) system(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": systemPath, "@odata.type": "#ComputerSystem.v1_10_0.ComputerSystem",
		"Id": "1", "Name": "rackboot virtual system", "SystemType": "Virtual",
		"Manufacturer": "rackboot", "Model": "virtual", "PowerState": s.powerState(),
		"Status": map[string]string{"State": "Enabled", "Health": "OK"},
		"Boot":   s.boot.json(),
		"Actions": map[string]any{"#ComputerSystem.Reset": map[string]any{
			"target":                            systemPath + "/Actions/ComputerSystem.Reset",
			"ResetType@Redfish.AllowableValues": resetTypes,
		}},
		"Links": map[string]any{"Chassis": []any{link(chassisPath)}, "ManagedBy": []any{link(managerPath)}},
	})
}

// patchSystem accepts the Boot override, the only writable part.
func (s *Server) patchSystem(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Boot *struct {
			BootSourceOverrideTarget  string
			BootSourceOverrideEnabled string
			BootSourceOverrideMode    string
		}
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Boot == nil {
		return badRequest("only Boot can be changed")
	}
	b := body.Boot
	if s.cfg.IgnoreBootOverride {
		s.log.Warn("boot override accepted and ignored (IgnoreBootOverride)", "target", b.BootSourceOverrideTarget)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := s.boot.set(b.BootSourceOverrideTarget, b.BootSourceOverrideEnabled, b.BootSourceOverrideMode); err != nil {
		return badRequest("%v", err)
	}
	s.log.Info("boot override set", "target", b.BootSourceOverrideTarget, "enabled", b.BootSourceOverrideEnabled)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) error {
	var body struct{ ResetType string }
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if !oneOf(body.ResetType, resetTypes...) {
		return badRequest("ResetType %q is not one of %v", body.ResetType, resetTypes)
	}
	s.log.Info("reset", "type", body.ResetType, "was", s.powerState())
	if err := s.doReset(r.Context(), body.ResetType); err != nil {
		return fmt.Errorf("reset %s: %w", body.ResetType, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) doReset(ctx context.Context, resetType string) error {
	m := s.machine
	switch resetType {
	case "On":
		return s.powerOn(ctx)
	case "ForceOff":
		return m.PowerOff(ctx)
	case "GracefulShutdown":
		return m.Shutdown(ctx)
	case "Nmi":
		return m.NMI(ctx)
	case "PowerCycle":
		return s.restart(ctx)
	default: // ForceRestart, GracefulRestart: no OS here to cooperate
		if !m.Powered() || s.boot.pending() {
			// A warm reset would keep the boot order QEMU started with;
			// a pending override needs a fresh start to take effect.
			return s.restart(ctx)
		}
		return m.Reset(ctx)
	}
}

func (s *Server) powerOn(ctx context.Context) error {
	if s.machine.Powered() {
		return nil
	}
	return s.machine.PowerOn(ctx, s.boot.take())
}

func (s *Server) restart(ctx context.Context) error {
	if err := s.machine.PowerOff(ctx); err != nil {
		return err
	}
	return s.powerOn(ctx)
}
