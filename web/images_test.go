package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
)

// newImageAPITest is an API with a real inventory and a real image store.
func newImageAPITest(t *testing.T) (*apiTest, string) {
	t.Helper()
	dir := t.TempDir()
	store, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	imgDir := filepath.Join(dir, "images")
	imgs, err := images.Open(imgDir, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Store: store, Lifecycle: lifecycle(store, imgs), Token: testToken, MaxBodyBytes: 4096, Images: imgs}
	h := s.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); store.Close() })
	return &apiTest{t: t, srv: srv, store: store, dir: dir, h: h}, imgDir
}

// testDisk is the start of an MBR disk with one partition: enough for
// the sniffer and the partition table reader, and a marker so two disks
// differ.
func testDisk(marker string) []byte {
	b := make([]byte, 64<<10)
	copy(b[446+4:], "\x83\x00\x00\x00\x00\x08\x00\x00\x10\x00\x00\x00") // type, LBA 2048, 16 sectors
	copy(b[510:], "\x55\xaa")
	copy(b[4096:], marker)
	return b
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

const octets = "application/octet-stream"

func (a *apiTest) upload(query string, body []byte) (int, string) {
	a.t.Helper()
	return a.call("POST", "/api/v1/images?"+query, string(body), "Content-Type", octets)
}

func TestImageLifecycle(t *testing.T) {
	a, dir := newImageAPITest(t)
	disk := testDisk("one")
	stored := gz(disk)
	code, body := a.upload("name=deb12&source=deb12.img.gz", stored)
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, body)
	}
	var img images.Image
	json.Unmarshal([]byte(body), &img)
	if img.Name != "deb12" || img.Compression != images.Gzip || img.SHA256 != sha(disk) || img.Size != int64(len(disk)) || img.StoredSize != int64(len(stored)) {
		t.Fatalf("record: %s", body)
	}
	if code, body := a.upload("name=deb12", testDisk("two")); code != http.StatusConflict || !strings.Contains(body, "already exists") {
		t.Fatalf("duplicate: %d %s", code, body)
	}
	if code, body := a.call("GET", "/api/v1/images", ""); code != 200 || !strings.Contains(body, `"name": "deb12"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := a.call("GET", "/api/v1/images/deb12", ""); code != 200 || !strings.Contains(body, img.SHA256) {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, body := a.call("GET", "/api/v1/images/nope", ""); code != 404 || !strings.Contains(body, `"error"`) {
		t.Fatalf("unknown: %d %s", code, body)
	}
	if code, body := a.call("DELETE", "/api/v1/images/deb12", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _ := a.call("DELETE", "/api/v1/images/deb12", ""); code != 404 {
		t.Fatalf("delete again: %d", code)
	}
	if f := regularFiles(t, dir); len(f) != 0 {
		t.Fatalf("after delete: %v", f)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestImageContentRangesAndHeaders(t *testing.T) {
	a, _ := newImageAPITest(t)
	disk := testDisk("c")
	stored := gz(disk)
	if code, body := a.upload("name=c", stored); code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/images/c/content", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Range", "bytes=10-19")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, stored[10:20]) {
		t.Fatalf("range: %d %q", resp.StatusCode, got)
	}
	if resp.Header.Get("X-Image-SHA256") != sha(disk) || resp.Header.Get("X-Image-Compression") != "gzip" || resp.Header.Get("ETag") != `"`+sha(stored)+`"` {
		t.Fatalf("headers: %v", resp.Header)
	}
	if code, body := a.call("GET", "/api/v1/images/c/kernel", ""); code != 404 || !strings.Contains(body, "only ISO") {
		t.Fatalf("kernel of a raw image: %d %s", code, body)
	}
}

// TestBadImagesChangeNothing: every refusal names the problem with a 4xx
// and leaves no record, blob or temp file.
func TestBadImagesChangeNothing(t *testing.T) {
	a, dir := newImageAPITest(t)
	if code, body := a.upload("name=keep", testDisk("keep")); code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	before := regularFiles(t, dir)
	full := gz(testDisk("t"))
	for _, tc := range []struct {
		name, query, ctype string
		body               []byte
		code               int
		want               string
	}{
		{"qcow2 garbage", "name=q", octets, append([]byte("QFI\xfb"), make([]byte, 508)...), 400, "qcow2 header: version 0"},
		{"qcow2 backing", "name=q", octets, qcow2WithBacking(), 415, `the qcow2 image has a backing file \"base.img\"`},
		{"checksum", "name=c&sha256=" + strings.Repeat("0", 64), octets, testDisk("x"), 400, "checksum mismatch: the file's sha256 is"},
		{"elf", "name=e", octets, []byte("\x7fELF\x02\x01\x01\x00rest"), 415, "found an ELF executable"},
		{"text", "name=t", octets, []byte("hello\n"), 415, "found ASCII text"},
		{"empty", "name=t", octets, nil, 415, "found an empty file"},
		{"truncated gzip", "name=t", octets, full[:len(full)/2], 400, "gzip stream truncated"},
		{"no name", "", octets, testDisk("x"), 400, "is required"},
		{"bad name", "name=" + url.QueryEscape("../etc"), octets, testDisk("x"), 400, "image name"},
		{"json body", "name=j", "application/json", []byte(`{"name":"j"}`), 415, "send the image itself"},
		{"bad flag", "name=f&replace=maybe", octets, testDisk("x"), 400, "is not true or false"},
		{"duplicate", "name=keep", octets, testDisk("x"), 409, "already exists"},
		{"iso wanted", "name=i&iso=true", octets, testDisk("x"), 415, "not an ISO 9660 image"},
	} {
		code, body := a.call("POST", "/api/v1/images?"+tc.query, string(tc.body), "Content-Type", tc.ctype)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, code, body, tc.code, tc.want)
		}
	}
	if after := regularFiles(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("files changed: %v → %v", before, after)
	}
}

// TestUploadDisconnectLeavesNothing: a client that goes away mid-upload
// leaves no image and no temp file.
func TestUploadDisconnectLeavesNothing(t *testing.T) {
	a, dir := newImageAPITest(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/v1/images?name=half HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: %s\r\nContent-Length: %d\r\n\r\n", testToken, octets, 10<<20)
	conn.Write(testDisk("half"))
	time.Sleep(50 * time.Millisecond) // let the import start and stage a temp file
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(regularFiles(t, dir)) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f := regularFiles(t, dir); len(f) != 0 {
		t.Fatalf("left behind: %v", f)
	}
	if code, body := a.call("GET", "/api/v1/images", ""); !strings.Contains(body, `"images": []`) {
		t.Fatalf("list: %d %s", code, body)
	}
}

func TestDeleteRefusesImageBeingDeployed(t *testing.T) {
	a, _ := newImageAPITest(t)
	if code, body := a.upload("name=busy", testDisk("busy")); code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	h, err := a.store.CreateHost(context.Background(), inventory.Host{MAC: "52:54:00:00:00:09", State: inventory.StateDeploying, Image: "busy"}, "test")
	if err != nil {
		t.Fatalf("create a deploying host: %v", err)
	}
	if code, body := a.call("DELETE", "/api/v1/images/busy", ""); code != 409 || !strings.Contains(body, h.MAC) {
		t.Fatalf("delete while deploying: %d %s", code, body)
	}
}

// TestDashboardRemoveRefusesImageBeingDeployed: the dashboard's image store
// keeps the API's rule (its Remove is what the dashboard's button calls).
func TestDashboardRemoveRefusesImageBeingDeployed(t *testing.T) {
	dir := t.TempDir()
	store, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	imgs, err := images.Open(filepath.Join(dir, "images"), images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := imgs.Import(ctx, bytes.NewReader(testDisk("busy")), images.ImportOptions{Name: "busy"}); err != nil {
		t.Fatal(err)
	}
	store.CreateHost(ctx, inventory.Host{MAC: "52:54:00:00:00:09", State: inventory.StateDeploying, Image: "busy"}, "test")
	s := &Server{Store: store, Lifecycle: lifecycle(store, imgs), Token: testToken, Images: imgs}
	s.Handler()
	if err := s.Dashboard.Images.Remove(ctx, "busy"); err == nil || !strings.Contains(err.Error(), "52:54:00:00:00:09") {
		t.Fatalf("dashboard remove while deploying: %v", err)
	}
	if _, err := imgs.Image("busy"); err != nil {
		t.Fatalf("image gone after a refused remove: %v", err)
	}
}

func TestNoImageStore(t *testing.T) {
	a := newAPITest(t)
	if code, body := a.call("GET", "/api/v1/images", ""); code != http.StatusNotImplemented || !strings.Contains(body, "no image store") {
		t.Fatalf("%d %s", code, body)
	}
}

// regularFiles lists the files under dir, relative to it.
func regularFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// qcow2WithBacking is a qcow2 v2 header naming a backing file, as
// qemu-img writes it.
func qcow2WithBacking() []byte {
	b := make([]byte, 4096)
	copy(b, "QFI\xfb\x00\x00\x00\x02")
	b[15], b[19] = 72, 8 // backing file name at byte 72, 8 bytes long
	b[23] = 16           // cluster bits
	b[29] = 0x10         // virtual size 1 MiB (big-endian at byte 24)
	copy(b[72:], "base.img")
	return b
}
