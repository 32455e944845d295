package dashboard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/rackboot/rackboot/httperr"
)

// handle adapts a handler that returns an error: the error becomes an HTML
// page (or, for the dashboard's own fetch calls, JSON) with the status that
// names it (package httperr, as the REST API names it); a panic becomes a
// logged 500. Neither shows a stack trace.
func (d *Dashboard) handle(h httperr.Func) http.HandlerFunc {
	return d.errors().Wrap(h)
}

// fail reports err to the operator. Internal errors are logged and shown
// only as "internal error".
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	d.errors().Fail(w, r, err)
}

func (d *Dashboard) errors() httperr.Handler {
	return httperr.Handler{Log: d.cfg.Logger, Render: d.renderFailure}
}

func (d *Dashboard) renderFailure(w http.ResponseWriter, r *http.Request, code int, msg string) {
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
	w.Header().Set("Cache-Control", "no-store")
	httperr.WriteJSON(w, code, v)
}

// ActionError is the API's refusal of an action: its status and its
// {"error": …} message.
func ActionError(code int, msg string) error { return httperr.Wrap(code, errors.New(msg)) }

func notFound(w http.ResponseWriter, r *http.Request) error {
	return httperr.Errorf(http.StatusNotFound, "no page at %s", r.URL.Path)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	return httperr.Errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
}
