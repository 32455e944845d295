package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

type actionBody struct {
	Cause string `json:"cause"`
	// Wipe asks release for a quick wipe of the host's disks, done by the
	// installer before anything else.
	Wipe bool `json:"wipe"`
}

// PowerControl runs power operations through hosts' BMCs; bmc.Fleet
// implements it.
type PowerControl interface {
	Power(ctx context.Context, mac, op, actor string) (inventory.Host, error)
	Netboot(ctx context.Context, mac, actor string) error
}

var powerActions = []string{"power-on", "power-off", "power-cycle", "power-status"}

func (s *Server) hostAction(w http.ResponseWriter, r *http.Request) error {
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	name := chi.URLParam(r, "action")
	if s.Lifecycle == nil {
		return httperr.Errorf(http.StatusNotImplemented, "%s: the lifecycle is not configured on this appliance", name)
	}
	if slices.Contains(powerActions, name) {
		return s.powerAction(w, r, mac, name)
	}
	if name == "deploy" {
		return s.deployAction(w, r, mac)
	}
	if name != "release" && name != "retry" {
		return badAction(name, append(slices.Clone(powerActions), "deploy", "release", "retry"))
	}
	var b actionBody
	if r.ContentLength != 0 {
		if err := s.decodeBody(w, r, &b); err != nil {
			return err
		}
	}
	if b.Wipe && name != "release" {
		return httperr.Errorf(http.StatusBadRequest, "request body: field \"wipe\" applies only to release")
	}
	var h inventory.Host
	if name == "retry" {
		h, err = s.Lifecycle.Retry(r.Context(), mac, b.Cause, actor(r))
	} else {
		h, err = s.Lifecycle.Release(r.Context(), mac, b.Wipe, b.Cause, actor(r))
	}
	if err != nil {
		return err
	}
	if name == "release" {
		s.netbootLater(h, actor(r))
	}
	return writeHost(w, http.StatusOK, h)
}

func (s *Server) powerAction(w http.ResponseWriter, r *http.Request, mac, op string) error {
	if s.Power == nil {
		return httperr.Errorf(http.StatusNotImplemented, "power control is not configured on this appliance")
	}
	h, err := s.Store.Host(r.Context(), mac)
	if err != nil {
		return err
	}
	// The lifecycle's rule, which the dashboard asks before it offers the
	// button.
	if err := provision.Check(&h, provision.Action(op)); err != nil {
		return err
	}
	if err := s.armFor(r.Context(), mac, op, actor(r)); err != nil {
		return err
	}
	h, err = s.Power.Power(r.Context(), mac, op, actor(r))
	if err != nil {
		return bmcError(err)
	}
	return writeHost(w, http.StatusOK, h)
}

// armFor lets the boot a power action starts claim its credentials: a
// power-on of a host that is off, a power-off or a cycle (the installer
// that was up, if any, ends with it). A power-on of a host that is on,
// or a status, changes nothing.
func (s *Server) armFor(ctx context.Context, mac, op, actor string) error {
	h, err := s.Store.Host(ctx, mac)
	if err != nil || h.BMC == nil || op == bmc.OpStatus || (op == bmc.OpOn && h.BMC.PowerState == string(bmc.PowerOn)) {
		return err // no BMC: the power action says so
	}
	_, err = s.Lifecycle.ArmBoot(ctx, mac, op+" through the BMC", actor)
	return err
}

// netbootLater reboots a host with a BMC into the installer, arming the
// boot first. It runs after the answer, since a paced BMC takes several
// seconds; its outcome is in the host's events.
func (s *Server) netbootLater(h inventory.Host, actor string) {
	if s.Power == nil || h.BMC == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if _, err := s.Lifecycle.ArmBoot(ctx, h.MAC, "netboot through the BMC", actor); err != nil {
			s.Logger.Warn("netboot: arm the boot", "mac", h.MAC, "err", err)
			return
		}
		if err := s.Power.Netboot(ctx, h.MAC, actor); err != nil {
			s.Logger.Warn("netboot after release failed", "mac", h.MAC, "err", err)
		}
	}()
}

// bmcError gives a power failure its status: a host without a BMC is the
// request's fault (409); a BMC that failed is a peer's (502, naming it).
func bmcError(err error) error {
	var be *bmc.Error
	switch {
	case errors.Is(err, bmc.ErrNoBMC):
		return httperr.Wrap(http.StatusConflict, err)
	case errors.As(err, &be):
		return httperr.Wrap(http.StatusBadGateway, err)
	}
	return err
}
