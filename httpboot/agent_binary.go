package httpboot

import (
	"fmt"
	"net/http"
	"os"
)

// agentBinary serves the appliance's own executable: the agent is
// `rackboot agent`, so an installed host fetches the very binary that
// serves it and agent and appliance never disagree on the protocol. Both
// token kinds open it: the agent's (a hand-started or updating agent) and
// the boot token (the installer copying it into the new root).
func (s *Server) agentBinary(w http.ResponseWriter, r *http.Request) error {
	mac, token, err := agentCredentials(r)
	if err != nil {
		return err
	}
	if s.Tokens.Verify(token, mac) != nil {
		store, err := s.agentStore()
		if err != nil {
			return err
		}
		if err := store.VerifyAgentToken(r.Context(), token, mac); err != nil {
			return agentAuthError(mac, err)
		}
	}
	path, err := os.Executable()
	if err != nil {
		return fmt.Errorf("agent binary: %w", err)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="rackboot"`)
	return serveFile(w, r, "rackboot", path)
}
