package dashboard_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/tlscert"
	"github.com/rackboot/rackboot/web"
	"github.com/rackboot/rackboot/web/dashboard"
)

// tlsAppliance is the operator API with the dashboard over HTTPS and
// HTTP/2, as serve runs it, with a self-signed certificate from tlscert.
type tlsAppliance struct {
	db     *inventory.DB
	url    string
	client *http.Client // trusts the appliance by fingerprint, as the CLI can
	// spki is the certificate's public key hash, for chromium's
	// --ignore-certificate-errors-spki-list: it trusts this key only.
	spki string
}

func startTLSAppliance(t *testing.T, cfg dashboard.Config, pageSize int) *tlsAppliance {
	t.Helper()
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := tlscert.LoadOrCreate(t.TempDir(), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg.PageSize = pageSize
	api := &web.Server{Store: db, Token: token, Lifecycle: provision.New(provision.Config{Store: db}), Dashboard: cfg}
	srv := httptest.NewUnstartedServer(api.Handler())
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.Cert}}
	srv.StartTLS()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); db.Close() })
	tc, err := tlscert.Trust{Fingerprint: id.Fingerprint()}.Config("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(id.Leaf.RawSubjectPublicKeyInfo)
	return &tlsAppliance{db: db, url: srv.URL, spki: base64.StdEncoding.EncodeToString(sum[:]),
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}}
}

// api calls the REST API as an operator's script would.
func (a *tlsAppliance) api(t *testing.T, method, path string, body any) {
	t.Helper()
	var b bytes.Buffer
	if body != nil {
		json.NewEncoder(&b).Encode(body)
	}
	req, _ := http.NewRequest(method, a.url+path, &b)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

func (a *tlsAppliance) browser(t *testing.T) (context.Context, *dialogs) {
	return newBrowser(t, chromedp.Flag("ignore-certificate-errors-spki-list", a.spki))
}

func signIn(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	err := chromedp.Do(ctx, navigate(url), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("#rows")))
	if err != nil {
		t.Fatalf("sign in at %s: %v", url, err)
	}
}

// shownOrder is the MACs of the list's rows, top to bottom.
const shownOrder = `Array.from(document.querySelectorAll('#rows tr[data-mac]')).map(r => r.dataset.mac).join(' ')`

func mac(i int) string { return fmt.Sprintf("52:54:00:00:01:%02x", i) }

// waitOrder waits for the list to show want (MACs by their last byte) and
// returns how long that took after since.
func waitOrder(t *testing.T, ctx context.Context, since time.Time, want ...int) time.Duration {
	t.Helper()
	macs := make([]string, len(want))
	for i, n := range want {
		macs[i] = mac(n)
	}
	expr := shownOrder + ` === '` + strings.Join(macs, " ") + `'`
	if err := chromedp.Do(ctx, waitJS(expr)); err != nil {
		t.Fatalf("list never showed %v: shows %s (%v)", want, eval[string](t, ctx, shownOrder), err)
	}
	return time.Since(since)
}

// TestLiveListInBrowser: with the list open, hosts created through the
// API appear in their place without a reload, removed ones disappear,
// a page's rows move as hosts enter it, a filter keeps non-matching hosts
// out, and the counts follow, over HTTPS and HTTP/2.
func TestLiveListInBrowser(t *testing.T) {
	a := startTLSAppliance(t, dashboard.Config{}, 3)
	ctx, dialogs := a.browser(t)
	for _, i := range []int{2, 4, 6, 8} {
		a.api(t, "POST", "/api/v1/hosts", map[string]any{"mac": mac(i), "hostname": fmt.Sprintf("node-%02d", i)})
	}
	signIn(t, ctx, a.url+"/ui/")
	if p := eval[string](t, ctx, `performance.getEntriesByType('navigation')[0].nextHopProtocol`); p != "h2" {
		t.Errorf("dashboard over %q, want h2", p)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__marker = 'kept'; document.querySelector('tr[data-mac="`+mac(2)+`"]').__same = true`),
		waitJS(`document.getElementById('live-state').textContent === 'live'`)); err != nil {
		t.Fatal(err)
	}
	waitOrder(t, ctx, time.Now(), 2, 4, 6)

	// A new host that sorts onto the page pushes the last row off it.
	start := time.Now()
	a.api(t, "POST", "/api/v1/hosts", map[string]any{"mac": mac(3), "hostname": "node-03"})
	t.Logf("created host shown after %v", waitOrder(t, ctx, start, 2, 3, 4))
	screenshot(t, ctx, artifacts(t), "host-list-live-pager.png")
	// One that sorts after the page leaves it alone; the counts move.
	a.api(t, "POST", "/api/v1/hosts", map[string]any{"mac": mac(9), "hostname": "node-09"})
	if err := chromedp.Do(ctx, waitJS(`document.querySelector('[data-count="total"]').textContent === '6'`),
		waitJS(`document.getElementById('matches').textContent.includes('6 hosts match · page 1 of 2')`)); err != nil {
		t.Fatalf("counts: %v", err)
	}
	waitOrder(t, ctx, start, 2, 3, 4)
	// A removed host disappears and the next one moves up.
	start = time.Now()
	a.api(t, "DELETE", "/api/v1/hosts/"+mac(3), nil)
	t.Logf("removed host gone after %v", waitOrder(t, ctx, start, 2, 4, 6))
	if !eval[bool](t, ctx, `window.__marker === 'kept' && document.querySelector('tr[data-mac="`+mac(2)+`"]').__same === true`) {
		t.Error("the page reloaded or redrew a row that did not change")
	}

	// A filtered page: only matching hosts enter it.
	if err := chromedp.Do(ctx, navigate(a.url+"/ui/?q=web&size=10"), chromedp.WaitVisible(chromedp.CSS("#rows")),
		waitJS(`document.getElementById('live-state').textContent === 'live'`)); err != nil {
		t.Fatal(err)
	}
	a.api(t, "POST", "/api/v1/hosts", map[string]any{"mac": mac(1), "hostname": "db-01"})
	a.api(t, "POST", "/api/v1/hosts", map[string]any{"mac": mac(5), "hostname": "web-05"})
	waitOrder(t, ctx, time.Now(), 5)
	if err := chromedp.Do(ctx, waitJS(`document.querySelector('[data-count="total"]').textContent === '7'`)); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, shownOrder); got != mac(5) {
		t.Errorf("filtered list shows %q, want only %s", got, mac(5))
	}
	// The filter changed in place: the stream follows the new filter.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`input[name="q"]`), "db"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('filters').dispatchEvent(new Event('input', {bubbles: true}))`),
		waitJS(`location.search.includes('q=db')`)); err != nil {
		t.Fatal(err)
	}
	waitOrder(t, ctx, time.Now(), 1)
	a.api(t, "POST", "/api/v1/hosts", map[string]any{"mac": mac(7), "hostname": "db-07"})
	waitOrder(t, ctx, time.Now(), 1, 7)
	a.api(t, "DELETE", "/api/v1/hosts/"+mac(1), nil)
	waitOrder(t, ctx, time.Now(), 7)
	if d := dialogs.list(); len(d) != 0 {
		t.Errorf("dialogs: %q", d)
	}
}

// TestManyTabsLive: eight tabs of one browser, each with its own event
// stream, all get a change. Over HTTP/1.1 a browser opens at most six
// connections to a host, so the seventh tab's stream would wait; over
// HTTP/2 the streams share one connection.
func TestManyTabsLive(t *testing.T) {
	const tabs = 8
	a := startTLSAppliance(t, dashboard.Config{}, 50)
	a.api(t, "POST", "/api/v1/hosts", map[string]any{"mac": mac(1)})
	first, _ := a.browser(t)
	signIn(t, first, a.url+"/ui/")
	ctxs := []context.Context{first}
	for len(ctxs) < tabs {
		tab, cancel := chromedp.NewContext(first) // a new tab of the same browser, sharing its cookie
		t.Cleanup(cancel)
		ctxs = append(ctxs, tab)
	}
	for i, ctx := range ctxs {
		err := chromedp.Do(ctx, navigate(a.url+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#rows")),
			waitJS(`document.getElementById('live-state').textContent === 'live'`))
		if err != nil {
			t.Fatalf("tab %d: %v", i+1, err)
		}
	}
	for i, ctx := range ctxs {
		if p := eval[string](t, ctx, `performance.getEntriesByType('navigation')[0].nextHopProtocol`); p != "h2" {
			t.Errorf("tab %d over %q, want h2", i+1, p)
		}
	}
	start := time.Now()
	a.api(t, "POST", "/api/v1/hosts", map[string]any{"mac": mac(2), "hostname": "late"})
	var slowest time.Duration
	for _, ctx := range ctxs {
		slowest = max(slowest, waitOrder(t, ctx, start, 1, 2))
	}
	t.Logf("%d tabs all showed the new host after %v", tabs, slowest)
}
