package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// buttonRE finds a button and whether it is disabled, with its reason.
var buttonRE = regexp.MustCompile(`<button type="submit" id="btn-([a-z-]+)"( disabled title="([^"]*)")?`)

func buttons(page string) map[string]string {
	out := map[string]string{}
	for _, m := range buttonRE.FindAllStringSubmatch(page, -1) {
		out[m[1]] = "enabled"
		if m[2] != "" {
			out[m[1]] = "disabled: " + m[3]
		}
	}
	return out
}

// TestButtonsFitTheHost: each state offers the actions the lifecycle
// allows and disables the others with the reason; no power buttons
// without a BMC; a deploy with no image says how to import one.
func TestButtonsFitTheHost(t *testing.T) {
	bmc := &inventory.BMC{Address: "10.0.0.5", Protocol: "redfish"}
	cases := []struct {
		name    string
		h       inventory.Host
		enabled []string
	}{
		{"discovered", inventory.Host{State: inventory.StateDiscovered}, nil},
		{"ready", inventory.Host{State: inventory.StateReady, BMC: bmc}, []string{"release", "release-wipe", "deploy", "power-on", "power-off", "power-cycle"}},
		{"active", inventory.Host{State: inventory.StateActive, BMC: bmc}, []string{"release", "release-wipe", "power-on", "power-off", "power-cycle"}},
		{"failed deploying", inventory.Host{State: inventory.StateFailed, Failure: &inventory.Failure{From: inventory.StateDeploying, Cause: "x"}}, []string{"retry"}},
		{"failed wipe", inventory.Host{State: inventory.StateFailed, Failure: &inventory.Failure{From: inventory.StateReady, Cause: "x"}}, []string{"release", "release-wipe", "retry"}},
	}
	for i, c := range cases {
		dt := newDashTest(t, nil)
		c.h.MAC = "52:54:00:00:00:0" + string(rune('1'+i))
		dt.addHost(c.h)
		dt.login()
		_, page := dt.do("GET", "/ui/hosts/"+c.h.MAC, nil)
		got := buttons(page)
		for _, a := range []string{"release", "release-wipe", "retry"} {
			if _, ok := got[a]; !ok {
				t.Errorf("%s: no %s button", c.name, a)
			}
		}
		if (c.h.BMC == nil) != strings.Contains(page, `id="no-bmc"`) {
			t.Errorf("%s: BMC %v but no-BMC note %v", c.name, c.h.BMC != nil, strings.Contains(page, `id="no-bmc"`))
		}
		if _, ok := got["power-on"]; ok != (c.h.BMC != nil) {
			t.Errorf("%s: power buttons %v with BMC %v", c.name, ok, c.h.BMC != nil)
		}
		for a, st := range got {
			want := "enabled"
			if !contains(c.enabled, a) {
				want = "disabled"
			}
			if !strings.HasPrefix(st, want) || (want == "disabled" && !strings.Contains(st, c.h.MAC)) {
				t.Errorf("%s: %s is %s, want %s with a reason", c.name, a, st, want)
			}
		}
		// A disabled action posted anyway is refused with its reason,
		// and never reaches Actions.
		for a, st := range got {
			if !strings.HasPrefix(st, "disabled") {
				continue
			}
			resp, body := dt.do("POST", "/ui/hosts/"+c.h.MAC+"/actions/"+a, url.Values{"image": {"x"}, "confirm": {"yes"}}, csrfHeader, dt.csrf(), "Accept", "application/json")
			if resp.StatusCode != http.StatusConflict || !strings.Contains(body, c.h.MAC) {
				t.Errorf("%s: disabled %s posted: %d %s", c.name, a, resp.StatusCode, body)
			}
		}
		if calls := dt.actions.called(); len(calls) != 0 {
			t.Errorf("%s: disabled actions reached Actions: %q", c.name, calls)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestDestructiveActionsAskFirst: power off an active host, wipe: the
// page asks for a tick, and the server refuses without it.
func TestDestructiveActionsAskFirst(t *testing.T) {
	dt := newDashTest(t, nil)
	const mac = "52:54:00:00:00:01"
	dt.addHost(inventory.Host{MAC: mac, State: inventory.StateActive, BMC: &inventory.BMC{Address: "10.0.0.5", Protocol: "redfish"}})
	dt.login()
	_, page := dt.do("GET", "/ui/hosts/"+mac, nil)
	for _, a := range []string{"power-off", "power-cycle", "release-wipe"} {
		if !strings.Contains(page, `id="confirm-`+a+`"`) {
			t.Errorf("%s of an active host has no confirmation", a)
		}
		resp, body := dt.do("POST", "/ui/hosts/"+mac+"/actions/"+a, nil, csrfHeader, dt.csrf(), "Accept", "application/json")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "tick") {
			t.Errorf("%s unconfirmed: %d %s", a, resp.StatusCode, body)
		}
	}
	for _, a := range []string{"power-on", "release"} {
		if strings.Contains(page, `id="confirm-`+a+`"`) {
			t.Errorf("%s asks for a confirmation", a)
		}
	}
	if calls := dt.actions.called(); len(calls) != 0 {
		t.Errorf("unconfirmed actions reached Actions: %q", calls)
	}
}

// TestNoImageHint: with an image store but no image, the deploy section
// says how to import one.
func TestNoImageHint(t *testing.T) {
	store, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d, err := New(Config{Store: store, Token: testToken, Images: noImages{}})
	if err != nil {
		t.Fatal(err)
	}
	h := inventory.Host{MAC: "52:54:00:00:00:01", State: inventory.StateReady}
	v := hostView{Host: h, Actions: d.actionsFor(context.Background(), &h, "c", nil)}
	html, err := d.views.fragment("host-deploy", v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, `id="no-images"`) || !strings.Contains(html, "rackboot image import") || strings.Contains(html, "btn-deploy") {
		t.Errorf("deploy section without images:\n%s", html)
	}
}

type noImages struct{}

func (noImages) List(context.Context) ([]string, error) { return nil, nil }
func (noImages) Remove(context.Context, string) error   { return nil }

// actorActions records the actor each action arrives with.
type actorActions struct {
	mu     sync.Mutex
	actors []string
}

func (a *actorActions) Do(ctx context.Context, mac, _ string, _ map[string]any) (inventory.Host, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.actors = append(a.actors, ActorOf(ctx))
	return inventory.Host{MAC: mac, State: inventory.StateReady}, nil
}

// TestActionsNameTheSession: an action carries the name given at sign-in,
// or the session's id; a name with control characters is refused.
func TestActionsNameTheSession(t *testing.T) {
	dt := newDashTest(t, nil)
	rec := &actorActions{}
	d, _ := New(Config{Store: dt.store, Token: testToken, Actions: rec})
	dt.srv.Config.Handler = d
	const mac = "52:54:00:00:00:01"
	dt.addHost(inventory.Host{MAC: mac, State: inventory.StateReady})
	if resp, _ := dt.do("POST", "/ui/login", url.Values{"token": {testToken}, "name": {"ada\x1b[2J"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("name with an escape: %d, want 400", resp.StatusCode)
	}
	dt.do("POST", "/ui/login", url.Values{"token": {testToken}, "name": {"  Ada Lovelace "}})
	dt.do("POST", "/ui/hosts/"+mac+"/actions/release", nil, csrfHeader, dt.csrf(), "Accept", "application/json")
	dt.client.Jar = newJar()
	dt.login()
	dt.do("POST", "/ui/hosts/"+mac+"/actions/release", nil, csrfHeader, dt.csrf(), "Accept", "application/json")
	if len(rec.actors) != 2 || rec.actors[0] != "Ada Lovelace (dashboard)" || !regexp.MustCompile(`^dashboard session [0-9a-f]{8}$`).MatchString(rec.actors[1]) {
		t.Errorf("actors: %q", rec.actors)
	}
}
