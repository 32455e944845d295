package dashboard

import (
	"context"
	"net/http"

	"github.com/rackboot/rackboot/httperr"
)

const (
	cookieName = "rackboot_session"
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf"
	// maxFormBytes bounds the dashboard's form posts: a token, an image
	// name, a CSRF token.
	maxFormBytes = 64 << 10
)

type sessionKey struct{}

// sessionOf returns the session requireSession found for r.
func sessionOf(r *http.Request) session {
	s, _ := r.Context().Value(sessionKey{}).(session)
	return s
}

// requireSession answers a request without a valid session cookie with 401
// and, for a page, the login form in place, so the operator returns to the
// same URL after signing in. Nothing else is reachable without it.
func (d *Dashboard) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err != nil {
			d.unauthorized(w, r, "")
			return
		}
		sess, err := d.sessions.check(c.Value)
		if err != nil {
			clearCookie(w, r)
			d.unauthorized(w, r, "Your session has ended. Sign in again.")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

func (d *Dashboard) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	next := ""
	if r.Method == http.MethodGet && r.URL.Path != "/ui/live" {
		next = r.URL.RequestURI()
	}
	d.renderLogin(w, r, http.StatusUnauthorized, next, msg)
}

// requireCSRF refuses a state-changing request that is cross-origin (by
// Sec-Fetch-Site or Origin) or lacks the session's CSRF token in the
// X-CSRF-Token header or the csrf form field. SameSite=Strict already keeps
// the cookie off cross-site requests; this is the second lock, and covers
// same-site attackers (another service on the appliance's host name).
func (d *Dashboard) requireCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		if err := d.origin.Check(r); err != nil {
			d.fail(w, r, httperr.Errorf(http.StatusForbidden, "refused: %v", err))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		got := r.Header.Get(csrfHeader)
		if got == "" {
			got = r.PostFormValue(csrfField)
		}
		if !d.sessions.csrfOK(sessionOf(r), got) {
			d.fail(w, r, httperr.Errorf(http.StatusForbidden, "refused: missing or wrong CSRF token; reload the page and try again"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// securityHeaders forbid inline script and framing: a second line behind
// html/template's escaping if host-supplied text ever reached markup.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

type actorKey struct{}

// WithActor marks ctx as a request made for the dashboard session named
// actor; the API names the actor of the actions it runs from it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorOf is the actor WithActor put on ctx, or "". Only the dashboard's
// in-process calls (APIActions) carry one: no header sets it.
func ActorOf(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}
