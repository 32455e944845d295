package debianimage

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	bootLimit = 12 * time.Minute                  // a liveness bound: three TCG guests side by side on a loaded 2-core machine took over 6
	diskSize  = "4G"                              // the overlay: twice the image, for the root to grow into
	minRoot   = 3.5 * (1 << 30)                   // bytes of root after growth
	imageSize = 2 << 30                           // the raw image's size
	finished  = `Cloud-init v\. \S+ finished at ` // cloud-init's final_message
)

// TestBootsWithCloudInit builds the image with scripts/debian-image (or
// takes it from the cache), checks the cache's no-op path, and boots a
// 4 GiB copy-on-write overlay of it per firmware, in parallel (two at a
// time on two cores), each with its own NoCloud seed. Each VM must reach cloud-init's "finished" line
// and a login prompt naming the seed's hostname, and report on its console
// a root grown past 3.5 GiB, the seeded file and key, cloud-init done,
// the firmware it booted from (Secure Boot on under the secboot OVMF), and
// a machine id and SSH host key of its own.
func TestBootsWithCloudInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian image and boots three VMs under TCG")
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root: scripts/debian-image runs mmdebstrap")
	}
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "mkfs.vfat", "mcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run scripts/ci-deps", tool)
		}
	}
	for _, fw := range firmwares {
		for _, f := range []string{fw.code, fw.vars} {
			if _, err := os.Stat(f); f != "" && err != nil {
				t.Fatalf("%s firmware: %v (package ovmf)", fw.name, err)
			}
		}
	}
	img := buildImage(t)
	checkImages(t, img)

	var mu sync.Mutex
	reports := map[string]map[string]string{}
	t.Run("boot", func(t *testing.T) {
		for _, fw := range firmwares {
			t.Run(fw.name, func(t *testing.T) {
				t.Parallel()
				r := bootAndCheck(t, fw, img["RAW"])
				mu.Lock()
				reports[fw.name] = r
				mu.Unlock()
			})
		}
	})
	// Each deploy makes its own identity: nothing in the image decides it.
	for _, key := range []string{"MACHINEID", "HOSTKEY"} {
		seen := map[string]string{}
		for fw, r := range reports {
			if other, ok := seen[r[key]]; ok && r[key] != "" {
				t.Errorf("%s and %s booted with the same %s %s", fw, other, key, r[key])
			}
			seen[r[key]] = fw
		}
	}
}

// bootAndCheck boots fw on a fresh overlay with a fresh seed and checks
// what the console shows. It returns the VM's report.
func bootAndCheck(t *testing.T, fw firmware, raw string) map[string]string {
	dir := t.TempDir()
	disk := filepath.Join(dir, "overlay.qcow2")
	run(t, nil, "qemu-img", "create", "-q", "-f", "qcow2", "-b", raw, "-F", "raw", disk, diskSize)
	seed := writeSeed(t, dir, "imgtest-"+fw.name)

	ctx, cancel := context.WithTimeout(context.Background(), bootLimit)
	defer cancel()
	v := boot(ctx, t, fw, dir, disk, seed)
	defer func() {
		cancel()
		<-v.done
		if t.Failed() {
			t.Logf("console (%s):\n%s\nqemu stderr: %s", fw.name, tail(v.text(), 6000), v.stderr.String())
		}
	}()

	const kernel, login, ciDone, reported = "Linux version ", "\n" + hostname + " login:", " finished at ", "IMGTEST END"
	at := v.waitFor(ctx, t, kernel, login, ciDone, reported)
	text := v.text()
	if !regexp.MustCompile(finished).MatchString(text) {
		t.Errorf("no line matching %q on the console", finished)
	}
	t.Logf("%s: after QEMU's start: kernel %.0f s, login prompt %.0f s, cloud-init finished %.0f s",
		fw.name, at[kernel].Seconds(), at[login].Seconds(), at[ciDone].Seconds())
	// The initramfs checks the root before mounting it.
	if strings.Contains(text, "fsck not present") {
		t.Errorf("the initramfs has no fsck for the root")
	}

	r := v.report()
	t.Logf("%s: report %v", fw.name, r)
	if size, err := strconv.ParseFloat(r["ROOTSIZE"], 64); err != nil || size < minRoot {
		t.Errorf("root is %q bytes, want at least %.0f (grown into the %s disk)", r["ROOTSIZE"], float64(minRoot), diskSize)
	}
	secure := "none"
	if fw.code != "" {
		secure = "0"
		if fw.secure {
			secure = "1"
		}
	}
	want := map[string]string{
		"SEEDED": "yes", "KEYS": "1", "CISTATUS": "done", "SECUREBOOT": secure,
		"FIRMWARE": map[bool]string{true: "uefi", false: "bios"}[fw.code != ""],
	}
	for k, w := range want {
		if r[k] != w {
			t.Errorf("%s = %q, want %q", k, r[k], w)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(r["MACHINEID"]) {
		t.Errorf("machine id %q: not made at boot", r["MACHINEID"])
	}
	if !strings.HasPrefix(r["HOSTKEY"], "SHA256:") {
		t.Errorf("ssh host key fingerprint %q: no host key made at boot", r["HOSTKEY"])
	}
	return r
}

// buildImage runs scripts/debian-image, which prints RAW=, QCOW2= and
// ZSTD= and nothing else on stdout, then runs it again: the second run
// must find the cache and print the same within a second.
func buildImage(t *testing.T) map[string]string {
	t.Helper()
	script, err := filepath.Abs("../debian-image")
	if err != nil {
		t.Fatal(err)
	}
	runScript := func() (map[string]string, time.Duration) {
		start := time.Now()
		cmd := exec.Command(script)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("scripts/debian-image: %v\n%s", err, tail(stderr.String(), 6000))
		}
		paths := map[string]string{}
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok || (k != "RAW" && k != "QCOW2" && k != "ZSTD") {
				t.Fatalf("scripts/debian-image printed %q on stdout; want only RAW=, QCOW2= and ZSTD=", line)
			}
			paths[k] = v
		}
		if len(paths) != 3 {
			t.Fatalf("scripts/debian-image printed %q; want RAW=, QCOW2= and ZSTD=", out)
		}
		return paths, time.Since(start)
	}
	paths, took := runScript()
	t.Logf("scripts/debian-image: %.1f s", took.Seconds())
	again, took := runScript()
	t.Logf("scripts/debian-image again (cached): %v", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the cached run took %v, want under a second", took)
	}
	for k, v := range paths {
		if again[k] != v {
			t.Errorf("the cached run printed %s=%s, the first %s", k, again[k], v)
		}
	}
	return paths
}

// checkImages checks the three outputs: a 2 GiB raw disk, a compressed
// qcow2 of it and a zstd of it.
func checkImages(t *testing.T, img map[string]string) {
	t.Helper()
	for _, k := range []string{"RAW", "QCOW2", "ZSTD"} {
		fi, err := os.Stat(img[k])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s, %d MiB", k, img[k], fi.Size()>>20)
		if k == "RAW" && fi.Size() != imageSize {
			t.Errorf("raw image is %d bytes, want %d", fi.Size(), imageSize)
		}
	}
	var info struct {
		Format      string `json:"format"`
		VirtualSize int64  `json:"virtual-size"`
	}
	out := run(t, nil, "qemu-img", "info", "--output=json", img["QCOW2"])
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("qemu-img info: %v\n%s", err, out)
	}
	if info.Format != "qcow2" || info.VirtualSize != imageSize {
		t.Errorf("qcow2 image: format %q, virtual size %d; want qcow2, %d", info.Format, info.VirtualSize, imageSize)
	}
	run(t, nil, "zstd", "-q", "-t", img["ZSTD"])
}
