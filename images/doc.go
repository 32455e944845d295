// Package images is rackboot's image store: it imports OS disk images,
// keeps them content-addressed under one directory, and opens them for the
// machines that write them to disk.
//
// An import is one streaming pass: the input is stored exactly as given
// (compressed or not) while a decompressor running alongside hashes and
// counts the uncompressed bytes, so a 20 GiB image never sits in memory and
// the sha256 the installer verifies is known before the first deploy. The
// format is sniffed from magic bytes, never from the file name; what is not
// a disk image (VMDK, an ELF file, text) is refused with what was found. A
// qcow2 (v2 or v3, zlib or zstd clusters) is staged and converted once into
// a sparse raw blob, its header checked first by rackboot's own parser so
// that one with a backing file, an external data file or encryption is
// refused (ErrUnsupported) before any library reads it. Every raw image's
// partition layout is read on the way (package partition): how a deploy of
// it is seeded. A sha256 given with the import (ImportOptions.SHA256) must
// match the file as imported, or nothing is stored.
// ISO 9660 images are kept too, with their kernel and initrd extracted, for
// installers that boot that way.
//
//	s, err := images.Open(dir, images.Options{Logger: log})
//	img, err := s.Import(ctx, r, images.ImportOptions{Name: "debian-12"})
//	f, img, err := s.Open("debian-12") // the stored blob, for http.ServeContent
//
// Limits: one layer of compression (gzip, xz or zstd); qcow2 is the one
// format converted (VMDK, VHDX and VDI are refused); a converted image is
// stored raw, so it is served at its full size (zeros included); the
// metadata index is in memory and meant for hundreds of images, not
// millions. It is not the
// installer ramdisk builder: that is images/initramfs.
package images
