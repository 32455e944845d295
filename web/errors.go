package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

// httpError carries the status code a handler chose.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, err: fmt.Errorf(format, args...)}
}

func withStatus(code int, err error) error { return &httpError{code: code, err: err} }

// statusOf maps an error to the HTTP status that names its kind.
func statusOf(err error) int {
	var he *httpError
	var mbe *http.MaxBytesError
	var bmcErr *bmc.Error
	switch {
	case errors.As(err, &he):
		return he.code
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, bmc.ErrNoBMC):
		return http.StatusConflict
	case errors.As(err, &bmcErr):
		return http.StatusBadGateway // the BMC, not the request, failed
	case errors.Is(err, inventory.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, inventory.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, inventory.ErrExists), errors.Is(err, inventory.ErrTransition), errors.Is(err, inventory.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// handle adapts a handler that returns an error: the error becomes a JSON
// body {"error": …} with the status that names it, and a panic becomes a
// logged 500 instead of a dropped connection.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.Logger.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p)
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
			}
		}()
		err := h(w, r)
		if err == nil {
			return
		}
		code := statusOf(err)
		msg := err.Error()
		if code == http.StatusInternalServerError {
			s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			msg = "internal error"
		} else {
			s.Logger.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
		}
		writeJSON(w, code, map[string]string{"error": msg})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
