package dashboard

import (
	"context"
	"errors"
	"strconv"

	"github.com/rackboot/rackboot/inventory"
)

// rowUpdate is one rendered row of the list.
type rowUpdate struct {
	MAC  string `json:"mac"`
	HTML string `json:"html"`
}

// listUpdate is the list page as it now is: Order is every MAC it shows,
// in order; Rows carries the rows the browser may not have as they are
// now (changed, or new to the page); the browser keeps every other row
// it shows, removes those not in Order, and inserts the new ones, so a
// host created, discovered or removed while the page is open appears or
// disappears where its filter and sort put it.
type listUpdate struct {
	Order   []string       `json:"order"`
	Rows    []rowUpdate    `json:"rows"`
	Matches string         `json:"matches"`
	Pager   string         `json:"pager"`
	Counts  map[string]int `json:"counts"`
	Total   int            `json:"total"`
}

// listChanges reads the stream's page again and sends it. With pending
// nil (the stream just opened) every row is sent, so a page rendered
// before the stream subscribed is brought up to date.
func (s *stream) listChanges(ctx context.Context, pending map[string]inventory.Change) error {
	p, shown, err := s.d.results(ctx, s.q, s.heard)
	if err != nil {
		return err
	}
	u := listUpdate{Order: make([]string, 0, len(shown)), Rows: []rowUpdate{}, Counts: make(map[string]int)}
	had := make(map[string]bool, len(s.last))
	for _, m := range s.last {
		had[m] = true
	}
	var render []*inventory.Host
	for _, h := range shown {
		u.Order = append(u.Order, h.MAC)
		if _, changed := pending[h.MAC]; pending == nil || changed || !had[h.MAC] {
			render = append(render, h)
		}
	}
	for _, r := range s.d.rows(ctx, render) {
		html, err := s.d.views.fragment("row", r)
		if err != nil {
			return err
		}
		u.Rows = append(u.Rows, rowUpdate{MAC: r.Host.MAC, HTML: html})
	}
	if u.Matches, err = s.d.views.fragment("matches", p); err != nil {
		return err
	}
	if u.Pager, err = s.d.views.fragment("pager", p.Pager); err != nil {
		return err
	}
	counts, total := s.d.counts()
	for _, c := range counts {
		u.Counts[string(c.State)] = c.N
	}
	u.Total = total
	s.last = u.Order
	return s.send("rows", u)
}

// eventItem is one timeline entry; the browser adds those whose seq it
// does not show yet.
type eventItem struct {
	Seq  string `json:"seq"`
	HTML string `json:"html"`
}

type hostUpdate struct {
	Deleted   bool              `json:"deleted,omitempty"`
	Fragments map[string]string `json:"fragments,omitempty"`
	Events    []eventItem       `json:"events,omitempty"`
}

// liveSections are the parts of a host page the stream replaces, by
// element id and template name. A section is replaced only when it
// differs, so keyboard focus on a button survives updates that leave the
// buttons as they were.
// The actions follow the host's state; the page's script keeps the
// messages beside the buttons across an update.
var liveSections = []string{"host-status", "host-progress", "host-agent", "host-facts", "host-actions", "host-deploy"}

// liveEvents is how many of the newest events each host update carries.
const liveEvents = 20

func (s *stream) hostChange(ctx context.Context, c inventory.Change) error {
	if c.Deleted {
		return s.send("host", hostUpdate{Deleted: true})
	}
	v, err := s.d.hostView(ctx, s.mac, s.csrf, nil)
	if errors.Is(err, inventory.ErrNotFound) {
		return s.send("host", hostUpdate{Deleted: true})
	}
	if err != nil {
		return err
	}
	u := hostUpdate{Fragments: make(map[string]string)}
	for _, name := range liveSections {
		if u.Fragments[name], err = s.d.views.fragment(name, v); err != nil {
			return err
		}
	}
	for _, e := range v.Events[:min(liveEvents, len(v.Events))] {
		html, err := s.d.views.fragment("event", e)
		if err != nil {
			return err
		}
		u.Events = append(u.Events, eventItem{Seq: strconv.FormatUint(e.Seq, 10), HTML: html})
	}
	return s.send("host", u)
}
