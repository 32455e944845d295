package images

import (
	"time"

	"github.com/rackboot/rackboot/images/compression"
	"github.com/rackboot/rackboot/images/partition"
)

// Format is what an image holds once decompressed.
type Format string

const (
	// FormatRaw is a whole-disk image with an MBR or GPT partition table,
	// written to the target disk byte for byte.
	FormatRaw Format = "raw"
	// FormatISO is an ISO 9660 image; its kernel and initrd are extracted.
	FormatISO Format = "iso"
	// formatQcow2 is what an import found before converting it to raw.
	formatQcow2 Format = "qcow2"
)

// Compression is how an image is stored (as it was imported); the
// package compression reads it, for the store and the installer alike.
type Compression = compression.Kind

// The compressions an import accepts, sniffed from magic bytes.
const (
	None = compression.None
	Gzip = compression.Gzip
	XZ   = compression.XZ
	Zstd = compression.Zstd
)

// Image is the record of one named image. SHA256 and Size describe the
// uncompressed content, which is what a host's disk holds after a deploy;
// StoredSHA256 and StoredSize describe the blob as imported, which is what
// is served.
type Image struct {
	Name        string      `json:"name"`
	Format      Format      `json:"format"`
	Compression Compression `json:"compression"`
	// DecodeWindow is the memory a decoder needs for the blob (a zstd
	// frame's window; 0 when small and fixed): a machine with less cannot
	// deploy it.
	DecodeWindow uint64    `json:"decode_window,omitempty"`
	SHA256       string    `json:"sha256"`
	Size         int64     `json:"size"`
	StoredSHA256 string    `json:"stored_sha256"`
	StoredSize   int64     `json:"stored_size"`
	Created      time.Time `json:"created"`
	// Source is the file name (or URL) the operator imported it from.
	Source string `json:"source,omitempty"`
	// SourceFormat is the format of the file imported when the store
	// converted it ("qcow2", stored as raw); empty when stored as given.
	SourceFormat string `json:"source_format,omitempty"`
	// SourceSHA256 and SourceSize describe the file as imported, before
	// any conversion: what a published checksum (--sha256, SHA256SUMS)
	// names.
	SourceSHA256 string `json:"source_sha256,omitempty"`
	SourceSize   int64  `json:"source_size,omitempty"`
	// Layout is the partition table of a raw image, read at import: how
	// a deploy of it is seeded (partition.Layout.Seedable).
	Layout *partition.Layout `json:"layout,omitempty"`
	// Kernel and Initrd are set for ISO images: the files extracted from it.
	Kernel *BootFile `json:"kernel,omitempty"`
	Initrd *BootFile `json:"initrd,omitempty"`
}

// BootFile is a file extracted from an ISO image and stored as its own blob.
type BootFile struct {
	Path   string `json:"path"` // inside the ISO
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// blobs lists the digests of every blob the image refers to.
func (img Image) blobs() []string {
	d := []string{img.StoredSHA256}
	for _, f := range []*BootFile{img.Kernel, img.Initrd} {
		if f != nil {
			d = append(d, f.SHA256)
		}
	}
	return d
}
