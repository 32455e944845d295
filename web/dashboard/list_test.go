package dashboard

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
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
	dt.addHost(inventory.Host{MAC: mac})
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
	ev := func(typ, cause string) inventory.Event { return inventory.Event{Type: typ, Cause: cause} }
	cases := []struct {
		name   string
		events []inventory.Event
		want   string
	}{
		{"none", nil, "<nil>"},
		{"latest wins", []inventory.Event{ev(inventory.EventDeployProgress, "written 50 of 200 bytes"), ev(inventory.EventDeployProgress, "written 10 of 200 bytes")}, "50/200 25%"},
		{"older deploy", []inventory.Event{ev(inventory.EventTransition, ""), ev(inventory.EventDeployProgress, "written 1 of 2 bytes")}, "<nil>"},
		{"unreadable", []inventory.Event{ev(inventory.EventDeployProgress, "verifying checksum")}, "0/0 0%"},
		{"over total", []inventory.Event{ev(inventory.EventDeployProgress, "written 5 of 2 bytes")}, "0/0 0%"},
		{"huge", []inventory.Event{ev(inventory.EventDeployProgress, "written 99999999999999999999 of 1 bytes")}, "0/0 0%"},
	}
	for _, c := range cases {
		p := deployProgress(c.events)
		got := "<nil>"
		if p != nil {
			got = fmt.Sprintf("%d/%d %d%%", p.Written, p.Total, p.Percent)
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
