package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHangupReloadsTemplates runs serve as its own process with a
// templates dir, changes the installer script there and sends SIGHUP (what
// systemctl reload sends): the next boot script is the new one. A
// template that does not parse is refused on the next SIGHUP, logged, and
// the scripts in use stay.
func TestHangupReloadsTemplates(t *testing.T) {
	dir, tmpl := t.TempDir(), t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(tmpl, "installer.ipxe"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("#!ipxe\necho first {{.MAC}}\n")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RACKBOOT_TEST_MAIN=serve --log-format json --templates-dir "+tmpl+" --data-dir "+dir+" "+strings.Join(loopbackAddrs, " "))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	sc := bufio.NewScanner(stderr)
	var sv serving
	for sc.Scan() {
		var l struct {
			Msg string
			serving
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "rackboot serving" {
			sv = l.serving
			break
		}
	}
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if sv.HTTP == "" {
		t.Fatal("serve did not start")
	}
	script := func() string {
		resp, err := http.Get("http://" + sv.HTTP + "/boot.ipxe?mac=52:54:00:12:34:56")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitLog := func(msg string) string {
		t.Helper()
		for l := range lines {
			if strings.Contains(l, msg) {
				return l
			}
		}
		t.Fatalf("serve ended without logging %q", msg)
		return ""
	}
	if s := script(); !strings.Contains(s, "echo first 52:54:00:12:34:56") {
		t.Fatalf("script before the reload: %q", s)
	}

	write("#!ipxe\necho second {{.MAC}}\n")
	if s := script(); !strings.Contains(s, "first") {
		t.Fatalf("the template changed on disk without a reload: %q", s)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog("templates reloaded")
	if s := script(); !strings.Contains(s, "echo second 52:54:00:12:34:56") {
		t.Fatalf("script after SIGHUP: %q", s)
	}

	write("#!ipxe\necho {{.NoSuchField\n")
	cmd.Process.Signal(syscall.SIGHUP)
	if l := waitLog("templates not reloaded"); !strings.Contains(l, "installer.ipxe") {
		t.Errorf("the refusal does not name the template: %s", l)
	}
	if s := script(); !strings.Contains(s, "echo second") {
		t.Fatalf("a template that does not parse replaced the one in use: %q", s)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("serve still running 10 s after SIGTERM")
	}
}
