package web

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

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
	// UEFILoader is "ipxe", "shim" or "" (the appliance's default).
	UEFILoader opt[string]          `json:"uefi_loader"`
	State      opt[inventory.State] `json:"state"`
}

func (p *patchBody) apply(h *inventory.Host) {
	p.UUID.apply(&h.UUID)
	p.Serial.apply(&h.Serial)
	p.Hostname.apply(&h.Hostname)
	p.IP.apply(&h.IP)
	p.Image.apply(&h.Image)
	p.Labels.apply(&h.Labels)
	p.UEFILoader.apply(&h.UEFILoader)
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
	p, err := s.decodePatch(w, r)
	if err != nil {
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

// decodePatch reads a PATCH body key by key, so a value of the wrong type
// is named by its field whatever the Go release (errors from a field's own
// UnmarshalJSON, as opt's, carry no field name of their own).
func (s *Server) decodePatch(w http.ResponseWriter, r *http.Request) (patchBody, error) {
	var raw map[string]json.RawMessage
	if err := s.decodeBody(w, r, &raw); err != nil {
		return patchBody{}, err
	}
	var p patchBody
	fields := jsonFields(&p)
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		dst, ok := fields[k]
		if !ok {
			return p, httperr.Errorf(http.StatusBadRequest, "request body: unknown field %q", k)
		}
		if err := json.Unmarshal(raw[k], dst); err != nil {
			return p, fieldError(k, err)
		}
	}
	return p, nil
}

// jsonFields maps the JSON name of each field of the struct *v to a
// pointer to it, so the PATCH body's field list is the struct's.
func jsonFields(v any) map[string]any {
	rv := reflect.ValueOf(v).Elem()
	fields := map[string]any{}
	for i := range rv.NumField() {
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = rv.Field(i).Addr().Interface()
		}
	}
	return fields
}

func fieldError(name string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			name += "." + te.Field
		}
		return httperr.Errorf(http.StatusBadRequest, "request body: field %q must be %s, not JSON %s", name, te.Type, te.Value)
	}
	return httperr.Errorf(http.StatusBadRequest, "request body: field %q: %v", name, err)
}
