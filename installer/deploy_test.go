package installer

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
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
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/klauspost/compress/zstd"
	"github.com/rackboot/rackboot/images/compression"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/ulikunitz/xz"
)

// testImage is size bytes: random data with long zero runs (the second
// half is zeros, and so is every fourth MiB of the first), and an odd
// tail, so block, chunk and tail paths are all taken.
func testImage(size int) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < size/2; i++ {
		if (i>>20)%4 == 3 {
			continue
		}
		b[i] = byte(r.Uint32())
	}
	for i := size - 100; i < size; i++ {
		b[i] = 0xAB
	}
	return b
}

func compress(t *testing.T, data []byte, how string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch how {
	case "none":
		return data
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "xz":
		w, err = xz.NewWriter(&buf)
	case "zstd":
		w, err = zstd.NewWriter(&buf)
	case "zstd-long31":
		// The zstd command at --long=31 from a pipe declares a 2 GiB
		// window whatever the data's size.
		cmd := exec.Command("zstd", "--long=31", "-1", "-q", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("zstd --long=31 (scripts/ci-deps installs zstd): %v", err)
		}
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// blankDisk is a sparse file of size bytes standing in for a disk.
func blankDisk(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return p
}

func allocated(t *testing.T, path string) int64 {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func TestWriteImageCompressions(t *testing.T) {
	img := testImage(9<<20 + 12345)
	for _, how := range []string{"none", "gzip", "xz", "zstd", "zstd-long31"} {
		t.Run(how, func(t *testing.T) {
			dev := blankDisk(t, 16<<20)
			kind, _, _ := strings.Cut(how, "-")
			src, err := compression.NewReader(bytes.NewReader(compress(t, img, how)), compression.Kind(kind))
			if err != nil {
				t.Fatal(err)
			}
			var last int64
			st, err := WriteImageFile(context.Background(), dev, src, int64(len(img)), WriteOptions{Progress: func(n int64) { last = n }})
			if err != nil {
				t.Fatal(err)
			}
			if st.Written != int64(len(img)) || last != st.Written {
				t.Errorf("written %d, progress %d, want %d", st.Written, last, len(img))
			}
			if err := VerifyFile(dev, int64(len(img)), sum(img)); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(dev)
			if !bytes.Equal(got[:len(img)], img) || !bytes.Equal(got[len(img):], make([]byte, len(got)-len(img))) {
				t.Fatal("disk content differs from the image")
			}
			// Zero runs were skipped: the sparse file holds only the data
			// (3 of the first 4.5 MiB are random, 100 bytes of tail).
			if a := allocated(t, dev); a > 4<<20 {
				t.Errorf("%d bytes allocated, want the zero runs skipped (≤ 4 MiB)", a)
			}
			if st.Zeroed < 5<<20 {
				t.Errorf("zeroed %d bytes, want ≥ 5 MiB", st.Zeroed)
			}
		})
	}
}

// A reused disk: what it held where the image has zeros must be gone.
func TestWriteImageZeroesOldData(t *testing.T) {
	img := testImage(8 << 20)
	dev := blankDisk(t, 8<<20)
	if err := os.WriteFile(dev, bytes.Repeat([]byte{0x5A}, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteImageFile(context.Background(), dev, bytes.NewReader(img), int64(len(img)), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(dev, int64(len(img)), sum(img)); err != nil {
		t.Fatal(err)
	}
}

func TestWriteImageTruncated(t *testing.T) {
	img := testImage(6 << 20)
	for _, how := range []string{"none", "gzip", "xz", "zstd"} {
		t.Run(how, func(t *testing.T) {
			c := compress(t, img, how)
			c = c[:len(c)*2/3]
			dev := blankDisk(t, 8<<20)
			src, err := compression.NewReader(bytes.NewReader(c), compression.Kind(how))
			if err == nil {
				_, err = WriteImageFile(context.Background(), dev, src, int64(len(img)), WriteOptions{})
			}
			var se *StepError
			if err == nil || !errors.As(err, &se) || se.Step != "download" {
				t.Fatalf("err = %v, want a download step error", err)
			}
			if how != "zstd" && !errors.Is(err, compression.ErrTruncated) {
				t.Errorf("err = %v, want ErrTruncated", err)
			}
			t.Logf("%s: %v", how, err)
		})
	}
}

func TestWriteImageLongerThanSize(t *testing.T) {
	img := testImage(2 << 20)
	_, err := WriteImageFile(context.Background(), blankDisk(t, 4<<20), bytes.NewReader(img), int64(len(img)-1), WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "longer") {
		t.Fatalf("err = %v", err)
	}
}

func TestVerifyFlippedByte(t *testing.T) {
	img := testImage(3<<20 + 7)
	want := sum(img)
	bad := bytes.Clone(img)
	bad[1<<20+3] ^= 0x01
	dev := blankDisk(t, 4<<20)
	if _, err := WriteImageFile(context.Background(), dev, bytes.NewReader(bad), int64(len(bad)), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := VerifyFile(dev, int64(len(img)), want)
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch: wrote "+sum(bad)+", expected "+want) {
		t.Fatalf("err = %v", err)
	}
}

func sysDisks(t *testing.T, disks map[string]string) string {
	files := map[string]string{}
	for name, attrs := range disks {
		for _, kv := range strings.Split(attrs, ",") {
			k, v, _ := strings.Cut(kv, "=")
			files["sys/block/"+name+"/"+k] = v + "\n"
		}
	}
	return fakeRoot(t, files, nil)
}

func TestPickDisk(t *testing.T) {
	root := sysDisks(t, map[string]string{
		"loop0": "size=99999999,removable=0",
		"sda":   "size=2048,removable=1",      // 1 MiB USB stick
		"vda":   "size=4096,removable=0",      // 2 MiB
		"vdb":   "size=8192,removable=0",      // 4 MiB
		"vdc":   "size=16384,serial=S-VDC",    // 8 MiB
		"sr0":   "size=999999999,removable=1", // optical
	})
	for _, tc := range []struct {
		hint machineapi.DiskHint
		size int64
		want string
		err  string
	}{
		{machineapi.DiskHint{}, 1 << 20, "vda", ""},
		{machineapi.DiskHint{}, 3 << 20, "vdb", ""},
		{machineapi.DiskHint{MinSize: 5 << 20}, 1 << 20, "vdc", ""},
		{machineapi.DiskHint{Serial: "S-VDC"}, 1 << 20, "vdc", ""},
		{machineapi.DiskHint{Path: "/dev/vdb"}, 1 << 20, "vdb", ""},
		{machineapi.DiskHint{Path: "/dev/vda"}, 3 << 20, "", "larger than disk"},
		{machineapi.DiskHint{Path: "/dev/nvme0n1"}, 1, "", "no disk /dev/nvme0n1"},
		{machineapi.DiskHint{}, 9 << 20, "", "larger than every disk"},
	} {
		d, err := pickDisk(root, tc.hint, tc.size)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v %d: err %v, want %q", tc.hint, tc.size, err, tc.err)
			}
			continue
		}
		if err != nil || d.Name != tc.want || d.Path != filepath.Join(root, "dev", tc.want) {
			t.Errorf("%+v %d: %+v %v, want %s", tc.hint, tc.size, d, err, tc.want)
		}
	}
}

// gptImage builds a small disk image like the test image: GPT, partition
// 1 a FAT32 ESP, partition 2 a FAT32 CIDATA.
func gptImage(t *testing.T) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img")
	const size = 80 << 20
	d, err := diskfs.Create(p, size, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	tbl := &gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true, Partitions: []*gpt.Partition{
		{Index: 1, Start: 2048, End: 2048 + 40<<11 - 1, Type: gpt.EFISystemPartition, Name: "EFI system partition"},
		{Index: 2, Start: 2048 + 40<<11, End: 2048 + 40<<11 + 36<<11 - 1, Type: gpt.MicrosoftBasicData, Name: "CIDATA"},
	}}
	if err := d.Partition(tbl); err != nil {
		t.Fatal(err)
	}
	for i, label := range []string{"ESP", "CIDATA"} {
		if _, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: i + 1, FSType: filesystem.TypeFat32, VolumeLabel: label}); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testSeed = machineapi.Seed{
	MetaData:      "instance-id: rackboot-525400123456-1\nlocal-hostname: node-7\n",
	UserData:      "#cloud-config\nhostname: node-7\n",
	NetworkConfig: "version: 2\n",
	Rackboot:      "url=http://10.0.0.1:8081\ntoken=tok\nmac=52:54:00:12:34:56\n",
}

// deployAppliance serves next (deploy once, then wait), the image, and
// records the installer's reports.
type deployAppliance struct {
	mu        sync.Mutex
	next      machineapi.Next
	seed      machineapi.Seed
	seeds     int // seed claims
	blob      []byte
	progress  []machineapi.Progress
	deployed  []machineapi.Deployed
	failed    []string
	wiped     []machineapi.Wiped
	cancel    context.CancelFunc
	afterPoll int
}

func (a *deployAppliance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer t" {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/machine/v1/next":
		json.NewEncoder(w).Encode(a.next)
		if a.next.Action != machineapi.ActionWait {
			a.next = machineapi.Next{Action: machineapi.ActionWait}
		} else if a.afterPoll++; a.afterPoll >= 2 {
			a.cancel()
		}
	case "/machine/v1/seed":
		a.seeds++
		json.NewEncoder(w).Encode(a.seed)
	case "/machine/v1/image":
		w.Header().Set("Content-Length", itoa(len(a.blob)))
		w.Write(a.blob)
	case "/machine/v1/progress":
		var p machineapi.Progress
		json.NewDecoder(r.Body).Decode(&p)
		a.progress = append(a.progress, p)
	case "/machine/v1/deployed":
		var d machineapi.Deployed
		json.NewDecoder(r.Body).Decode(&d)
		a.deployed = append(a.deployed, d)
	case "/machine/v1/wiped":
		var wd machineapi.Wiped
		json.NewDecoder(r.Body).Decode(&wd)
		a.wiped = append(a.wiped, wd)
	case "/machine/v1/failed":
		var f struct{ Cause string }
		json.NewDecoder(r.Body).Decode(&f)
		a.failed = append(a.failed, f.Cause)
	default:
		http.NotFound(w, r)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// runDeployOnce runs poll against a fake appliance that says deploy once.
func runDeployOnce(t *testing.T, img []byte, blob []byte, how string, diskSize int64, mutate func(*machineapi.Deploy)) (*deployAppliance, string, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := sysDisks(t, map[string]string{"vda": "size=" + itoa(int(diskSize/512)) + ",removable=0"})
	dev := filepath.Join(root, "dev", "vda")
	writeFile(t, dev, "")
	os.Truncate(dev, diskSize)
	app := &deployAppliance{blob: blob, cancel: cancel, seed: testSeed}
	srv := httptest.NewServer(app)
	defer srv.Close()
	d := &machineapi.Deploy{ImageURL: srv.URL + "/machine/v1/image?mac=m", SHA256: sum(img), Size: int64(len(img)), Compression: how}
	if mutate != nil {
		mutate(d)
	}
	app.next = machineapi.Next{Action: machineapi.ActionDeploy, State: "deploying", Deploy: d}
	reboots := 0
	var log bytes.Buffer
	o := Options{Root: root, Log: NewConsoleLogger(&log), Reboot: func() error { reboots++; return nil },
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}.withDefaults()
	cl := &Client{BaseURL: srv.URL, Token: "t", MAC: "m"}
	if err := poll(ctx, o, cl); !errors.Is(err, context.Canceled) {
		t.Fatalf("poll = %v", err)
	}
	t.Logf("console:\n%s", log.String())
	return app, dev, reboots
}

func TestDeployEndToEnd(t *testing.T) {
	img := gptImage(t)
	app, dev, reboots := runDeployOnce(t, img, compress(t, img, "gzip"), "gzip", 128<<20, nil)
	if app.seeds != 1 {
		t.Errorf("the seed was claimed %d times, want once", app.seeds)
	}
	if len(app.failed) != 0 || len(app.deployed) != 1 || reboots != 1 {
		t.Fatalf("failed %v deployed %v reboots %d", app.failed, app.deployed, reboots)
	}
	if d := app.deployed[0]; d.Disk != dev || d.Written != int64(len(img)) {
		t.Errorf("deployed %+v", d)
	}
	if n := len(app.progress); n == 0 || app.progress[n-1].Written != int64(len(img)) || app.progress[n-1].Total != int64(len(img)) {
		t.Errorf("progress %+v", app.progress)
	}
	checkSeed(t, dev, 2, testSeed)
}

func TestDeployFailures(t *testing.T) {
	needTools(t, "sfdisk")
	img := gptImage(t)
	gz := compress(t, img, "gzip")
	fourPrimaries := sfdiskImage(t, 8<<20, "label: dos\nstart=2048, size=2048, type=c\nstart=4096, size=2048, type=83\nstart=6144, size=2048, type=83\nstart=8192, size=2048, type=83\n")
	for _, tc := range []struct {
		name     string
		blob     []byte
		how      string
		diskSize int64
		mutate   func(*machineapi.Deploy)
		cause    string
		blank    bool // the disk must be left untouched
	}{
		{"checksum", img, "none", 128 << 20, func(d *machineapi.Deploy) { d.SHA256 = strings.Repeat("0", 64) }, "verify: checksum mismatch: wrote " + sum(img), false},
		{"truncated gzip", gz[:len(gz)/2], "gzip", 128 << 20, nil, "download: truncated", false},
		{"truncated raw", img[:len(img)-4096], "none", 128 << 20, nil, "download: truncated image stream: ended after", false},
		{"disk too small", gz, "gzip", 64 << 20, nil, "disk: image of 83886080 bytes is larger than every disk", false},
		{"no partition table", make([]byte, 4<<20), "none", 128 << 20, func(d *machineapi.Deploy) { d.SHA256 = sum(make([]byte, 4<<20)); d.Size = 4 << 20 }, "seed: no partition table", true},
		{"four primary partitions", fourPrimaries, "none", 128 << 20, func(d *machineapi.Deploy) { d.SHA256 = sum(fourPrimaries); d.Size = int64(len(fourPrimaries)) },
			"seed: no room for a seed partition: the image's MBR has four primary partitions", true},
		{"no room for the seed", gz, "gzip", 88 << 20, nil, "seed: no room for a seed partition: the disk has 92274688 bytes", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, dev, reboots := runDeployOnce(t, img, tc.blob, tc.how, tc.diskSize, tc.mutate)
			if tc.blank {
				if a := allocated(t, dev); a != 0 {
					t.Errorf("%d bytes written to the disk, want none", a)
				}
			}
			if len(app.deployed) != 0 || reboots != 0 || len(app.failed) != 1 || !strings.HasPrefix(app.failed[0], tc.cause) {
				t.Fatalf("deployed %v reboots %d failed %q, want a cause starting %q", app.deployed, reboots, app.failed, tc.cause)
			}
		})
	}
}

// A read-only target: the first write fails, and
// the writer must stop without reading the rest of the stream.
func TestWriteImageStopsOnWriteError(t *testing.T) {
	dev := blankDisk(t, 64<<20)
	f, err := os.Open(dev) // read-only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img := testImage(64 << 20)
	r := &countingReader{r: bytes.NewReader(img)}
	_, err = WriteImage(context.Background(), f, r, int64(len(img)), WriteOptions{})
	var se *StepError
	if !errors.As(err, &se) || se.Step != "write" {
		t.Fatalf("err = %v, want a write step error", err)
	}
	if r.n > 6*BlockSize {
		t.Errorf("read %d bytes after the first write failed, want the reader stopped", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
