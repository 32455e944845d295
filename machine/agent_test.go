package machine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// agentTest is a boot server with one deployed host labelled role=web and
// an agent token for it.
type agentTest struct {
	*bootTest
	token string
}

func newAgentTest(t *testing.T) *agentTest {
	b := newBootTest(t, nil)
	ctx := context.Background()
	if _, err := b.store.CreateHost(ctx, inventory.Host{MAC: testMAC, State: inventory.StateDeployed, Labels: map[string]string{"role": "web"}}, "test"); err != nil {
		t.Fatal(err)
	}
	tok, err := b.lc.AgentToken(ctx, testMAC, false, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &agentTest{bootTest: b, token: tok}
}

func (a *agentTest) putConfig(name, role, body string) {
	a.t.Helper()
	c := inventory.AgentConfig{Name: name, Selector: map[string]string{"role": role}, Body: body}
	if _, _, err := a.store.PutAgentConfig(context.Background(), c, 0, "test"); err != nil {
		a.t.Fatal(err)
	}
}

func (a *agentTest) poll(version, wait string) (int, machineapi.Graph) {
	a.t.Helper()
	code, body := a.get("/machine/v1/agent/config?mac="+testMAC+"&version="+version+"&wait="+wait, "Authorization", "Bearer "+a.token)
	var g machineapi.Graph
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &g); err != nil {
			a.t.Fatalf("%v: %s", err, body)
		}
	}
	return code, g
}

// pollUntil long-polls from version until a graph satisfies cond (the
// renderer may answer with the graphs on the way there first).
func (a *agentTest) pollUntil(version string, cond func(machineapi.Graph) bool) machineapi.Graph {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		code, g := a.poll(version, "5s")
		if code == http.StatusOK {
			if cond(g) {
				return g
			}
			version = g.Version
		}
	}
	a.t.Fatalf("no graph as wanted within 10 s (last version %s)", version)
	return machineapi.Graph{}
}

func TestAgentRoutesNeedAgentToken(t *testing.T) {
	a := newAgentTest(t)
	other, _ := a.lc.AgentToken(context.Background(), testMAC, false, "test")
	a.store.CreateHost(context.Background(), inventory.Host{MAC: "52:54:00:00:00:99"}, "test")
	otherHost, _ := a.lc.AgentToken(context.Background(), "52:54:00:00:00:99", false, "test")
	for name, tok := range map[string]string{"none": "", "garbage": "abc", "another host's": otherHost} {
		hdr := []string{}
		if tok != "" {
			hdr = []string{"Authorization", "Bearer " + tok}
		}
		if code, body := a.get("/machine/v1/agent/config?wait=0s&mac="+testMAC, hdr...); code != http.StatusUnauthorized {
			t.Errorf("%s: graph poll: %d %s, want 401", name, code, body)
		}
		if code, _ := a.post("/machine/v1/agent/status?mac="+testMAC, tok, `{"status":"converged"}`); code != http.StatusUnauthorized {
			t.Errorf("%s: status report: %d, want 401", name, code)
		}
		if code, _ := a.post("/machine/v1/firstboot?mac="+testMAC, tok, `{"mac":"`+testMAC+`","event":"first-boot","firmware":"bios"}`); code != http.StatusUnauthorized {
			t.Errorf("%s: first-boot report: %d, want 401", name, code)
		}
	}
	// A graph is there as soon as the renderer has seen the host: the poll
	// may wait for that (with wait=0s, a loaded machine answered 304).
	if code, _ := a.get("/machine/v1/agent/config?wait=30s&mac="+testMAC, "Authorization", "Bearer "+other); code != http.StatusOK {
		t.Errorf("second unrevoked token: %d", code)
	}
	// A host whose installer is up has a boot token; it opens no agent route.
	const ready = "52:54:00:00:00:77"
	a.store.CreateHost(context.Background(), inventory.Host{MAC: ready, State: inventory.StateReady}, "test")
	boot := a.bootTest.token(ready)
	if code, _ := a.get("/machine/v1/agent/config?wait=0s&mac="+ready, "Authorization", "Bearer "+boot); code != http.StatusUnauthorized {
		t.Errorf("boot token on the graph poll: %d, want 401", code)
	}
	if code, _ := a.post("/machine/v1/agent/status?mac="+ready, boot, `{"status":"converged"}`); code != http.StatusUnauthorized {
		t.Errorf("boot token on a status report: %d, want 401", code)
	}
}

func TestAgentConfigLongPoll(t *testing.T) {
	a := newAgentTest(t)
	code, g := a.poll("", "0s")
	if code != http.StatusOK || len(g.Configs) != 0 || g.Version == "" {
		t.Fatalf("first poll, nothing selected: %d %+v", code, g)
	}
	empty := g.Version
	if code, _ := a.poll(empty, "50ms"); code != http.StatusNotModified {
		t.Fatalf("poll at the current version: %d, want 304 after the wait", code)
	}
	a.putConfig("b", "web", "- kind: file\n  name: /b\n")
	a.putConfig("a", "web", "- kind: file\n  name: /a\n")
	a.putConfig("other", "db", "- kind: file\n  name: /c\n")
	g = a.pollUntil(empty, func(g machineapi.Graph) bool { return len(g.Configs) == 2 })
	if g.Configs[0].Name != "a" || g.Configs[1].Name != "b" {
		t.Fatalf("poll after configs: %+v, want a and b in order", g)
	}

	// A change arrives while the poll waits: it answers at once.
	for _, tc := range []struct {
		name   string
		change func()
	}{
		{"config", func() { a.putConfig("a", "web", "- kind: file\n  name: /a2\n") }},
		{"labels", func() {
			a.store.UpdateHost(context.Background(), testMAC, 0, func(h *inventory.Host) error { h.Labels["role"] = "db"; return nil }, inventory.Event{})
		}},
	} {
		name, change := tc.name, tc.change
		go func() { time.Sleep(100 * time.Millisecond); change() }()
		start := time.Now()
		code, g2 := a.poll(g.Version, "10s")
		took := time.Since(start) - 100*time.Millisecond
		if code != http.StatusOK || g2.Version == g.Version {
			t.Fatalf("%s change: %d %+v", name, code, g2)
		}
		if took > 5*time.Second { // woken by the change, not by the end of its 10 s wait
			t.Fatalf("%s change answered only after %v", name, took)
		}
		t.Logf("%s change answered %v after it was made", name, took)
		g = g2
	}
	if len(g.Configs) != 1 || g.Configs[0].Name != "other" {
		t.Fatalf("after relabelling to db: %+v", g)
	}
}

func TestAgentStatusActivates(t *testing.T) {
	a := newAgentTest(t)
	rep := `{"status":"unconverged","config_version":"v1","resources":[{"resource":"file:/a","state":"applying"}]}`
	code, body := a.post("/machine/v1/agent/status?mac="+testMAC, a.token, rep)
	if code != http.StatusOK || !strings.Contains(body, `"active"`) {
		t.Fatalf("first check-in: %d %s", code, body)
	}
	h, _ := a.store.Host(context.Background(), testMAC)
	if h.State != inventory.StateActive || h.Agent == nil || h.Agent.Status != "unconverged" || len(h.Agent.Resources) != 1 || h.Agent.LastCheckIn.IsZero() {
		t.Fatalf("host after check-in: %+v %+v", h, h.Agent)
	}
	if code, _ := a.post("/machine/v1/agent/status?mac="+testMAC, a.token, `{"status":"converged"}`); code != http.StatusOK {
		t.Fatalf("second check-in of an active host: %d", code)
	}
	ev, _ := a.store.Events(context.Background(), testMAC, 10)
	if ev[0].Type != "agent" || !strings.HasPrefix(ev[0].Cause, "converged") || ev[1].To != inventory.StateActive || ev[1].Actor != "agent" {
		t.Fatalf("events: %+v", ev)
	}
	for name, bad := range map[string]string{
		"bad status":    `{"status":"fine"}`,
		"unknown field": `{"status":"converged","extra":1}`,
		"not json":      `converged`,
	} {
		if code, body := a.post("/machine/v1/agent/status?mac="+testMAC, a.token, bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, code, body)
		}
	}
}

func TestAgentBinary(t *testing.T) {
	a := newAgentTest(t)
	self, _ := os.Executable()
	fi, _ := os.Stat(self)
	const ready = "52:54:00:00:00:77"
	a.store.CreateHost(context.Background(), inventory.Host{MAC: ready, State: inventory.StateReady}, "test")
	for name, c := range map[string]struct{ mac, tok string }{"agent token": {testMAC, a.token}, "boot token": {ready, a.bootTest.token(ready)}} {
		tok := c.tok
		req, _ := http.NewRequest("GET", a.srv.URL+"/machine/v1/agent/binary?mac="+c.mac, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != fi.Size() {
			t.Fatalf("%s: %d, %d bytes, want the %d bytes of %s", name, resp.StatusCode, n, fi.Size(), self)
		}
	}
	if code, _ := a.get("/machine/v1/agent/binary?mac="+testMAC, "Authorization", "Bearer nope"); code != http.StatusUnauthorized {
		t.Fatalf("bad token: %d", code)
	}
}

func TestAgentExport(t *testing.T) {
	a := newAgentTest(t)
	path := "/machine/v1/agent/export?mac=" + testMAC
	for _, want := range []string{`"stored"`, `"unchanged"`} {
		if code, body := a.post(path, a.token, `{"key":"wg-pubkey","value":"9QXU0J4E7UiUkTYIK4nZ5dFr+mcbCUlcynR9g5UmYRk="}`); code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("export: %d %s, want %s", code, body, want)
		}
	}
	vals, _ := a.store.PublishedValues(context.Background(), testMAC)
	if len(vals) != 1 || vals[0].Key != "wg-pubkey" {
		t.Fatalf("stored values: %+v", vals)
	}
	for name, bad := range map[string]string{
		"line break":    `{"key":"k","value":"a\n- kind: exec"}`,
		"bad key":       `{"key":"a b","value":"x"}`,
		"empty value":   `{"key":"k","value":""}`,
		"unknown field": `{"key":"k","value":"x","extra":1}`,
		"not json":      `k=x`,
	} {
		if code, body := a.post(path, a.token, bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, code, body)
		}
	}
	// A host whose installer is up has a boot token; it publishes nothing.
	const ready = "52:54:00:00:00:77"
	a.store.CreateHost(context.Background(), inventory.Host{MAC: ready, State: inventory.StateReady}, "test")
	if code, _ := a.post("/machine/v1/agent/export?mac="+ready, a.bootTest.token(ready), `{"key":"k","value":"x"}`); code != http.StatusUnauthorized {
		t.Errorf("export with a boot token: %d, want 401", code)
	}
}

// TestAgentConfigRendered: the poll answers the config rendered for the
// host, with another host's published value in it, and a new value
// answers a waiting poll.
func TestAgentConfigRendered(t *testing.T) {
	a := newAgentTest(t)
	ctx := context.Background()
	const peer = "52:54:00:12:34:57"
	a.store.UpdateHost(ctx, testMAC, 0, func(h *inventory.Host) error { h.Hostname = "web1"; return nil }, inventory.Event{})
	a.store.CreateHost(ctx, inventory.Host{MAC: peer, Hostname: "db1", State: inventory.StateActive, Labels: map[string]string{"role": "db"}}, "test")
	peerToken, _ := a.lc.AgentToken(ctx, peer, false, "test")
	a.putConfig("app", "web", "- kind: file\n  name: /srv/{{.Host.Hostname}}/db\n  content: {{range hosts \"role=db\"}}{{.Hostname}} {{value .MAC \"version\" | quote}}{{end}}\n")
	g := a.pollUntil("", func(g machineapi.Graph) bool { return len(g.Configs) == 1 })
	if want := "- kind: file\n  name: /srv/web1/db\n  content: db1 \"\"\n"; g.Configs[0].Body != want {
		t.Fatalf("rendered %q, want %q", g.Configs[0].Body, want)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		a.post("/machine/v1/agent/export?mac="+peer, peerToken, `{"key":"version","value":"16.4"}`)
	}()
	code, g2 := a.poll(g.Version, "10s")
	if code != http.StatusOK || !strings.Contains(g2.Configs[0].Body, `db1 "16.4"`) {
		t.Fatalf("after db1 exported: %d %+v", code, g2)
	}
}
