package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/web"
	"github.com/rackboot/rackboot/web/dashboard"
)

const token = "0123456789abcdef0123456789abcdef"

// recordingActions stands in for the API's actions (power needs a BMC,
// deploy an image store: other issues) and records what was asked.
type recordingActions struct {
	mu    sync.Mutex
	calls []string
}

func (a *recordingActions) Do(_ context.Context, mac, action string, body map[string]any) (inventory.Host, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, fmt.Sprintf("%s %s %v", action, mac, body["image"]))
	if action == "power-off" {
		return inventory.Host{}, dashboard.ActionError(http.StatusConflict, "host 52:54:00:00:00:02: host has no BMC")
	}
	return inventory.Host{MAC: mac, State: inventory.StateReady}, nil
}

func (a *recordingActions) recorded() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

type fixedImages []string

func (f fixedImages) List(context.Context) ([]string, error) { return f, nil }
func (f fixedImages) Remove(context.Context, string) error   { return nil }

type fixedHealth []dashboard.HealthItem

func (f fixedHealth) Health() []dashboard.HealthItem { return f }

const (
	macXSS  = "52:54:00:00:00:09"
	macOpen = "52:54:00:00:00:02"
	macLive = "52:54:00:00:00:03"
	macKeep = "52:54:00:00:00:04"
)

// startAppliance serves the operator API with the dashboard mounted, as
// rackboot serve does, over a real bbolt inventory.
func startAppliance(t *testing.T) (*inventory.DB, *recordingActions, string) {
	t.Helper()
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		h := inventory.Host{MAC: fmt.Sprintf("52:54:00:00:00:%02x", i), Hostname: fmt.Sprintf("web-%02d", i),
			IP: fmt.Sprintf("10.0.0.%d", 10+i), Labels: map[string]string{"rack": fmt.Sprintf("r%d", i%2)}}
		if h.MAC == macOpen { // the host the test presses buttons of: deployable, with a BMC
			h.State, h.BMC = inventory.StateReady, &inventory.BMC{Address: "10.0.0.250", Protocol: "redfish"}
		}
		if _, err := db.CreateHost(t.Context(), h, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateHost(t.Context(), inventory.Host{MAC: macXSS, Labels: map[string]string{"note": dashboard.Payload}}, "test"); err != nil {
		t.Fatal(err)
	}
	actions := &recordingActions{}
	api := &web.Server{Store: db, Token: token, Dashboard: dashboard.Config{
		Store:   dashboard.NewHostileStore(db, macXSS, dashboard.Payload),
		Actions: actions,
		Images:  fixedImages{"debian-12", "ubuntu-24.04"},
		Health:  fixedHealth{{Name: "DHCP", Value: "proxy, 12 leases"}, {Name: "rogue DHCP", Value: "10.0.0.254 answered", Warn: true}},
	}}
	srv := httptest.NewServer(api.Handler())
	// The event streams stay open until the browser goes: cut them first.
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); db.Close() })
	return db, actions, srv.URL
}

func TestDashboardInBrowser(t *testing.T) {
	ctx, dialogs := newBrowser(t)
	db, actions, url := startAppliance(t)
	shots := artifacts(t)
	t.Logf("artifacts in %s", shots)
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	do("log in",
		navigate(url+"/ui/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), token),
		chromedp.Submit(css("#token")),
		chromedp.WaitVisible(css("#rows")),
	)
	rows := text(t, ctx, "#rows")
	for _, want := range []string{"web-01", "web-06", "52:54:00:00:00:05", "rack=r1", dashboard.Payload} {
		if !strings.Contains(rows, want) {
			t.Errorf("host list lacks %q:\n%s", want, rows)
		}
	}
	do("health strip", waitJS(`document.querySelector('#health .warn').textContent.includes('rogue DHCP')`))

	// Live: a state change made through the Store appears in its row; the
	// page is not reloaded (the marker survives) and other rows are the
	// same DOM nodes (their expando survives).
	do("mark page", chromedp.Evaluate[chromedp.Void](`window.__marker = 'kept';
		document.querySelector('tr[data-mac="`+macKeep+`"]').__same = true`),
		waitJS(`document.getElementById('live-state').textContent === 'live'`))
	if _, err := db.Transition(t.Context(), macLive, inventory.StateInspecting, "pxe boot", "test"); err != nil {
		t.Fatal(err)
	}
	do("live row", waitJS(`document.querySelector('tr[data-mac="`+macLive+`"]').dataset.state === 'inspecting'`),
		waitJS(`document.querySelector('[data-count="inspecting"]').textContent === '1'`))
	if !eval[bool](t, ctx, `window.__marker === 'kept' && document.querySelector('tr[data-mac="`+macKeep+`"]').__same === true
		&& document.querySelector('tr[data-mac="`+macLive+`"]').textContent.includes('pxe boot')`) {
		t.Error("the page reloaded or redrew rows that did not change")
	}
	screenshot(t, ctx, shots, "host-list.png")

	// Filter: search and state, answered by the server, swapped in place.
	do("filter",
		chromedp.SendKeys(css(`input[name="q"]`), "web-0"),
		waitJS(`document.querySelectorAll('#rows tr').length === 6`),
		chromedp.Evaluate[chromedp.Void](`const s = document.querySelector('select[name="state"]');
			s.value = 'inspecting'; s.dispatchEvent(new Event('change', {bubbles: true}))`),
		waitJS(`document.querySelectorAll('#rows tr').length === 1 && location.search.includes('state=inspecting')`))
	if !eval[bool](t, ctx, `window.__marker === 'kept'`) {
		t.Error("filtering reloaded the page")
	}

	// Escaping: the hostile hostname is text, no element, no dialog.
	do("xss list", navigate(url+"/ui/?q=52:54:00:00:00:09"), chromedp.WaitVisible(css("#rows")))
	if n, cell := eval[int](t, ctx, `document.querySelectorAll('img').length`), text(t, ctx, `tr[data-mac="`+macXSS+`"] td.hostname`); n != 0 || cell != dashboard.Payload {
		t.Errorf("hostile hostname: %d <img> elements, cell text %q", n, cell)
	}
	do("xss host page", navigate(url+"/ui/hosts/"+macXSS), chromedp.WaitVisible(css("#host-status")))
	if n, h1 := eval[int](t, ctx, `document.querySelectorAll('img').length`), text(t, ctx, "h1"); n != 0 || !strings.Contains(h1, dashboard.Payload) {
		t.Errorf("hostile host page: %d <img> elements, heading %q", n, h1)
	}

	// A host page: open it from the list, press power and deploy.
	do("open host", navigate(url+"/ui/"), chromedp.WaitVisible(css("#rows")),
		chromedp.Click(css(`a[href="/ui/hosts/`+macOpen+`"]`)), chromedp.WaitVisible(css("#host-status")),
		chromedp.Evaluate[chromedp.Void](`window.__marker = 'host'`))
	do("power on", chromedp.Click(css("#btn-power-on")),
		waitJS(`document.querySelector('output[for="btn-power-on"]').textContent.includes('done')`))
	do("power off refused", chromedp.Click(css("#btn-power-off")),
		waitJS(`(o => o.classList.contains('err') && o.textContent.includes('host has no BMC'))(document.querySelector('output[for="btn-power-off"]'))`))
	do("deploy", chromedp.SetValue(css("#image-pick"), "ubuntu-24.04"), chromedp.Click(css("#btn-deploy")),
		waitJS(`document.querySelector('output[for="btn-deploy"]').textContent.includes('done')`))
	want := []string{"power-on " + macOpen + " <nil>", "power-off " + macOpen + " <nil>", "deploy " + macOpen + " ubuntu-24.04"}
	if got := actions.recorded(); !slices.Equal(got, want) {
		t.Errorf("actions: %q, want %q", got, want)
	}

	// Live on the host page: state, timeline and the progress bar.
	do("live host", waitJS(`document.getElementById('live-state').textContent === 'live'`))
	for _, to := range []inventory.State{inventory.StateDeploying} {
		if _, err := db.Transition(t.Context(), macOpen, to, "test", "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ModifyHost(t.Context(), macOpen, 0, func(h *inventory.Host) (inventory.Edit, error) {
		h.Progress = &inventory.DeployProgress{Progress: machineapi.Progress{Written: 50, Total: 200, RateBPS: 1 << 20}}
		return inventory.Edit{Quiet: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	do("live host update", waitJS(`document.getElementById('state-value').textContent === 'deploying'`),
		waitJS(`(b => b && b.value === 50 && b.max === 200)(document.getElementById('deploy-bar'))`),
		waitJS(`document.querySelector('#timeline li').textContent.includes('deploying')`))
	if !eval[bool](t, ctx, `window.__marker === 'host'`) {
		t.Error("the host page reloaded")
	}
	screenshot(t, ctx, shots, "host-page.png")
	do("narrow", chromedp.EmulateViewport(400, 900), navigate(url+"/ui/"), chromedp.WaitVisible(css("#rows")))
	screenshot(t, ctx, shots, "host-list-narrow.png")

	if d := dialogs.list(); len(d) != 0 {
		t.Errorf("JavaScript dialogs opened: %q", d)
	}
}
