package machine

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// credentials returns the request's ?mac=, normalised, and its bearer
// token.
func credentials(r *http.Request) (mac, token string, err error) {
	if token, err = bearer(r); err != nil {
		return "", "", err
	}
	mac, err = inventory.NormalizeMAC(r.URL.Query().Get(machineapi.ParamMAC))
	return mac, token, err
}

// bearer is the request's bearer token.
func bearer(r *http.Request) (string, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", fmt.Errorf("no token (Authorization: Bearer …): %w", inventory.ErrUnauthorized)
	}
	return token, nil
}

// machineHandler is a handler for one host's call, with its MAC.
type machineHandler func(w http.ResponseWriter, r *http.Request, mac string) error

// installer authenticates an installer's call: the request names its MAC
// (?mac=) and the bearer token must be a boot token of it.
func (s *Server) installer(h machineHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		mac, token, err := credentials(r)
		if err != nil {
			return err
		}
		if err := s.Lifecycle.VerifyBootToken(r.Context(), token, mac); err != nil {
			return err
		}
		return h(w, r, mac)
	}
}

// agent authenticates an agent: its bearer token must be the current agent
// token of the host named by ?mac=. Boot tokens are not accepted: they are
// short-lived and meant for the installer.
func (s *Server) agent(h machineHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		mac, token, err := credentials(r)
		if err != nil {
			return err
		}
		if err := s.Lifecycle.VerifyAgentToken(r.Context(), token, mac); err != nil {
			return err
		}
		return h(w, r, mac)
	}
}
