package images

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
)

// TestAdopt: a record imported in one store is adopted by another with
// its blob read through fetch; a blob that does not match its digest is
// refused and nothing is stored.
func TestAdopt(t *testing.T) {
	ctx := context.Background()
	a, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	disk := make([]byte, 1<<20)
	disk[510], disk[511] = 0x55, 0xaa
	disk[4096] = 7
	img, err := a.Import(ctx, bytes.NewReader(disk), ImportOptions{Name: "os"})
	if err != nil {
		t.Fatal(err)
	}
	fromA := func(_ context.Context, digest string) (io.ReadCloser, error) { return a.OpenBlob(digest) }

	b, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := func(context.Context, string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(disk[:1000])), nil
	}
	if err := b.Adopt(ctx, img, bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("adopt with a wrong blob: %v, want ErrCorrupt", err)
	}
	if _, err := b.Image("os"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a refused adoption: %v, want no image", err)
	}
	if entries, _ := os.ReadDir(b.tmpDir()); len(entries) != 0 {
		t.Fatalf("tmp/ keeps %d files after a refused adoption", len(entries))
	}
	if err := b.Adopt(ctx, img, fromA); err != nil {
		t.Fatal(err)
	}
	f, got, err := b.Open("os")
	if err != nil || got.SHA256 != img.SHA256 {
		t.Fatalf("adopted image: %+v, %v", got, err)
	}
	defer f.Close()
	stored, _ := io.ReadAll(f)
	want, _ := a.OpenBlob(img.StoredSHA256)
	wantBytes, _ := io.ReadAll(want)
	want.Close()
	if !bytes.Equal(stored, wantBytes) {
		t.Fatal("the adopted blob differs from the imported one")
	}
	called := false
	if err := b.Adopt(ctx, img, func(context.Context, string) (io.ReadCloser, error) { called = true; return nil, errors.New("x") }); err != nil || called {
		t.Fatalf("adopting what is there fetched again (%v) or failed: %v", called, err)
	}
}
