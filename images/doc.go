// Package images is rackboot's image store: it imports OS disk images,
// keeps them content-addressed under one directory, and opens them for the
// machines that write them to disk.
//
// An import is one streaming pass: the input is stored exactly as given
// (compressed or not) while a decompressor running alongside hashes and
// counts the uncompressed bytes, so a 20 GiB image never sits in memory and
// the sha256 the installer verifies is known before the first deploy. The
// format is sniffed from magic bytes, never from the file name; what is not
// a raw disk image (qcow2, an ELF file, text) is refused with what was found.
// ISO 9660 images are kept too, with their kernel and initrd extracted, for
// installers that boot that way.
//
//	s, err := images.Open(dir, images.Options{Logger: log})
//	img, err := s.Import(ctx, r, images.ImportOptions{Name: "debian-12"})
//	f, img, err := s.Open("debian-12") // the stored blob, for http.ServeContent
//
// Limits: one layer of compression (gzip, xz or zstd); raw images only
// (qcow2, VMDK and VHDX are refused, not converted); the metadata index is
// in memory and meant for hundreds of images, not millions. It is not the
// installer ramdisk builder: that is images/initramfs.
package images
