package httpboot

import (
	"context"
	"fmt"
	"time"
)

// AgentHandoff is what a freshly deployed host needs to run the config
// agent: where this server is, which MAC the agent speaks for, and an
// agent token. The installer writes it into the host's seed, with the
// cloud-init user-data agentUserData renders to install the agent.
type AgentHandoff struct {
	URL       string    `json:"url"`
	MAC       string    `json:"mac"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AgentHandoff mints the handoff for the host mac that is being deployed.
// Every agent token minted for the host before is revoked: the previous
// installation is being overwritten, and its agent must not keep access.
func (s *Server) AgentHandoff(ctx context.Context, mac string) (AgentHandoff, error) {
	store, err := s.agentStore()
	if err != nil {
		return AgentHandoff{}, err
	}
	tok, exp, err := store.MintAgentToken(ctx, mac, true)
	if err != nil {
		return AgentHandoff{}, fmt.Errorf("agent handoff for %s: %w", mac, err)
	}
	return AgentHandoff{URL: s.Boot.URL, MAC: mac, Token: tok, ExpiresAt: exp}, nil
}
