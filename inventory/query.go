package inventory

import (
	"sort"
	"strings"
)

// Query selects hosts. Zero fields match everything.
type Query struct {
	State  State
	Label  string // "key" (present) or "key=value"
	Search string // substring of the MAC or the hostname, case-insensitive
	After  string // cursor: only hosts whose MAC sorts after this one
	Limit  int    // page size; 0 means DefaultLimit, capped at MaxLimit
}

// Page sizes for Hosts.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Page is one page of a host listing.
type Page struct {
	Hosts []Host `json:"hosts"`
	Total int    `json:"total"`          // hosts matching the query, all pages
	Next  string `json:"next,omitempty"` // cursor for the next page, if any
}

func (q Query) limit() int {
	switch {
	case q.Limit <= 0:
		return DefaultLimit
	case q.Limit > MaxLimit:
		return MaxLimit
	}
	return q.Limit
}

// matcher is a Query prepared once per listing, not once per host.
type matcher struct {
	state              State
	labelKey, labelVal string
	hasLabel, hasValue bool
	search             string
}

func (q Query) matcher() matcher {
	m := matcher{state: q.State, search: strings.ToLower(q.Search), hasLabel: q.Label != ""}
	m.labelKey, m.labelVal, m.hasValue = strings.Cut(q.Label, "=")
	return m
}

func (m *matcher) matches(h *Host) bool {
	if m.state != "" && h.State != m.state {
		return false
	}
	if m.hasLabel {
		got, ok := h.Labels[m.labelKey]
		if !ok || (m.hasValue && got != m.labelVal) {
			return false
		}
	}
	if m.search != "" && !strings.Contains(h.MAC, m.search) && !strings.Contains(h.Hostname, m.search) {
		return false
	}
	return true
}

// page selects from hosts, sorted by MAC, the page that q asks for.
func (q Query) page(sorted []*Host) Page {
	start := 0
	if q.After != "" {
		start = sort.Search(len(sorted), func(i int) bool { return sorted[i].MAC > q.After })
	}
	p := Page{Hosts: []Host{}}
	limit := q.limit()
	m := q.matcher()
	for i, h := range sorted {
		if !m.matches(h) {
			continue
		}
		p.Total++
		if i < start {
			continue
		}
		if len(p.Hosts) < limit {
			p.Hosts = append(p.Hosts, h.Clone())
		} else if p.Next == "" {
			p.Next = p.Hosts[len(p.Hosts)-1].MAC
		}
	}
	return p
}
