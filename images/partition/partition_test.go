package partition

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// need skips under -short, and fails otherwise, when a tool the test
// checks against is missing (scripts/ci-deps installs them).
func need(t *testing.T, tools ...string) {
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

func run(t *testing.T, stdin string, name string, args ...string) string {
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

// image makes a sparse file of size bytes partitioned by sfdisk's script,
// and returns its path.
func image(t *testing.T, size int64, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	f.Close()
	run(t, script, "sfdisk", "-q", "--no-reread", "--no-tell-kernel", p)
	return p
}

// mkfat puts a FAT filesystem labelled label at sector start, size sectors.
func mkfat(t *testing.T, img string, start, sectors int64, label string) {
	t.Helper()
	run(t, "", "mkfs.vfat", "-n", label, "--offset", itoa(start), img, itoa(sectors/2))
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// debianLike is the layout of Debian's generic cloud image: BIOS boot,
// ESP, root last, no seed.
const debianLike = `label: gpt
unit: sectors
first-lba: 2048
p14 : start=2048, size=6144, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"
p15 : start=8192, size=20480, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
p1 : start=28672, size=34816, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"
`

// layoutOf reads a file's layout both ways: streamed through a Scanner in
// odd-sized writes, and with ReadLayout; they must agree.
func layoutOf(t *testing.T, path string) Layout {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s Scanner
	for len(b) > 0 {
		n := min(len(b), 77777)
		s.Write(b[:n])
		b = b[n:]
	}
	streamed, serr := s.Layout()
	f, _ := os.Open(path)
	defer f.Close()
	read, rerr := ReadLayout(f)
	if (serr == nil) != (rerr == nil) {
		t.Fatalf("Scanner: %v, ReadLayout: %v", serr, rerr)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	sj, _ := json.Marshal(streamed)
	rj, _ := json.Marshal(read)
	if !bytes.Equal(sj, rj) {
		t.Fatalf("Scanner %s\nReadLayout %s", sj, rj)
	}
	return read
}

func TestGPTLayoutAndSeed(t *testing.T) {
	need(t, "sfdisk", "sgdisk", "mkfs.vfat", "blkid")
	img := image(t, 32<<20, debianLike)
	mkfat(t, img, 8192, 20480, "UEFI")
	l := layoutOf(t, img)
	if l.Table != GPT || len(l.Partitions) != 3 || l.FreeEntries != 125 || l.SeedPartition() != 0 || l.Seedable() != nil {
		t.Fatalf("layout %+v", l)
	}
	esp := l.Partitions[2] // entries in table order: 1, 14, 15
	if esp.Number != 15 || esp.Start != 8192*512 || esp.Type != "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" || esp.Name != "EFI System" || esp.FS != "vfat" || esp.Label != "UEFI" {
		t.Errorf("ESP %+v", esp)
	}

	// The disk is 64 MiB: the seed goes in its last MiBs, the gap stays.
	const diskSize = 64 << 20
	if err := os.Truncate(img, diskSize); err != nil {
		t.Fatal(err)
	}
	p, err := PlanSeed(l, 32<<20, diskSize)
	if err != nil {
		t.Fatal(err)
	}
	if p.Reuse || p.Number != 2 || p.Start != 47<<20 || p.Size != SeedSize {
		t.Fatalf("plan %+v", p)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := AddSeed(f, diskSize, p); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// sgdisk and sfdisk read the result independently.
	if out := run(t, "", "sgdisk", "-v", img); !strings.Contains(out, "No problems found") {
		t.Errorf("sgdisk -v:\n%s", out)
	}
	var dump struct {
		PartitionTable struct {
			LastLBA    int64 `json:"lastlba"`
			Partitions []struct {
				Node        string
				Start, Size int64
				Type, Name  string
			}
		}
	}
	if err := json.Unmarshal([]byte(run(t, "", "sfdisk", "--json", img)), &dump); err != nil {
		t.Fatal(err)
	}
	if dump.PartitionTable.LastLBA != diskSize/512-34 {
		t.Errorf("last usable LBA %d, want %d (backup GPT at the disk's end)", dump.PartitionTable.LastLBA, diskSize/512-34)
	}
	var found bool
	for _, q := range dump.PartitionTable.Partitions {
		if strings.HasSuffix(q.Node, "2") {
			found = q.Start == 47<<11 && q.Size == 16<<11 && q.Name == "CIDATA" && q.Type == basicData
		}
	}
	if !found {
		t.Errorf("no CIDATA partition 2 at 47 MiB: %+v", dump.PartitionTable.Partitions)
	}
	// The image's old backup header (at its last sector) is gone.
	b, _ := os.ReadFile(img)
	if bytes.Contains(b[32<<20-512:32<<20], []byte("EFI PART")) {
		t.Error("the image's backup GPT header is still at its old place")
	}
	// Labelled, the new partition is the seed of a second layout read.
	mkfat(t, img, 47<<11, 16<<11, "CIDATA")
	l2 := layoutOf(t, img)
	if l2.SeedPartition() != 2 {
		t.Errorf("after seeding: seed partition %d, layout %+v", l2.SeedPartition(), l2)
	}
	if p2, err := PlanSeed(l2, 32<<20, diskSize); err != nil || !p2.Reuse || p2.Number != 2 {
		t.Errorf("a second plan %+v, %v: want partition 2 reused", p2, err)
	}
}

func TestGPTTooSmallDisk(t *testing.T) {
	need(t, "sfdisk")
	img := image(t, 32<<20, debianLike)
	l := layoutOf(t, img)
	for _, disk := range []int64{32 << 20, 32<<20 + SeedSize} {
		if _, err := PlanSeed(l, 32<<20, disk); !errors.Is(err, ErrNoRoom) {
			t.Errorf("disk %d: err %v, want ErrNoRoom", disk, err)
		}
	}
	if _, err := PlanSeed(l, 32<<20, 32<<20+SeedSize+2<<20); err != nil {
		t.Errorf("a disk 18 MiB larger: %v", err)
	}
}

func TestMBR(t *testing.T) {
	need(t, "sfdisk", "mkfs.vfat", "blkid")
	three := image(t, 32<<20, "label: dos\nstart=2048, size=8192, type=c\nstart=10240, size=8192, type=83\nstart=18432, size=8192, type=83\n")
	l := layoutOf(t, three)
	if l.Table != MBR || len(l.Partitions) != 3 || l.FreeEntries != 1 || l.Seedable() != nil {
		t.Fatalf("layout %+v", l)
	}
	const diskSize = 96 << 20
	os.Truncate(three, diskSize)
	p, err := PlanSeed(l, 32<<20, diskSize)
	if err != nil || p.Number != 4 || p.Start != 80<<20 {
		t.Fatalf("plan %+v %v", p, err)
	}
	f, _ := os.OpenFile(three, os.O_RDWR, 0)
	if err := AddSeed(f, diskSize, p); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := run(t, "", "sfdisk", "--dump", three)
	if !strings.Contains(out, "start=      163840, size=       32768, type=e") {
		t.Errorf("sfdisk --dump:\n%s", out)
	}

	four := image(t, 32<<20, "label: dos\nstart=2048, size=8192, type=c\nstart=10240, size=8192, type=83\nstart=18432, size=8192, type=83\nstart=26624, size=8192, type=83\n")
	l = layoutOf(t, four)
	if err := l.Seedable(); !errors.Is(err, ErrNoRoom) || !strings.Contains(err.Error(), "four primary partitions") {
		t.Fatalf("four primaries: Seedable %v", err)
	}
	if _, err := PlanSeed(l, 32<<20, diskSize); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("four primaries: PlanSeed %v", err)
	}
	// One of the four labelled CIDATA: that one is the seed.
	mkfat(t, four, 2048, 8192, "CIDATA")
	l = layoutOf(t, four)
	if p, err := PlanSeed(l, 32<<20, diskSize); err != nil || !p.Reuse || p.Number != 1 {
		t.Fatalf("plan %+v %v, want partition 1 reused", p, err)
	}
}

// AddSeed reads the table again and refuses a plan that would collide.
func TestAddSeedRefusesOverlap(t *testing.T) {
	need(t, "sfdisk")
	img := image(t, 64<<20, debianLike+"p3 : start=100000, size=20000\n")
	f, _ := os.OpenFile(img, os.O_RDWR, 0)
	defer f.Close()
	before, _ := os.ReadFile(img)
	for _, p := range []Plan{
		{Table: GPT, Number: 2, Start: 100000 * 512, Size: SeedSize},
		{Table: GPT, Number: 3, Start: 50 << 20, Size: SeedSize},
		{Table: GPT, Number: 2, Start: 60 << 20, Size: SeedSize},
		{Table: MBR, Number: 2, Start: 48 << 20, Size: SeedSize},
	} {
		if err := AddSeed(f, 64<<20, p); !errors.Is(err, ErrNoRoom) {
			t.Errorf("%+v: err %v, want ErrNoRoom", p, err)
		}
	}
	after, _ := os.ReadFile(img)
	if !bytes.Equal(before, after) {
		t.Error("a refused plan changed the disk")
	}
}

func TestParseRefuses(t *testing.T) {
	gpt := func(t *testing.T) []byte {
		b, err := os.ReadFile(image(t, 32<<20, debianLike))
		if err != nil {
			t.Fatal(err)
		}
		return b[:HeadSize]
	}
	need(t, "sfdisk")
	for name, tc := range map[string]struct {
		mutate func([]byte) []byte
		want   error
	}{
		"no table":        {func(b []byte) []byte { return make([]byte, 4096) }, ErrNoTable},
		"header checksum": {func(b []byte) []byte { b[512+40]++; return b }, ErrCorrupt},
		"entry checksum":  {func(b []byte) []byte { b[1024+32]++; return b }, ErrCorrupt},
		"cut entries":     {func(b []byte) []byte { return b[:2048] }, ErrCorrupt},
		"protective only": {func(b []byte) []byte { clear(b[512:1024]); return b }, ErrCorrupt},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(tc.mutate(gpt(t))); !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFSLabel(t *testing.T) {
	need(t, "mkfs.vfat")
	p := filepath.Join(t.TempDir(), "fat")
	for _, tc := range []struct{ args, label string }{{"-F 16 -n cidata", "cidata"}, {"-F 32 -n config-2", "config-2"}, {"-F 12", ""}} {
		os.Remove(p)
		run(t, "", "mkfs.vfat", append(strings.Fields(tc.args), "-C", p, "40000")...)
		b, _ := os.ReadFile(p)
		fs, label := FSLabel(b[:LabelWindow])
		if fs != "vfat" || label != tc.label {
			t.Errorf("mkfs.vfat %s: %q %q", tc.args, fs, label)
		}
	}
	iso := make([]byte, LabelWindow)
	iso[32768] = 1
	copy(iso[32769:], "CD001")
	copy(iso[32808:], "config-2                        ")
	if fs, label := FSLabel(iso); fs != "iso9660" || label != "config-2" {
		t.Errorf("iso: %q %q", fs, label)
	}
	if fs, label := FSLabel(nil); fs != "" || label != "" {
		t.Error("empty input has a filesystem")
	}
}

// TestWriteFuzzCorpus regenerates the fuzz seed corpus from sfdisk-made
// tables when RACKBOOT_FUZZ_CORPUS=1: a GPT head (entries included), MBRs
// with three and four primaries.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("RACKBOOT_FUZZ_CORPUS") == "" {
		t.Skip("set RACKBOOT_FUZZ_CORPUS=1 to regenerate testdata/fuzz/FuzzParse")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	os.MkdirAll(dir, 0o755)
	for name, tc := range map[string]struct {
		script string
		n      int
	}{
		"gpt-debian":  {debianLike, 17408},
		"mbr-three":   {"label: dos\nstart=2048, size=8192, type=c\nstart=10240, size=8192, type=83\nstart=18432, size=8192, type=83\n", 512},
		"mbr-four":    {"label: dos\nstart=2048, size=8192, type=c\nstart=10240, size=8192, type=83\nstart=18432, size=8192, type=5\nstart=26624, size=8192, type=83\n", 512},
		"gpt-4k-like": {"label: gpt\nsector-size: 4096\nstart=256, size=1024, name=CIDATA\n", 4096 * 6},
	} {
		b, err := os.ReadFile(image(t, 32<<20, tc.script))
		if err != nil {
			t.Fatal(err)
		}
		head := b[:min(tc.n, len(b))]
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n[]byte("+strconvQuote(head)+")\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func strconvQuote(b []byte) string { return strconv.Quote(string(b)) }
