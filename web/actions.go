package web

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

type actionBody struct {
	Cause string `json:"cause"`
}

// lifecycleActions maps an action to the state it asks for; retry's target
// is the state the failed host left.
var lifecycleActions = map[string]func(h inventory.Host) inventory.State{
	"release": func(inventory.Host) inventory.State { return inventory.StateReady },
	"retry":   func(h inventory.Host) inventory.State { return h.Failure.From },
}

func (s *Server) hostAction(w http.ResponseWriter, r *http.Request) error {
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	name := chi.URLParam(r, "action")
	target, ok := lifecycleActions[name]
	if !ok {
		valid := make([]string, 0, len(lifecycleActions))
		for k := range lifecycleActions {
			valid = append(valid, k)
		}
		slices.Sort(valid)
		return badAction(name, valid)
	}
	var b actionBody
	if r.ContentLength != 0 {
		if err := s.decodeBody(w, r, &b); err != nil {
			return err
		}
	}
	h, err := s.Store.Host(r.Context(), mac)
	if err != nil {
		return err
	}
	if name == "retry" && (h.State != inventory.StateFailed || h.Failure == nil) {
		return errorf(http.StatusConflict, "host %s is %s: retry applies only to failed hosts", mac, h.State)
	}
	cause := name
	if b.Cause != "" {
		cause = name + ": " + b.Cause
	}
	h, err = s.Store.Transition(r.Context(), mac, target(h), cause, actor(r))
	if err != nil {
		return err
	}
	return writeHost(w, http.StatusOK, h)
}
