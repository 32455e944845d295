// Package httperr is the one error layer of rackboot's HTTP sides: the
// operator API, the machine side and the dashboard. Their handlers return
// errors; Handler turns each into a status code and a message for the
// client (an internal error's detail never reaches the client, only the
// log), logs it, and turns a panic into a logged 500.
//
// The mapping from the domain's errors (inventory, images, provision) to
// status codes is here and nowhere else, so the same refusal has the same
// code on every side. It is not a router and holds no routes.
package httperr

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"syscall"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
)

// Error is an error with the status code a handler chose for it. Its text
// is what the client is told; Unwrap gives the cause.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf is an error with status code and a message for the client.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Wrap gives err the status code; its text is the client's message.
func Wrap(code int, err error) error { return &Error{Code: code, Err: err} }

// Status is the HTTP status that names err's kind: the code of an *Error,
// 413 for a body over its limit, then the domain's sentinels; 500 for
// anything else.
func Status(err error) int {
	var he *Error
	var mbe *http.MaxBytesError
	var fe *images.FormatError
	switch {
	case errors.As(err, &he):
		return he.Code
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, inventory.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, inventory.ErrInvalid), errors.Is(err, images.ErrInvalid), errors.Is(err, images.ErrCorrupt),
		errors.Is(err, images.ErrChecksum):
		return http.StatusBadRequest
	case errors.Is(err, inventory.ErrNotFound), errors.Is(err, images.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, inventory.ErrExists), errors.Is(err, inventory.ErrTransition), errors.Is(err, inventory.ErrConflict),
		errors.Is(err, images.ErrExists):
		return http.StatusConflict
	case errors.As(err, &fe), errors.Is(err, images.ErrUnsupported):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, syscall.ENOSPC):
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}

// Message is what the client is told of err: its text, except for a 500,
// whose detail is for the log only ("internal error"). The other 5xx are
// chosen by handlers with a message written for the client (501 not
// configured, 502 a BMC failed, 507 the disk is full).
func Message(err error, code int) string {
	if code == http.StatusInternalServerError {
		return "internal error"
	}
	return err.Error()
}

// Render writes an error's answer: status code and message, in the form
// the side's clients read (JSON, plain text, an HTML page).
type Render func(w http.ResponseWriter, r *http.Request, code int, msg string)

// Handler adapts handlers that return errors. The zero value logs nothing
// and answers in JSON.
type Handler struct {
	Log    *slog.Logger // silent when nil
	Render Render       // JSON when nil
	// Quiet is the level of refusals (4xx): Debug when zero. A side that
	// faces strangers (the machine side) logs them louder.
	Quiet slog.Level
}

// Func is a handler that returns its error instead of writing it.
type Func func(w http.ResponseWriter, r *http.Request) error

// Wrap turns f into an http.HandlerFunc: an error becomes its answer and a
// log line (5xx at error level with the detail; refusals at Quiet, 401s
// at warn); a panic becomes a logged 500.
func (h Handler) Wrap(f Func) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				h.log().Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p)
				h.render(w, r, http.StatusInternalServerError, "internal error")
			}
		}()
		if err := f(w, r); err != nil {
			h.Fail(w, r, err)
		}
	}
}

// Fail answers r with err, as Wrap does.
func (h Handler) Fail(w http.ResponseWriter, r *http.Request, err error) {
	code := Status(err)
	level := h.Quiet
	if level == 0 {
		level = slog.LevelDebug
	}
	switch {
	case code >= 500:
		level = slog.LevelError
	case code == http.StatusUnauthorized:
		level = slog.LevelWarn
	}
	h.log().Log(r.Context(), level, "request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "code", code, "err", err)
	h.render(w, r, code, Message(err, code))
}

func (h Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func (h Handler) render(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if h.Render == nil {
		JSON(w, r, code, msg)
		return
	}
	h.Render(w, r, code, msg)
}

// JSON renders {"error": msg}.
func JSON(w http.ResponseWriter, _ *http.Request, code int, msg string) {
	WriteJSON(w, code, map[string]string{"error": msg})
}

// Text renders "rackboot: msg" as plain text, what a firmware console or
// a shell script shows as it is.
func Text(w http.ResponseWriter, _ *http.Request, code int, msg string) {
	http.Error(w, "rackboot: "+msg, code)
}
