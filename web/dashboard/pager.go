package dashboard

import (
	"net/url"
)

// pager is the list's page picker: first, previous, a window of numbered
// pages around the current one, next, last, and a form to jump to any
// page, so page 137 of 201 is two clicks away rather than 136.
type pager struct {
	First, Prev, Next, Last string // empty where there is nowhere to go
	Links                   []pageLink
	Page, Pages             int
	// Hidden are the filter's fields, for the jump form's GET.
	Hidden []hiddenField
}

// pageLink is one numbered page; a zero Page is a gap ("…").
type pageLink struct {
	Page    int
	URL     string
	Current bool
}

type hiddenField struct{ Name, Value string }

// pagerWindow is how many numbered pages show on each side of the current.
const pagerWindow = 2

func pagerOf(q listQuery, page, pages int) pager {
	at := func(n int) string {
		p := q
		p.Page = n
		return "/ui/?" + p.pageValues().Encode()
	}
	pg := pager{Page: page, Pages: pages}
	if page > 1 {
		pg.First, pg.Prev = at(1), at(page-1)
	}
	if page < pages {
		pg.Next, pg.Last = at(page+1), at(pages)
	}
	lo, hi := max(1, page-pagerWindow), min(pages, page+pagerWindow)
	if lo > 1 {
		pg.Links = append(pg.Links, pageLink{Page: 1, URL: at(1)})
		if lo > 2 {
			pg.Links = append(pg.Links, pageLink{})
		}
	}
	for n := lo; n <= hi; n++ {
		pg.Links = append(pg.Links, pageLink{Page: n, URL: at(n), Current: n == page})
	}
	if hi < pages {
		if hi < pages-1 {
			pg.Links = append(pg.Links, pageLink{})
		}
		pg.Links = append(pg.Links, pageLink{Page: pages, URL: at(pages)})
	}
	p := q
	p.Page = 1
	pg.Hidden = hidden(p.pageValues())
	return pg
}

func hidden(v url.Values) []hiddenField {
	var out []hiddenField
	for _, k := range []string{"state", "label", "q", "sort", "dir", "size"} {
		if s := v.Get(k); s != "" {
			out = append(out, hiddenField{k, s})
		}
	}
	return out
}
