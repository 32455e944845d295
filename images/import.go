package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/rackboot/rackboot/atomicfile"
)

// ImportOptions name an import and say how to treat it.
type ImportOptions struct {
	Name string
	// Source is the file name the image came from, kept for the record.
	Source string
	// Replace lets the import take a name that exists; the old image's
	// blobs are collected if nothing else uses them.
	Replace bool
	// ISO refuses anything but an ISO 9660 image (ISOs are also sniffed).
	ISO bool
	// KernelPath and InitrdPath name the boot files inside an ISO when they
	// are not at one of the usual places.
	KernelPath, InitrdPath string
	// SHA256, when set, is what the file as imported must hash to (hex,
	// lowercase); a mismatch stores nothing.
	SHA256 string
}

// Import reads one image from r in a single pass and stores it under
// opts.Name. Nothing is stored unless the whole stream was read, decoded
// and accepted: a truncated or refused import leaves the store as it was.
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (Image, error) {
	if err := s.checkImport(opts); err != nil {
		return Image{}, err
	}
	start := time.Now()
	st, err := s.stage(ctx, r, opts)
	if err != nil {
		return Image{}, fmt.Errorf("import %q: %w", opts.Name, err)
	}
	defer st.cleanup()
	img, err := s.commit(st, opts)
	if err != nil {
		return Image{}, fmt.Errorf("import %q: %w", opts.Name, err)
	}
	secs := time.Since(start).Seconds()
	s.log.Info("image imported", "name", img.Name, "format", img.Format, "source_format", img.SourceFormat, "compression", img.Compression,
		"size", img.Size, "stored_size", img.StoredSize, "sha256", img.SHA256, "seconds", secs,
		"mb_per_s", float64(img.StoredSize)/1e6/max(secs, 1e-9))
	return img, nil
}

// checkImport refuses bad options and a taken name before any byte is
// read, so a 409 does not wait for a 20 GiB upload. commit checks the name
// again.
func (s *Store) checkImport(opts ImportOptions) error {
	if err := ValidName(opts.Name); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if opts.SHA256 != "" && !validDigest(opts.SHA256) {
		return fmt.Errorf("import: %w: sha256 %q: want 64 lowercase hex digits", ErrInvalid, opts.SHA256)
	}
	if !opts.Replace {
		if _, err := s.Image(opts.Name); err == nil {
			return fmt.Errorf("import: %w: %q (remove it or ask to replace it)", ErrExists, opts.Name)
		}
	}
	return nil
}

// stage streams r into tmp/ and, for an ISO, extracts its boot files there.
func (s *Store) stage(ctx context.Context, r io.Reader, opts ImportOptions) (*staged, error) {
	st := &staged{}
	blob, err := os.CreateTemp(s.tmpDir(), "blob-*")
	if err != nil {
		return nil, err
	}
	st.tmp = append(st.tmp, blob.Name())
	iso, err := st.stream(ctx, r, blob, opts, s.tmpDir())
	blob.Close() // stream closed it on success; this covers its failures
	if err == nil && st.img.Format == FormatISO {
		err = st.extractBoot(iso, opts, s.tmpDir())
	}
	if err != nil {
		st.cleanup()
		return nil, err
	}
	return st, nil
}

// staged is an import whose files are complete and synced in tmp/.
type staged struct {
	img   Image
	blobs []stagedBlob // the image's blob first, then its boot files
	tmp   []string     // every temp file, removed by cleanup
}

type stagedBlob struct{ path, digest string }

func (st *staged) cleanup() {
	for _, p := range st.tmp {
		os.Remove(p)
	}
}

// commit moves the staged blobs into place and writes the record, all
// under the store's lock so garbage collection never sees a blob without
// its record. A blob with the same content already there is shared.
func (s *Store) commit(st *staged, opts ImportOptions) (Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, taken := s.index[opts.Name]
	if taken && !opts.Replace {
		return Image{}, fmt.Errorf("%w: %q (remove it or ask to replace it)", ErrExists, opts.Name)
	}
	for _, b := range st.blobs {
		if err := s.placeBlob(b); err != nil {
			return Image{}, err
		}
	}
	if err := atomicfile.SyncDir(s.blobDir()); err != nil {
		return Image{}, err
	}
	img := st.img
	img.Name, img.Source, img.Created = opts.Name, opts.Source, s.now().UTC()
	rec, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return Image{}, err
	}
	if err := atomicfile.Write(s.metaPath(img.Name), append(rec, '\n'), 0o640); err != nil {
		return Image{}, err
	}
	s.index[img.Name] = img
	if taken {
		s.log.Info("image replaced", "name", img.Name, "old_sha256", old.SHA256)
		return img, s.collect()
	}
	return img, nil
}

// placeBlob renames a staged blob to its content address, or drops it when
// that content is stored already.
func (s *Store) placeBlob(b stagedBlob) error {
	dst := s.blobPath(b.digest)
	if _, err := os.Stat(dst); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(b.path, dst)
}
