package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	lablib "github.com/rackboot/rackboot/lab"
)

// TestLabUpKillDown runs `rackboot lab up` with one VM in the foreground,
// as an operator would, until `lab status` from another process shows
// the VM ready and the dashboard answers from this machine. Then the
// `up` process is killed with SIGKILL (no chance to clean up) and `lab
// down` must still remove everything: the namespace, the host's end of
// the veth, every process of the lab, and its state file.
func TestLabUpKillDown(t *testing.T) {
	needLab(t)
	bin, vmlinuz, initrd := build(t)
	dir := t.TempDir()
	upLog, err := os.Create(filepath.Join(dir, "..", "up.log"))
	if err != nil {
		t.Fatal(err)
	}
	up := exec.Command(bin, "lab", "up", "--vms", "1", "--dir", dir, "--installer-kernel", vmlinuz, "--installer-initrd", initrd)
	up.Stdout, up.Stderr = upLog, upLog
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- up.Wait() }()
	t.Cleanup(func() {
		up.Process.Kill()
		exec.Command(bin, "lab", "down", "--dir", dir).Run()
	})

	var status string
	for deadline := time.Now().Add(8 * time.Minute); ; time.Sleep(3 * time.Second) {
		out, _ := exec.Command(bin, "lab", "status", "--dir", dir).CombinedOutput()
		status = string(out)
		if statusOf(status, "vm1") == "ready" || time.Now().After(deadline) {
			break
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(upLog.Name())
			t.Fatalf("lab up exited: %v\n%s", err, b)
		default:
		}
	}
	if statusOf(status, "vm1") != "ready" {
		b, _ := os.ReadFile(upLog.Name())
		t.Fatalf("vm1 not ready; lab status:\n%s\nlab up:\n%s\nconsole:\n%s", status, b, tail(filepath.Join(dir, "vm1", "console.log")))
	}
	t.Logf("lab status:\n%s", status)
	l, err := lablib.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, l.DashboardURL()) || !strings.Contains(status, l.TokenFile()) {
		t.Errorf("status lacks the dashboard URL %s or the token file", l.DashboardURL())
	}
	checkDashboardFromHost(t, l)

	up.Process.Kill() // SIGKILL: the lab is left as it was
	<-exited
	if !l.Running() {
		t.Fatal("the lab's namespace went with its up process: nothing left for down to test")
	}
	if out, err := exec.Command(bin, "lab", "down", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("lab down: %v\n%s", err, out)
	}
	checkNothingLeft(t, l)
}

// statusOf is the STATE column of a VM's row in `lab status`.
func statusOf(status, vm string) string {
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) >= 6 && f[0] == vm {
			return f[5]
		}
	}
	return ""
}

// checkDashboardFromHost opens the dashboard from this machine's side of
// the veth, not from inside the namespace, over HTTPS with the lab's
// certificate as the only root (what a browser that trusts it checks:
// chain and address), and logs in with the token.
func checkDashboardFromHost(t *testing.T, l *lablib.Lab) {
	tok, err := l.Token()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.DashboardURL(), "https://") {
		t.Errorf("dashboard URL %s: want https", l.DashboardURL())
	}
	pem, err := os.ReadFile(l.Cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", l.Cert)
	}
	c := http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := c.PostForm(l.API+"/ui/login", map[string][]string{"token": {tok}})
	if err != nil {
		t.Fatalf("dashboard from the host: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("login to %s: %s, cookies %v", l.DashboardURL(), resp.Status, resp.Cookies())
	}
	req, _ := http.NewRequest("GET", l.DashboardURL(), nil)
	for _, ck := range resp.Cookies() {
		req.AddCookie(ck)
	}
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), l.VMs[0].MAC) {
		t.Errorf("dashboard %s after login: %s, the VM's MAC shown: %v", l.DashboardURL(), resp.Status, strings.Contains(string(body), l.VMs[0].MAC))
	}
}

// checkNothingLeft looks for what a lab makes outside its directory.
func checkNothingLeft(t *testing.T, l *lablib.Lab) {
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), l.Namespace) {
		t.Errorf("namespace %s left:\n%s", l.Namespace, out)
	}
	if _, err := os.Stat("/sys/class/net/" + l.Veth); err == nil {
		t.Errorf("veth %s left on the host", l.Veth)
	}
	if out, _ := exec.Command("ip", "-br", "link").Output(); strings.Contains(string(out), "tap") && strings.Contains(string(out), l.Namespace) {
		t.Errorf("taps left:\n%s", out)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), l.Dir) {
			t.Errorf("process left: %s: %s", p, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	if _, err := os.Stat(filepath.Join(l.Dir, lablib.StateFile)); err == nil {
		t.Errorf("state file left")
	}
	if _, err := os.Stat(l.Sockets); err == nil {
		t.Errorf("socket dir %s left", l.Sockets)
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// junitReport is the part of a JUnit report the lab test tests read.
type junitReport struct {
	Suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Class   string `xml:"classname,attr"`
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitReport {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r junitReport
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return r
}

// labTest runs `rackboot lab test` on spec and returns its output and
// exit error.
func labTest(t *testing.T, spec, junit string) (string, error) {
	bin, vmlinuz, initrd := build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "lab", "test", spec, "--junit", junit,
		"--installer-kernel", vmlinuz, "--installer-initrd", initrd).CombinedOutput()
	t.Logf("rackboot lab test %s:\n%s", filepath.Base(spec), out)
	return string(out), err
}

// TestLabTestPasses runs the example spec: the test image deployed to a
// SeaBIOS and an OVMF VM, each expected active, booted from its disk
// (a console line) and its agent converged. The JUnit report must hold
// every case, none failed.
func TestLabTestPasses(t *testing.T) {
	needLab(t)
	raw, _ := buildTestImage(t)
	if _, err := os.Stat(raw); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(t.TempDir(), "report.xml")
	if _, err := labTest(t, filepath.Join(repo(t), "examples", "lab", "two-vms.yaml"), junit); err != nil {
		t.Errorf("lab test: %v", err)
	}
	r := readJUnit(t, junit)
	var names []string
	for _, c := range r.Suite.Cases {
		names = append(names, c.Class+": "+c.Name)
		if c.Failure != nil {
			t.Errorf("%s %s failed: %s", c.Class, c.Name, c.Failure.Message)
		}
	}
	for _, want := range []string{"setup: import image testos", "web-bios: deploy testos", "web-uefi: state active within 15m0s",
		`web-bios: console shows "rackboot-testimage: booted from disk bios" within 2m0s`, "web-uefi: agent converged within 5m0s"} {
		if !strings.Contains(strings.Join(names, "\n"), want) {
			t.Errorf("no case %q in %v", want, names)
		}
	}
}

// TestLabTestFails runs a spec whose last expectation cannot hold (a
// console line the installer never prints): lab test must exit non-zero
// and the report must carry that one failure with the console's tail and
// the host's events, the other cases passed.
func TestLabTestFails(t *testing.T) {
	needLab(t)
	dir := t.TempDir()
	spec := filepath.Join(dir, "fails.yaml")
	os.WriteFile(spec, []byte(`name: fails
vms:
  - name: lone
expect:
  - vm: lone
    state: ready
    within: 8m
  - vm: lone
    console: "this line is never printed"
    within: 20s
`), 0o644)
	junit := filepath.Join(dir, "report.xml")
	out, err := labTest(t, spec, junit)
	if err == nil || !strings.Contains(out, "1 of 4 cases failed") {
		t.Errorf("lab test of a failing spec: %v, want exit 1 and 1 of 4 cases failed", err)
	}
	r := readJUnit(t, junit)
	if r.Suite.Tests != 4 || r.Suite.Failures != 1 {
		t.Fatalf("report: %d tests, %d failures, want 4 and 1: %+v", r.Suite.Tests, r.Suite.Failures, r.Suite.Cases)
	}
	f := r.Suite.Cases[3].Failure
	if f == nil {
		t.Fatalf("case %q has no failure", r.Suite.Cases[3].Name)
	}
	for _, want := range []string{"not within 20s", "serial console", "events of lone", fmt.Sprintf("%s→%s", "discovered", "inspecting")} {
		if !strings.Contains(f.Body, want) {
			t.Errorf("failure lacks %q:\n%s", want, f.Body)
		}
	}
	if strings.Count(strings.TrimSpace(f.Body[strings.Index(f.Body, "serial console"):strings.Index(f.Body, "--- events")]), "\n") < 10 {
		t.Errorf("the failure carries fewer than 10 console lines:\n%s", f.Body)
	}
}

// TestLabUpInterrupt is Ctrl-C on a foreground `rackboot lab up` with a
// VM running: it must remove the lab, exit 0 and write nothing to stderr.
func TestLabUpInterrupt(t *testing.T) {
	needLab(t)
	bin, vmlinuz, initrd := build(t)
	dir := t.TempDir()
	var stdout, stderr syncWriter
	up := exec.Command(bin, "lab", "up", "--vms", "1", "--dir", dir, "--installer-kernel", vmlinuz, "--installer-initrd", initrd)
	up.Stdout, up.Stderr = &stdout, &stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- up.Wait() }()
	t.Cleanup(func() {
		up.Process.Kill()
		exec.Command(bin, "lab", "down", "--dir", dir).Run()
	})
	for deadline := time.Now().Add(5 * time.Minute); !strings.Contains(stdout.String(), "Ctrl-C removes the lab"); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("lab up did not come up:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
	l, err := lablib.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); !l.Status(context.Background())[0].Power; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("vm1's QEMU is not running")
		}
	}
	up.Process.Signal(os.Interrupt)
	if err := <-exited; err != nil {
		t.Errorf("lab up after Ctrl-C: %v", err)
	}
	if stderr.String() != "" {
		t.Errorf("lab up wrote to stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "lab removed") {
		t.Errorf("lab up's output lacks \"lab removed\":\n%s", stdout.String())
	}
	checkNothingLeft(t, l)
}

// syncWriter is a strings.Builder that a process writes while the test
// reads it.
type syncWriter struct {
	mu sync.Mutex
	w  strings.Builder
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestLabUpAgainWithImage brings a lab up with an image and a VM (left
// off: no VM runs), down, and up again in the same directory: the data
// dir is kept, and with it the image and host record the first up made,
// which the second replaces.
func TestLabUpAgainWithImage(t *testing.T) {
	needLab(t)
	bin, vmlinuz, initrd := build(t)
	raw, _ := buildTestImage(t)
	cfg := lablib.Config{Dir: t.TempDir(), Binary: bin, InstallerKernel: vmlinuz, InstallerInitrd: initrd, Image: raw, VMs: 1, NoPowerOn: true}
	for i := range 2 {
		l, err := lablib.Up(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("up #%d: %v", i+1, err)
		}
		var imgs struct{ Images []struct{ Name string } }
		err = l.Get(context.Background(), "/images", &imgs)
		if derr := l.Down(); derr != nil {
			t.Fatalf("down #%d: %v", i+1, derr)
		}
		if err != nil || len(imgs.Images) != 1 || imgs.Images[0].Name != lablib.ImageName {
			t.Fatalf("up #%d: images %+v (%v), want %s alone", i+1, imgs.Images, err, lablib.ImageName)
		}
	}
}
