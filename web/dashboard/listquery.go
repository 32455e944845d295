package dashboard

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
)

// listQuery is the host list's filter, sort and page, as the URL carries
// them. Filtering is the Store's own (inventory.Query); sorting and
// page numbers are the dashboard's, over every matching host.
type listQuery struct {
	State  inventory.State
	Label  string
	Search string
	Sort   string // one of sortKeys
	Desc   bool
	Page   int // from 1
	Size   int
	// defaultSize is the page size a URL without size= gets.
	defaultSize int
}

// sortKeys are the columns the list sorts by; the first is the default.
var sortKeys = []string{"mac", "hostname", "state", "changed"}

const maxPageSize = 500

func parseListQuery(v url.Values, defaultSize int) (listQuery, error) {
	q := listQuery{Label: strings.TrimSpace(v.Get("label")), Search: strings.TrimSpace(v.Get("q")),
		Sort: v.Get("sort"), Desc: v.Get("dir") == "desc", Page: 1, Size: defaultSize, defaultSize: defaultSize}
	if s := v.Get("state"); s != "" {
		st, err := inventory.ParseState(s)
		if err != nil {
			return q, err
		}
		q.State = st
	}
	if q.Sort == "" {
		q.Sort = sortKeys[0]
	} else if !slices.Contains(sortKeys, q.Sort) {
		return q, httperr.Errorf(http.StatusBadRequest, "sort %q: want one of %s", q.Sort, strings.Join(sortKeys, ", "))
	}
	var err error
	if q.Page, err = intParam(v, "page", 1, 1, 1<<30); err != nil {
		return q, err
	}
	q.Size, err = intParam(v, "size", defaultSize, 1, maxPageSize)
	return q, err
}

func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, httperr.Errorf(http.StatusBadRequest, "%s %q: want a number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// values is q as URL parameters, leaving out defaults so links stay short.
func (q listQuery) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("state", string(q.State))
	set("label", q.Label)
	set("q", q.Search)
	if q.Sort != sortKeys[0] {
		v.Set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("dir", "desc")
	}
	return v
}

// pageValues is values with the page and its size, when not the defaults.
func (q listQuery) pageValues() url.Values {
	v := q.values()
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.Size != 0 && q.Size != q.defaultSize {
		v.Set("size", strconv.Itoa(q.Size))
	}
	return v
}

// matching returns every host the Store matches for q, reading it page by
// page at the Store's largest page size. The Store orders by MAC only, so
// other orders need the whole match set; for 10,000 hosts that is ten
// in-memory reads (see docs/benchmarks.md for the cost).
func matching(ctx context.Context, store inventory.Store, q listQuery) ([]inventory.Host, error) {
	iq := inventory.Query{State: q.State, Label: q.Label, Search: q.Search, Limit: inventory.MaxLimit}
	var all []inventory.Host
	for {
		p, err := store.Hosts(ctx, iq)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = make([]inventory.Host, 0, p.Total)
		}
		all = append(all, p.Hosts...)
		if p.Next == "" {
			return all, nil
		}
		iq.After = p.Next
	}
}

// macOrderPage reads one page in the Store's own order (ascending MAC)
// without reading the hosts after it: the first page of the default list
// is one Store read of a page's worth of hosts, however many match.
func macOrderPage(ctx context.Context, store inventory.Store, q listQuery) ([]*inventory.Host, int, int, int, error) {
	iq := inventory.Query{State: q.State, Label: q.Label, Search: q.Search, Limit: min(inventory.MaxLimit, q.Page*q.Size)}
	var got []inventory.Host
	total, want := -1, q.Page*q.Size
	for {
		p, err := store.Hosts(ctx, iq)
		if err != nil {
			return nil, 0, 0, 0, err
		}
		if total < 0 {
			total = p.Total
			want = min(want, max(1, (total+q.Size-1)/q.Size)*q.Size) // a page past the end is the last
		}
		got = append(got, p.Hosts...)
		if len(got) >= want || p.Next == "" {
			break
		}
		iq.After, iq.Limit = p.Next, min(inventory.MaxLimit, want-len(got))
	}
	pages := max(1, (total+q.Size-1)/q.Size)
	page := min(q.Page, pages)
	lo := min((page-1)*q.Size, len(got))
	return pointers(got[lo:min(lo+q.Size, len(got))]), total, page, pages, nil
}

// pointers lets sorting swap pointers instead of whole Host values.
func pointers(hosts []inventory.Host) []*inventory.Host {
	out := make([]*inventory.Host, len(hosts))
	for i := range hosts {
		out[i] = &hosts[i]
	}
	return out
}

// sortHosts orders hosts by q's column, ascending MAC breaking ties (in
// either direction) so the order is stable from one request to the next.
func sortHosts(hosts []*inventory.Host, key string, desc bool) {
	by := map[string]func(a, b *inventory.Host) int{
		"mac":      func(a, b *inventory.Host) int { return cmp.Compare(a.MAC, b.MAC) },
		"hostname": func(a, b *inventory.Host) int { return cmp.Compare(a.Hostname, b.Hostname) },
		"state":    func(a, b *inventory.Host) int { return cmp.Compare(stateRank(a.State), stateRank(b.State)) },
		"changed":  func(a, b *inventory.Host) int { return a.StateChangedAt.Compare(b.StateChangedAt) },
	}[key]
	slices.SortFunc(hosts, func(a, b *inventory.Host) int {
		c := by(a, b)
		if desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.MAC, b.MAC))
	})
}

// stateRank sorts states in lifecycle order rather than alphabetically.
func stateRank(s inventory.State) int { return slices.Index(inventory.States, s) }

// pageOf cuts page q.Page out of hosts, clamping to the last page.
func pageOf(hosts []*inventory.Host, q listQuery) ([]*inventory.Host, int, int) {
	pages := max(1, (len(hosts)+q.Size-1)/q.Size)
	page := min(q.Page, pages)
	lo := (page - 1) * q.Size
	return hosts[lo:min(lo+q.Size, len(hosts))], page, pages
}
