package dashboard

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

const payload = `<img src=x onerror=alert(1)>`

// hostileStore hands out a hostname the real Store would refuse, as data
// written by an older version or a bug might: the pages must escape what
// they are given, not rely on validation upstream.
type hostileStore struct {
	inventory.Store
	mac, hostname string
}

func (s hostileStore) fix(h inventory.Host) inventory.Host {
	if h.MAC == s.mac {
		h.Hostname = s.hostname
	}
	return h
}

func (s hostileStore) Host(ctx context.Context, mac string) (inventory.Host, error) {
	h, err := s.Store.Host(ctx, mac)
	return s.fix(h), err
}

func (s hostileStore) Hosts(ctx context.Context, q inventory.Query) (inventory.Page, error) {
	p, err := s.Store.Hosts(ctx, q)
	for i := range p.Hosts {
		p.Hosts[i] = s.fix(p.Hosts[i])
	}
	return p, err
}

func (s hostileStore) Subscribe(ctx context.Context) <-chan inventory.Change {
	in := s.Store.Subscribe(ctx)
	out := make(chan inventory.Change, 16)
	go func() {
		defer close(out)
		for c := range in {
			c.Host = s.fix(c.Host)
			out <- c
		}
	}()
	return out
}

func TestHostTextIsEscaped(t *testing.T) {
	const mac = "52:54:00:00:00:01"
	dt := newDashTest(t, func(s inventory.Store) inventory.Store { return hostileStore{s, mac, payload} })
	dt.addHost(inventory.Host{MAC: mac, Labels: map[string]string{"note": payload}})
	ctx := t.Context()
	dt.store.UpdateHost(ctx, mac, 0, func(h *inventory.Host) error {
		h.Facts = &inventory.Facts{Vendor: payload, CPUModel: payload, Disks: []inventory.Disk{{Name: payload, Model: payload}},
			NICs: []inventory.NIC{{Name: payload, MAC: mac, Driver: payload}}}
		h.Agent = &inventory.AgentStatus{AgentReport: machineapi.AgentReport{Status: payload, Message: payload}, LastCheckIn: time.Now()}
		h.RenderFailure = &inventory.RenderFailure{Config: "motd", Error: "line 3:12: at <value " + payload + ">", Since: time.Now()}
		return nil
	}, inventory.Event{Actor: "test"})
	dt.store.AppendEvent(ctx, mac, inventory.Event{Type: payload, Cause: payload, Actor: payload})
	dt.login()
	for _, path := range []string{"/ui/", "/ui/?partial=1", "/ui/hosts/" + mac, "/ui/?q=" + url.QueryEscape(payload)} {
		_, body := dt.do("GET", path, nil)
		if strings.Contains(body, "<img") {
			t.Errorf("%s: raw <img in the page:\n%s", path, body)
		}
		if !strings.Contains(body, html.EscapeString(payload)) && !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s: the payload is not shown as text", path)
		}
	}
	if _, body := dt.do("GET", "/ui/hosts/"+mac, nil); !strings.Contains(body, `id="render-failure">Config <b>motd</b> does not render for this host: <span class="mono">line 3:12:`) {
		t.Errorf("host page does not show the render failure:\n%s", body)
	}
	// A refused action's message is host text too.
	dt.actions.refuse["release"] = ActionError(http.StatusConflict, payload)
	_, body := dt.do("POST", "/ui/hosts/"+mac+"/actions/release", url.Values{"csrf": {dt.csrf()}})
	if strings.Contains(body, "<img") || !strings.Contains(body, "&lt;img") {
		t.Errorf("refusal message not escaped:\n%s", body)
	}
}

func TestLiveRowIsEscaped(t *testing.T) {
	dt := newDashTest(t, nil)
	h := inventory.Host{MAC: "52:54:00:00:00:01", Hostname: payload, Labels: map[string]string{"a": payload}}
	ev := inventory.Event{Type: "transition", Cause: payload}
	d, _ := New(Config{Store: dt.store, Token: testToken})
	got, err := d.views.fragment("row", row{Host: &h, Last: &ev})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "<img") || !strings.Contains(got, "&lt;img") {
		t.Errorf("row fragment:\n%s", got)
	}
}
