package httpboot

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// deploying returns the host if it is deploying, for the deploy reports.
func (s *Server) deploying(r *http.Request, mac string) (inventory.Host, error) {
	h, err := s.Store.Host(r.Context(), mac)
	if err == nil && h.State != inventory.StateDeploying {
		err = httperr.Errorf(http.StatusConflict, "host %s is %s, not deploying", mac, h.State)
	}
	return h, err
}

// wiping returns the host if it has a quick wipe to do, for the wipe
// reports.
func (s *Server) wiping(r *http.Request, mac string) (inventory.Host, error) {
	h, err := s.Store.Host(r.Context(), mac)
	if err == nil && h.Wipe == nil {
		err = httperr.Errorf(http.StatusConflict, "host %s has no wipe pending", mac)
	}
	return h, err
}

// wiped records a finished quick wipe and clears the request, which lets
// the installer go on to what comes next (a deploy, or waiting).
func (s *Server) wiped(w http.ResponseWriter, r *http.Request, mac string) error {
	var rep machineapi.Wiped
	if err := decodeJSON(w, r, maxCallbackBytes, "report", &rep); err != nil {
		return err
	}
	if len(rep.Disks) == 0 {
		return httperr.Errorf(http.StatusBadRequest, "malformed report: no disks")
	}
	h, err := s.wiping(r, mac)
	if err != nil {
		return err
	}
	var parts []string
	for _, d := range rep.Disks {
		table := d.Table
		if table == "" {
			table = "no partition table"
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %d partitions, %d MiB zeroed)", d.Disk, table, d.Partitions, d.Zeroed>>20))
	}
	took := time.Duration(rep.Seconds * float64(time.Second)).Round(time.Millisecond)
	cause := fmt.Sprintf("quick wipe: %s in %v", strings.Join(parts, ", "), took)
	if _, err := s.Store.UpdateHost(r.Context(), h.MAC, 0, func(h *inventory.Host) error {
		h.Wipe = nil
		return nil
	}, inventory.Event{Type: "wiped", Cause: cause, Actor: "installer"}); err != nil {
		return err
	}
	s.Logger.Info("host wiped", "mac", h.MAC, "disks", len(rep.Disks), "seconds", rep.Seconds)
	return writeJSON(w, map[string]string{"status": "wiped"})
}

// progress logs a deploy-progress event; the dashboard draws its bar from
// the cause's "written N of M bytes".
func (s *Server) progress(w http.ResponseWriter, r *http.Request, mac string) error {
	var p machineapi.Progress
	if err := decodeJSON(w, r, maxCallbackBytes, "report", &p); err != nil {
		return err
	}
	if p.Written < 0 || p.Total <= 0 || p.Written > p.Total {
		return httperr.Errorf(http.StatusBadRequest, "malformed report: written %d of %d", p.Written, p.Total)
	}
	h, err := s.deploying(r, mac)
	if err != nil {
		return err
	}
	cause := fmt.Sprintf("written %d of %d bytes (%.1f MB/s)", p.Written, p.Total, float64(p.RateBPS)/1e6)
	if err := s.Store.AppendEvent(r.Context(), h.MAC, inventory.Event{Type: inventory.EventDeployProgress, Cause: cause, Actor: "installer"}); err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"status": "ok"})
}

func (s *Server) deployed(w http.ResponseWriter, r *http.Request, mac string) error {
	var d machineapi.Deployed
	if err := decodeJSON(w, r, maxCallbackBytes, "report", &d); err != nil {
		return err
	}
	h, err := s.deploying(r, mac)
	if err != nil {
		return err
	}
	if h.Wipe != nil {
		return httperr.Errorf(http.StatusConflict, "host %s has a quick wipe pending: a deploy cannot have run yet", h.MAC)
	}
	rate := 0.0
	if d.Seconds > 0 {
		rate = float64(d.Written) / d.Seconds / 1e6
	}
	cause := fmt.Sprintf("image %s written to %s and verified: %d bytes in %.1f s (%.1f MB/s)", h.Image, d.Disk, d.Written, d.Seconds, rate)
	if _, err := s.Store.Transition(r.Context(), h.MAC, inventory.StateDeployed, cause, "installer"); err != nil {
		return err
	}
	s.Logger.Info("host deployed", "mac", h.MAC, "image", h.Image, "disk", d.Disk, "seconds", d.Seconds)
	return writeJSON(w, map[string]string{"status": "deployed"})
}

func (s *Server) failed(w http.ResponseWriter, r *http.Request, mac string) error {
	var f machineapi.Failed
	if err := decodeJSON(w, r, maxCallbackBytes, "report", &f); err != nil {
		return err
	}
	if f.Cause == "" {
		return httperr.Errorf(http.StatusBadRequest, "malformed report: no cause")
	}
	// A failed wipe fails the host in the state it was in (ready, or
	// deploying when a deploy waits behind the wipe); the request stays,
	// so retry wipes again.
	h, err := s.wiping(r, mac)
	what := "wipe"
	if err != nil {
		h, err = s.deploying(r, mac)
		what = "deploy"
	}
	if err != nil {
		return err
	}
	if _, err := s.Store.Transition(r.Context(), h.MAC, inventory.StateFailed, f.Cause, "installer"); err != nil {
		return err
	}
	s.Logger.Warn(what+" failed", "mac", h.MAC, "image", h.Image, "cause", f.Cause)
	return writeJSON(w, map[string]string{"status": "failed"})
}

// firstBoot records the installed OS's first report, made with the agent
// token from its seed: the proof that the host booted from its own disk.
func (s *Server) firstBoot(w http.ResponseWriter, r *http.Request, mac string) error {
	var fb machineapi.FirstBoot
	if err := decodeJSON(w, r, maxCallbackBytes, "report", &fb); err != nil {
		return err
	}
	cause := fmt.Sprintf("booted from its own disk (%s)", fb.Firmware)
	if err := s.Store.AppendEvent(r.Context(), mac, inventory.Event{Type: "first-boot", Cause: cause, Actor: "host"}); err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"status": "ok"})
}
