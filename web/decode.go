package web

import (
	"net/http"

	"github.com/rackboot/rackboot/httperr"
)

// decodeBody reads one JSON value from the request into v, refusing unknown
// fields, wrong types, trailing data and bodies over the size limit, with
// an error that names what was wrong.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	return httperr.DecodeJSON(w, r, s.MaxBodyBytes, "request body", v)
}
