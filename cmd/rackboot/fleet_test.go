package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// fleet is one in-process `rackboot serve` on loopback and `rackboot
// agent` processes (this test binary, re-executed) long-polling it, each
// with its own host and token, each writing under base/<hostname>.
type fleet struct {
	t              *testing.T
	api, boot, dir string
	base           string // where the agents' files go
	c              *apiClient

	mu     sync.Mutex
	agents map[string]*agentProc // by MAC
}

func newAgentFleet(t *testing.T) *fleet {
	f := &fleet{t: t, dir: t.TempDir(), base: t.TempDir(), agents: map[string]*agentProc{}}
	var stop func() int
	f.api, f.boot, stop = startServeBoot(t, f.dir)
	t.Cleanup(func() {
		f.stopAll()
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d", code)
		}
	})
	f.c = testClient(t, f.api, f.dir) // trusts the appliance's certificate as the CLI does
	return f
}

// host is a host of the test fleet.
type host struct {
	mac, name, ip string
	labels        map[string]string
}

// add enrols h as deployed (so its agent's first report makes it
// active), creates base/<hostname>/etc for its files, and returns an
// agent token for it.
func (f *fleet) add(h host) string {
	f.t.Helper()
	body := map[string]any{"mac": h.mac, "hostname": h.name, "ip": h.ip, "state": "deployed", "labels": h.labels}
	if err := f.c.do(context.Background(), "POST", "/api/v1/hosts", body, nil); err != nil {
		f.t.Fatalf("add %s: %v", h.mac, err)
	}
	var tok struct{ Token string }
	if err := f.c.do(context.Background(), "POST", "/api/v1/hosts/"+h.mac+"/agent-token", map[string]bool{}, &tok); err != nil {
		f.t.Fatalf("agent token of %s: %v", h.mac, err)
	}
	if err := os.MkdirAll(filepath.Join(f.base, h.name, "etc"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	return tok.Token
}

// example is a config of docs/examples with its paths moved under
// base/<hostname>, so that every agent on this one machine writes its own.
func (f *fleet) example(name string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", name))
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "/etc/", filepath.Join(f.base, "{{.Host.Hostname}}", "etc")+"/")
}

func (f *fleet) apply(name, selector, body string) {
	f.t.Helper()
	p := filepath.Join(f.t.TempDir(), name+".yaml")
	os.WriteFile(p, []byte(body), 0o600)
	if out, code := cli(f.t, "config", "apply", p, "--selector", selector, "--server", f.api, "--data-dir", f.dir); code != 0 {
		f.t.Fatalf("config apply %s: %s", name, out)
	}
}

// agentProc is one `rackboot agent` process.
type agentProc struct {
	mac  string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func (f *fleet) start(mac, token string) *agentProc {
	f.t.Helper()
	p := &agentProc{mac: mac, log: filepath.Join(f.dir, "agent-"+strings.ReplaceAll(mac, ":", "")+".log"), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		f.t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = append(os.Environ(), "RACKBOOT_TEST_MAIN=agent --server "+f.boot+" --token "+token+" --mac "+mac+
		" --quiet 50ms --log-format json --log-level debug")
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		f.t.Fatalf("start agent %s: %v", mac, err)
	}
	go func() { p.cmd.Wait(); out.Close(); close(p.done) }()
	f.mu.Lock()
	f.agents[mac] = p
	f.mu.Unlock()
	return p
}

func (p *agentProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (f *fleet) stopAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range f.agents {
		wg.Go(p.stop)
	}
	wg.Wait()
}

// answers counts the agent's graph polls answered with a new graph (a
// wake) and those that ended with none (the appliance's wait ran out).
func (p *agentProc) answers(t *testing.T) (woken, idle int) {
	t.Helper()
	fh, err := os.Open(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Msg     string
			Changed bool
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "graph poll answered" {
			if l.Changed {
				woken++
			} else {
				idle++
			}
		}
	}
	return woken, idle
}

// ensureInotify makes room for n more inotify instances: every agent has
// one, and the kernel's default, 128 per user, is shared by all of root's
// processes. Only root can raise it, which this does (it stays raised).
func ensureInotify(t *testing.T, n int) {
	const knob = "/proc/sys/fs/inotify/max_user_instances"
	b, err := os.ReadFile(knob)
	if err != nil {
		t.Fatal(err)
	}
	limit, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	used := 0
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && l == "anon_inode:inotify" {
			used++
		}
	}
	if limit-used >= n {
		return
	}
	want := used + n + 128
	if err := os.WriteFile(knob, []byte(strconv.Itoa(want)), 0o644); err != nil {
		t.Fatalf("%d agents need %d inotify instances; %d of %d are in use and %s cannot be raised: %v", n, n, used, limit, knob, err)
	}
	t.Logf("raised %s from %d to %d (%d in use) for %d agents", knob, limit, want, used, n)
}

// expectHosts is the rendered rack-hosts example for these active hosts.
func expectHosts(active []host) string {
	s := "127.0.0.1 localhost\n"
	for _, h := range active {
		s += h.ip + " " + h.name + "\n"
	}
	return s
}

// waitFiles waits until each path holds its content and returns when.
func waitFiles(t *testing.T, want map[string]string, d time.Duration, what string) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		bad := ""
		for p, w := range want {
			if b, err := os.ReadFile(p); err != nil || string(b) != w {
				bad = p
				break
			}
		}
		if bad == "" {
			return time.Now()
		}
		if time.Now().After(deadline) {
			got, _ := os.ReadFile(bad)
			t.Fatalf("%s: after %v, %s holds %q, want %q", what, d, bad, got, want[bad])
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFleetHostsFile: 100 agents as processes, 60 of them in rack r1, get
// the rack-hosts example, rendered for each from the live inventory. 50
// changes follow, one at a time: a host becomes active (a new agent checks
// in), an r1 host changes IP, or the host that joined last leaves
// (release). After each, every r1 agent's file is right; the time from
// the change to the last file right is logged (docs/benchmarks.md). The
// 40 agents of rack r2, whose config reads only their own host, answer
// exactly one poll with a graph, their first: none of the changes wakes
// them; and each r1 agent is woken exactly once per change.
func TestFleetHostsFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 100 agent processes")
	}
	const nR1, nR2, changes = 60, 40, 50
	ensureInotify(t, nR1+nR2+8)
	f := newAgentFleet(t)
	var r1, r2 []host
	tokens := map[string]string{}
	for i := range nR1 + nR2 {
		h := host{mac: fmt.Sprintf("52:54:00:f1:%02x:%02x", i/256, i%256), name: fmt.Sprintf("r1-node%02d", i), ip: fmt.Sprintf("10.1.0.%d", i+1),
			labels: map[string]string{"rack": "r1"}}
		if i >= nR1 {
			h.name, h.ip, h.labels = fmt.Sprintf("r2-node%02d", i-nR1), fmt.Sprintf("10.2.0.%d", i-nR1+1), map[string]string{"rack": "r2"}
			r2 = append(r2, h)
		} else {
			r1 = append(r1, h)
		}
		tokens[h.mac] = f.add(h)
	}
	f.apply("rack-hosts", "rack=r1", f.example("rack-hosts.yaml"))
	f.apply("motd", "rack=r2", "- kind: file\n  name: "+f.base+"/{{.Host.Hostname}}/etc/motd\n  content: \"{{.Host.Hostname}} in {{.Host.Labels.rack}}\\n\"\n")
	start := time.Now()
	for _, h := range append(slices.Clone(r1), r2...) {
		f.start(h.mac, tokens[h.mac])
	}
	hostsFile := func(h host) string { return filepath.Join(f.base, h.name, "etc", "hosts") }
	want := map[string]string{}
	for _, h := range r1 {
		want[hostsFile(h)] = expectHosts(r1)
	}
	for _, h := range r2 {
		want[filepath.Join(f.base, h.name, "etc", "motd")] = h.name + " in r2\n"
	}
	waitFiles(t, want, 3*time.Minute, "the first graphs")
	t.Logf("%d agents started, checked in and converged in %v", nR1+nR2, time.Since(start).Round(time.Millisecond))
	base := map[string]int{}
	for _, h := range append(slices.Clone(r1), r2...) {
		base[h.mac], _ = f.agents[h.mac].answers(t)
	}

	active := slices.Clone(r1) // ordered by MAC, as the template's hosts are
	joined := ""               // MAC of the host that joined last and has not left
	lat := map[string][]time.Duration{}
	for i := range changes {
		var kind string
		var t0 time.Time
		switch {
		case i%3 == 0 || (i%3 == 2 && joined == ""): // a host becomes active
			kind = "active"
			h := host{mac: fmt.Sprintf("52:54:00:f3:00:%02x", i), name: fmt.Sprintf("r1-join%02d", i), ip: fmt.Sprintf("10.3.0.%d", i+1),
				labels: map[string]string{"rack": "r1"}}
			f.start(h.mac, f.add(h))
			active = append(active, h)
			joined = h.mac
		case i%3 == 1: // an r1 host changes IP
			kind = "ip"
			k := (i * 7) % nR1
			active[slices.IndexFunc(active, func(h host) bool { return h.mac == r1[k].mac })].ip = fmt.Sprintf("10.9.%d.%d", i, k+1)
			t0 = time.Now()
			if err := f.c.do(context.Background(), "PATCH", "/api/v1/hosts/"+r1[k].mac, map[string]string{"ip": fmt.Sprintf("10.9.%d.%d", i, k+1)}, nil); err != nil {
				t.Fatal(err)
			}
		default: // the host that joined last leaves
			kind = "leave"
			gone := joined
			active = slices.DeleteFunc(active, func(h host) bool { return h.mac == gone })
			joined = ""
			t0 = time.Now()
			if err := f.c.do(context.Background(), "POST", "/api/v1/hosts/"+gone+"/actions/release", map[string]string{}, nil); err != nil {
				t.Fatal(err)
			}
			f.agents[gone].stop() // release ended its token
		}
		want := map[string]string{}
		for _, h := range active {
			want[hostsFile(h)] = expectHosts(active)
		}
		done := waitFiles(t, want, 30*time.Second, fmt.Sprintf("change %d (%s)", i, kind))
		if kind == "active" { // from the check-in that made it active
			var h inventory.Host
			if err := f.c.do(context.Background(), "GET", "/api/v1/hosts/"+joined, nil, &h); err != nil || h.State != inventory.StateActive {
				t.Fatalf("joined host: %v %s", err, h.State)
			}
			t0 = h.StateChangedAt
		}
		lat[kind] = append(lat[kind], done.Sub(t0))
		lat["all"] = append(lat["all"], done.Sub(t0))
	}
	for _, kind := range []string{"all", "active", "ip", "leave"} {
		d := lat[kind]
		slices.Sort(d)
		t.Logf("change → every r1 file right, %s (%d changes, %d files): p50 %v, p99 %v, max %v", kind, len(d), len(active),
			d[len(d)/2].Round(100*time.Microsecond), d[len(d)*99/100].Round(100*time.Microsecond), d[len(d)-1].Round(100*time.Microsecond))
	}
	idleR2 := 0
	for _, h := range r2 {
		woken, idle := f.agents[h.mac].answers(t)
		idleR2 += idle
		if woken != 1 || base[h.mac] != 1 {
			t.Errorf("%s (r2): %d polls answered with a graph (%d before the changes), want exactly 1: its first", h.name, woken, base[h.mac])
		}
	}
	for _, h := range r1 {
		if woken, _ := f.agents[h.mac].answers(t); woken-base[h.mac] != changes {
			t.Errorf("%s (r1): woken %d times by %d changes, want once each", h.name, woken-base[h.mac], changes)
		}
	}
	t.Logf("r2 agents: 1 graph each, %d polls ended by the appliance's wait with nothing new", idleR2)
}

// TestFleetWireGuard runs the WireGuard example across 5 agents (real
// `wg genkey` and `wg pubkey` from wireguard-tools): each makes a key pair
// and exports its public key, and every agent's wg0.conf lists the other
// four as peers with those keys; a sixth host joins and all six files
// list their five peers. No interface is brought up: the files are what
// is checked.
func TestFleetWireGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts agent processes")
	}
	if _, err := exec.LookPath("wg"); err != nil {
		t.Fatal("wg not found: scripts/ci-deps installs wireguard-tools")
	}
	ensureInotify(t, 8)
	f := newAgentFleet(t)
	f.apply("wireguard", "mesh=wg", f.example("wireguard.yaml"))
	var mesh []host
	join := func(i int) {
		h := host{mac: fmt.Sprintf("52:54:00:f4:00:%02x", i), name: fmt.Sprintf("wg%d", i), ip: fmt.Sprintf("10.4.0.%d", i),
			labels: map[string]string{"mesh": "wg", "wg-address": fmt.Sprintf("10.99.0.%d", i)}}
		f.start(h.mac, f.add(h))
		mesh = append(mesh, h)
	}
	check := func(what string) {
		t.Helper()
		keys := map[string]string{}
		for _, h := range mesh { // each key pair, as made on the host
			priv := filepath.Join(f.base, h.name, "etc", "wireguard", "private.key")
			deadline := time.Now().Add(2 * time.Minute)
			for {
				out, err := exec.Command("sh", "-c", "wg pubkey < "+priv).Output()
				if err == nil {
					keys[h.mac] = strings.TrimSpace(string(out))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: no private key at %s after 2 min", h.name, priv)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		want := map[string]string{}
		for _, h := range mesh {
			want[filepath.Join(f.base, h.name, "etc", "wireguard", "wg0.conf")] = wgConf(f.base, h, mesh, keys)
		}
		start := time.Now()
		waitFiles(t, want, 2*time.Minute, what)
		t.Logf("%s: %d wg0.conf files right (%v after the keys were on disk)", what, len(mesh), time.Since(start).Round(time.Millisecond))
	}
	for i := 1; i <= 5; i++ {
		join(i)
	}
	check("5 hosts")
	for _, h := range mesh {
		var vals struct{ Values []inventory.PublishedValue }
		if err := f.c.do(context.Background(), "GET", "/api/v1/hosts/"+h.mac+"/values", nil, &vals); err != nil || len(vals.Values) != 1 || vals.Values[0].Key != "wg-pubkey" {
			t.Fatalf("%s published %+v (%v)", h.name, vals.Values, err)
		}
	}
	join(6)
	check("a sixth joins")
	if fi, err := os.Stat(filepath.Join(f.base, "wg6", "etc", "wireguard", "private.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v, want mode 0600", fi, err)
	}
}

// wgConf is the WireGuard example rendered for h: its interface, then
// every other host of the mesh, by MAC, with its public key.
func wgConf(base string, h host, mesh []host, keys map[string]string) string {
	s := "[Interface]\nAddress = " + h.labels["wg-address"] + "/24\nListenPort = 51820\n" +
		"PostUp = wg set %i private-key " + filepath.Join(base, h.name, "etc", "wireguard", "private.key")
	for _, p := range mesh {
		if p.mac == h.mac {
			continue
		}
		s += "\n\n# " + p.name + "\n[Peer]\nPublicKey = " + keys[p.mac] + "\nEndpoint = " + p.ip + ":51820\nAllowedIPs = " + p.labels["wg-address"] + "/32"
	}
	return s + "\n"
}

// TestREADMEExamples: the worked examples the README shows are the files
// the fleet tests run, word for word.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rack-hosts.yaml", "wireguard.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "```yaml\n"+string(b)+"```\n") {
			t.Errorf("README.md does not show docs/examples/%s as it is", name)
		}
	}
}
