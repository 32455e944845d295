package images_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rackboot/rackboot/images"
)

// TestReopen: records survive a restart; what a crash left behind (a temp
// file, a blob whose record was never written) is cleaned up on Open.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	disk := gptDisk(t, "r")
	img, err := s.Import(context.Background(), bytes.NewReader(gzipped(t, disk)), images.ImportOptions{Name: "keep"})
	if err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, "blobs", "sha256", sha([]byte("orphan")))
	os.WriteFile(orphan, []byte("orphan"), 0o640)
	os.WriteFile(filepath.Join(dir, "tmp", "blob-123"), []byte("partial"), 0o640)

	s = openStore(t, dir)
	got, err := s.Image("keep")
	if err != nil || !got.Created.Equal(img.Created) || got.SHA256 != img.SHA256 || got.Compression != images.Gzip {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	if f := files(t, dir); len(f) != 2 { // the record and its blob
		t.Fatalf("after reopen: files %v", f)
	}
}

func TestOpenRefusesUnreadableRecord(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir)
	os.WriteFile(filepath.Join(dir, "meta", "bad.json"), []byte("{"), 0o640)
	if _, err := images.Open(dir, images.Options{}); err == nil {
		t.Fatal("Open accepted an unreadable record (and would have collected its blob)")
	}
}
