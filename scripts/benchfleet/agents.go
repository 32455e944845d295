package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rackboot/rackboot/agent/client"
	"github.com/rackboot/rackboot/agent/resources"
	agentrun "github.com/rackboot/rackboot/agent/run"
)

// agents runs the fleet's agents, in this process or as processes.
type agents interface {
	start(mac, token string) error
	stop(mac string)
	stopAll()
	// applied is when the agent's engine last took a new graph, if this
	// runner can see it (in process only).
	applied(mac string) (time.Time, bool)
}

// inproc runs each agent as an agentrun.Agent in this process. They share
// one inotify instance and one HTTP transport that keeps a connection per
// agent open, as each process would.
type inproc struct {
	boot string
	w    *resources.Watcher
	http *http.Client

	mu      sync.Mutex
	running map[string]func()
	last    map[string]time.Time // when each agent last applied a graph
}

func newInproc(boot string) (*inproc, error) {
	w, err := resources.NewWatcher()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 0, 10000
	return &inproc{boot: boot, w: w, http: &http.Client{Transport: tr}, running: map[string]func(){}, last: map[string]time.Time{}}, nil
}

func (p *inproc) start(mac, token string) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a := &agentrun.Agent{Client: &client.Client{URL: p.boot, MAC: mac, Token: token, HTTP: p.http},
		Quiet: 50 * time.Millisecond, Watcher: p.w, OnApplied: func(string, error) {
			p.mu.Lock()
			p.last[mac] = time.Now()
			p.mu.Unlock()
		}}
	go func() { defer close(done); a.Run(ctx) }()
	p.mu.Lock()
	p.running[mac] = func() { cancel(); <-done }
	p.mu.Unlock()
	return nil
}

func (p *inproc) applied(mac string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.last[mac]
	return t, ok
}

func (p *inproc) stop(mac string) {
	p.mu.Lock()
	stop := p.running[mac]
	delete(p.running, mac)
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (p *inproc) stopAll() {
	p.mu.Lock()
	var wg sync.WaitGroup
	for mac, stop := range p.running {
		wg.Go(stop)
		delete(p.running, mac)
	}
	p.mu.Unlock()
	wg.Wait()
	p.w.Close()
}

// procs runs each agent as a `rackboot agent` process.
type procs struct {
	bin, boot, logs string

	mu      sync.Mutex
	running map[string]*exec.Cmd
}

func (p *procs) start(mac, token string) error {
	log, err := os.Create(filepath.Join(p.logs, "agent-"+strings.ReplaceAll(mac, ":", "")+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(p.bin, "agent", "--server", p.boot, "--token", token, "--mac", mac, "--quiet", "50ms", "--log-format", "json")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent %s: %w", mac, err)
	}
	p.mu.Lock()
	p.running[mac] = cmd
	p.mu.Unlock()
	return nil
}

func (p *procs) applied(string) (time.Time, bool) { return time.Time{}, false }

func (p *procs) stop(mac string) {
	p.mu.Lock()
	cmd := p.running[mac]
	delete(p.running, mac)
	p.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
}

func (p *procs) stopAll() {
	p.mu.Lock()
	macs := make([]string, 0, len(p.running))
	for mac := range p.running {
		macs = append(macs, mac)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, mac := range macs {
		wg.Go(func() { p.stop(mac) })
	}
	wg.Wait()
}
