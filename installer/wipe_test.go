package installer

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/rackboot/rackboot/machineapi"
)

func TestWipeRanges(t *testing.T) {
	const M = 1 << 20
	for _, tc := range []struct {
		name  string
		size  int64
		parts [][2]int64
		want  [][2]int64
	}{
		{"bare disk", 100 * M, nil, [][2]int64{{0, 2 * M}, {98 * M, 2 * M}}},
		{"disk smaller than both edges", 3 * M, nil, [][2]int64{{0, 3 * M}}},
		{"partition edges merge with the disk's", 100 * M, [][2]int64{{1 * M, 97 * M}},
			[][2]int64{{0, 2 * M}, {97 * M, 3 * M}}},
		{"partitions apart", 100 * M, [][2]int64{{10 * M, 10 * M}, {50 * M, 30 * M}},
			[][2]int64{{0, 2 * M}, {10 * M, M}, {19 * M, M}, {50 * M, M}, {79 * M, M}, {98 * M, 2 * M}}},
		{"tiny partition", 100 * M, [][2]int64{{10 * M, 4096}}, [][2]int64{{0, 2 * M}, {10 * M, 4096}, {98 * M, 2 * M}}},
		{"partition past the end is clipped", 100 * M, [][2]int64{{99*M + 512, 10 * M}},
			[][2]int64{{0, 2 * M}, {98 * M, 2 * M}}},
	} {
		if got := wipeRanges(tc.size, tc.parts); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// blkid probes path (at offset, for a former partition) with util-linux's
// blkid in low-level mode and returns what it found, "" for nothing.
func blkid(t *testing.T, path string, offset int64) string {
	t.Helper()
	if _, err := exec.LookPath("blkid"); err != nil {
		t.Skip("blkid (util-linux) not installed")
	}
	out, err := exec.Command("blkid", "-p", "-O", strconv.FormatInt(offset, 10), "-o", "export", path).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		return "" // nothing recognised
	}
	if err != nil {
		t.Fatalf("blkid %s: %v", path, err)
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, _, _ := strings.Cut(l, "="); k == "PTTYPE" || k == "TYPE" || k == "LABEL" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, " ")
}

// TestQuickWipeImageFile wipes a GPT disk with two FAT partitions: before,
// blkid finds the table and both filesystems; after, nothing, while data
// in the middle of a partition is left (it is a quick wipe) and the file
// keeps its size.
func TestQuickWipeImageFile(t *testing.T) {
	img := gptImage(t)
	const p1, p2 = 2048 * 512, (2048 + 40<<11) * 512
	marker := []byte("data the quick wipe leaves alone")
	copy(img[p1+20<<20:], marker)
	dev := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(dev, img, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := blkid(t, dev, 0); !strings.Contains(got, "PTTYPE=gpt") {
		t.Fatalf("before: blkid finds %q, want a GPT", got)
	}
	for off, label := range map[int64]string{p1: "ESP", p2: "CIDATA"} {
		if got := blkid(t, dev, off); !strings.Contains(got, "TYPE=vfat") || !strings.Contains(got, "LABEL="+label) {
			t.Fatalf("before: blkid at %d finds %q", off, got)
		}
	}

	res, err := QuickWipe(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Table != "gpt" || res.Partitions != 2 || res.Size != int64(len(img)) {
		t.Errorf("result %+v, want a gpt table with 2 partitions on %d bytes", res, len(img))
	}
	// Disk edges 2+2 MiB and four partition edges of 1 MiB, of which the
	// first partition's start overlaps the disk's first 2 MiB by 1 MiB.
	if want := int64(4+4-1) << 20; res.Zeroed != want {
		t.Errorf("zeroed %d bytes, want %d", res.Zeroed, want)
	}
	for _, off := range []int64{0, p1, p2} {
		if got := blkid(t, dev, off); got != "" {
			t.Errorf("after: blkid at %d still finds %q", off, got)
		}
	}
	if d, err := diskfs.Open(dev, diskfs.WithOpenMode(diskfs.ReadOnly)); err == nil {
		if _, err := d.GetPartitionTable(); err == nil {
			t.Error("after: go-diskfs still reads a partition table")
		}
		d.Close()
	}
	after, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(img) {
		t.Errorf("size %d after the wipe, want %d", len(after), len(img))
	}
	if !bytes.Equal(after[p1+20<<20:p1+20<<20+len(marker)], marker) {
		t.Error("the middle of partition 1 was touched: not a quick wipe")
	}
	for _, r := range wipeRanges(int64(len(img)), [][2]int64{{p1, 40 << 20}, {p2, 36 << 20}}) {
		if !allZero(after[r[0] : r[0]+r[1]]) {
			t.Errorf("range %d+%d not zero", r[0], r[1])
		}
	}
}

// TestQuickWipeBlockDevice runs the wipe on a real block device: a loop
// device over the same GPT image, its partitions known to the kernel.
// After the wipe the kernel's partition nodes are gone (BLKRRPART ran on
// a disk with no table left), and neither blkid nor partx finds anything.
func TestQuickWipeBlockDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a loop device")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("losetup not installed")
	}
	backing := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(backing, gptImage(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", "--partscan", backing).Output()
	if err != nil {
		t.Skipf("losetup: %v (no loop devices here)", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	waitPath := func(p string, exists bool) bool {
		for range 20 {
			if _, err := os.Stat("/sys/class/block/" + filepath.Base(p)); (err == nil) == exists {
				return true
			}
			time.Sleep(100 * time.Millisecond)
		}
		return false
	}
	if !waitPath(dev+"p2", true) {
		// A kernel built without its own GPT parser (this lab's is one)
		// leaves the partitions to userspace, as partx does.
		if out, err := exec.Command("partx", "-a", dev).CombinedOutput(); err != nil {
			t.Fatalf("partx -a %s: %v\n%s", dev, err, out)
		}
		if !waitPath(dev+"p2", true) {
			t.Fatalf("%s has no partition 2 before the wipe", dev)
		}
	}
	res, err := QuickWipe(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Table != "gpt" || res.Partitions != 2 {
		t.Errorf("result %+v", res)
	}
	if !waitPath(dev+"p1", false) || !waitPath(dev+"p2", false) {
		t.Errorf("the kernel still lists partitions of %s after the wipe", dev)
	}
	if got := blkid(t, dev, 0); got != "" {
		t.Errorf("after: blkid on %s finds %q", dev, got)
	}
	if out, err := exec.Command("partx", "--show", dev).CombinedOutput(); err == nil {
		t.Errorf("after: partx still reads a table on %s:\n%s", dev, out)
	}
}

// TestWipeAction runs the installer's poll loop against an appliance that
// asks for a wipe: every non-removable disk is wiped and reported, the
// removable one is left alone.
func TestWipeAction(t *testing.T) {
	img := gptImage(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := sysDisks(t, map[string]string{
		"vda": "size=" + itoa(len(img)/512) + ",removable=0",
		"sda": "size=" + itoa(len(img)/512) + ",removable=1",
	})
	for _, n := range []string{"vda", "sda"} {
		writeFile(t, filepath.Join(root, "dev", n), string(img))
	}
	app := &deployAppliance{cancel: cancel, next: machineapi.Next{Action: machineapi.ActionWipe, State: "ready"}}
	srv := httptest.NewServer(app)
	defer srv.Close()
	var log bytes.Buffer
	o := Options{Root: root, Log: NewConsoleLogger(&log),
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}.withDefaults()
	if err := poll(ctx, o, &Client{BaseURL: srv.URL, Token: "t", MAC: "m"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("poll = %v", err)
	}
	t.Logf("console:\n%s", log.String())
	if len(app.failed) != 0 || len(app.wiped) != 1 {
		t.Fatalf("failed %v, wiped %+v", app.failed, app.wiped)
	}
	w := app.wiped[0]
	if len(w.Disks) != 1 || w.Disks[0].Disk != filepath.Join(root, "dev", "vda") || w.Disks[0].Partitions != 2 {
		t.Errorf("wiped %+v, want vda alone with its 2 partitions", w)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "dev", "sda")); !bytes.Equal(b, img) {
		t.Error("the removable disk was touched")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "dev", "vda")); !allZero(b[:2<<20]) {
		t.Error("vda's first 2 MiB are not zero")
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
