package dashboard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/web/dashboard"
)

// TestHostActionsInBrowser runs the real lifecycle behind the dashboard,
// over HTTPS: each state's page offers what the lifecycle allows, a
// disabled action cannot be had through the page, the wipe waits for its
// tick, the timeline names the operator, times are local with UTC on
// hover. Screenshots of the sign-in page and of a host page in each state
// go to the artifacts.
func TestHostActionsInBrowser(t *testing.T) {
	a := startTLSAppliance(t, dashboard.Config{Images: fixedImages{}, TokenPath: "/var/lib/rackboot/admin.token"}, 50)
	bmc := &inventory.BMC{Address: "10.0.0.250", Protocol: "redfish"}
	hosts := map[string]inventory.Host{
		"discovered":        {MAC: mac(1), Hostname: "new-node"},
		"ready":             {MAC: mac(2), Hostname: "spare", State: inventory.StateReady, BMC: bmc},
		"deploying":         {MAC: mac(3), Hostname: "installing", State: inventory.StateDeploying, BMC: bmc},
		"deployed":          {MAC: mac(4), Hostname: "fresh", State: inventory.StateDeployed, BMC: bmc},
		"active":            {MAC: mac(5), Hostname: "db-01", State: inventory.StateActive, BMC: bmc},
		"failed-deploy":     {MAC: mac(6), Hostname: "broken", State: inventory.StateFailed, Failure: &inventory.Failure{From: inventory.StateDeploying, Cause: "image write: disk vanished"}},
		"failed-inspection": {MAC: mac(7), Hostname: "odd", State: inventory.StateFailed, Failure: &inventory.Failure{From: inventory.StateInspecting, Cause: "inspection timed out"}},
	}
	for _, h := range hosts {
		if _, err := a.db.CreateHost(t.Context(), h, "test"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, dialogs := newBrowser(t, chromedp.Flag("ignore-certificate-errors-spki-list", a.spki), chromedp.Env("TZ=Asia/Kolkata"))
	shots := artifacts(t)
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	do("sign-in page", navigate(a.url+"/ui/"), chromedp.WaitVisible(css("#token")))
	if hint := text(t, ctx, ".login p.hint"); !strings.Contains(hint, "/var/lib/rackboot/admin.token") {
		t.Errorf("sign-in page hint: %q", hint)
	}
	screenshot(t, ctx, shots, "sign-in.png")
	do("sign in", chromedp.SendKeys(css("#token"), token), chromedp.SendKeys(css("#name"), "Ada"),
		chromedp.Submit(css("#token")), chromedp.WaitVisible(css("#rows")))
	if n := eval[int](t, ctx, `document.querySelectorAll('#rows td.hostname a[href^="/ui/hosts/"]').length`); n != len(hosts) {
		t.Errorf("%d hostnames link to their host, want %d", n, len(hosts))
	}
	// "no BMC" stays on one line: one line box, however narrow the column.
	noBMC := `(s => s.getClientRects().length + ' ' + getComputedStyle(s).whiteSpace)(document.querySelector('tr[data-mac="` + mac(1) + `"] td[data-h="Power"] .na'))`
	if got := eval[string](t, ctx, noBMC); got != "1 nowrap" {
		t.Errorf(`"no BMC": %s line boxes, want "1 nowrap"`, got)
	}
	screenshot(t, ctx, shots, "host-list-actions.png")

	// What each state offers: the enabled buttons of its page.
	enabled := `Array.from(document.querySelectorAll('#host button[id^="btn-"]')).filter(b => !b.disabled).map(b => b.id.slice(4)).sort().join(' ')`
	want := map[string]string{
		"discovered":        "",
		"ready":             "power-cycle power-off power-on release release-wipe", // no image yet: a hint, not a deploy button
		"deploying":         "power-cycle power-off power-on",
		"deployed":          "power-cycle power-off power-on release release-wipe",
		"active":            "power-cycle power-off power-on release release-wipe",
		"failed-deploy":     "retry",
		"failed-inspection": "retry",
	}
	for name, h := range hosts {
		do("open "+name, navigate(a.url+"/ui/hosts/"+h.MAC), chromedp.WaitVisible(css("#host-status")),
			waitJS(`document.getElementById('live-state').textContent === 'live'`))
		if got := eval[string](t, ctx, enabled); got != want[name] {
			t.Errorf("%s: enabled %q, want %q", name, got, want[name])
		}
		if n := eval[int](t, ctx, `Array.from(document.querySelectorAll('#host button:disabled')).filter(b => !b.title.includes('`+h.MAC+`')).length`); n != 0 {
			t.Errorf("%s: %d disabled buttons without a reason on hover", name, n)
		}
		if !eval[bool](t, ctx, `!!document.getElementById('no-images') && !document.getElementById('btn-deploy')`) {
			t.Errorf("%s: no image, yet no hint to import one", name)
		}
		if h.BMC == nil && !eval[bool](t, ctx, `!!document.getElementById('no-bmc') && !document.getElementById('btn-power-on')`) {
			t.Errorf("%s: power buttons without a BMC", name)
		}
		screenshot(t, ctx, shots, "host-"+name+".png")
	}

	// A disabled Retry: a click does nothing; a forced submit is refused
	// with the reason, and the host stays as it was.
	do("discovered page", navigate(a.url+"/ui/hosts/"+mac(1)), chromedp.WaitVisible(css("#btn-retry")),
		waitJS(`document.getElementById('live-state').textContent === 'live'`))
	do("click disabled", chromedp.Click(css("#btn-retry")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form[data-action="retry"]').requestSubmit()`),
		waitJS(`document.querySelector('output[for="btn-retry"]').textContent.includes('retry applies only to failed hosts')`))
	if h := host(t, a, mac(1)); h.State != inventory.StateDiscovered {
		t.Errorf("after a forced retry the host is %s", h.State)
	}

	// Release and wipe: the button does nothing until the box is ticked.
	do("deployed page", navigate(a.url+"/ui/hosts/"+mac(4)), chromedp.WaitVisible(css("#btn-release-wipe")),
		waitJS(`document.getElementById('live-state').textContent === 'live'`))
	do("wipe unticked", chromedp.Click(css("#btn-release-wipe")))
	if !eval[bool](t, ctx, `document.getElementById('confirm-release-wipe').matches(':invalid')`) {
		t.Error("the wipe's confirmation box is not required")
	}
	do("wipe ticked", chromedp.Click(css("#confirm-release-wipe")), chromedp.Click(css("#btn-release-wipe")),
		waitJS(`document.getElementById('state-value').textContent === 'ready'`),
		waitJS(`document.querySelector('#timeline li').textContent.includes('by Ada (dashboard)')`))
	h := host(t, a, mac(4))
	if h.State != inventory.StateReady || h.Wipe == nil {
		t.Errorf("after release and wipe: %s, wipe %v", h.State, h.Wipe)
	}
	ev, _ := a.db.Events(t.Context(), mac(4), 10)
	releases := 0
	for _, e := range ev {
		if e.To == inventory.StateReady {
			releases++
			if e.Actor != "Ada (dashboard)" {
				t.Errorf("release logged by %q", e.Actor)
			}
		}
	}
	if releases != 1 {
		t.Errorf("%d releases logged, want 1 (the unticked click must do nothing)", releases)
	}
	// Now ready, the page offers deploy: with no image, the hint.
	do("deploy hint", waitJS(`!!document.getElementById('no-images')`))
	// Times: the browser's zone, UTC on hover.
	if !eval[bool](t, ctx, `(el => el.title.endsWith(' UTC') && el.textContent !== el.dataset.utc)(document.querySelector('#timeline time'))`) {
		t.Errorf("timeline time %q, title %q: want local time with UTC on hover",
			eval[string](t, ctx, `document.querySelector('#timeline time').textContent`), eval[string](t, ctx, `document.querySelector('#timeline time').title`))
	}
	screenshot(t, ctx, shots, "host-released.png")
	if d := dialogs.list(); len(d) != 0 {
		t.Errorf("dialogs: %q", d)
	}
}

func host(t *testing.T, a *tlsAppliance, m string) inventory.Host {
	t.Helper()
	h, err := a.db.Host(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
