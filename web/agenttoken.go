package web

import (
	"net/http"

	"github.com/rackboot/rackboot/httperr"
)

type agentTokenBody struct {
	// Revoke makes every token handed out for the host before this one
	// invalid.
	Revoke bool `json:"revoke"`
}

type agentTokenAnswer struct {
	MAC     string `json:"mac"`
	Token   string `json:"token"`
	Revoked bool   `json:"revoked_earlier"`
}

// mintAgentToken gives an operator the agent token of a host, for an agent
// started by hand (`rackboot agent --token …`); a deploy puts one in the
// host's seed. The token itself is never logged, only that one was handed
// out.
func (s *Server) mintAgentToken(w http.ResponseWriter, r *http.Request) error {
	if s.Lifecycle == nil {
		return httperr.Errorf(http.StatusNotImplemented, "the lifecycle is not configured on this appliance")
	}
	mac, err := macParam(r)
	if err != nil {
		return err
	}
	var b agentTokenBody
	if r.ContentLength != 0 {
		if err := s.decodeBody(w, r, &b); err != nil {
			return err
		}
	}
	tok, err := s.Lifecycle.AgentToken(r.Context(), mac, b.Revoke, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, agentTokenAnswer{MAC: mac, Token: tok, Revoked: b.Revoke})
	return nil
}
