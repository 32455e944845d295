package testimage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/rackboot/rackboot/installer"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/seed"
)

// keyQuoted is a key with options and a comment holding quotes and a
// backslash: the seed carries SSH keys of any form.
const keyQuoted = `from="10.0.0.0/8",command="echo \"hi\"" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2 op@desk "quoted" \back`

var testConfig = seed.Config{
	InstanceID: "rackboot-525400123456-01",
	Hostname:   "node-7",
	SSHKeys:    []string{keyQuoted, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2"},
	URL:        "http://10.213.0.1:8081",
	Token:      "tok-3f9a_b",
	MAC:        "52:54:00:12:34:56",
}

var testSeed = mustRender(testConfig)

func mustRender(c seed.Config) machineapi.Seed {
	s, err := seed.Render(c)
	if err != nil {
		panic(err)
	}
	return s
}

// TestAssembleAndWriteSeed lays out a disk around a stand-in ESP and seeds
// it twice (the second seed replaces the first), reading back with
// go-diskfs as the installer would.
func TestAssembleAndWriteSeed(t *testing.T) {
	dir := t.TempDir()
	esp := filepath.Join(dir, "esp.img")
	if err := os.WriteFile(esp, bytes.Repeat([]byte{0xe5}, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	mbr := filepath.Join(dir, "mbr.bin")
	if err := os.WriteFile(mbr, bytes.Repeat([]byte{0x90}, 440), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "disk.raw")
	if err := Assemble(AssembleConfig{ESPImage: esp, MBRCode: mbr, Out: img}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != (1+2+16+1)<<20 {
		t.Errorf("image is %d bytes", len(raw))
	}
	if raw[0] != 0x90 || raw[439] != 0x90 || raw[510] != 0x55 || raw[511] != 0xaa || raw[450] != 0xee {
		t.Errorf("MBR: boot code, signature or protective entry missing")
	}
	if raw[1<<20] != 0xe5 || raw[3<<20-1] != 0xe5 {
		t.Errorf("ESP contents not at 1 MiB")
	}

	// The target disk is larger than the image: the backup GPT then sits
	// mid-disk, and seeding must still work.
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	first := testConfig
	first.Hostname = "first-name-that-is-longer"
	if _, err := installer.WriteSeed(img, 20<<20, mustRender(first)); err != nil {
		t.Fatal(err)
	}
	plan, err := installer.WriteSeed(img, 20<<20, testSeed)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Reuse || plan.Number != SeedPartition {
		t.Errorf("seed went to %s, want the image's partition %d", plan, SeedPartition)
	}
	d, err := diskfs.Open(img, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pt, err := d.GetPartitionTable()
	if err != nil {
		t.Fatal(err)
	}
	parts := pt.GetPartitions()
	if len(parts) != 2 || parts[0].GetStart() != 1<<20 || parts[1].GetStart() != 3<<20 || parts[1].GetSize() != 16<<20 {
		t.Fatalf("partitions: %+v", parts)
	}
	fs, err := d.GetFilesystem(SeedPartition)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(fs.Label()); got != SeedLabel {
		t.Errorf("label %q", got)
	}
	// Read back with mtools, as a second FAT implementation: go-diskfs's
	// reader rounds some sizes up to the cluster.
	for name, want := range map[string][]byte{"meta-data": []byte(testSeed.MetaData), "user-data": []byte(testSeed.UserData),
		"network-config": []byte(testSeed.NetworkConfig), "rackboot.seed": []byte(testSeed.Rackboot)} {
		got, err := exec.Command("mtype", "-i", fmt.Sprintf("%s@@%d", img, parts[1].GetStart()), "::/"+name).Output()
		if err != nil {
			t.Fatalf("mtype %s (mtools): %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// busyboxPath makes a directory of busybox applet links, so the image's
// shell functions run with the same applets as in the image.
func busyboxPath(t *testing.T) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		if testing.Short() {
			t.Skip("busybox not installed (package busybox-static)")
		}
		t.Fatal("busybox not installed (package busybox-static)")
	}
	dir := t.TempDir()
	if out, err := exec.Command(bb, "--install", "-s", dir).CombinedOutput(); err != nil {
		t.Fatalf("busybox --install: %v: %s", err, out)
	}
	return dir
}

// imageShell runs script with the image's function library sourced, under
// busybox sh with only busybox applets on PATH.
func imageShell(t *testing.T, path, script string, env ...string) (string, error) {
	t.Helper()
	lib, err := filepath.Abs("rootfs/lib/rackboot/testimage.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(path, "sh"), "-c", ". "+lib+"\n"+script)
	cmd.Env = append([]string{"PATH=" + path}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestSeedParser checks that the image's init reads what the seed package
// renders: the rackboot.seed file, keys with quotes and backslashes as
// they are, and meta-data's local-hostname when rackboot.seed names none.
func TestSeedParser(t *testing.T) {
	path := busyboxPath(t)
	dir := t.TempDir()
	c := testConfig
	c.Agent = "http://10.213.0.1:8081/files/rackboot"
	s := mustRender(c)
	os.WriteFile(filepath.Join(dir, "rackboot.seed"), []byte(s.Rackboot), 0o644)
	os.WriteFile(filepath.Join(dir, "meta-data"), []byte(s.MetaData), 0o644)
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "meta-data"), []byte("instance-id: i-1\nlocal-hostname: from-meta\n"), 0o644)
	os.WriteFile(filepath.Join(other, "rackboot.seed"), []byte("url=http://10.0.0.1:80/\nmac=52:54:00:AA:BB:CC\n"), 0o644)
	out, err := imageShell(t, path, `
hostname() { echo "hostname=$1"; }
mkdir() { :; }
chmod() { :; }
apply_seed() { :; }
f=$D/rackboot.seed
echo "url=$(seed_value $f url)"
echo "token=$(seed_value $f token)"
echo "mac=$(seed_value $f mac)"
echo "agent=$(seed_value $f agent)"
echo "hostname=$(seed_value $f hostname)"
echo "local=$(seed_get $D/meta-data '' local-hostname)"
sed -n 's/^ssh_key=//p' $f
echo "other=$(seed_value $D/other/rackboot.seed url) $(seed_value $D/other/rackboot.seed hostname) $(seed_get $D/other/meta-data '' local-hostname)"
echo "missing=[$(seed_value $D/nope url)][$(seed_value $D/other/rackboot.seed agent)]"
`, "D="+dir)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "url=http://10.213.0.1:8081\ntoken=tok-3f9a_b\nmac=52:54:00:12:34:56\nagent=http://10.213.0.1:8081/files/rackboot\n" +
		"hostname=node-7\nlocal=node-7\n" + c.SSHKeys[0] + "\n" + c.SSHKeys[1] + "\n" +
		"other=http://10.0.0.1:80/  from-meta\nmissing=[][]\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}

	// apply_seed itself, with the keys going to a file under a fake root.
	out, err = imageShell(t, path, `
say() { echo "$*"; }
hostname() { echo "set hostname $1"; }
apply_seed $D/other
apply_seed $D
echo "url=$SEED_URL mac=$SEED_MAC token=$SEED_TOKEN"
`, "D="+dir)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, line := range []string{"set hostname from-meta", "appliance http://10.0.0.1:80", "set hostname node-7", "url=http://10.213.0.1:8081 mac=52:54:00:12:34:56 token=tok-3f9a_b"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("apply_seed output lacks %q:\n%s", line, out)
		}
	}
}

// TestFirstBootReport runs the image's report function (busybox wget)
// against a local server that fails once, then accepts.
func TestFirstBootReport(t *testing.T) {
	path := busyboxPath(t)
	var (
		mu   sync.Mutex
		hits []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		hits = append(hits, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(body))
		if len(hits) == 1 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	out, err := imageShell(t, path, `post_firstboot "$URL" tok-1 52:54:00:12:34:56 uefi 3`, "URL="+srv.URL)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(out, "rackboot-testimage: first-boot reported to "+srv.URL+" (try 2)") {
		t.Errorf("output:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hits) != 2 {
		t.Fatalf("%d requests: %q", len(hits), hits)
	}
	want := `POST /machine/v1/firstboot Bearer tok-1 application/json {"mac":"52:54:00:12:34:56","event":"first-boot","firmware":"uefi"}`
	if hits[1] != want {
		t.Errorf("request:\n%s\nwant:\n%s", hits[1], want)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(hits[1][strings.Index(hits[1], "{"):]), &body); err != nil {
		t.Errorf("body is not JSON: %v", err)
	}

	// A server that never accepts: the bounded retry gives up.
	srv.Config.Handler = http.NotFoundHandler()
	out, err = imageShell(t, path, `post_firstboot "$URL" t m bios 2`, "URL="+srv.URL)
	if err == nil || strings.Count(out, "failed (try") != 2 {
		t.Errorf("err %v, output:\n%s", err, out)
	}
}

// TestAgentStart runs the image's seed actions with an agent URL: the
// binary (a stand-in script) is downloaded and started as
// `rackboot agent --server URL --token TOKEN` after the first-boot report.
func TestAgentStart(t *testing.T) {
	path := busyboxPath(t)
	dir := t.TempDir()
	args := filepath.Join(dir, "agent.args")
	agent := "#!/bin/sh\necho \"$*\" >" + args + "\nexec sleep 60\n"
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		switch r.URL.Path {
		case "/machine/v1/agent/binary":
			io.WriteString(w, agent)
		case "/machine/v1/firstboot":
			io.WriteString(w, "{}")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	lib, _ := filepath.Abs("rootfs/lib/rackboot/testimage.sh")
	cmd := exec.Command(filepath.Join(path, "sh"), "-c", `. `+lib+`
SEED_URL=$URL SEED_TOKEN=tok-9 SEED_AGENT="$URL/machine/v1/agent/binary?mac=52:54:00:00:00:09" NET_IF=eth0 NET_MAC=52:54:00:00:00:09 FIRMWARE=bios
run_seed_actions
wait`)
	cmd.Env = []string{"PATH=" + path, "URL=" + srv.URL, "AGENT_BIN=" + filepath.Join(dir, "rackboot")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The agent loop never ends: stop the process group this test started.
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(args)
		if err == nil && len(b) > 0 {
			if got, want := string(b), "agent --server "+srv.URL+" --token tok-9\n"; got != want {
				t.Errorf("agent args %q, want %q", got, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not started; output:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"GET /machine/v1/agent/binary?mac=52:54:00:00:00:09 Bearer tok-9", "POST /machine/v1/firstboot?mac=52:54:00:00:00:09 Bearer tok-9"}; strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Errorf("requests %q, want %q", paths, want)
	}
}
