package dashboard

import (
	"context"
	"errors"
	"strconv"

	"github.com/rackboot/rackboot/inventory"
)

// rowUpdate is one changed row of the list. The browser swaps the row with
// this MAC, if it shows one, and leaves every other row alone.
type rowUpdate struct {
	MAC     string `json:"mac"`
	HTML    string `json:"html,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

type listUpdate struct {
	Rows   []rowUpdate    `json:"rows"`
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
}

func (s *stream) listChanges(pending map[string]inventory.Change) error {
	u := listUpdate{Counts: make(map[string]int)}
	for mac, c := range pending {
		ru := rowUpdate{MAC: mac, Deleted: c.Deleted}
		if !c.Deleted {
			h, ev := c.Host, c.Event
			html, err := s.d.views.fragment("row", row{Host: &h, Last: &ev})
			if err != nil {
				return err
			}
			ru.HTML = html
		}
		u.Rows = append(u.Rows, ru)
	}
	counts, total := s.d.counts()
	for _, c := range counts {
		u.Counts[string(c.State)] = c.N
	}
	u.Total = total
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
// element id and template name. Buttons live outside them, so keyboard
// focus survives an update.
var liveSections = []string{"host-status", "host-progress", "host-agent", "host-facts"}

// liveEvents is how many of the newest events each host update carries.
const liveEvents = 20

func (s *stream) hostChange(ctx context.Context, c inventory.Change) error {
	if c.Deleted {
		return s.send("host", hostUpdate{Deleted: true})
	}
	v, err := s.d.hostView(ctx, s.mac)
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
