package web

import (
	"errors"
	"net/http"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
)

// patchBody lists what PATCH may change. The state is not among them: it
// changes only through the lifecycle's actions.
type patchBody struct {
	Version  *uint64                    `json:"version"`
	UUID     opt[string]                `json:"uuid"`
	Serial   opt[string]                `json:"serial"`
	Hostname opt[string]                `json:"hostname"`
	IP       opt[string]                `json:"ip"`
	Image    opt[string]                `json:"image"`
	Labels   opt[map[string]string]     `json:"labels"`
	BMC      opt[bmcBody]               `json:"bmc"`
	Network  opt[inventory.HostNetwork] `json:"network"`
	State    opt[inventory.State]       `json:"state"`
}

func (p *patchBody) apply(h *inventory.Host) {
	p.UUID.apply(&h.UUID)
	p.Serial.apply(&h.Serial)
	p.Hostname.apply(&h.Hostname)
	p.IP.apply(&h.IP)
	p.Image.apply(&h.Image)
	p.Labels.apply(&h.Labels)
	if p.BMC.Set {
		h.BMC = p.BMC.Value.toBMC()
	}
	if p.Network.Set {
		h.Network = p.Network.Value
	}
}

func (s *Server) patchHost(w http.ResponseWriter, r *http.Request) error {
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	version, byHeader, err := ifMatch(r)
	if err != nil {
		return err
	}
	var p patchBody
	if err := s.decodeBody(w, r, &p); err != nil {
		return err
	}
	if p.State.Set {
		return httperr.Errorf(http.StatusBadRequest, "request body: field \"state\" cannot be patched; use POST /api/v1/hosts/%s/actions/{release|retry|…}", mac)
	}
	if p.Version != nil {
		if byHeader && *p.Version != version {
			return httperr.Errorf(http.StatusBadRequest, "If-Match says version %d but the body says %d", version, *p.Version)
		}
		version = *p.Version
	}
	h, err := s.Store.ModifyHost(r.Context(), mac, version, func(h *inventory.Host) (inventory.Edit, error) {
		p.apply(h)
		return inventory.Edit{Actor: actor(r)}, nil
	})
	if byHeader && errors.Is(err, inventory.ErrConflict) {
		return httperr.Wrap(http.StatusPreconditionFailed, err)
	}
	if err != nil {
		return err
	}
	return writeHost(w, http.StatusOK, h)
}
