package httpboot

import (
	"log/slog"
	"net/http"

	"github.com/rackboot/rackboot/httperr"
)

// handle turns a returned error into a plain-text answer (a firmware
// console shows it as it is) and a log line, and a panic into a 500.
// Refusals are logged at info: this side faces the provisioning network.
func (s *Server) handle(h httperr.Func) http.HandlerFunc {
	return httperr.Handler{Log: s.Logger, Render: httperr.Text, Quiet: slog.LevelInfo}.Wrap(h)
}

// decodeJSON reads one JSON value of at most limit bytes into v, refusing
// unknown fields and trailing values; what names the body in the error
// ("report", "agent report").
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, what string, v any) error {
	return httperr.DecodeJSON(w, r, limit, what, v)
}

// maxCallbackBytes bounds the small installer callbacks (progress,
// deployed, failed, wiped, firstboot); inspect and agent reports, which
// carry facts and resource lists, are bounded by Server.MaxBodyBytes.
const maxCallbackBytes = 64 << 10
