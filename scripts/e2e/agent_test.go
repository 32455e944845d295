package e2e

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// The config every lab VM gets through its lab=e2e label: a directory and
// a file in it, the file requiring the directory; and a file rendered for
// each host from the inventory, named by its hostname and holding its
// hostname and IP.
const (
	e2eDir     = "/etc/rackboot-e2e"
	e2eFile    = e2eDir + "/motd"
	e2eContent = "managed by rackboot"
	e2eConfig  = `- kind: file
  name: ` + e2eDir + `
  state: directory
- kind: file
  name: ` + e2eFile + `
  content: "` + e2eContent + `"
  mode: "0644"
  require: [file:` + e2eDir + `]
- kind: file
  name: ` + e2eDir + `/{{.Host.Hostname}}.host
  content: "{{.Host.Hostname}} {{.Host.IP}}\n"
  require: [file:` + e2eDir + `]
`
)

// renderedFile is the rendered file of a lab VM and what it holds.
func renderedFile(v vm) (path, content string) {
	return e2eDir + "/" + v.hostname + ".host", v.hostname + " " + v.ip
}

// applyE2EConfig stores the lab's agent config with the CLI.
func (l *lab) applyE2EConfig() {
	l.t.Helper()
	p := filepath.Join(l.dir, "e2e-config.yaml")
	if err := os.WriteFile(p, []byte(e2eConfig), 0o644); err != nil {
		l.t.Fatal(err)
	}
	if out, err := l.cli(nil, "config", "apply", p, "--name", "e2e", "--selector", "lab=e2e"); err != nil {
		l.t.Fatalf("config apply: %v\n%s", err, out)
	}
}

// typeConsole types line (and Enter) into the VM's serial console, where
// the test image runs a shell after its init.
func typeConsole(t *testing.T, v vm, line string) {
	t.Helper()
	c, err := net.Dial("unix", v.console)
	if err != nil {
		t.Fatalf("%s: console socket: %v", v.mac, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("%s: type into console: %v", v.mac, err)
	}
	time.Sleep(200 * time.Millisecond) // let QEMU take it before the hangup
}

// readOnHost prints the managed file on the VM's console between markers
// and waits to see it there, so what is checked is what the host's own
// shell reads, not what the agent reports.
func readOnHost(t *testing.T, l *lab, v vm, tag string) bool {
	t.Helper()
	rendered, content := renderedFile(v)
	typeConsole(t, v, `echo "`+tag+`:$(cat `+e2eFile+`):$(stat -c %a `+e2eFile+`):$(cat `+rendered+`):END"`)
	return waitConsole(t, l, v, tag+":"+e2eContent+":644:"+content+":END", 60*time.Second)
}

// checkAgent is the agent's end to end on a deployed VM: the test image
// ran `rackboot agent`, which checked in (active) and converged the lab's
// config; the files are on the host, the rendered one holding the host's
// own inventory hostname and IP; a change made there through the console
// is undone, and the agent's unconverged → converged reports reach the
// host's events.
func checkAgent(t *testing.T, l *lab, v vm, start time.Time) {
	want := "file:" + e2eFile
	rendered, _ := renderedFile(v)
	ok := func(h inventory.Host, res string) bool {
		return slices.ContainsFunc(h.Agent.Resources, func(r inventory.ResourceStatus) bool { return r.Resource == res && r.State == "ok" })
	}
	var h inventory.Host
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var err error
		h, err = l.host(v.mac)
		if err == nil && h.State == inventory.StateActive && h.Agent != nil && h.Agent.Status == "converged" &&
			ok(h, want) && ok(h, "file:"+rendered) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: not active and converged with %s ok after 5 min: state %s, agent %+v (err %v)", v.mac, want, h.State, h.Agent, err)
			l.dump(v.dir)
			return
		}
		time.Sleep(time.Second)
	}
	t.Logf("%s (%s): deploy→active and converged %v: %d resources", v.mac, v.firmware, time.Since(start).Round(100*time.Millisecond), len(h.Agent.Resources))
	if !readOnHost(t, l, v, "E2E-BEFORE") {
		return
	}

	before := l.events(v.mac)
	seq := before[len(before)-1].Seq
	applies := resourceApplies(h, want)
	tampered := time.Now()
	typeConsole(t, v, "echo tampered by hand > "+e2eFile+" && chmod 600 "+e2eFile+" && echo E2E-TAMPERED")
	if !waitConsole(t, l, v, "\nE2E-TAMPERED", 60*time.Second) {
		return
	}
	var converged inventory.Event
	deadline = time.Now().Add(2 * time.Minute)
	for converged.Seq == 0 {
		var seen []string
		for _, e := range l.events(v.mac) {
			if e.Seq <= seq || e.Type != "agent" {
				continue
			}
			status, _, _ := strings.Cut(e.Cause, ":")
			seen = append(seen, status)
			if status == "converged" && slices.Contains(seen, "unconverged") {
				converged = e
				break
			}
		}
		if converged.Seq != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: after the change on the host, agent reports %v, want unconverged then converged", v.mac, seen)
			l.dump(v.dir)
			return
		}
		time.Sleep(time.Second)
	}
	t.Logf("%s (%s): change made on the host → converged reported %v (%s)", v.mac, v.firmware,
		converged.Time.Sub(tampered).Round(10*time.Millisecond), converged.Cause)
	h, _ = l.host(v.mac)
	if got := resourceApplies(h, want); got <= applies {
		t.Errorf("%s: %s applied %d times before the change and %d after: the agent did not report its repair", v.mac, want, applies, got)
	}
	readOnHost(t, l, v, "E2E-AFTER")
}

func resourceApplies(h inventory.Host, name string) int {
	if h.Agent == nil {
		return -1
	}
	for _, r := range h.Agent.Resources {
		if r.Resource == name {
			return r.Applies
		}
	}
	return -1
}

// checkReleaseWipe releases a deployed VM with a quick wipe: its BMC
// netboots it into the installer, which re-inspects it and wipes its disk;
// the host ends ready with the wipe done and recorded, and the disk image
// behind the VM no longer has a partition table or the test image's
// filesystems.
func checkReleaseWipe(t *testing.T, l *lab, v vm) {
	seq := l.events(v.mac)[len(l.events(v.mac))-1].Seq
	start := time.Now()
	if out, err := l.cli(nil, "host", "release", v.mac, "--wipe"); err != nil || !strings.Contains(out, "ready") {
		t.Fatalf("host release --wipe: %v\n%s", err, out)
	}
	ev, ok := l.findEvent(v.mac, "wiped", seq, 5*time.Minute)
	if !ok {
		t.Errorf("%s: no wiped event within 5 min of release --wipe", v.mac)
		l.dump(v.dir)
		return
	}
	t.Logf("%s: release --wipe → wiped %v: %s", v.mac, time.Since(start).Round(100*time.Millisecond), ev.Cause)
	if !strings.Contains(ev.Cause, "/dev/vda (gpt, 2 partitions") {
		t.Errorf("wiped %q, want /dev/vda with the test image's gpt and 2 partitions", ev.Cause)
	}
	checkOrder(t, l, v.mac, seq, []string{"active→ready", "ready→inspecting", "inspecting→ready", "wiped"}, "power", "agent")
	if h, _ := l.host(v.mac); h.State != inventory.StateReady || h.Wipe != nil {
		t.Errorf("%s after the wipe: state %s, wipe %+v; want ready with no wipe pending", v.mac, h.State, h.Wipe)
	}
	disk := filepath.Join(v.dir, "disk.raw")
	out, err := exec.Command("blkid", "-p", "-o", "export", disk).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("blkid on the wiped disk: %v, found:\n%s", err, out)
	}
	f, err := os.Open(disk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 2<<20)
	if _, err := f.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	for i, b := range head {
		if b != 0 {
			t.Errorf("byte %d of the wiped disk is %#x", i, b)
			break
		}
	}
}
