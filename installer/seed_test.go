package installer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/images/partition"
	"github.com/rackboot/rackboot/machineapi"
)

// needTools fails (skips under -short) without the independent readers
// the seed tests check against (scripts/ci-deps installs them).
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if testing.Short() {
				t.Skipf("%s not installed", tool)
			}
			t.Fatalf("%s not installed (scripts/ci-deps)", tool)
		}
	}
}

func sh(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// sfdiskImage is a sparse image of size bytes partitioned by script, with
// random bytes at the start of every partition (standing for data that
// must survive).
func sfdiskImage(t *testing.T, size int64, script string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img")
	if err := os.Truncate(createFile(t, p), size); err != nil {
		t.Fatal(err)
	}
	sh(t, script, "sfdisk", "-q", "--no-reread", "--no-tell-kernel", p)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := partition.Parse(b[:partition.HeadSize])
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range l.Partitions {
		copy(b[q.Start:q.End()], testImage(int(q.Size))[:q.Size/2])
		b[q.Start] = byte(i + 1)
	}
	return b
}

func createFile(t *testing.T, p string) string {
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

const debianLike = `label: gpt
unit: sectors
first-lba: 2048
p14 : start=2048, size=6144, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"
p15 : start=8192, size=20480, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
p1 : start=28672, size=34816, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"
`

// onDisk writes img at the start of a sparse disk of size bytes.
func onDisk(t *testing.T, img []byte, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkSeed reads the seed partition n back with tools that are not
// rackboot's: blkid for the filesystem and its label, mtools for the
// files, byte for byte.
func checkSeed(t *testing.T, dev string, n int, s machineapi.Seed) {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	l, err := partition.ReadLayout(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var part partition.Partition
	for _, p := range l.Partitions {
		if p.Number == n {
			part = p
		}
	}
	if part.Number == 0 {
		t.Fatalf("no partition %d: %+v", n, l.Partitions)
	}
	probe := sh(t, "", "blkid", "-p", "-o", "export", "-O", fmt.Sprint(part.Start), dev)
	if !strings.Contains(probe, "LABEL=CIDATA\n") || !strings.Contains(probe, "TYPE=vfat\n") {
		t.Errorf("blkid on partition %d:\n%s", n, probe)
	}
	img := fmt.Sprintf("%s@@%d", dev, part.Start)
	want := map[string]string{"meta-data": s.MetaData, "user-data": s.UserData}
	if s.NetworkConfig != "" {
		want["network-config"] = s.NetworkConfig
	}
	if s.Rackboot != "" {
		want[machineapi.SeedRackbootFile] = s.Rackboot
	}
	listing := sh(t, "", "mdir", "-b", "-i", img, "::/")
	if got := strings.Count(listing, "\n"); got != len(want) {
		t.Errorf("seed holds %d files, want %d:\n%s", got, len(want), listing)
	}
	for name, data := range want {
		if got := sh(t, "", "mtype", "-i", img, "::/"+name); got != data {
			t.Errorf("%s (mtype):\n%q\nwant:\n%q", name, got, data)
		}
	}
}

// The test image's way: partition 2 is CIDATA, reused; a second seed
// replaces the first, a longer file by a shorter one; the table stays.
func TestWriteSeedReusesSeedPartition(t *testing.T) {
	needTools(t, "blkid", "mtype", "sgdisk")
	img := gptImage(t)
	dev := onDisk(t, img, 128<<20)
	first := testSeed
	first.MetaData = strings.Repeat("x", 9000)
	if _, err := WriteSeed(dev, int64(len(img)), first); err != nil {
		t.Fatal(err)
	}
	plan, err := WriteSeed(dev, int64(len(img)), testSeed)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Reuse || plan.Number != 2 {
		t.Errorf("plan %s, want partition 2 reused", plan)
	}
	checkSeed(t, dev, 2, testSeed)
	got, _ := os.ReadFile(dev)
	if !bytes.Equal(got[:34*512], img[:34*512]) {
		t.Error("reusing the seed partition changed the partition table")
	}
}

// A stock cloud image's way: no seed partition, so the backup GPT moves
// to the disk's end and a 16 MiB CIDATA partition takes its last MiBs; the
// image's partitions keep every byte, and the gap after root stays free.
func TestWriteSeedAddsGPTPartition(t *testing.T) {
	needTools(t, "sfdisk", "sgdisk", "blkid", "mtype")
	img := sfdiskImage(t, 32<<20, debianLike)
	const diskSize = 64 << 20
	dev := onDisk(t, img, diskSize)
	plan, err := WriteSeed(dev, int64(len(img)), testSeed)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Reuse || plan.Number != 2 || plan.Start != 47<<20 || plan.Size != 16<<20 {
		t.Fatalf("plan %s", plan)
	}
	if out := sh(t, "", "sgdisk", "-v", dev); !strings.Contains(out, "No problems found") {
		t.Errorf("sgdisk -v:\n%s", out)
	}
	dump := sh(t, "", "sfdisk", "--dump", dev)
	if !strings.Contains(dump, "last-lba: 131038") || !strings.Contains(dump, `start=       96256, size=       32768, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7`) || !strings.Contains(dump, `name="CIDATA"`) {
		t.Errorf("sfdisk --dump:\n%s", dump)
	}
	checkSeed(t, dev, 2, testSeed)
	got, _ := os.ReadFile(dev)
	if !bytes.Equal(got[1<<20:28672*512+34816*512], img[1<<20:28672*512+34816*512]) {
		t.Error("the image's partitions changed")
	}
	if !bytes.Equal(got[len(img):47<<20], make([]byte, 47<<20-len(img))) {
		t.Error("the gap between the image and the seed is not blank")
	}
}

// An MBR with a free entry gets the seed as its fourth primary.
func TestWriteSeedAddsMBRPartition(t *testing.T) {
	needTools(t, "sfdisk", "blkid", "mtype")
	img := sfdiskImage(t, 32<<20, "label: dos\nstart=2048, size=8192, type=c\nstart=10240, size=8192, type=83\nstart=18432, size=8192, type=83\n")
	dev := onDisk(t, img, 96<<20)
	plan, err := WriteSeed(dev, int64(len(img)), testSeed)
	if err != nil || plan.Number != 4 || plan.Start != 80<<20 {
		t.Fatalf("plan %s, %v", plan, err)
	}
	if dump := sh(t, "", "sfdisk", "--dump", dev); !strings.Contains(dump, "start=      163840, size=       32768, type=e") {
		t.Errorf("sfdisk --dump:\n%s", dump)
	}
	checkSeed(t, dev, 4, testSeed)
}

// A partition 2 labelled DATA is data, not a seed: with no room after the
// image nothing is written; on a larger disk the seed goes after it.
func TestWriteSeedNeverOverData(t *testing.T) {
	needTools(t, "blkid", "mtype", "sgdisk")
	img := gptImage(t)
	for _, off := range []int64{2048 * 512, (2048 + 40<<11) * 512} {
		copy(img[off+0x47:], "DATA       ") // the FAT32 boot sector's label
	}
	dev := onDisk(t, img, int64(len(img)))
	if _, err := WriteSeed(dev, int64(len(img)), testSeed); !errors.Is(err, partition.ErrNoRoom) {
		t.Fatalf("same-size disk: err %v, want ErrNoRoom", err)
	}
	if got, _ := os.ReadFile(dev); !bytes.Equal(got, img) {
		t.Fatal("a refused seed changed the disk")
	}
	dev = onDisk(t, img, int64(len(img))+32<<20)
	plan, err := WriteSeed(dev, int64(len(img)), testSeed)
	if err != nil || plan.Number != 3 || plan.Start < int64(len(img)) {
		t.Fatalf("plan %s, %v: want a new partition 3 after the image", plan, err)
	}
	checkSeed(t, dev, 3, testSeed)
}
