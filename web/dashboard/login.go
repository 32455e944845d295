package dashboard

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rackboot/rackboot/httperr"
)

type loginPage struct {
	chrome
	Next      string
	Message   string
	TokenPath string
}

func (d *Dashboard) renderLogin(w http.ResponseWriter, r *http.Request, code int, next, msg string) {
	p := loginPage{chrome: chrome{Title: "Sign in", Asset: d.asset, PlainHTTP: r.TLS == nil}, Next: next, Message: msg, TokenPath: d.cfg.TokenPath}
	if err := d.views.page(w, code, "login", p); err != nil {
		d.cfg.Logger.Error("render login page", "err", err)
		http.Error(w, "sign in required", code)
	}
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) error {
	d.renderLogin(w, r, http.StatusOK, r.URL.Query().Get("next"), "")
	return nil
}

// login checks the operator token from the form and starts a session. It
// takes no CSRF token (there is no session yet), but refuses cross-origin
// posts, so another site cannot sign a browser in.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) error {
	if err := d.origin.Check(r); err != nil {
		return httperr.Errorf(http.StatusForbidden, "refused: %v", err)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	got := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	if subtle.ConstantTimeCompare([]byte(got), []byte(d.cfg.Token)) != 1 {
		d.cfg.Logger.Info("dashboard login refused", "remote", r.RemoteAddr)
		d.renderLogin(w, r, http.StatusUnauthorized, next, "That is not the operator token.")
		return nil
	}
	name, ok := cleanName(r.PostFormValue("name"))
	if !ok {
		d.renderLogin(w, r, http.StatusBadRequest, next, fmt.Sprintf("Your name: at most %d characters, no control characters.", maxNameLen))
		return nil
	}
	_, value := d.sessions.issue(name)
	http.SetCookie(w, sessionCookie(r, value, d.cfg.SessionTTL))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// cleanName is the name given at sign-in, trimmed; false if it is too
// long or has control characters (it goes into every event log line the
// session causes).
func cleanName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > maxNameLen || strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) >= 0 {
		return "", false
	}
	return s, true
}

// safeNext keeps the post-login redirect on the dashboard: only local
// paths under /ui/, never "//host" or a full URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) error {
	d.sessions.revoke(sessionOf(r))
	clearCookie(w, r)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}
