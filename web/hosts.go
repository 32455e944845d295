package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/web/dashboard"
)

// bmcBody is the BMC as operators send it; the password is write-only.
type bmcBody struct {
	Address  string `json:"address"`
	Protocol string `json:"protocol"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (b *bmcBody) toBMC() *inventory.BMC {
	if b == nil {
		return nil
	}
	return &inventory.BMC{Address: b.Address, Protocol: b.Protocol, Username: b.Username, Password: b.Password}
}

type createBody struct {
	MAC      string            `json:"mac"`
	UUID     string            `json:"uuid"`
	Serial   string            `json:"serial"`
	Hostname string            `json:"hostname"`
	IP       string            `json:"ip"`
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	Image    string            `json:"image"`
	BMC      *bmcBody          `json:"bmc"`
	// Network is a static address for the installed OS (its seed's
	// network-config); without one the installed OS asks DHCP.
	Network *inventory.HostNetwork `json:"network"`
	// UEFILoader is "ipxe", "shim" (the signed chain for Secure Boot) or
	// empty: the appliance's --uefi-loader.
	UEFILoader string `json:"uefi_loader"`
}

func (s *Server) createHost(w http.ResponseWriter, r *http.Request) error {
	var b createBody
	if err := s.decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.MAC == "" {
		return httperr.Errorf(http.StatusBadRequest, "request body: field \"mac\" is required")
	}
	h := inventory.Host{MAC: b.MAC, UUID: b.UUID, Serial: b.Serial, Hostname: b.Hostname, IP: b.IP,
		Labels: b.Labels, State: inventory.State(b.State), Image: b.Image, BMC: b.BMC.toBMC(), Network: b.Network, UEFILoader: b.UEFILoader}
	var created inventory.Host
	var err error
	if s.Lifecycle != nil {
		created, err = s.Lifecycle.Enroll(r.Context(), h, actor(r))
	} else {
		created, err = s.Store.CreateHost(r.Context(), h, actor(r))
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/hosts/"+created.MAC)
	return writeHost(w, http.StatusCreated, created)
}

func writeHost(w http.ResponseWriter, code int, h inventory.Host) error {
	w.Header().Set("ETag", etag(h.Version))
	writeJSON(w, code, h)
	return nil
}

func etag(v uint64) string { return `"` + strconv.FormatUint(v, 10) + `"` }

// macParam returns the {mac} of the route in rackboot's one spelling.
func macParam(r *http.Request) (string, error) {
	return inventory.NormalizeMAC(chi.URLParam(r, "mac"))
}

func (s *Server) getHost(w http.ResponseWriter, r *http.Request) error {
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	h, err := s.Store.Host(r.Context(), mac)
	if err != nil {
		return err
	}
	return writeHost(w, http.StatusOK, h)
}

func (s *Server) listHosts(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	page, err := s.Store.Hosts(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func parseQuery(r *http.Request) (inventory.Query, error) {
	v := r.URL.Query()
	q := inventory.Query{Label: v.Get("label"), Search: v.Get("q"), After: v.Get("after")}
	if st := v.Get("state"); st != "" {
		state, err := inventory.ParseState(st)
		if err != nil {
			return q, err
		}
		q.State = state
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > inventory.MaxLimit {
			return q, httperr.Errorf(http.StatusBadRequest, "limit %q: want a number from 1 to %d", l, inventory.MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

func (s *Server) deleteHost(w http.ResponseWriter, r *http.Request) error {
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteHost(r.Context(), mac, actor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) hostEvents(w http.ResponseWriter, r *http.Request) error {
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	limit := 100
	if l := r.URL.Query().Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 {
			return httperr.Errorf(http.StatusBadRequest, "limit %q: want a positive number", l)
		}
	}
	ev, err := s.Store.Events(r.Context(), mac, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": ev})
	return nil
}

// bootSteps answers the steps of the host's latest netboots as the
// appliance saw them (DHCP, TFTP, HTTP), oldest first; the host's events
// hold them once a boot was claimed or stopped (types "boot", "boot-steps").
func (s *Server) bootSteps(w http.ResponseWriter, r *http.Request) error {
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	steps := []boottrace.Step{}
	if s.BootTrace != nil {
		steps = append(steps, s.BootTrace.Steps(mac)...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"steps": steps})
	return nil
}

// actor names who asked for a change, for the host's event log: the
// dashboard's session (its operator's name, or the session's id), the
// CLI's user as it says (it holds the operator token, so it is the
// operator; the name is for telling operators apart, not a credential),
// or "operator (api)".
func actor(r *http.Request) string {
	if a := dashboard.ActorOf(r.Context()); a != "" {
		return a
	}
	if ua := r.Header.Get("User-Agent"); strings.HasPrefix(ua, "rackboot/") {
		if who := cleanName(r.Header.Get(OperatorHeader)); who != "" {
			return who + " (cli)"
		}
		return "operator (cli)"
	}
	return "operator (api)"
}

// OperatorHeader carries the CLI's user@host.
const OperatorHeader = "X-Rackboot-Operator"

// cleanName keeps a self-declared name printable and short, or drops it.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 64 || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return ""
	}
	return s
}

func ifMatch(r *http.Request) (uint64, bool, error) {
	h := r.Header.Get("If-Match")
	if h == "" {
		return 0, false, nil
	}
	v, err := strconv.ParseUint(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil {
		return 0, false, httperr.Errorf(http.StatusBadRequest, "If-Match %q: want the ETag of a host (a quoted version number)", h)
	}
	return v, true, nil
}

func badAction(name string, valid []string) error {
	return httperr.Errorf(http.StatusNotFound, "unknown action %q (want one of %s)", name, strings.Join(valid, ", "))
}
