package dashboard

import (
	"net/http"

	"github.com/rackboot/rackboot/inventory"
)

// chrome is what every page's layout shows: the navigation, the counts by
// state and the health strip.
type chrome struct {
	Title     string
	Asset     string // version of the embedded CSS and script, for caching
	Nav       string
	SignedIn  bool
	CSRF      string
	HasImages bool
	Counts    []stateCount
	Total     int
	Health    []HealthItem
	// Filter is the state the list is filtered by, to mark its count.
	Filter inventory.State
	// PlainHTTP marks a page that came over plain HTTP (serve
	// --insecure-http): the layout warns that the token and the session
	// cookie cross the network in clear.
	PlainHTTP bool
}

type stateCount struct {
	State inventory.State
	N     int
}

func (d *Dashboard) chrome(r *http.Request, title, nav string) chrome {
	c := chrome{Title: title, Nav: nav, HasImages: d.cfg.Images != nil, Asset: d.asset, PlainHTTP: r.TLS == nil}
	if sess := sessionOf(r); sess.id != nil {
		c.SignedIn, c.CSRF = true, d.sessions.csrf(sess)
		c.Counts, c.Total = d.counts()
		if d.cfg.Health != nil {
			c.Health = d.cfg.Health.Health()
		}
	}
	return c
}

// counts reads the Store's in-memory tally, in lifecycle order.
func (d *Dashboard) counts() ([]stateCount, int) {
	n := d.cfg.Store.CountByState()
	out := make([]stateCount, 0, len(inventory.States))
	total := 0
	for _, s := range inventory.States {
		out = append(out, stateCount{s, n[s]})
		total += n[s]
	}
	return out, total
}

type errorPage struct {
	chrome
	Code    int
	Message string
}

func (d *Dashboard) renderError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	p := errorPage{chrome: d.chrome(r, http.StatusText(code), ""), Code: code, Message: msg}
	if err := d.views.page(w, code, "error", p); err != nil {
		d.cfg.Logger.Error("render error page", "err", err)
		http.Error(w, msg, code)
	}
}
