package web

import (
	_ "embed"
	"net/http"
)

// openAPI describes every route of Handler (OpenAPI 3.1); TestOpenAPI
// keeps it true: it compares it with the router's routes and validates
// real answers against it.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
	return nil
}
