package machine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/provision"
)

// claim hands the boot token of the host's current boot to the installer
// that asks first (provision.Lifecycle.Claim). It needs no token: it is
// how the installer gets one; naming a MAC gets nothing else.
func (s *Server) claim(w http.ResponseWriter, r *http.Request) error {
	mac, err := inventory.NormalizeMAC(r.URL.Query().Get(machineapi.ParamMAC))
	if err != nil {
		return err
	}
	var c machineapi.Claim
	if err := decode(w, r, maxCallbackBytes, &c); err != nil {
		return err
	}
	h, token, err := s.Lifecycle.Claim(r.Context(), mac, c, remoteHost(r))
	if err != nil {
		return err
	}
	s.Trace.Record(mac, boottrace.StepClaim, "", "http")
	if err := s.Lifecycle.LogBoot(r.Context(), mac, provision.EventBoot, boottrace.Summary(s.Trace.Take(mac))); err != nil {
		s.Logger.Warn("log boot steps", "mac", mac, "err", err) // the claim stands
	}
	return writeJSON(w, machineapi.Claimed{Token: token, State: string(h.State)})
}

// inspect takes the installer's report of the machine's facts; the report
// names the MAC of ?mac=, whose boot token was checked before the body was
// read.
func (s *Server) inspect(w http.ResponseWriter, r *http.Request, mac string) error {
	var rep machineapi.InspectReport
	if err := decode(w, r, maxFactsBytes, &rep); err != nil {
		return err
	}
	if rep.Facts == nil {
		return httperr.Errorf(http.StatusBadRequest, "malformed report: no facts")
	}
	if m, err := inventory.NormalizeMAC(rep.MAC); err != nil || m != mac {
		return httperr.Errorf(http.StatusBadRequest, "report for %q sent as %s", machineapi.Printable(rep.MAC), mac)
	}
	h, err := s.Lifecycle.Inspected(r.Context(), mac, *rep.Facts)
	if err != nil {
		return err
	}
	s.Logger.Info("host inspected", "mac", mac, "cpus", rep.Facts.CPUs, "memory", rep.Facts.MemoryBytes, "disks", len(rep.Facts.Disks), "firmware", rep.Facts.Firmware)
	return status(w, string(h.State))
}

// seed hands the deploy's seed to the installer of the host's current boot
// (provision.Lifecycle.ClaimSeed: once per deploy).
func (s *Server) seed(w http.ResponseWriter, r *http.Request, mac string) error {
	sd, err := s.Lifecycle.ClaimSeed(r.Context(), mac, remoteHost(r))
	if err != nil {
		return err
	}
	return writeJSON(w, sd)
}

// remoteHost is the address a request came from, without its port.
func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
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
	http.ServeContent(keepReading(w), r, "", img.Created, f)
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
