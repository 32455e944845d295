package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/images/partition"
	"github.com/rackboot/rackboot/inventory"
)

// debianImage builds (or finds in the cache outside the clone) the Debian
// 12 image shaped like Debian's generic cloud image, with
// scripts/debian-image, and returns its RAW, QCOW2 and ZSTD paths.
var debian struct {
	once  sync.Once
	err   error
	paths map[string]string
}

func debianImage(t *testing.T) map[string]string {
	t.Helper()
	debian.once.Do(func() {
		cmd := exec.Command(filepath.Join(repo(t), "scripts", "debian-image"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			debian.err = fmt.Errorf("scripts/debian-image: %v\n%s", err, stderr.String())
			return
		}
		debian.paths = map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				debian.paths[k] = v
			}
		}
	})
	if debian.err != nil {
		t.Fatal(debian.err)
	}
	return debian.paths
}

// The operator's user-data: a part selected by the lab's label and the
// deploy's own part, each writing a file; both on the host means
// cloud-init merged them (lists appended).
const (
	labelPart = "#cloud-config\nwrite_files:\n  - path: /etc/e2e-label-part\n    content: \"from the lab=e2e label\\n\"\n"
	hostPart  = "#cloud-config\nwrite_files:\n  - path: /etc/e2e-host-part\n    content: \"from the deploy of %s\\n\"\n"
)

// minRootBytes is the root filesystem's least size after growing into
// the 4 GiB disk (the image's is 2 GiB).
const minRootBytes = 3.5 * (1 << 30)

// TestDeployDebian is the real-OS deploy: a Debian 12 cloud image built
// from Debian's packages (no seed, no CIDATA partition), imported as qcow2
// and as zstd raw, deployed through netboot → ready → deploy to a SeaBIOS
// and an OVMF VM with blank 4 GiB disks, in parallel. Each must be active
// within 10 minutes of its deploy, and its own sshd must take the key
// given at deploy and show: the inventory hostname, both user-data files,
// a root grown past 3.5 GiB, cloud-init done without errors from the
// NoCloud seed, and the agent running. Refusals on the way: a qcow2 with a
// backing file at import, an MBR image with four primary partitions at
// deploy (nothing stored, the host still ready). Last, the SeaBIOS VM is
// power-cycled three times with the network first in its boot order: each
// time rackboot answers localboot, and its disk is not written again.
func TestDeployDebian(t *testing.T) {
	needLab(t)
	for _, tool := range []string{"ssh", "ssh-keygen", "qemu-img", "sfdisk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (scripts/ci-deps)", tool)
		}
	}
	img := debianImage(t)
	l := newLab(t)
	keepOnFailure(t, l)
	key := sshKeyPair(t, l.dir)
	checkBackingFileRefused(t, l, img["RAW"])
	l.importImage(img["QCOW2"], "debian-qcow2")
	l.importImage(img["ZSTD"], "debian-zst")
	l.importImage(fourPrimaries(t, l.dir), "mbr-full")
	if out, err := l.cli(nil, "image", "show", "debian-qcow2"); err != nil || !strings.Contains(out, "qcow2") || !strings.Contains(out, "CIDATA partition is added") {
		t.Errorf("image show: %v\n%s", err, out)
	}
	labelFile := filepath.Join(l.dir, "label-part.yaml")
	os.WriteFile(labelFile, []byte(labelPart), 0o644)
	if out, err := l.cli(nil, "user-data", "apply", labelFile, "--name", "lab", "--selector", "lab=e2e"); err != nil {
		t.Fatalf("user-data apply: %v\n%s", err, out)
	}

	vms := []vm{
		l.addVMWith(vmSpec{i: 3, firmware: "bios", memMB: 1024, diskBytes: 4 << 30, hostname: "deb-bios", ip: l.net + ".201"}),
		l.addVMWith(vmSpec{i: 4, firmware: "uefi", memMB: 1024, diskBytes: 4 << 30, hostname: "deb-uefi", ip: l.net + ".202"}),
	}
	images := map[string]string{"bios": "debian-qcow2", "uefi": "debian-zst"}
	for _, v := range vms {
		l.power(v.mac, "on")
	}
	var wg sync.WaitGroup
	for _, v := range vms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.waitState(v.mac, inventory.StateReady, 8*time.Minute, v.dir)
			if v.firmware == "bios" {
				checkUnseedableRefused(t, l, v)
			}
			host := "deb-" + v.firmware
			ud := filepath.Join(v.dir, "user-data")
			os.WriteFile(ud, []byte(fmt.Sprintf(hostPart, host)), 0o644)
			start := time.Now()
			if out, err := l.cli(nil, "host", "deploy", v.mac, "--image", images[v.firmware], "--ssh-key", key+".pub", "--user-data", ud); err != nil {
				t.Errorf("host deploy %s: %v\n%s", v.mac, err, out)
				return
			}
			l.waitState(v.mac, inventory.StateActive, activeWithin(t), v.dir)
			t.Logf("%s (%s, %s): deploy → active %v", v.mac, v.firmware, images[v.firmware], time.Since(start).Round(time.Second))
			ip := l.net + map[string]string{"bios": ".201", "uefi": ".202"}[v.firmware]
			r := onHost(t, l, key, ip, v)
			checkDebianHost(t, v, host, r)
			if v.firmware == "bios" && !t.Failed() {
				checkReboots(t, l, v, key, ip, r["INSTANCE"])
			}
		}()
	}
	wg.Wait()
	for _, v := range vms {
		l.power(v.mac, "off")
	}
}

// activeWithin is how long a deploy may take to active: the 10
// minutes, unless RACKBOOT_E2E_ACTIVE_WITHIN (a Go duration) gives a
// development machine loaded by other work more.
func activeWithin(t *testing.T) time.Duration {
	if s := os.Getenv("RACKBOOT_E2E_ACTIVE_WITHIN"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("RACKBOOT_E2E_ACTIVE_WITHIN: %v", err)
		}
		return d
	}
	return 10 * time.Minute
}

// keepOnFailure copies the lab's directory (consoles, serve.log, BMC
// logs) to $RACKBOOT_E2E_KEEP when the test fails.
func keepOnFailure(t *testing.T, l *lab) {
	dst := os.Getenv("RACKBOOT_E2E_KEEP")
	if dst == "" {
		return
	}
	t.Cleanup(func() {
		if t.Failed() {
			os.MkdirAll(dst, 0o755)
			exec.Command("cp", "-a", "--sparse=always", l.dir, dst).Run()
			t.Logf("lab directory kept in %s", dst)
		}
	})
}

// sshKeyPair makes an ed25519 key for the test; it returns the private
// key's path (the public one is path.pub).
func sshKeyPair(t *testing.T, dir string) string {
	p := filepath.Join(dir, "e2e-key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `e2e "operator" key`, "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	return p
}

// checkBackingFileRefused imports a qcow2 overlay of the raw image: it
// must be refused, naming the backing file, with nothing stored.
func checkBackingFileRefused(t *testing.T, l *lab, raw string) {
	overlay := filepath.Join(l.dir, "overlay.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-b", raw, "-F", "raw", overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v %s", err, out)
	}
	out, err := l.cli(nil, "image", "import", overlay, "--name", "overlay")
	if err == nil || !strings.Contains(out, "has a backing file") || !strings.Contains(out, "HTTP 415") {
		t.Errorf("qcow2 with a backing file: %v\n%s", err, out)
	}
	if out, _ := l.cli(nil, "image", "list"); strings.Contains(out, "overlay") {
		t.Errorf("the refused overlay is listed:\n%s", out)
	}
	t.Logf("qcow2 with a backing file refused: %s", strings.TrimSpace(out))
}

// fourPrimaries is a small MBR image whose four primary entries are all
// used and none is a seed: nowhere to put a seed.
func fourPrimaries(t *testing.T, dir string) string {
	p := filepath.Join(dir, "mbr-full.raw")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(p, 16<<20)
	cmd := exec.Command("sfdisk", "-q", "--no-reread", "--no-tell-kernel", p)
	cmd.Stdin = strings.NewReader("label: dos\nstart=2048, size=4096, type=83\nstart=6144, size=4096, type=83\nstart=10240, size=4096, type=83\nstart=14336, size=4096, type=83\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v %s", err, out)
	}
	return p
}

// checkUnseedableRefused asks for a deploy of the four-primary MBR image:
// refused at the request, the host still ready with no new event.
func checkUnseedableRefused(t *testing.T, l *lab, v vm) {
	before := l.events(v.mac)
	out, err := l.cli(nil, "host", "deploy", v.mac, "--image", "mbr-full")
	if err == nil || !strings.Contains(out, "four primary partitions") || !strings.Contains(out, "HTTP 409") {
		t.Errorf("deploy of an MBR image with four primaries: %v\n%s", err, out)
	}
	if h, err := l.host(v.mac); err != nil || h.State != inventory.StateReady || h.Image != "" {
		t.Errorf("after the refused deploy: %+v %v", h.State, err)
	}
	if after := l.events(v.mac); len(after) != len(before) {
		t.Errorf("the refused deploy logged %d events", len(after)-len(before))
	}
	t.Logf("MBR image with four primaries refused: %s", strings.TrimSpace(out))
}

// ssh runs a command on the VM as the image's default user, with the key
// given at deploy, from inside the lab namespace.
func (l *lab) ssh(key, ip, command string) (string, error) {
	cmd := exec.Command("ip", "netns", "exec", l.Namespace, "ssh", "-i", key, "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
		"-o", "LogLevel=ERROR", "debian@"+ip, command)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// report is what checkDebianHost reads on the host, one KEY=value a line.
const report = `echo HOSTNAME=$(hostname)
echo HOSTPART=$(cat /etc/e2e-host-part)
echo LABELPART=$(cat /etc/e2e-label-part)
echo ROOT=$(df -B1 --output=size / | tail -n1 | tr -d ' ')
echo STATUS=$(cloud-init status --wait | tail -n1)
echo RESULT=$(python3 -c 'import json; r = json.load(open("/run/cloud-init/result.json"))["v1"]; print(r["datasource"].split()[0], len(r["errors"]))')
echo AGENT=$(systemctl is-active rackboot-agent.service)
echo INSTANCE=$(cat /var/lib/cloud/data/instance-id)
echo KEYS=$(grep -c 'e2e "operator" key' ~/.ssh/authorized_keys)
`

// onHost logs in over SSH (retrying while sshd comes up) and returns the
// report.
func onHost(t *testing.T, l *lab, key, ip string, v vm) map[string]string {
	var out string
	var err error
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if out, err = l.ssh(key, ip, report); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	if err != nil {
		t.Errorf("%s: ssh debian@%s with the deploy's key: %v\n%s", v.mac, ip, err, out)
		l.dump(v.dir)
		return nil
	}
	r := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, val, ok := strings.Cut(sc.Text(), "="); ok {
			r[k] = val
		}
	}
	t.Logf("%s (%s) over ssh: %v", v.mac, v.firmware, r)
	return r
}

func checkDebianHost(t *testing.T, v vm, host string, r map[string]string) {
	if r == nil {
		return
	}
	want := map[string]string{
		"HOSTNAME": host, "HOSTPART": "from the deploy of " + host, "LABELPART": "from the lab=e2e label",
		"STATUS": "status: done", "RESULT": "DataSourceNoCloud 0", "AGENT": "active", "KEYS": "1",
	}
	for k, w := range want {
		if r[k] != w {
			t.Errorf("%s (%s): %s = %q, want %q", v.mac, v.firmware, k, r[k], w)
		}
	}
	if root, err := strconv.ParseFloat(r["ROOT"], 64); err != nil || root < minRootBytes {
		t.Errorf("%s: root is %q bytes, want at least %.0f (grown into the 4 GiB disk)", v.mac, r["ROOT"], float64(minRootBytes))
	}
}

// checkReboots power-cycles a deployed host three times through its BMC.
// The VM boots the network first: each time rackboot must answer
// localboot, the host must come back to its login prompt from its own
// disk, and nothing may write the disk's partition table or seed again:
// they hash the same after, and a file made on the host before is still
// there, under the same cloud-init instance.
func checkReboots(t *testing.T, l *lab, v vm, key, ip, instance string) {
	if out, err := l.ssh(key, ip, "sudo sh -c 'echo before-reboots >/var/lib/e2e-marker && sync'"); err != nil {
		t.Fatalf("marker: %v %s", err, out)
	}
	disk := filepath.Join(v.dir, "disk.raw")
	before := tableAndSeed(t, disk)
	seq := l.events(v.mac)[len(l.events(v.mac))-1].Seq
	scripts := len(l.bootScripts(v.mac))
	start := time.Now()
	for i := 1; i <= 3; i++ {
		prev := console(v)
		l.power(v.mac, "cycle")
		if !waitNewLine(t, l, v, prev, "\ndeb-bios login:", 6*time.Minute) {
			return
		}
		t.Logf("%s: reboot %d back at its login prompt after %v", v.mac, i, time.Since(start).Round(time.Second))
	}
	got := l.bootScripts(v.mac)[scripts:]
	if len(got) < 3 {
		t.Errorf("%s: %d boot scripts over 3 reboots: %v", v.mac, len(got), got)
	}
	for _, s := range got {
		if !strings.HasSuffix(s, ":localboot") {
			t.Errorf("%s: boot script %q after the deploy, want localboot", v.mac, s)
		}
	}
	for _, e := range l.events(v.mac) {
		if e.Seq > seq && e.Type == inventory.EventTransition {
			t.Errorf("%s: a transition during the reboots: %s → %s (%s)", v.mac, e.From, e.To, e.Cause)
		}
	}
	if after := tableAndSeed(t, disk); after != before {
		t.Errorf("%s: the partition table or the seed changed over the reboots", v.mac)
	}
	var out string
	var err error
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Second) {
		if out, err = l.ssh(key, ip, "cat /var/lib/e2e-marker; cat /var/lib/cloud/data/instance-id"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || out != "before-reboots\n"+instance+"\n" {
		t.Errorf("%s after the reboots: %v %q, want the marker and instance %s", v.mac, err, out, instance)
	}
	t.Logf("%s: 3 network-first reboots, each answered localboot (%d scripts), disk table and seed unchanged", v.mac, len(got))
}

// tableAndSeed hashes what a deploy writes besides the image: the first
// MiB (MBR, primary GPT) and the seed partition.
func tableAndSeed(t *testing.T, disk string) string {
	f, err := os.Open(disk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := partition.ReadLayout(f)
	if err != nil {
		t.Fatal(err)
	}
	n := l.SeedPartition()
	h := sha256.New()
	io.Copy(h, io.NewSectionReader(f, 0, 1<<20))
	for _, p := range l.Partitions {
		if p.Number == n {
			io.Copy(h, io.NewSectionReader(f, p.Start, p.Size))
		}
	}
	if n == 0 {
		t.Errorf("%s: no seed partition on the disk: %+v", disk, l.Partitions)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func console(v vm) string {
	b, _ := os.ReadFile(filepath.Join(v.dir, "console.log"))
	return string(b)
}

// waitNewLine waits for line in what the console shows after prev: the
// whole log when QEMU started it afresh, else what was added to it.
func waitNewLine(t *testing.T, l *lab, v vm, prev, line string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(time.Second) {
		now := console(v)
		fresh := now
		if strings.HasPrefix(now, prev) {
			fresh = now[len(prev):]
		}
		if strings.Contains(fresh, line) {
			return true
		}
	}
	t.Errorf("%s: no %q on the console within %v of the power cycle", v.mac, line, d)
	l.dump(v.dir)
	return false
}
