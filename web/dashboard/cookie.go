package dashboard

import (
	"net/http"
	"time"
)

// sessionCookie is HttpOnly (no script reads it, so an injected script
// cannot steal it), SameSite=Strict (no cross-site request carries it) and
// Path=/ (the dashboard's entry point is /). It is Secure when the request
// came over TLS, which is how serve runs by default; only with
// --insecure-http (plain HTTP, where a browser would never send a Secure
// cookie back) is it not, and then every page says so.
func sessionCookie(r *http.Request, value string, ttl time.Duration) *http.Cookie {
	return &http.Cookie{
		Name:     cookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   int(ttl.Seconds()),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	c := sessionCookie(r, "", 0)
	c.MaxAge = -1
	http.SetCookie(w, c)
}
