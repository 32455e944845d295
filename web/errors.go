package web

import (
	"net/http"

	"github.com/rackboot/rackboot/httperr"
)

// handle adapts a handler that returns an error: the error becomes a JSON
// body {"error": …} with the status that names it (package httperr), and
// a panic a logged 500 instead of a dropped connection.
func (s *Server) handle(h httperr.Func) http.HandlerFunc {
	return httperr.Handler{Log: s.Logger}.Wrap(h)
}

func writeJSON(w http.ResponseWriter, code int, v any) { httperr.WriteJSON(w, code, v) }
