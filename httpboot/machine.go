package httpboot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// bearer is the request's bearer token.
func bearer(r *http.Request) (string, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", fmt.Errorf("no boot token: %w", ErrBadToken)
	}
	return token, nil
}

// machine authenticates an installer callback: the request names its MAC
// (?mac=) and the bearer token must have been minted for it. The handler
// gets the MAC, normalised.
func (s *Server) machine(h func(http.ResponseWriter, *http.Request, string) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, err := bearer(r)
		if err != nil {
			return err
		}
		mac, err := inventory.NormalizeMAC(r.URL.Query().Get("mac"))
		if err != nil {
			return err
		}
		if err := s.Tokens.Verify(token, mac); err != nil {
			return fmt.Errorf("host %s: %w", mac, err)
		}
		return h(w, r, mac)
	}
}

func (s *Server) decodeReport(w http.ResponseWriter, r *http.Request) (machineapi.InspectReport, error) {
	var rep machineapi.InspectReport
	if err := decodeJSON(w, r, s.MaxBodyBytes, "report", &rep); err != nil {
		return rep, err
	}
	if rep.Facts == nil {
		return rep, httperr.Errorf(http.StatusBadRequest, "malformed report: no facts")
	}
	return rep, nil
}

// inspect takes the installer's report: the host's facts are stored and
// it moves inspecting → ready (via inspecting when it was discovered).
//
// It authenticates on its own: an installer that could not tell its boot
// NIC has no ?mac= to give, so the token is checked against the report's
// MAC, before anything is stored.
func (s *Server) inspect(w http.ResponseWriter, r *http.Request) error {
	token, err := bearer(r)
	if err != nil {
		return err
	}
	rep, err := s.decodeReport(w, r)
	if err != nil {
		return err
	}
	mac, err := inventory.NormalizeMAC(rep.MAC)
	if err != nil {
		return err
	}
	if err := s.Tokens.Verify(token, mac); err != nil {
		return fmt.Errorf("host %s: %w", mac, err)
	}
	h, err := s.reporting(r.Context(), mac)
	if err != nil {
		return err
	}
	if h.State != inventory.StateInspecting {
		return httperr.Errorf(http.StatusConflict, "host %s is %s, not inspecting: report ignored", mac, h.State)
	}
	facts := *rep.Facts
	facts.InspectedAt = time.Now().UTC()
	_, err = s.Store.UpdateHost(r.Context(), mac, 0, func(h *inventory.Host) error {
		h.Facts = &facts
		h.UUID = firstOf(h.UUID, facts.UUID)
		h.Serial = firstOf(h.Serial, facts.Serial)
		return nil
	}, inventory.Event{Type: "inspected", Actor: "installer", Cause: factSummary(&facts)})
	if err != nil {
		return err
	}
	if _, err := s.Store.Transition(r.Context(), mac, inventory.StateReady, "inspected", "installer"); err != nil {
		return err
	}
	s.Logger.Info("host inspected", "mac", mac, "cpus", facts.CPUs, "memory", facts.MemoryBytes, "disks", len(facts.Disks), "firmware", facts.Firmware)
	return writeJSON(w, map[string]string{"status": "ready"})
}

// reporting returns the host an installer reports for. A host the
// appliance has not seen boot (an installer started some other way) is
// enlisted and moved to inspecting as if it had fetched its script; a host
// in any other state is left alone.
func (s *Server) reporting(ctx context.Context, mac string) (inventory.Host, error) {
	h, err := s.Store.Host(ctx, mac)
	if errors.Is(err, inventory.ErrNotFound) || (err == nil && h.State == inventory.StateDiscovered) {
		b, err := s.booting(ctx, mac)
		if err != nil {
			return inventory.Host{}, err
		}
		if b == nil {
			return inventory.Host{}, httperr.Errorf(http.StatusNotFound, "host %s is not enrolled and discovery is off", mac)
		}
		return *b, nil
	}
	return h, err
}

func factSummary(f *inventory.Facts) string {
	return fmt.Sprintf("%s %s, %d CPUs, %d MiB, %d disks, %s", f.Vendor, f.Product, f.CPUs, f.MemoryBytes>>20, len(f.Disks), f.Firmware)
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
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
	changes := s.Store.Subscribe(ctx) // before the read, so no change slips between
	for {
		h, err := s.Store.Host(r.Context(), mac)
		if err != nil {
			return err
		}
		a, err := s.actionFor(r.Context(), &h)
		if err != nil {
			return err
		}
		if a.Action != "wait" || !s.waitForChange(ctx, &changes, mac, nil) {
			return writeJSON(w, a)
		}
	}
}

// actionFor is the instruction for a host in its state: a quick wipe asked
// with release comes first (before a deploy too), then a deploying host
// deploys; every other one waits.
func (s *Server) actionFor(ctx context.Context, h *inventory.Host) (machineapi.Next, error) {
	a := machineapi.Next{Action: "wait", State: string(h.State)}
	if h.Wipe != nil && (h.State == inventory.StateReady || h.State == inventory.StateDeploying) {
		a.Action = "wipe"
		return a, nil
	}
	if h.State != inventory.StateDeploying {
		return a, nil
	}
	d, err := s.deployFor(ctx, h)
	var cd *cannotDeploy
	if errors.As(err, &cd) {
		if _, terr := s.Store.Transition(ctx, h.MAC, inventory.StateFailed, cd.cause, "httpboot"); terr != nil {
			return a, terr
		}
		s.Logger.Warn("deploy failed", "mac", h.MAC, "image", h.Image, "cause", cd.cause)
		a.State = string(inventory.StateFailed)
		return a, nil
	}
	if err != nil {
		return a, err
	}
	a.Action, a.Deploy = "deploy", d
	return a, nil
}

// waitForChange waits for a change of mac that wake accepts (nil: any)
// and reports whether one came before ctx ended. A feed dropped for
// falling behind is replaced and counts as a change, since what it
// missed is unknown.
func (s *Server) waitForChange(ctx context.Context, changes *<-chan inventory.Change, mac string, wake func(inventory.Change) bool) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case c, ok := <-*changes:
			if !ok {
				if ctx.Err() != nil {
					return false
				}
				*changes = s.Store.Subscribe(ctx)
				return true
			}
			if c.Host.MAC == mac && (wake == nil || wake(c)) {
				return true
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}
