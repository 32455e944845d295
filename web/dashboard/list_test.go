package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

var rowMAC = regexp.MustCompile(`<tr data-mac="([^"]+)"`)

func shownMACs(body string) []string {
	var out []string
	for _, m := range rowMAC.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestListFiltersSortsAndPages(t *testing.T) {
	dt := newDashTest(t, nil)
	names := []string{"delta", "alpha", "charlie", "bravo", "echo"}
	for i, n := range names {
		dt.addHost(inventory.Host{MAC: fmt.Sprintf("52:54:00:00:00:%02x", i+1), Hostname: n,
			Labels: map[string]string{"rack": fmt.Sprintf("r%d", i%2)}})
	}
	dt.store.Transition(t.Context(), "52:54:00:00:00:03", inventory.StateInspecting, "test", "test")
	dt.login()
	cases := []struct {
		query string
		want  string
	}{
		{"", "01 02 03 04 05"},
		{"?sort=hostname", "02 04 03 01 05"},
		{"?sort=hostname&dir=desc", "05 01 03 04 02"},
		{"?sort=state&dir=desc", "03 01 02 04 05"},
		{"?state=inspecting", "03"},
		{"?label=rack=r1", "02 04"},
		{"?q=AR", "03"},
		{"?sort=hostname&size=2&page=2", "03 01"},
		{"?sort=hostname&size=2&page=9", "05"},
	}
	for _, c := range cases {
		resp, body := dt.do("GET", "/ui/"+c.query, nil)
		var got []string
		for _, m := range shownMACs(body) {
			got = append(got, m[len(m)-2:])
		}
		if resp.StatusCode != http.StatusOK || strings.Join(got, " ") != c.want {
			t.Errorf("%s: %d %v, want %s", c.query, resp.StatusCode, got, c.want)
		}
	}
	for _, q := range []string{"?state=sleeping", "?sort=ram", "?page=0", "?size=100000"} {
		resp, body := dt.do("GET", "/ui/"+q, nil)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "goroutine") {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
	}
}

func TestRefusedActionShowsMessageAtButton(t *testing.T) {
	dt := newDashTest(t, nil)
	const mac = "52:54:00:00:00:01"
	dt.addHost(inventory.Host{MAC: mac, State: inventory.StateReady, BMC: &inventory.BMC{Address: "10.0.0.5", Protocol: "redfish"}})
	dt.login()
	dt.actions.refuse["power-off"] = ActionError(http.StatusConflict, "host has no BMC")
	csrf := dt.csrf()
	resp, body := dt.do("POST", "/ui/hosts/"+mac+"/actions/power-off", nil, csrfHeader, csrf, "Accept", "application/json")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `"host has no BMC"`) {
		t.Errorf("fetch: %d %s", resp.StatusCode, body)
	}
	resp, body = dt.do("POST", "/ui/hosts/"+mac+"/actions/power-off", nil, csrfHeader, csrf)
	want := `<output class="msg err" for="btn-power-off" aria-live="polite">host has no BMC</output>`
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, want) {
		t.Errorf("form: %d, want the message next to the button:\n%s", resp.StatusCode, body)
	}
	resp, body = dt.do("POST", "/ui/hosts/"+mac+"/actions/explode", nil, csrfHeader, csrf, "Accept", "application/json")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "unknown action") {
		t.Errorf("unknown action: %d %s", resp.StatusCode, body)
	}
	resp, _ = dt.do("POST", "/ui/hosts/"+mac+"/actions/deploy", nil, csrfHeader, csrf, "Accept", "application/json")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("deploy without image: %d, want 400", resp.StatusCode)
	}
}

func TestDeployProgress(t *testing.T) {
	p := &inventory.DeployProgress{Progress: machineapi.Progress{Written: 50, Total: 200, RateBPS: 1e6}}
	cases := []struct {
		name string
		host inventory.Host
		want string
	}{
		{"none yet", inventory.Host{State: inventory.StateDeploying}, "<nil>"},
		{"deploying", inventory.Host{State: inventory.StateDeploying, Progress: p}, "50/200 25%"},
		{"an earlier deploy's", inventory.Host{State: inventory.StateActive, Progress: p}, "<nil>"},
		{"no total", inventory.Host{State: inventory.StateDeploying, Progress: &inventory.DeployProgress{Progress: machineapi.Progress{Written: 5}}}, "<nil>"},
		{"over total", inventory.Host{State: inventory.StateDeploying, Progress: &inventory.DeployProgress{Progress: machineapi.Progress{Written: 5, Total: 2}}}, "5/2 100%"},
	}
	for _, c := range cases {
		got := "<nil>"
		if p := progressOf(&c.host); p != nil {
			got = fmt.Sprintf("%d/%d %d%%", p.Written, p.Total, p.Percent())
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestHostPageProgressBar renders a deploying host's page: the bar shows
// the host's numbers, rate included.
func TestHostPageProgressBar(t *testing.T) {
	dt := newDashTest(t, nil)
	const mac = "52:54:00:00:00:07"
	dt.addHost(inventory.Host{MAC: mac, State: inventory.StateDeploying})
	dt.store.ModifyHost(t.Context(), mac, 0, func(h *inventory.Host) (inventory.Edit, error) {
		h.Progress = &inventory.DeployProgress{Progress: machineapi.Progress{Written: 50 << 20, Total: 200 << 20, RateBPS: 30e6}}
		return inventory.Edit{Quiet: true}, nil
	})
	dt.login()
	resp, body := dt.do("GET", "/ui/hosts/"+mac, nil)
	for _, want := range []string{`max="209715200" value="52428800"`, "25% · 52.4 MB of 209.7 MB · 30.0 MB/s"} {
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Fatalf("%d: page lacks %q:\n%s", resp.StatusCode, want, body)
		}
	}
}

// TestMACOrderPageIsTheSortedPage: the fast path of the default order
// shows what sorting every match would.
func TestMACOrderPageIsTheSortedPage(t *testing.T) {
	dt := newDashTest(t, nil)
	for i := range 37 {
		dt.addHost(inventory.Host{MAC: fmt.Sprintf("52:54:00:00:%02x:%02x", i%3, i), Hostname: fmt.Sprintf("n%d", i%5)})
	}
	for _, raw := range []string{"", "size=5", "size=5&page=2", "size=5&page=8", "size=5&page=99", "q=n1&size=3&page=2", "q=none", "size=500", "state=ready"} {
		v, _ := url.ParseQuery(raw)
		q, err := parseListQuery(v, 10)
		if err != nil {
			t.Fatal(err)
		}
		fast, n, page, pages, err := macOrderPage(t.Context(), dt.store, q)
		if err != nil {
			t.Fatal(err)
		}
		all, _ := matching(t.Context(), dt.store, q)
		hosts := pointers(all)
		sortHosts(hosts, "mac", false)
		want, wpage, wpages := pageOf(hosts, q)
		var a, b []string
		for _, h := range fast {
			a = append(a, h.MAC)
		}
		for _, h := range want {
			b = append(b, h.MAC)
		}
		if strings.Join(a, " ") != strings.Join(b, " ") || n != len(hosts) || page != wpage || pages != wpages {
			t.Errorf("%q: fast %v %d %d/%d, sorted %v %d %d/%d", raw, a, n, page, pages, b, len(hosts), wpage, wpages)
		}
	}
}
