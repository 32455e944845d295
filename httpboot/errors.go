package httpboot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/rackboot/rackboot/inventory"
)

type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, err: fmt.Errorf(format, args...)}
}

func statusOf(err error) int {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.code
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBadToken):
		return http.StatusUnauthorized
	case errors.Is(err, inventory.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, inventory.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, inventory.ErrTransition), errors.Is(err, inventory.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// handle turns a returned error into a plain-text answer (a firmware
// console shows it as it is) and a log line, and a panic into a 500.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.Logger.Error("panic in boot handler", "path", r.URL.Path, "panic", p)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		err := h(w, r)
		if err == nil {
			return
		}
		code := statusOf(err)
		level := slog.LevelInfo
		if code == http.StatusUnauthorized || code >= 500 {
			level = slog.LevelWarn
		}
		s.Logger.Log(r.Context(), level, "boot request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "code", code, "err", err)
		msg := err.Error()
		if code >= 500 {
			msg = "internal error"
		}
		http.Error(w, "rackboot: "+msg, code)
	}
}

// decodeJSON reads one JSON value of at most limit bytes into v, refusing
// unknown fields and trailing values; what names the body in the error
// ("report", "agent report").
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, what string, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(http.StatusBadRequest, "malformed %s: %v", what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "malformed %s: more than one JSON value", what)
	}
	return nil
}

// maxCallbackBytes bounds the small installer callbacks (progress,
// deployed, failed, wiped, firstboot); inspect and agent reports, which
// carry facts and resource lists, are bounded by Server.MaxBodyBytes.
const maxCallbackBytes = 64 << 10
