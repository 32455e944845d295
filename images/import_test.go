package images_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/images"
)

func TestImportCompressions(t *testing.T) {
	disk := gptDisk(t, "gpt")
	for _, tc := range []struct {
		name   string
		stored []byte
		comp   images.Compression
	}{
		{"raw", disk, images.None},
		{"gzip", gzipped(t, disk), images.Gzip},
		{"xz", xzed(t, disk), images.XZ},
		{"zstd", zstded(t, disk), images.Zstd},
		{"zstd-long31", longZstded(t, disk), images.Zstd},
		{"mbr", mbrDisk(t, "mbr"), images.None},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			// The source name lies: the format comes from the bytes.
			img, err := s.Import(context.Background(), bytes.NewReader(tc.stored), images.ImportOptions{Name: tc.name, Source: "disk.img"})
			if err != nil {
				t.Fatal(err)
			}
			want := disk
			if tc.name == "mbr" {
				want = tc.stored
			}
			if img.Format != images.FormatRaw || img.Compression != tc.comp || img.SHA256 != sha(want) || img.Size != int64(len(want)) ||
				img.StoredSHA256 != sha(tc.stored) || img.StoredSize != int64(len(tc.stored)) || img.Source != "disk.img" || img.Created.IsZero() {
				t.Fatalf("record: %+v", img)
			}
			if tc.name == "zstd-long31" && img.DecodeWindow != 1<<31 {
				t.Fatalf("decode window %d, want the 2 GiB that --long=31 declares", img.DecodeWindow)
			}
			f, got, err := s.Open(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b, _ := io.ReadAll(f)
			if !bytes.Equal(b, tc.stored) || got != img {
				t.Fatalf("Open: %d bytes, %+v", len(b), got)
			}
		})
	}
}

func TestImportRefusesWhatIsNotADiskImage(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 1000)...)
	for _, tc := range []struct {
		name, want string
		body       []byte
	}{
		{"elf", "not a disk image: found an ELF executable", elf},
		{"text", "not a disk image: found ASCII text", []byte("#!/bin/sh\necho hello\n")},
		{"empty", "not a disk image: found an empty file", nil},
		{"zeros", "not a disk image: found 4096 zero bytes", make([]byte, 4096)},
		{"noise", "not a disk image: found 1234 bytes with no partition table", bytes.Repeat([]byte{0x80, 0x01}, 617)},
		{"gzip text", "not a disk image: found UTF-8 text inside the gzip stream", gzipped(t, []byte("héllo\n"))},
		{"zip", "not a disk image: found a zip archive", []byte("PK\x03\x04rest")},
		{"bzip2", "found a bzip2 stream", []byte("BZh91AY&SY")},
		{"tar in xz", "found a tar archive inside the xz stream", xzed(t, append(make([]byte, 257), "ustar\x0000"...))},
		{"iso wanted", "not an ISO 9660 image: found a GPT disk image", gptDisk(t, "x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir)
			_, err := s.Import(context.Background(), bytes.NewReader(tc.body), images.ImportOptions{Name: "x", ISO: tc.name == "iso wanted"})
			var fe *images.FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a FormatError with %q", err, tc.want)
			}
			assertEmpty(t, s, dir)
		})
	}
}

// assertEmpty: a failed import leaves no record, no blob, no temp file.
func assertEmpty(t *testing.T, s *images.Store, dir string) {
	t.Helper()
	if n := len(s.Images()); n != 0 {
		t.Fatalf("%d images after a failed import", n)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("files left behind: %v", f)
	}
}

func TestImportTruncatedStreamsStoreNothing(t *testing.T) {
	disk := gptDisk(t, "t")
	for name, full := range map[string][]byte{"gzip": gzipped(t, disk), "xz": xzed(t, disk), "zstd": zstded(t, disk)} {
		for _, cut := range []int{len(full) / 2, len(full) - 4} {
			dir := t.TempDir()
			s := openStore(t, dir)
			_, err := s.Import(context.Background(), bytes.NewReader(full[:cut]), images.ImportOptions{Name: "x"})
			if !errors.Is(err, images.ErrCorrupt) {
				t.Fatalf("%s cut at %d of %d: err = %v, want ErrCorrupt", name, cut, len(full), err)
			}
			assertEmpty(t, s, dir)
		}
	}
}

func TestImportRefusesJunkAfterStream(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	body := append(zstded(t, gptDisk(t, "j")), "trailing junk"...)
	if _, err := s.Import(context.Background(), bytes.NewReader(body), images.ImportOptions{Name: "x"}); !errors.Is(err, images.ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	assertEmpty(t, s, dir)
}

// failingReader delivers n bytes of b and then fails, like a dropped upload.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestImportSourceFailureStoresNothing(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	disk := gptDisk(t, "f")
	_, err := s.Import(context.Background(), &failingReader{r: bytes.NewReader(disk), n: len(disk) / 2}, images.ImportOptions{Name: "x"})
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, images.ErrCorrupt) {
		t.Fatalf("err = %v, want the source's error", err)
	}
	assertEmpty(t, s, dir)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Import(ctx, bytes.NewReader(disk), images.ImportOptions{Name: "x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
	assertEmpty(t, s, dir)
}

func TestNamesDuplicatesAndSharedBlobs(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	ctx := context.Background()
	a, b := gptDisk(t, "a"), gptDisk(t, "b")
	imp := func(name string, body []byte, replace bool) error {
		_, err := s.Import(ctx, bytes.NewReader(body), images.ImportOptions{Name: name, Replace: replace})
		return err
	}
	for _, name := range []string{"", "../x", "a/b", ".hidden", "-x", strings.Repeat("n", 129)} {
		if err := imp(name, a, false); !errors.Is(err, images.ErrInvalid) {
			t.Fatalf("name %q: err = %v", name, err)
		}
	}
	if err := imp("one", a, false); err != nil {
		t.Fatal(err)
	}
	if err := imp("one", b, false); !errors.Is(err, images.ErrExists) {
		t.Fatalf("duplicate: err = %v", err)
	}
	if err := imp("two", a, false); err != nil {
		t.Fatal(err)
	}
	if n := len(blobs(t, dir)); n != 1 {
		t.Fatalf("same content under two names: %d blobs, want 1", n)
	}
	if err := imp("two", b, true); err != nil {
		t.Fatal(err)
	}
	if n := len(blobs(t, dir)); n != 2 {
		t.Fatalf("after replace: %d blobs, want 2", n)
	}
	if err := s.Remove(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if got := blobs(t, dir); len(got) != 1 || got[0] != "blobs/sha256/"+sha(b) {
		t.Fatalf("after remove: blobs %v", got)
	}
	if err := s.Remove(ctx, "one"); !errors.Is(err, images.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	if names, _ := s.List(ctx); len(names) != 1 || names[0] != "two" {
		t.Fatalf("List = %v", names)
	}
}

func blobs(t *testing.T, dir string) []string {
	var out []string
	for _, f := range files(t, dir) {
		if strings.HasPrefix(f, "blobs/") {
			out = append(out, f)
		}
	}
	return out
}
