package images_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/rackboot/rackboot/images"
)

func TestImportISOExtractsBootFiles(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		files                  map[string]string
		kernelPath, initrdPath string
		wantKernel, wantInitrd string
		compress, plain        bool
	}{
		{name: "ubuntu", files: map[string]string{"/casper/vmlinuz": "K1", "/casper/initrd": "I1"}, wantKernel: "/casper/vmlinuz", wantInitrd: "/casper/initrd"},
		{name: "plain names", files: map[string]string{"/casper/vmlinuz": "K1", "/casper/initrd": "I1"}, plain: true, wantKernel: "/CASPER/VMLINUZ", wantInitrd: "/CASPER/INITRD"},
		{name: "debian gzip", files: map[string]string{"/install.amd/vmlinuz": "K2", "/install.amd/initrd.gz": "I2"}, compress: true,
			wantKernel: "/install.amd/vmlinuz", wantInitrd: "/install.amd/initrd.gz"},
		{name: "alpine", files: map[string]string{"/boot/vmlinuz-lts": "K3", "/boot/initramfs-lts": "I3"}, wantKernel: "/boot/vmlinuz-lts", wantInitrd: "/boot/initramfs-lts"},
		{name: "named", files: map[string]string{"/x/linux": "K4", "/x/ramdisk": "I4"}, kernelPath: "/X/LINUX", initrdPath: "x/ramdisk",
			wantKernel: "/x/linux", wantInitrd: "/x/ramdisk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			iso := isoImage(t, tc.files, tc.plain)
			body := iso
			if tc.compress {
				body = gzipped(t, iso)
			}
			img, err := s.Import(context.Background(), bytes.NewReader(body), images.ImportOptions{Name: "iso", KernelPath: tc.kernelPath, InitrdPath: tc.initrdPath})
			if err != nil {
				t.Fatal(err)
			}
			if img.Format != images.FormatISO || img.SHA256 != sha(iso) || img.Kernel == nil || img.Initrd == nil {
				t.Fatalf("record: %+v", img)
			}
			for _, bf := range []struct {
				got  *images.BootFile
				path string
			}{{img.Kernel, tc.wantKernel}, {img.Initrd, tc.wantInitrd}} {
				if bf.got.Path != bf.path {
					t.Errorf("path %q, want %q", bf.got.Path, bf.path)
				}
				f, err := s.OpenBlob(bf.got.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(f)
				f.Close()
				if sha(b) != bf.got.SHA256 || int64(len(b)) != bf.got.Size || len(b) != 2 {
					t.Errorf("%s: blob %q does not match %+v", bf.path, b, bf.got)
				}
			}
		})
	}
}

func TestImportISOWithoutBootFiles(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	iso := isoImage(t, map[string]string{"/docs/readme.txt": "hello"}, false)
	_, err := s.Import(context.Background(), bytes.NewReader(iso), images.ImportOptions{Name: "iso", ISO: true})
	if !errors.Is(err, images.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid naming the places looked at", err)
	}
	assertEmpty(t, s, dir)
	_, err = s.Import(context.Background(), bytes.NewReader(iso), images.ImportOptions{Name: "iso", KernelPath: "/docs/readme.txt", InitrdPath: "/nope"})
	if !errors.Is(err, images.ErrInvalid) {
		t.Fatalf("missing named initrd: err = %v", err)
	}
	assertEmpty(t, s, dir)
}
