package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// host is one host of the fleet.
type host struct {
	mac, name, ip string
	r1            bool
}

// fleet is the appliance, the agents and what each r1 file should say.
type fleet struct {
	o      options
	app    *appliance
	agents agents
	base   string
	active []host // the active r1 hosts, by MAC: what every r1 file lists
	r2     []host
}

func bench(ctx context.Context, o options, out io.Writer) error {
	if o.mode == "process" {
		if err := ensureInotify(o.agents+64, out); err != nil {
			return err
		}
	}
	app, err := startAppliance(ctx, o.rackboot, o.dir)
	if err != nil {
		return err
	}
	defer app.stop()
	f := &fleet{o: o, app: app, base: filepath.Join(o.dir, "hosts")}
	tokens, err := f.enrol(ctx)
	if err != nil {
		return err
	}
	if o.mode == "inproc" {
		p, err := newInproc(app.boot)
		if err != nil {
			return err
		}
		f.agents = p
	} else {
		logs := filepath.Join(o.dir, "agents")
		os.MkdirAll(logs, 0o755)
		f.agents = &procs{bin: o.rackboot, boot: app.boot, logs: logs, running: map[string]*exec.Cmd{}}
	}
	defer f.agents.stopAll()
	start := time.Now()
	for _, h := range append(slices.Clone(f.active), f.r2...) {
		if err := f.agents.start(h.mac, tokens[h.mac]); err != nil {
			return err
		}
	}
	if _, err := f.waitRight(ctx, f.wantAll(), 15*time.Minute); err != nil {
		return fmt.Errorf("first graphs: %w", err)
	}
	fmt.Fprintf(out, "%d agents (%s), %d in rack r1: started, active and converged in %v\n", o.agents, o.mode, len(f.active), time.Since(start).Round(time.Millisecond))
	mark := logSize(filepath.Join(o.dir, "serve.log"))
	lat, err := f.changes(ctx)
	if err != nil {
		return err
	}
	for _, kind := range []string{"all", "active", "ip", "leave"} {
		fmt.Fprintf(out, "change → every r1 file right (%s, %d changes, %d files): %s\n", kind, len(lat[kind]), len(f.active), summary(lat[kind]))
	}
	if d := lat["delivered"]; len(d) > 0 {
		fmt.Fprintf(out, "change → every r1 agent's engine has its new graph (%d changes): %s\n", len(d), summary(d))
	}
	if rounds := renderRounds(filepath.Join(o.dir, "serve.log"), mark); len(rounds) > 0 {
		fmt.Fprintf(out, "appliance render rounds during the changes (%d): %s\n", len(rounds), summary(rounds))
	}
	return measureIdle(ctx, f, out)
}

// enrol creates the hosts (deployed, so each agent's first report makes
// it active) and their tokens, 16 at a time, and stores the configs.
func (f *fleet) enrol(ctx context.Context) (map[string]string, error) {
	nR1 := int(float64(f.o.agents)*f.o.selected + 0.5)
	var all []host
	for i := range f.o.agents {
		h := host{mac: fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", 0xf1, i>>16&0xff, i>>8&0xff, i&0xff), name: fmt.Sprintf("r1-node%04d", i),
			ip: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), r1: i < nR1}
		if !h.r1 {
			h.name, h.ip = fmt.Sprintf("r2-node%04d", i), fmt.Sprintf("10.2.%d.%d", i/250, i%250+1)
			f.r2 = append(f.r2, h)
		} else {
			f.active = append(f.active, h)
		}
		all = append(all, h)
	}
	tokens := make(map[string]string, len(all))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, h := range all {
		g.Go(func() error {
			tok, err := f.add(gctx, h)
			mu.Lock()
			tokens[h.mac] = tok
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	hosts, err := os.ReadFile(filepath.Join(f.o.examples, "rack-hosts.yaml"))
	if err != nil {
		return nil, err
	}
	motd := "- kind: file\n  name: /etc/motd\n  content: \"{{.Host.Hostname}} in {{.Host.Labels.rack}}\\n\"\n"
	for name, c := range map[string][2]string{"rack-hosts": {"r1", string(hosts)}, "motd": {"r2", motd}} {
		body := strings.ReplaceAll(c[1], "/etc/", filepath.Join(f.base, "{{.Host.Hostname}}", "etc")+"/")
		in := map[string]any{"selector": map[string]string{"rack": c[0]}, "body": body}
		if err := f.app.do(ctx, "PUT", "/api/v1/configs/"+name, in, nil); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// add enrols one host and returns an agent token for it.
func (f *fleet) add(ctx context.Context, h host) (string, error) {
	rack := "r2"
	if h.r1 {
		rack = "r1"
	}
	body := map[string]any{"mac": h.mac, "hostname": h.name, "ip": h.ip, "state": "deployed", "labels": map[string]string{"rack": rack}}
	if err := f.app.do(ctx, "POST", "/api/v1/hosts", body, nil); err != nil {
		return "", err
	}
	var tok struct{ Token string }
	if err := f.app.do(ctx, "POST", "/api/v1/hosts/"+h.mac+"/agent-token", map[string]bool{}, &tok); err != nil {
		return "", err
	}
	return tok.Token, os.MkdirAll(filepath.Join(f.base, h.name, "etc"), 0o755)
}

func (f *fleet) hostsFile(h host) string { return filepath.Join(f.base, h.name, "etc", "hosts") }

// wantR1 is what every active r1 host's file should say now.
func (f *fleet) wantR1() map[string]string {
	s := "127.0.0.1 localhost\n"
	for _, h := range f.active {
		s += h.ip + " " + h.name + "\n"
	}
	want := make(map[string]string, len(f.active))
	for _, h := range f.active {
		want[f.hostsFile(h)] = s
	}
	return want
}

func (f *fleet) wantAll() map[string]string {
	want := f.wantR1()
	for _, h := range f.r2 {
		want[filepath.Join(f.base, h.name, "etc", "motd")] = h.name + " in r2\n"
	}
	return want
}

// waitRight reads every file until each holds what it should, and returns
// when that was first seen. A pass over 1,000 files takes a few ms, which
// the figures include.
func (f *fleet) waitRight(ctx context.Context, want map[string]string, d time.Duration) (time.Time, error) {
	deadline := time.Now().Add(d)
	pending := make([]string, 0, len(want))
	for p := range want {
		pending = append(pending, p)
	}
	for {
		pending = slices.DeleteFunc(pending, func(p string) bool {
			b, err := os.ReadFile(p)
			return err == nil && string(b) == want[p]
		})
		if len(pending) == 0 {
			return time.Now(), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			got, _ := os.ReadFile(pending[0])
			return time.Time{}, fmt.Errorf("%d files not right after %v; %s holds %q, want %q", len(pending), d, pending[0], got, want[pending[0]])
		}
		time.Sleep(time.Millisecond)
	}
}
