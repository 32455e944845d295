package dashboard

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// row is one line of the host list: the host and its latest event.
type row struct {
	Host *inventory.Host
	Last *inventory.Event
}

type column struct {
	Key, Label string
	URL        string
	Sort       string // aria-sort: "ascending", "descending" or ""
}

type listPage struct {
	chrome
	Q       listQuery
	States  []inventory.State
	Col     map[string]column
	Rows    []row
	Matches int
	Page    int
	Pages   int
	Pager   pager
	// Live is the event stream of this very page: same filter, sort and
	// page, so it can send the rows that enter and leave it.
	Live string
}

// hostList serves the host list, or with partial=1 only its results
// section, which the page's script fetches when a filter changes.
func (d *Dashboard) hostList(w http.ResponseWriter, r *http.Request) error {
	q, err := parseListQuery(r.URL.Query(), d.cfg.PageSize)
	if err != nil {
		return err
	}
	p, err := d.listPage(r, q)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("partial") == "1" {
		html, err := d.views.fragment("results", p)
		if err != nil {
			return err
		}
		writeHTML(w, http.StatusOK, []byte(html))
		return nil
	}
	return d.views.page(w, http.StatusOK, "hosts", p)
}

func (d *Dashboard) listPage(r *http.Request, q listQuery) (listPage, error) {
	p, shown, err := d.results(r.Context(), q, time.Now())
	if err != nil {
		return listPage{}, err
	}
	p.chrome = d.chrome(r, "Hosts", "hosts")
	p.Filter = q.State
	p.Rows = d.rows(r.Context(), shown)
	return p, nil
}

// results is the list page for q without its chrome and rows: which hosts
// it shows, in order, how many match, and its pager. The live stream
// reads it again after every burst of changes.
//
// The answer reflects at least every change committed before since:
// a reading started after since is shared, so the streams of eight tabs
// on one list that wake for one change cost one reading, not eight. (Not
// the Store's revision: it moves at the commit, before the index a reading
// sees; a change is published only once it is in the index, so a reading
// started after a stream heard of a change includes it.)
func (d *Dashboard) results(ctx context.Context, q listQuery, since time.Time) (listPage, []*inventory.Host, error) {
	key := q.pageValues().Encode()
	d.pages.mu.Lock()
	defer d.pages.mu.Unlock()
	if e, ok := d.pages.byQuery[key]; ok && e.started.After(since) {
		return e.page, e.shown, nil
	}
	started := time.Now()
	p, shown, err := d.readResults(ctx, q)
	if err != nil {
		return listPage{}, nil, err
	}
	if d.pages.byQuery == nil || len(d.pages.byQuery) > maxCachedPages {
		d.pages.byQuery = make(map[string]cachedPage)
	}
	d.pages.byQuery[key] = cachedPage{started: started, page: p, shown: shown}
	return p, shown, nil
}

// maxCachedPages bounds the cache; past it, it starts afresh.
const maxCachedPages = 64

// pageCache holds the latest reading of each list page shown. Its lock is
// held while a page is read, so streams that wake together for one change
// wait for one reading instead of each doing its own.
type pageCache struct {
	mu      sync.Mutex
	byQuery map[string]cachedPage
}

type cachedPage struct {
	started time.Time // when the reading began
	page    listPage
	shown   []*inventory.Host // shared: read only
}

func (d *Dashboard) readResults(ctx context.Context, q listQuery) (listPage, []*inventory.Host, error) {
	var shown []*inventory.Host
	var matches, page, pages int
	var err error
	if q.Sort == "mac" && !q.Desc {
		shown, matches, page, pages, err = macOrderPage(ctx, d.cfg.Store, q)
	} else {
		var all []inventory.Host
		all, err = matching(ctx, d.cfg.Store, q)
		hosts := pointers(all)
		sortHosts(hosts, q.Sort, q.Desc)
		matches = len(hosts)
		shown, page, pages = pageOf(hosts, q)
	}
	if err != nil {
		return listPage{}, nil, err
	}
	p := listPage{Q: q, States: inventory.States, Col: columns(q), Matches: matches, Page: page, Pages: pages,
		Pager: pagerOf(q, page, pages)}
	lq := q
	lq.Page = page
	p.Live = "/ui/live?" + lq.pageValues().Encode()
	return p, shown, nil
}

// rows pairs each shown host with its latest event: one in-memory bbolt
// read per row, for a page of rows only.
func (d *Dashboard) rows(ctx context.Context, hosts []*inventory.Host) []row {
	out := make([]row, len(hosts))
	for i, h := range hosts {
		out[i].Host = h
		if ev, err := d.cfg.Store.Events(ctx, h.MAC, 1); err == nil && len(ev) > 0 {
			out[i].Last = &ev[0]
		}
	}
	return out
}

// columns are the sortable headers: a link that sorts by the column, or
// reverses the order when it already does.
func columns(q listQuery) map[string]column {
	labels := map[string]string{"mac": "MAC", "hostname": "Hostname", "state": "State", "changed": "Last change"}
	out := make(map[string]column, len(sortKeys))
	for _, k := range sortKeys {
		c := column{Key: k, Label: labels[k]}
		next := q
		next.Sort, next.Desc = k, false
		if q.Sort == k {
			c.Sort = "ascending"
			if q.Desc {
				c.Sort = "descending"
			}
			next.Desc = !q.Desc
		}
		c.URL = "/ui/?" + next.values().Encode()
		out[k] = c
	}
	return out
}
