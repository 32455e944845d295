package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/rackboot/rackboot/atomicfile"
)

// Fetch opens a blob by its sha256 somewhere else (a peer appliance).
type Fetch func(ctx context.Context, digest string) (io.ReadCloser, error)

// Adopt stores an image record made by another appliance's import, with
// its blobs: those not here already are read through fetch, and each is
// kept only if its sha256 and size are the record's (ErrCorrupt
// otherwise: nothing is stored). The record replaces one of the same name
// with other content; the same record again changes nothing.
func (s *Store) Adopt(ctx context.Context, img Image, fetch Fetch) error {
	if err := ValidName(img.Name); err != nil {
		return fmt.Errorf("adopt: %w", err)
	}
	if cur, err := s.Image(img.Name); err == nil && cur.StoredSHA256 == img.StoredSHA256 {
		return nil
	}
	st := &staged{img: img}
	defer st.cleanup()
	for _, b := range img.sized() {
		if _, err := os.Stat(s.blobPath(b.digest)); err == nil {
			continue
		}
		path, err := s.fetchBlob(ctx, fetch, b.digest, b.size)
		if path != "" {
			st.tmp = append(st.tmp, path)
		}
		if err != nil {
			return fmt.Errorf("adopt %q: %w", img.Name, err)
		}
		st.blobs = append(st.blobs, stagedBlob{path: path, digest: b.digest})
	}
	return s.commitAdopted(st)
}

type sizedBlob struct {
	digest string
	size   int64
}

// sized lists the image's blobs with the size each must have.
func (img Image) sized() []sizedBlob {
	out := []sizedBlob{{img.StoredSHA256, img.StoredSize}}
	for _, f := range []*BootFile{img.Kernel, img.Initrd} {
		if f != nil {
			out = append(out, sizedBlob{f.SHA256, f.Size})
		}
	}
	return out
}

// fetchBlob copies one blob into tmp/, hashing it on the way, and checks
// it against its digest and size.
func (s *Store) fetchBlob(ctx context.Context, fetch Fetch, digest string, size int64) (string, error) {
	if !validDigest(digest) {
		return "", fmt.Errorf("%w: %q is not a sha256", ErrInvalid, digest)
	}
	r, err := fetch(ctx, digest)
	if err != nil {
		return "", fmt.Errorf("fetch blob %s: %w", digest, err)
	}
	defer r.Close()
	f, err := os.CreateTemp(s.tmpDir(), "adopt-*")
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, size+1))
	if err != nil {
		return f.Name(), fmt.Errorf("fetch blob %s: %w", digest, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != digest {
		return f.Name(), fmt.Errorf("%w: blob %s: fetched %d bytes with sha256 %s, want %d bytes", ErrCorrupt, digest, n, got, size)
	}
	return f.Name(), f.Sync()
}

// commitAdopted places the fetched blobs and writes the record under the
// store's lock, as an import's commit does.
func (s *Store) commitAdopted(st *staged) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range st.blobs {
		if err := s.placeBlob(b); err != nil {
			return err
		}
	}
	if err := atomicfile.SyncDir(s.blobDir()); err != nil {
		return err
	}
	rec, err := json.MarshalIndent(st.img, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.metaPath(st.img.Name), append(rec, '\n'), 0o640); err != nil {
		return err
	}
	_, replaced := s.index[st.img.Name]
	s.index[st.img.Name] = st.img
	s.log.Info("image adopted from a peer", "name", st.img.Name, "sha256", st.img.SHA256, "stored_size", st.img.StoredSize)
	if replaced {
		return s.collect()
	}
	return nil
}
