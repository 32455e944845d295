package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// startServeBoot is startServe that also returns the machine-facing URL,
// which the agent talks to.
func startServeBoot(t *testing.T, dataDir string) (api, boot string, stop func() int) {
	t.Helper()
	sv, stop := startServeAt(t, dataDir)
	return sv.APIURL, sv.BootURL, stop
}

// agentE2E is one appliance, one deployed host and its agent.
type agentE2E struct {
	t                *testing.T
	api, boot, dir   string
	mac, file, token string
}

func (e *agentE2E) cli(args ...string) string {
	e.t.Helper()
	out, code := cli(e.t, append(args, "--server", e.api, "--data-dir", e.dir)...)
	if code != 0 {
		e.t.Fatalf("rackboot %v: %d %s", args, code, out)
	}
	return out
}

func (e *agentE2E) host() inventory.Host {
	e.t.Helper()
	var h inventory.Host
	if err := json.Unmarshal([]byte(e.cli("host", "show", e.mac, "-o", "json")), &struct{ Host *inventory.Host }{&h}); err != nil {
		e.t.Fatal(err)
	}
	return h
}

func (e *agentE2E) events() []inventory.Event {
	e.t.Helper()
	var out struct{ Events []inventory.Event }
	c := testClient(e.t, e.api, e.dir)
	if err := c.do(context.Background(), "GET", "/api/v1/hosts/"+e.mac+"/events?limit=1000", nil, &out); err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(out.Events) // oldest first
	return out.Events
}

func readToken(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (e *agentE2E) applyConfig(content string) {
	e.t.Helper()
	yaml := "- kind: file\n  name: " + e.file + "\n  content: " + content + "\n  mode: \"0640\"\n"
	p := filepath.Join(e.t.TempDir(), "motd.yaml")
	os.WriteFile(p, []byte(yaml), 0o600)
	e.cli("config", "apply", p, "--selector", "role=web,site=lab")
}

// waitFor polls cond every 2 ms for up to d and returns how long it took.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func fileIs(path, want string) func() bool {
	return func() bool { b, err := os.ReadFile(path); return err == nil && string(b) == want }
}

// TestAgentEndToEnd runs serve and `rackboot agent` in-process: a config
// selecting a label reaches a deployed host carrying it, drift is undone
// and reported, a config change arrives at once, the first check-in makes
// the host active, and a wrong token is refused.
func TestAgentEndToEnd(t *testing.T) {
	e := &agentE2E{t: t, dir: t.TempDir(), mac: "52:54:00:a6:e0:01", file: filepath.Join(t.TempDir(), "motd")}
	var stop func() int
	e.api, e.boot, stop = startServeBoot(t, e.dir)
	defer stop()

	// A host that the installer has just deployed, labelled for the config.
	c := testClient(t, e.api, e.dir)
	if err := c.do(context.Background(), "POST", "/api/v1/hosts", map[string]any{"mac": e.mac, "state": "deployed",
		"labels": map[string]string{"role": "web", "site": "lab", "rack": "r1"}}, nil); err != nil {
		t.Fatal(err)
	}
	e.applyConfig("hello")
	e.token = strings.Fields(e.cli("host", "agent-token", e.mac))[0] // stdout; stderr says until when

	ctx, cancel := context.WithCancel(context.Background())
	var agentLog syncBuffer
	agentDone := make(chan int, 1)
	go func() {
		agentDone <- run(ctx, []string{"agent", "--server", e.boot, "--token", e.token, "--mac", e.mac,
			"--quiet", "100ms", "--log-format", "json", "--log-level", "debug"}, &agentLog, &agentLog)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", agentLog.String())
		}
	})
	defer func() {
		cancel()
		select {
		case code := <-agentDone:
			if code != 0 {
				t.Errorf("agent exited %d: %s", code, agentLog.String())
			}
		case <-time.After(5 * time.Second):
			t.Errorf("agent still running 5 s after cancel")
		}
	}()

	took := waitFor(t, 10*time.Second, "the file", fileIs(e.file, "hello"))
	t.Logf("config applied %v after the agent started", took)
	if fi, _ := os.Stat(e.file); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", fi.Mode().Perm())
	}
	waitFor(t, 10*time.Second, "converged and active", func() bool {
		h := e.host()
		return h.State == inventory.StateActive && h.Agent != nil && h.Agent.Status == "converged"
	})
	checkHostShow(t, e)

	e.testDrift()
	e.testConfigChange()
	e.testBadToken()
}

func checkHostShow(t *testing.T, e *agentE2E) {
	out := e.cli("host", "show", e.mac)
	for _, want := range []string{"converged at", "file:" + e.file + " ok", "Agent graph:", "→ active"} {
		if !strings.Contains(out, want) {
			t.Errorf("host show lacks %q:\n%s", want, out)
		}
	}
}

// testDrift changes the file behind the agent's back: it is restored, and
// an unconverged report followed by a converged one lands in the log.
func (e *agentE2E) testDrift() {
	t := e.t
	before := len(e.events())
	os.WriteFile(e.file, []byte("tampered"), 0o644)
	took := waitFor(t, 5*time.Second, "the file restored", fileIs(e.file, "hello"))
	t.Logf("drift (content) undone in %v", took)
	waitFor(t, 5*time.Second, "unconverged then converged reported", func() bool {
		var seen []string
		for _, ev := range e.events()[before:] {
			if ev.Type == "agent" {
				seen = append(seen, strings.SplitN(ev.Cause, ":", 2)[0])
			}
		}
		i := slices.Index(seen, "unconverged")
		return i >= 0 && slices.Contains(seen[i:], "converged")
	})
}

// testConfigChange stores a new version through the API and times how
// long it takes to reach the disk of the host (several rounds, so the log
// shows a distribution, not one sample).
func (e *agentE2E) testConfigChange() {
	t := e.t
	var took []time.Duration
	rounds := 10
	if n, err := strconv.Atoi(os.Getenv("RACKBOOT_BENCH_DELIVERY")); err == nil && n > 0 {
		rounds = n // docs/benchmarks.md, "Agent delivery"
	}
	for i := range rounds {
		want := "v" + strconv.Itoa(i)
		start := time.Now()
		e.applyConfig(want)
		waitFor(t, 5*time.Second, "config "+want+" applied", fileIs(e.file, want))
		took = append(took, time.Since(start))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("config change → file on disk (incl. the CLI round trip): min %v, p50 %v, p99 %v, max %v over %d changes",
		took[0], took[len(took)/2], took[len(took)*99/100], took[len(took)-1], len(took))
	waitFor(t, 5*time.Second, "report of the new graph", func() bool {
		h := e.host()
		return h.Agent.Status == "converged" && h.Agent.ConfigError == "" && len(h.Agent.Resources) == 1
	})
}

func (e *agentE2E) testBadToken() {
	t := e.t
	raw, err := base64.RawURLEncoding.DecodeString(e.token)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 0x01 // a changed byte, never the token itself
	bad := base64.RawURLEncoding.EncodeToString(raw)
	for _, tok := range []string{bad, readToken(t, e.dir), ""} {
		req, _ := http.NewRequest("GET", e.boot+"/machine/v1/agent/config?wait=0s&mac="+e.mac, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %.8q…: HTTP %d, want 401", tok, resp.StatusCode)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	code := run(ctx, []string{"agent", "--server", e.boot, "--token", bad, "--mac", e.mac}, &out, &out)
	if code != 1 || !strings.Contains(out.String(), "agent token refused") {
		t.Errorf("agent with a bad token: %d %s", code, out.String())
	}
}

// TestSignalStopsAgent runs the agent as a real process against an
// appliance that is away (it keeps retrying) and stops it with SIGTERM, as
// systemd does.
func TestSignalStopsAgent(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RACKBOOT_TEST_MAIN=agent --server http://127.0.0.1:9 --token x --mac 52:54:00:00:00:01 --log-format text")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "appliance unreachable") {
	}
	go func() {
		for sc.Scan() {
		}
	}()
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("agent exited with %v after SIGTERM", err)
		}
	case <-time.After(2 * time.Second):
		cmd.Process.Kill()
		t.Errorf("agent still running 2 s after SIGTERM")
	}
}
