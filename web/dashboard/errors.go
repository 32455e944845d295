package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rackboot/rackboot/inventory"
)

// httpError carries the status code a handler chose and the message the
// operator sees.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, err: fmt.Errorf(format, args...)}
}

// statusOf names an error's kind as an HTTP status, the way the REST API
// does, so the same refusal has the same code in both.
func statusOf(err error) int {
	var he *httpError
	var ae *ActionError
	switch {
	case errors.As(err, &he):
		return he.code
	case errors.As(err, &ae):
		return ae.Code
	case errors.Is(err, inventory.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, inventory.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, inventory.ErrExists), errors.Is(err, inventory.ErrTransition), errors.Is(err, inventory.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// handle adapts a handler that returns an error: the error becomes an HTML
// page (or, for the dashboard's own fetch calls, JSON) with the status that
// names it; a panic becomes a logged 500. Neither shows a stack trace.
func (d *Dashboard) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				d.cfg.Logger.Error("panic in dashboard handler", "method", r.Method, "path", r.URL.Path, "panic", p)
				d.fail(w, r, errors.New("internal error"))
			}
		}()
		if err := h(w, r); err != nil {
			d.fail(w, r, err)
		}
	}
}

// fail reports err to the operator. Internal errors are logged and shown
// only as "internal error".
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	msg := err.Error()
	if code >= 500 {
		d.cfg.Logger.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	d.renderError(w, r, code, msg)
}

// wantsJSON is true for the dashboard's own fetch calls, which ask for
// JSON so they can put the message next to the button that was pressed.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return errorf(http.StatusNotFound, "no page at %s", r.URL.Path)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	return errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
}
