package web

import (
	"net/http"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

type agentTokenBody struct {
	// Revoke makes every token minted for the host before this one invalid.
	Revoke bool `json:"revoke"`
}

type agentTokenAnswer struct {
	MAC       string    `json:"mac"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Revoked   bool      `json:"revoked_earlier"`
}

// mintAgentToken gives an operator a token for an agent started by hand
// (`rackboot agent --token …`); the installer mints its own for the seed.
// The token itself is never logged, only that one was minted.
func (s *Server) mintAgentToken(w http.ResponseWriter, r *http.Request) error {
	store, err := s.agentConfigs()
	if err != nil {
		return err
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
	tok, exp, err := store.MintAgentToken(r.Context(), mac, b.Revoke)
	if err != nil {
		return err
	}
	cause := "agent token minted"
	if b.Revoke {
		cause += "; earlier tokens revoked"
	}
	if err := s.Store.AppendEvent(r.Context(), mac, inventory.Event{Type: "agent-token", Cause: cause, Actor: actor(r)}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, agentTokenAnswer{MAC: mac, Token: tok, ExpiresAt: exp, Revoked: b.Revoke})
	return nil
}
