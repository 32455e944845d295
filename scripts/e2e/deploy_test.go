package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// testImage builds the test OS image once per test binary run, as
// `make test-image` does, into the repository's build directory.
var testImage struct {
	once    sync.Once
	err     error
	raw, gz string
}

func buildTestImage(t *testing.T) (raw, gz string) {
	t.Helper()
	testImage.once.Do(func() {
		root := repo(t)
		cmd := exec.Command(filepath.Join(root, "scripts", "test-image"))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "BUILD="+filepath.Join(root, "build"))
		if out, err := cmd.CombinedOutput(); err != nil {
			testImage.err = fmt.Errorf("scripts/test-image: %v\n%s", err, out)
			return
		}
		testImage.raw = filepath.Join(root, "build", "test-image.raw")
		testImage.gz = testImage.raw + ".gz"
	})
	if testImage.err != nil {
		t.Fatal(testImage.err)
	}
	return testImage.raw, testImage.gz
}

// importImage imports file under name with the CLI inside the lab.
func (l *lab) importImage(file, name string) {
	l.t.Helper()
	out, err := l.cli(nil, "image", "import", file, "--name", name)
	if err != nil {
		l.t.Fatalf("image import %s: %v\n%s", file, err, out)
	}
	l.t.Logf("%s", strings.TrimSpace(out))
}

// blob is the path of the stored blob of file: the store names blobs by
// the sha256 of the content exactly as imported.
func (l *lab) blob(file string) string {
	l.t.Helper()
	f, err := os.Open(file)
	if err != nil {
		l.t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	p := filepath.Join(l.dataDir, "images", "blobs", "sha256", hex.EncodeToString(h.Sum(nil)))
	if _, err := os.Stat(p); err != nil {
		l.t.Fatalf("stored blob of %s: %v", file, err)
	}
	return p
}

// events returns the host's events, oldest first, through the API.
func (l *lab) events(mac string) []inventory.Event {
	l.t.Helper()
	ev, err := l.Events(context.Background(), mac)
	if err != nil {
		l.t.Fatalf("events of %s: %v", mac, err)
	}
	return ev
}

// findEvent waits up to d for an event of type typ after seq.
func (l *lab) findEvent(mac, typ string, after uint64, d time.Duration) (inventory.Event, bool) {
	deadline := time.Now().Add(d)
	for {
		for _, e := range l.events(mac) {
			if e.Type == typ && e.Seq > after {
				return e, true
			}
		}
		if time.Now().After(deadline) {
			return inventory.Event{}, false
		}
		time.Sleep(time.Second)
	}
}

// waitConsole waits up to d for line on the VM's console.
func waitConsole(t *testing.T, l *lab, v vm, line string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(filepath.Join(v.dir, "console.log"))
		if strings.Contains(string(b), line) {
			return true
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("%s: console lacks %q after %v", v.mac, line, d)
	l.dump(v.dir)
	return false
}

// deploy asks for a deploy with the CLI and returns the last event's seq
// before it and the time it was asked.
func (l *lab) deploy(mac, image string) (uint64, time.Time) {
	l.t.Helper()
	var seq uint64
	if ev := l.events(mac); len(ev) > 0 {
		seq = ev[len(ev)-1].Seq
	}
	start := time.Now()
	if out, err := l.cli(nil, "host", "deploy", mac, "--image", image); err != nil {
		l.t.Fatalf("host deploy %s: %v\n%s", mac, err, out)
	}
	return seq, start
}

// bootScripts returns the boot scripts serve.log shows it gave mac.
func (l *lab) bootScripts(mac string) []string {
	f, err := os.Open(filepath.Join(l.dir, "serve.log"))
	if err != nil {
		l.t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m struct{ Msg, MAC, Script, State string }
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Msg == "boot script" && strings.EqualFold(m.MAC, mac) {
			out = append(out, m.State+":"+m.Script)
		}
	}
	return out
}

// TestDeploy netboots a SeaBIOS and an OVMF VM to ready, deploys the test
// image to each through the CLI (gzip-compressed for one, raw for the
// other), and checks each boots from its own disk: deployed, a first-boot
// report, the image's console line, and a localboot answer on the PXE path.
// On each deployed host the agent then checks in, converges the lab's
// config and undoes a change typed on the host's console (checkAgent);
// the SeaBIOS one is last released with a quick wipe (checkReleaseWipe).
func TestDeploy(t *testing.T) {
	needLab(t)
	raw, gz := buildTestImage(t)
	l := newLab(t)
	l.importImage(gz, "testos-gz")
	l.importImage(raw, "testos")
	l.applyE2EConfig()
	vms := []vm{l.addVM(1, "bios"), l.addVM(2, "uefi")}
	images := map[string]string{"bios": "testos-gz", "uefi": "testos"}
	for _, v := range vms {
		l.power(v.mac, "on")
	}
	var wg sync.WaitGroup
	for _, v := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.waitState(v.mac, inventory.StateReady, 6*time.Minute, v.dir)
			seq, start := l.deploy(v.mac, images[v.firmware])
			l.waitState(v.mac, inventory.StateDeployed, 10*time.Minute, v.dir)
			deployed := time.Since(start)
			booted := waitConsole(t, l, v, "rackboot-testimage: booted from disk "+v.firmware, 6*time.Minute)
			fromDisk := time.Since(start)
			t.Logf("%s (%s, %s): deploy→deployed %v, deploy→booted from disk (console) %v", v.mac, v.firmware,
				images[v.firmware], deployed.Round(100*time.Millisecond), fromDisk.Round(100*time.Millisecond))
			if !booted {
				return
			}
			if fb, ok := l.findEvent(v.mac, "first-boot", seq, 90*time.Second); ok {
				t.Logf("%s (%s): deploy→first-boot event %v: %s", v.mac, v.firmware, time.Since(start).Round(100*time.Millisecond), fb.Cause)
			} else {
				t.Errorf("%s: booted from disk but no first-boot event within 90 s of it", v.mac)
			}
			checkDeployEvents(t, l, v, seq)
			if s := l.bootScripts(v.mac); len(s) == 0 || !strings.HasSuffix(s[len(s)-1], ":localboot") {
				t.Errorf("%s: boot scripts %v, want the last one localboot", v.mac, s)
			} else {
				t.Logf("%s: boot scripts %v", v.mac, s)
			}
			checkAgent(t, l, v, start)
			if v.firmware == "bios" && !t.Failed() {
				checkReleaseWipe(t, l, v)
			}
		}()
	}
	wg.Wait()
	for _, v := range vms {
		l.power(v.mac, "off")
	}
}

// eventStep names an event for an order check: "from→to" for a
// transition, its type otherwise.
func eventStep(e inventory.Event) string {
	if e.Type == "transition" {
		return string(e.From) + "→" + string(e.To)
	}
	return e.Type
}

// checkOrder wants the steps of mac's events after seq, with repeats and
// the steps in skip left out, to contain want in order.
func checkOrder(t *testing.T, l *lab, mac string, seq uint64, want []string, skip ...string) {
	t.Helper()
	var got []string
	for _, e := range l.events(mac) {
		s := eventStep(e)
		if e.Seq <= seq || slices.Contains(skip, s) || (len(got) > 0 && got[len(got)-1] == s) {
			continue
		}
		got = append(got, s)
	}
	i := 0
	for _, s := range got {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Errorf("%s: events %v, want in order %v", mac, got, want)
	}
}

// checkDeployEvents wants, after seq: ready→deploying, deploying→deployed
// and first-boot, in that order, and the installer's progress on the host
// (not in its log) at the whole image.
func checkDeployEvents(t *testing.T, l *lab, v vm, seq uint64) {
	times := map[string]time.Time{}
	for _, e := range l.events(v.mac) {
		if e.Seq <= seq {
			continue
		}
		if _, ok := times[eventStep(e)]; !ok {
			times[eventStep(e)] = e.Time
		}
		if e.Type == "deploy-progress" {
			t.Errorf("%s: a progress report in the event log: %+v", v.mac, e)
		}
	}
	checkOrder(t, l, v.mac, seq, []string{"ready→deploying", "deploying→deployed", "first-boot"})
	if h, err := l.host(v.mac); err != nil || h.Progress == nil || h.Progress.Total == 0 || h.Progress.Written != h.Progress.Total {
		t.Errorf("%s: progress on the host %+v (%v), want the whole image written", v.mac, h.Progress, err)
	} else {
		t.Logf("%s: progress %d of %d bytes, last rate %d B/s", v.mac, h.Progress.Written, h.Progress.Total, h.Progress.RateBPS)
	}
	if a, b, c := times["ready→deploying"], times["deploying→deployed"], times["first-boot"]; !a.IsZero() && !b.IsZero() && !c.IsZero() {
		t.Logf("%s (%s) by event times: deploying→deployed %v, →first-boot %v", v.mac, v.firmware, b.Sub(a).Round(100*time.Millisecond), c.Sub(a).Round(100*time.Millisecond))
	}
}

// TestDeployFaults deploys one SeaBIOS VM with an image whose stored blob
// was damaged after import: one flipped byte (the installer's verification
// must fail it), then, on retry, cut short (the stream must fail as
// truncated); with the blob restored, a last retry deploys and boots.
func TestDeployFaults(t *testing.T) {
	needLab(t)
	raw, _ := buildTestImage(t)
	l := newLab(t)
	l.importImage(raw, "testos")
	blob := l.blob(raw)
	good, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		os.Chmod(blob, 0o644)
		if err := os.WriteFile(blob, good, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(restore)
	v := l.addVM(1, "bios")
	l.power(v.mac, "on")
	l.waitState(v.mac, inventory.StateReady, 6*time.Minute, v.dir)

	// One flipped byte, in the middle of the image.
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0x01
	os.Chmod(blob, 0o644)
	if err := os.WriteFile(blob, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	l.deploy(v.mac, "testos")
	h := l.waitState(v.mac, inventory.StateFailed, 5*time.Minute, v.dir)
	t.Logf("flipped byte: %s", lastCause(l, v.mac))
	if c := lastCause(l, v.mac); !strings.Contains(c, "checksum mismatch") {
		t.Errorf("cause %q (host %+v), want a checksum mismatch", c, h.State)
	}

	// Retry with the blob cut to two thirds.
	if err := os.WriteFile(blob, good[:len(good)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	seq := l.events(v.mac)[len(l.events(v.mac))-1].Seq
	if out, err := l.cli(nil, "host", "retry", v.mac); err != nil {
		t.Fatalf("retry: %v\n%s", err, out)
	}
	waitFailedAfter(t, l, v, seq)
	t.Logf("truncated: %s", lastCause(l, v.mac))
	if c := lastCause(l, v.mac); !strings.Contains(c, "truncated") {
		t.Errorf("cause %q, want a truncated stream", c)
	}

	// Retry with the blob whole: deployed and booted from disk.
	restore()
	seq = l.events(v.mac)[len(l.events(v.mac))-1].Seq
	if out, err := l.cli(nil, "host", "retry", v.mac); err != nil {
		t.Fatalf("retry: %v\n%s", err, out)
	}
	l.waitState(v.mac, inventory.StateDeployed, 10*time.Minute, v.dir)
	waitConsole(t, l, v, "rackboot-testimage: booted from disk bios", 6*time.Minute)
	l.power(v.mac, "off")
}

// waitFailedAfter waits for a transition to failed after seq.
func waitFailedAfter(t *testing.T, l *lab, v vm, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		for _, e := range l.events(v.mac) {
			if e.Seq > seq && e.Type == "transition" && e.To == inventory.StateFailed {
				return
			}
			if e.Seq > seq && e.Type == "transition" && e.To == inventory.StateDeployed {
				t.Fatalf("%s deployed from a truncated image", v.mac)
			}
		}
		time.Sleep(2 * time.Second)
	}
	l.dump(v.dir)
	t.Fatalf("%s: not failed after retry", v.mac)
}

// lastCause is the cause of the last transition to failed.
func lastCause(l *lab, mac string) string {
	ev := l.events(mac)
	for i := len(ev) - 1; i >= 0; i-- {
		if ev[i].Type == "transition" && ev[i].To == inventory.StateFailed {
			return ev[i].Cause
		}
	}
	return ""
}
