package httpboot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/rackboot/rackboot/inventory"
)

// decodeSmall reads a small JSON report body strictly.
func (s *Server) decodeSmall(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(http.StatusBadRequest, "malformed report: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "malformed report: more than one JSON value")
	}
	return nil
}

// deploying returns the host if it is deploying, for the deploy reports.
func (s *Server) deploying(r *http.Request) (inventory.Host, error) {
	mac := r.Context().Value(macKey{}).(string)
	h, err := s.Store.Host(r.Context(), mac)
	if err == nil && h.State != inventory.StateDeploying {
		err = errorf(http.StatusConflict, "host %s is %s, not deploying", mac, h.State)
	}
	return h, err
}

type progressReport struct {
	Written int64   `json:"written"`
	Total   int64   `json:"total"`
	RateBPS float64 `json:"rate_bps"`
}

// progress logs a deploy-progress event; the dashboard draws its bar from
// the cause's "written N of M bytes".
func (s *Server) progress(w http.ResponseWriter, r *http.Request, _ string) error {
	var p progressReport
	if err := s.decodeSmall(w, r, &p); err != nil {
		return err
	}
	if p.Written < 0 || p.Total <= 0 || p.Written > p.Total {
		return errorf(http.StatusBadRequest, "malformed report: written %d of %d", p.Written, p.Total)
	}
	h, err := s.deploying(r)
	if err != nil {
		return err
	}
	cause := fmt.Sprintf("written %d of %d bytes (%.1f MB/s)", p.Written, p.Total, p.RateBPS/1e6)
	if err := s.Store.AppendEvent(r.Context(), h.MAC, inventory.Event{Type: "deploy-progress", Cause: cause, Actor: "installer"}); err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"status": "ok"})
}

type deployedReport struct {
	Disk    string  `json:"disk"`
	Written int64   `json:"written"`
	Seconds float64 `json:"seconds"`
}

func (s *Server) deployed(w http.ResponseWriter, r *http.Request, _ string) error {
	var d deployedReport
	if err := s.decodeSmall(w, r, &d); err != nil {
		return err
	}
	h, err := s.deploying(r)
	if err != nil {
		return err
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

type failedReport struct {
	Cause string `json:"cause"`
}

func (s *Server) failed(w http.ResponseWriter, r *http.Request, _ string) error {
	var f failedReport
	if err := s.decodeSmall(w, r, &f); err != nil {
		return err
	}
	if f.Cause == "" {
		return errorf(http.StatusBadRequest, "malformed report: no cause")
	}
	h, err := s.deploying(r)
	if err != nil {
		return err
	}
	if _, err := s.Store.Transition(r.Context(), h.MAC, inventory.StateFailed, f.Cause, "installer"); err != nil {
		return err
	}
	s.Logger.Warn("deploy failed", "mac", h.MAC, "image", h.Image, "cause", f.Cause)
	return writeJSON(w, map[string]string{"status": "failed"})
}

type firstBootReport struct {
	MAC      string `json:"mac"`
	Event    string `json:"event"`
	Firmware string `json:"firmware"`
}

// firstBoot records the installed OS's first report, made with the agent
// token from its seed: the proof that the host booted from its own disk.
func (s *Server) firstBoot(w http.ResponseWriter, r *http.Request, mac string) error {
	var fb firstBootReport
	if err := s.decodeSmall(w, r, &fb); err != nil {
		return err
	}
	cause := fmt.Sprintf("booted from its own disk (%s)", fb.Firmware)
	if err := s.Store.AppendEvent(r.Context(), mac, inventory.Event{Type: "first-boot", Cause: cause, Actor: "host"}); err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"status": "ok"})
}
