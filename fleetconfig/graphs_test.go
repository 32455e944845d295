package fleetconfig

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// fleetTest is a real bbolt store with Graphs running on it; every round
// is reported on rounds.
type fleetTest struct {
	t      *testing.T
	db     *inventory.DB
	g      *Graphs
	rounds chan roundInfo
	feed   <-chan inventory.Change // the test's own view of the changes made
	behind int                     // changes made that no round has taken yet
}

func newFleetTest(t *testing.T) *fleetTest {
	db, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fleetTest{t: t, db: db, rounds: make(chan roundInfo, 100), feed: db.Subscribe(ctx)}
	f.g = &Graphs{Store: db, onRound: func(r roundInfo) { f.rounds <- r }}
	done := make(chan error, 1)
	go func() { done <- f.g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		db.Close()
	})
	f.round() // the first, of the empty store
	return f
}

// round returns the next round's outcome.
func (f *fleetTest) round() roundInfo {
	f.t.Helper()
	select {
	case r := <-f.rounds:
		slices.Sort(r.rendered)
		slices.Sort(r.woken)
		return r
	case <-time.After(10 * time.Second):
		f.t.Fatal("no render round within 10 s")
	}
	return roundInfo{}
}

// settle drains rounds until every change made so far has been taken by
// one, and returns what they rendered and woke. Each write publishes its
// change before it returns, so the test's feed holds them all by now.
func (f *fleetTest) settle() (rendered, woken []string) {
	f.t.Helper()
	for more := true; more; {
		select {
		case <-f.feed:
			f.behind++
		default:
			more = false
		}
	}
	for f.behind > 0 {
		r := f.round()
		f.behind -= r.changes
		rendered, woken = append(rendered, r.rendered...), append(woken, r.woken...)
	}
	slices.Sort(rendered)
	slices.Sort(woken)
	return slices.Compact(rendered), slices.Compact(woken)
}

func (f *fleetTest) addHost(mac, hostname, ip string, state inventory.State, labels map[string]string) {
	f.t.Helper()
	if _, err := f.db.CreateHost(context.Background(), inventory.Host{MAC: mac, Hostname: hostname, IP: ip, State: state, Labels: labels}, "test"); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleetTest) update(mac string, fn func(*inventory.Host)) {
	f.t.Helper()
	if _, err := f.db.UpdateHost(context.Background(), mac, 0, func(h *inventory.Host) error { fn(h); return nil }, inventory.Event{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleetTest) putConfig(name, selector, body string) {
	f.t.Helper()
	k, v, _ := strings.Cut(selector, "=")
	if _, _, err := f.db.PutAgentConfig(context.Background(), inventory.AgentConfig{Name: name, Selector: map[string]string{k: v}, Body: body}, 0, "test"); err != nil {
		f.t.Fatal(err)
	}
}

// graph is what host mac is served now.
func (f *fleetTest) graph(mac string) machineapi.Graph {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g, err := f.g.Wait(ctx, mac, "")
	if err != nil {
		f.t.Fatalf("graph of %s: %v", mac, err)
	}
	return g
}

func (f *fleetTest) body(mac, config string) string {
	f.t.Helper()
	for _, c := range f.graph(mac).Configs {
		if c.Name == config {
			return c.Body
		}
	}
	f.t.Fatalf("%s has no config %s: %+v", mac, config, f.graph(mac))
	return ""
}

const (
	macA, macB, macC, macD = "52:54:00:00:00:0a", "52:54:00:00:00:0b", "52:54:00:00:00:0c", "52:54:00:00:00:0d"
	hostsConfig            = "- kind: file\n  name: /etc/hosts\n  content: |\n    {{- range hosts \"rack=r1\"}}\n    {{.IP}} {{.Hostname}}\n    {{- end}}\n"
)

func hostsBody(lines ...string) string {
	return "- kind: file\n  name: /etc/hosts\n  content: |\n    " + strings.Join(lines, "\n    ") + "\n"
}

// TestHostsFileFollowsTheFleet: a rack-wide hosts file is rendered for
// each host of the rack; a host becoming active, changing IP, or leaving
// re-renders and wakes exactly the rack, and a change that no render read
// renders nothing.
func TestHostsFileFollowsTheFleet(t *testing.T) {
	f := newFleetTest(t)
	r1, r2 := map[string]string{"rack": "r1"}, map[string]string{"rack": "r2"}
	f.addHost(macA, "a", "10.0.0.1", inventory.StateActive, r1)
	f.addHost(macB, "b", "10.0.0.2", inventory.StateActive, r1)
	f.addHost(macC, "c", "10.0.0.3", inventory.StateDeployed, r1)
	f.addHost(macD, "d", "10.0.0.4", inventory.StateActive, r2)
	f.putConfig("hosts", "rack=r1", hostsConfig)
	f.putConfig("motd", "rack=r2", "- kind: file\n  name: /etc/motd\n  content: \"{{.Host.Hostname}} in {{.Host.Labels.rack}}\"\n")
	f.settle()
	want := hostsBody("10.0.0.1 a", "10.0.0.2 b")
	for _, mac := range []string{macA, macB, macC} {
		if got := f.body(mac, "hosts"); got != want {
			t.Fatalf("%s: %q, want %q", mac, got, want)
		}
	}
	if got := f.body(macD, "motd"); !strings.Contains(got, `"d in r2"`) || len(f.graph(macD).Configs) != 1 {
		t.Fatalf("d: %q", got)
	}
	rackR1 := []string{macA, macB, macC}

	if _, err := f.db.Transition(context.Background(), macC, inventory.StateActive, "test", "test"); err != nil {
		t.Fatal(err)
	}
	if rendered, woken := f.settle(); !slices.Equal(rendered, rackR1) || !slices.Equal(woken, rackR1) {
		t.Fatalf("c becomes active: rendered %v, woken %v; want the rack, %v", rendered, woken, rackR1)
	}
	if got := f.body(macA, "hosts"); got != hostsBody("10.0.0.1 a", "10.0.0.2 b", "10.0.0.3 c") {
		t.Fatalf("after c became active: %q", got)
	}

	f.update(macB, func(h *inventory.Host) { h.IP = "10.0.0.22" })
	if rendered, woken := f.settle(); !slices.Equal(rendered, rackR1) || !slices.Equal(woken, rackR1) {
		t.Fatalf("b changes IP: rendered %v, woken %v", rendered, woken)
	}
	// A member's fields are read as a whole: b's facts re-render the rack,
	// which comes out the same and wakes nobody.
	f.update(macB, func(h *inventory.Host) { h.Facts = &inventory.Facts{CPUs: 8} })
	if rendered, woken := f.settle(); !slices.Equal(rendered, rackR1) || len(woken) != 0 {
		t.Fatalf("b's facts: rendered %v, woken %v; want the rack rendered, nobody woken", rendered, woken)
	}
	f.update(macD, func(h *inventory.Host) { h.Facts = &inventory.Facts{CPUs: 8} })
	if rendered, woken := f.settle(); len(rendered) != 0 || len(woken) != 0 {
		t.Fatalf("d's facts, which no render reads: rendered %v, woken %v", rendered, woken)
	}
	f.update(macD, func(h *inventory.Host) { h.IP = "10.0.0.44" })
	if rendered, woken := f.settle(); len(rendered) != 0 {
		t.Fatalf("d's IP, which no render reads: rendered %v, woken %v", rendered, woken)
	}
	f.update(macD, func(h *inventory.Host) { h.Hostname = "dd" })
	if rendered, woken := f.settle(); !slices.Equal(rendered, []string{macD}) || !slices.Equal(woken, []string{macD}) {
		t.Fatalf("d's hostname, which only d's render reads: rendered %v, woken %v", rendered, woken)
	}
	// A new label on a member re-renders the rack (a's labels pick its
	// configs, and members are read whole); nothing changes for anyone.
	f.update(macA, func(h *inventory.Host) { h.Labels["row"] = "7" })
	if rendered, woken := f.settle(); !slices.Equal(rendered, rackR1) || len(woken) != 0 {
		t.Fatalf("a new label on a: rendered %v, woken %v", rendered, woken)
	}
	// An agent's report changes nothing a template sees.
	f.update(macA, func(h *inventory.Host) {
		h.Agent = &inventory.AgentStatus{AgentReport: machineapi.AgentReport{Status: "converged"}}
	})
	if rendered, _ := f.settle(); len(rendered) != 0 {
		t.Fatalf("an agent report: rendered %v", rendered)
	}

	if _, err := f.db.Transition(context.Background(), macA, inventory.StateReady, "release", "test"); err != nil {
		t.Fatal(err)
	}
	if rendered, woken := f.settle(); !slices.Equal(woken, rackR1) || len(rendered) != 3 {
		t.Fatalf("a leaves: rendered %v, woken %v", rendered, woken)
	}
	if got := f.body(macC, "hosts"); got != hostsBody("10.0.0.22 b", "10.0.0.3 c") {
		t.Fatalf("after a left: %q", got)
	}
	if err := f.db.DeleteHost(context.Background(), macB, "test"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	if got := f.body(macC, "hosts"); got != hostsBody("10.0.0.3 c") {
		t.Fatalf("after b was deleted: %q", got)
	}
	if _, err := f.g.Wait(context.Background(), macB, ""); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("graph of a deleted host: %v", err)
	}
}

// TestWaitAnswersNewVersions: Wait holds a poll at the version the agent
// has and answers as soon as a new one renders.
func TestWaitAnswersNewVersions(t *testing.T) {
	f := newFleetTest(t)
	f.addHost(macA, "a", "10.0.0.1", inventory.StateActive, map[string]string{"rack": "r1"})
	f.settle()
	empty := f.graph(macA)
	if len(empty.Configs) != 0 || empty.Version == "" {
		t.Fatalf("no config: %+v", empty)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := f.g.Wait(ctx, macA, empty.Version); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait at the current version: %v, want the deadline", err)
	}
	got := make(chan machineapi.Graph, 1)
	go func() {
		g, _ := f.g.Wait(context.Background(), macA, empty.Version)
		got <- g
	}()
	f.putConfig("hosts", "rack=r1", hostsConfig)
	select {
	case g := <-got:
		if len(g.Configs) != 1 || g.Configs[0].Body != hostsBody("10.0.0.1 a") {
			t.Fatalf("woken with %+v", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait not answered within 10 s of the config")
	}
}

// TestPublishedValues: value reads what another host published, and a
// new value re-renders the hosts that read it.
func TestPublishedValues(t *testing.T) {
	f := newFleetTest(t)
	mesh := map[string]string{"mesh": "wg"}
	f.addHost(macA, "a", "10.0.0.1", inventory.StateActive, mesh)
	f.addHost(macB, "b", "10.0.0.2", inventory.StateActive, mesh)
	f.addHost(macC, "c", "10.0.0.3", inventory.StateActive, nil)
	f.putConfig("peers", "mesh=wg", "- kind: file\n  name: /peers\n  content: |\n"+
		"    {{- range $p := hosts \"mesh=wg\"}}{{if ne $p.MAC $.Host.MAC}}\n    {{$p.Hostname}} {{value $p.MAC \"key\" | quote}}{{end}}{{end}}\n")
	f.settle()
	if got := f.body(macA, "peers"); !strings.Contains(got, `b ""`) {
		t.Fatalf("before b publishes: %q", got)
	}
	f.db.PublishValue(context.Background(), inventory.PublishedValue{MAC: macB, Key: "key", Value: "bbb="}, "agent")
	if rendered, woken := f.settle(); !slices.Equal(rendered, []string{macA}) || !slices.Equal(woken, []string{macA}) {
		t.Fatalf("b publishes: rendered %v, woken %v; want a only", rendered, woken)
	}
	if got := f.body(macA, "peers"); !strings.Contains(got, `b "bbb="`) {
		t.Fatalf("after b published: %q", got)
	}
	f.db.PublishValue(context.Background(), inventory.PublishedValue{MAC: macB, Key: "other", Value: "x"}, "agent")
	if rendered, _ := f.settle(); len(rendered) != 0 {
		t.Fatalf("a key nobody reads: rendered %v", rendered)
	}
	f.db.PublishValue(context.Background(), inventory.PublishedValue{MAC: macC, Key: "key", Value: "ccc"}, "agent")
	if rendered, _ := f.settle(); len(rendered) != 0 {
		t.Fatalf("a host outside the mesh publishes: rendered %v", rendered)
	}
}

// TestRenderFailureKeepsLastGraph: a config that stops rendering for a
// host leaves it its last good graph, and the host shows why, naming the
// config, the line and the function; when it renders again the failure
// goes.
func TestRenderFailureKeepsLastGraph(t *testing.T) {
	f := newFleetTest(t)
	f.addHost(macA, "a", "10.0.0.1", inventory.StateActive, map[string]string{"role": "web"})
	f.putConfig("motd", "role=web", "- kind: file\n  name: /etc/motd\n  content: hi\n")
	f.settle()
	good := f.graph(macA)
	f.putConfig("motd", "role=web", "- kind: file\n  name: /etc/motd\n  content: |\n    {{value \"db1\" \"version\"}}\n")
	if _, woken := f.settle(); len(woken) != 0 {
		t.Fatalf("a config that fails woke %v", woken)
	}
	if g := f.graph(macA); g.Version != good.Version {
		t.Fatalf("graph after the failure: %+v, want the last good one", g)
	}
	h := f.waitHost(macA, func(h inventory.Host) bool { return h.RenderFailure != nil })
	rf := h.RenderFailure
	if rf.Config != "motd" || rf.Graph != good.Version || !strings.Contains(rf.Error, "line 4:7:") ||
		!strings.Contains(rf.Error, `<value "db1" "version">`) || !strings.Contains(rf.Error, `no host is named "db1"`) {
		t.Fatalf("failure: %+v", rf)
	}
	ev, _ := f.db.Events(context.Background(), macA, 1)
	if ev[0].Type != EventRender || !strings.Contains(ev[0].Cause, "config motd does not render") {
		t.Fatalf("event: %+v", ev[0])
	}
	// The host it names appears: the render reads it, and works.
	f.addHost(macB, "db1", "10.0.0.9", inventory.StateDeployed, nil)
	f.db.PublishValue(context.Background(), inventory.PublishedValue{MAC: macB, Key: "version", Value: "16.4"}, "agent")
	f.settle()
	f.waitHost(macA, func(h inventory.Host) bool { return h.RenderFailure == nil })
	if got := f.body(macA, "motd"); !strings.Contains(got, "    16.4\n") {
		t.Fatalf("after db1 published: %q", got)
	}
	// Rendered YAML that the agent would refuse is a failure too.
	f.putConfig("motd", "role=web", "- kind: file\n  name: /etc/motd\n  content: {{value \"db1\" \"version\"}}\n  bogus: 1\n")
	h = f.waitHost(macA, func(h inventory.Host) bool { return h.RenderFailure != nil })
	if !strings.Contains(h.RenderFailure.Error, "rendered YAML: line 4:3") {
		t.Fatalf("failure: %+v", h.RenderFailure)
	}
}

func (f *fleetTest) waitHost(mac string, cond func(inventory.Host) bool) inventory.Host {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := f.db.Host(context.Background(), mac)
		if err == nil && cond(h) {
			return h
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("host %s: condition not met within 10 s: %+v (%v)", mac, h.RenderFailure, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
