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

func (q Query) matches(h *Host) bool {
	if q.State != "" && h.State != q.State {
		return false
	}
	if q.Label != "" && !matchLabel(h.Labels, q.Label) {
		return false
	}
	if q.Search != "" {
		s := strings.ToLower(q.Search)
		if !strings.Contains(h.MAC, s) && !strings.Contains(h.Hostname, s) {
			return false
		}
	}
	return true
}

func matchLabel(labels map[string]string, sel string) bool {
	k, v, hasValue := strings.Cut(sel, "=")
	got, ok := labels[k]
	return ok && (!hasValue || got == v)
}

// page selects from hosts, given sorted by MAC, the page that q asks for.
func (q Query) page(sorted []string, byMAC map[string]*Host) Page {
	start := 0
	if q.After != "" {
		start = sort.SearchStrings(sorted, q.After)
		if start < len(sorted) && sorted[start] == q.After {
			start++
		}
	}
	p := Page{Hosts: []Host{}}
	limit := q.limit()
	for i, mac := range sorted {
		h := byMAC[mac]
		if !q.matches(h) {
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
