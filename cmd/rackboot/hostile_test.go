package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIdleConnectionsStarveNobody runs serve as a process limited to 256
// file descriptors and opens 400 idle connections to its machine side and
// 150 to its operator side, more than either may hold: the operator's
// /healthz and a machine's script request are still answered, and the
// process never holds more descriptors than its limit allows.
func TestIdleConnectionsStarveNobody(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit (util-linux) missing")
	}
	dir := t.TempDir()
	cmd := exec.Command("prlimit", "--nofile=256:256", "--", os.Args[0])
	cmd.Env = append(os.Environ(), "RACKBOOT_TEST_MAIN=serve --data-dir "+dir+" --log-format json "+strings.Join(loopbackAddrs, " "))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var sv serving
	sc := bufio.NewScanner(stderr)
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
		}
	}()
	if sv.API == "" {
		t.Fatal("serve did not start")
	}
	var idle []net.Conn
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	for i := range 550 {
		addr := sv.HTTP
		if i >= 400 {
			addr = sv.API
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	time.Sleep(500 * time.Millisecond) // let serve accept what it will
	client, err := (&clientFlags{dataDir: dir}).httpClient(sv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	client.Timeout = 5 * time.Second
	for name, u := range map[string]string{
		"operator /healthz":  sv.APIURL + "/healthz",
		"a machine's script": sv.BootURL + "/boot.ipxe?mac=52:54:00:12:34:56",
	} {
		start := time.Now()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("%s with 550 idle connections open: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", name, resp.StatusCode)
		}
		t.Logf("%s answered in %v with 550 idle connections open", name, time.Since(start).Round(time.Microsecond))
	}
	fds, _ := os.ReadDir(filepath.Join("/proc", fmt.Sprint(cmd.Process.Pid), "fd"))
	if len(fds) > 256 {
		t.Fatalf("serve holds %d descriptors, over its limit", len(fds))
	}
	t.Logf("serve holds %d descriptors", len(fds))
}
