package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// poll is how often expectations look again.
const poll = 2 * time.Second

// Run carries out a spec in a new lab made from base (its Dir and
// Binary; the VMs come from the spec) and removes the lab after, unless
// keep. A failed setup step or expectation is a failed case of the
// Report; the error is for a lab that could not be built at all.
func Run(ctx context.Context, s *Spec, base Config, keep bool, progress io.Writer) (*Report, error) {
	r := &Report{Suite: s.Name, Started: time.Now()}
	base.VMs, base.NoPowerOn = 0, true
	l, err := Up(ctx, base, progress)
	if err != nil {
		return r, err
	}
	if !keep {
		defer l.Down()
	}
	t := &run{l: l, s: s, r: r}
	if t.setup(ctx) {
		t.vms(ctx)
	}
	return r, ctx.Err()
}

type run struct {
	l  *Lab
	s  *Spec
	mu sync.Mutex
	r  *Report
}

// step runs one case and records it; it reports whether it passed.
func (t *run) step(class, name string, v *VM, f func() error) bool {
	start := time.Now()
	err := f()
	c := Case{Class: class, Name: name, Elapsed: time.Since(start)}
	if err != nil {
		c.Failure = err.Error()
		if v != nil {
			c.Detail = t.detail(*v)
		}
	}
	t.mu.Lock()
	t.r.Cases = append(t.r.Cases, c)
	t.mu.Unlock()
	t.l.say("%s  %s: %s", verdict(err), class, name)
	if err != nil {
		t.l.say("      %s", err)
	}
	return err == nil
}

func verdict(err error) string {
	if err != nil {
		return "FAIL"
	}
	return "ok  "
}

// detail is what a failure carries: the console's end and the host's
// events.
func (t *run) detail(v VM) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- last 40 lines of %s's serial console (%s)\n%s\n", v.Name, v.Console(), ConsoleTail(v, 40))
	ev, err := t.l.Events(context.Background(), v.MAC)
	fmt.Fprintf(&b, "--- events of %s (%s)\n", v.Name, v.MAC)
	if err != nil {
		fmt.Fprintf(&b, "(cannot read them: %v)\n", err)
	}
	for _, e := range ev {
		fmt.Fprintf(&b, "%s %s %s→%s %s\n", e.Time.Format(time.RFC3339), e.Type, e.From, e.To, e.Cause)
	}
	return b.String()
}

// setup imports, applies and creates; it reports whether all went well.
func (t *run) setup(ctx context.Context) bool {
	ok := true
	for _, im := range t.s.Images {
		ok = t.step("setup", "import image "+im.Name, nil, func() error {
			return t.cli(ctx, "image", "import", t.s.path(im.File), "--name", im.Name)
		}) && ok
	}
	for _, c := range t.s.Configs {
		ok = t.step("setup", "apply config "+c.Name, nil, func() error {
			return t.cli(ctx, withSelector([]string{"config", "apply", t.s.path(c.File), "--name", c.Name}, c.Selector)...)
		}) && ok
	}
	for _, c := range t.s.UserData {
		ok = t.step("setup", "apply user-data "+c.Name, nil, func() error {
			return t.cli(ctx, withSelector([]string{"user-data", "apply", t.s.path(c.File), "--name", c.Name}, c.Selector)...)
		}) && ok
	}
	for i, sv := range t.s.VMs {
		ok = t.step("setup", "create "+sv.Name, nil, func() error {
			_, err := t.l.AddVM(ctx, VMSpec{Index: i + 1, Name: sv.Name, Firmware: sv.Firmware, MemoryMB: sv.memoryMB, DiskBytes: sv.diskBytes,
				Hostname: sv.Name, Labels: sv.Labels})
			return err
		}) && ok
	}
	return ok
}

func withSelector(args []string, sel string) []string {
	if sel != "" {
		args = append(args, "--selector", sel)
	}
	return args
}

func (t *run) cli(ctx context.Context, args ...string) error {
	out, err := t.l.CLI(ctx, nil, args...)
	if err != nil {
		return fmt.Errorf("rackboot %s: %v: %s", strings.Join(args[:2], " "), err, strings.TrimSpace(out))
	}
	return nil
}

// vms powers every VM on, then each goes its own way in parallel: its
// deploy, then its expectations in order.
func (t *run) vms(ctx context.Context) {
	var wg sync.WaitGroup
	for i, sv := range t.s.VMs {
		v := t.l.VMs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !t.step(v.Name, "power on", &v, func() error { return t.l.Power(ctx, v.MAC, "on") }) {
				return
			}
			if d := sv.Deploy; d != nil && !t.step(v.Name, "deploy "+d.Image, &v, func() error { return t.deploy(ctx, v, d) }) {
				return
			}
			for _, e := range t.s.Expect {
				if e.VM == sv.Name {
					t.step(v.Name, e.describe(), &v, func() error { return t.expect(ctx, v, e) })
				}
			}
		}()
	}
	wg.Wait()
}

// deploy waits for the VM to be ready and deploys it.
func (t *run) deploy(ctx context.Context, v VM, d *SpecDeploy) error {
	if err := t.waitState(ctx, v, inventory.StateReady, d.within); err != nil {
		return err
	}
	args := []string{"host", "deploy", v.MAC, "--image", d.Image}
	if d.SSHKey != "" {
		args = append(args, "--ssh-key", t.s.path(d.SSHKey))
	}
	if d.UserData != "" {
		args = append(args, "--user-data", t.s.path(d.UserData))
	}
	return t.cli(ctx, args...)
}

func (e Expect) describe() string {
	w := " within " + e.within.String()
	switch {
	case e.State != "":
		return "state " + e.State + w
	case e.Console != "":
		return fmt.Sprintf("console shows %q%s", e.Console, w)
	case e.SSH != "":
		return fmt.Sprintf("ssh %q output matches %q%s", e.SSH, e.Output, w)
	case e.File != "":
		return fmt.Sprintf("file %s matches %q%s", e.File, e.Output, w)
	default:
		return "agent converged" + w
	}
}

// expect checks one expectation until it holds or its time is up.
func (t *run) expect(ctx context.Context, v VM, e Expect) error {
	switch {
	case e.State != "":
		st, _ := inventory.ParseState(e.State)
		return t.waitState(ctx, v, st, e.within)
	case e.Console != "":
		return until(ctx, e.within, func() (bool, string) {
			b, _ := os.ReadFile(v.Console())
			return e.pattern.Match(b), "the console does not show it"
		})
	case e.SSH != "" || e.File != "":
		cmd := e.SSH
		if cmd == "" {
			cmd = "cat " + shellQuote(e.File)
		}
		return until(ctx, e.within, func() (bool, string) {
			out, err := t.ssh(ctx, v, e, cmd)
			if err != nil {
				return false, fmt.Sprintf("ssh: %v: %s", err, lastLines(out, 10))
			}
			return e.pattern.MatchString(out), "output:\n" + lastLines(out, 20)
		})
	default:
		return until(ctx, e.within, func() (bool, string) {
			h, err := t.l.Host(ctx, v.MAC)
			if err != nil {
				return false, err.Error()
			}
			if h.Agent == nil {
				return false, "the agent has not reported"
			}
			return h.Agent.Status == machineapi.AgentConverged, fmt.Sprintf("the agent is %s: %s", h.Agent.Status, h.Agent.Message)
		})
	}
}

// waitState waits for the host to reach want; failed ends it early.
func (t *run) waitState(ctx context.Context, v VM, want inventory.State, within time.Duration) error {
	return until(ctx, within, func() (bool, string) {
		h, err := t.l.Host(ctx, v.MAC)
		if err != nil {
			return false, err.Error()
		}
		if h.State == inventory.StateFailed && want != inventory.StateFailed {
			cause := ""
			if h.Failure != nil {
				cause = ": " + h.Failure.Cause
			}
			return false, "failed" + cause
		}
		return h.State == want, fmt.Sprintf("the host is %s", h.State)
	})
}

// ssh runs cmd on the VM from inside the lab's namespace.
func (t *run) ssh(ctx context.Context, v VM, e Expect, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	user := e.User
	if user == "" {
		user = "debian"
	}
	return t.l.Exec(ctx, "ssh", "-i", t.s.path(e.Key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", user+"@"+v.IP, cmd)
}

// until calls check every poll until it holds; at the deadline the
// error says what check saw last.
func until(ctx context.Context, within time.Duration, check func() (bool, string)) error {
	deadline := time.Now().Add(within)
	for {
		ok, why := check()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %s", within, why)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %s", why)
		case <-time.After(poll):
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
