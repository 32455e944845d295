package machine

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// booted takes the installer's first call: it is up on the host.
func (s *Server) booted(w http.ResponseWriter, r *http.Request, mac string) error {
	var b machineapi.Booted
	if err := decode(w, r, maxCallbackBytes, &b); err != nil {
		return err
	}
	h, err := s.Lifecycle.Booted(r.Context(), mac, b)
	if err != nil {
		return err
	}
	return status(w, string(h.State))
}

// inspect takes the installer's report of the machine's facts.
//
// It authenticates on its own: the token is checked against the report's
// MAC, which must match ?mac= when the installer gives one.
func (s *Server) inspect(w http.ResponseWriter, r *http.Request) error {
	var rep machineapi.InspectReport
	if err := decode(w, r, s.MaxBodyBytes, &rep); err != nil {
		return err
	}
	if rep.Facts == nil {
		return httperr.Errorf(http.StatusBadRequest, "malformed report: no facts")
	}
	mac, err := inventory.NormalizeMAC(rep.MAC)
	if err != nil {
		return err
	}
	if q := r.URL.Query().Get(machineapi.ParamMAC); q != "" {
		if qm, err := inventory.NormalizeMAC(q); err != nil || qm != mac {
			return httperr.Errorf(http.StatusBadRequest, "report for %s sent as %s", mac, q)
		}
	}
	token, err := bearer(r)
	if err != nil {
		return err
	}
	if err := s.Lifecycle.VerifyBootToken(token, mac); err != nil {
		return err
	}
	h, err := s.Lifecycle.Inspected(r.Context(), mac, *rep.Facts)
	if err != nil {
		return err
	}
	s.Logger.Info("host inspected", "mac", mac, "cpus", rep.Facts.CPUs, "memory", rep.Facts.MemoryBytes, "disks", len(rep.Facts.Disks), "firmware", rep.Facts.Firmware)
	return status(w, string(h.State))
}

// next tells a waiting installer what to do. It long-polls: while the
// answer would be "wait", it waits (up to ?wait=, default 25 s) for the
// host to change, so a new instruction reaches the installer at once.
func (s *Server) next(w http.ResponseWriter, r *http.Request, mac string) error {
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	changes := s.store.Subscribe(ctx) // before the read, so no change slips between
	for {
		n, err := s.Lifecycle.Next(r.Context(), mac)
		if err != nil {
			return err
		}
		if n.Action != machineapi.ActionWait || !s.waitForChange(ctx, &changes, mac, nil) {
			return writeJSON(w, n)
		}
	}
}

// image streams the deploying host's image blob, as stored (compressed or
// not), with Range support so an installer can resume.
func (s *Server) image(w http.ResponseWriter, r *http.Request, mac string) error {
	h, err := s.store.Host(r.Context(), mac)
	if err != nil {
		return err
	}
	if h.State != inventory.StateDeploying || s.Images == nil {
		return httperr.Errorf(http.StatusConflict, "host %s is %s: no image to serve", mac, h.State)
	}
	f, img, err := s.Images.Open(h.Image)
	if err != nil {
		return httperr.Errorf(http.StatusNotFound, "host %s: image %q: %v", mac, h.Image, err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+img.StoredSHA256+`"`)
	w.Header().Set("X-Image-SHA256", img.SHA256)
	w.Header().Set("X-Image-Size", fmt.Sprint(img.Size))
	w.Header().Set("X-Image-Compression", string(img.Compression))
	http.ServeContent(w, r, "", img.Created, f)
	return nil
}

func (s *Server) progress(w http.ResponseWriter, r *http.Request, mac string) error {
	var p machineapi.Progress
	if err := decode(w, r, maxCallbackBytes, &p); err != nil {
		return err
	}
	if err := s.Lifecycle.Progress(r.Context(), mac, p); err != nil {
		return err
	}
	return status(w, "ok")
}

func (s *Server) deployed(w http.ResponseWriter, r *http.Request, mac string) error {
	var d machineapi.Deployed
	if err := decode(w, r, maxCallbackBytes, &d); err != nil {
		return err
	}
	h, err := s.Lifecycle.Deployed(r.Context(), mac, d)
	if err != nil {
		return err
	}
	return status(w, string(h.State))
}

func (s *Server) failed(w http.ResponseWriter, r *http.Request, mac string) error {
	var f machineapi.Failed
	if err := decode(w, r, maxCallbackBytes, &f); err != nil {
		return err
	}
	h, err := s.Lifecycle.Failed(r.Context(), mac, f.Cause)
	if err != nil {
		return err
	}
	return status(w, string(h.State))
}

func (s *Server) wiped(w http.ResponseWriter, r *http.Request, mac string) error {
	var rep machineapi.Wiped
	if err := decode(w, r, maxCallbackBytes, &rep); err != nil {
		return err
	}
	if _, err := s.Lifecycle.Wiped(r.Context(), mac, rep); err != nil {
		return err
	}
	s.Logger.Info("host wiped", "mac", mac, "disks", len(rep.Disks), "seconds", rep.Seconds)
	return status(w, "wiped")
}

// waitParam is ?wait=, the longest a long-poll may wait; default 25 s,
// under the 30 s that proxies and clients commonly allow an idle request.
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get(machineapi.ParamWait)
	if v == "" {
		return 25 * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 60*time.Second {
		return 0, httperr.Errorf(http.StatusBadRequest, "wait %q: want a duration up to 60s", v)
	}
	return d, nil
}
