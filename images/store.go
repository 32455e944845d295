package images

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Store; the zero value works.
type Options struct {
	// Logger receives imports, removals and garbage collection; silent when nil.
	Logger *slog.Logger
	// Now is the clock for Created; time.Now when nil.
	Now func() time.Time
}

// Store keeps images under one directory:
//
//	blobs/sha256/<hex>   content, exactly as imported, named by its sha256
//	meta/<name>.json     one Image record per name, written atomically
//	tmp/                 imports in progress; emptied on Open
//
// Names point at blobs; two names with the same content share one blob, and
// a blob no name points at is deleted. Reads are answered from an index in
// memory; every change writes its record to disk before the index.
type Store struct {
	dir string
	log *slog.Logger
	now func() time.Time

	// mu guards index, and is held for writing across every change to
	// meta/ and blobs/, so garbage collection never races a commit.
	mu    sync.RWMutex
	index map[string]Image
}

// Open opens (creating if needed) the store in dir, drops what interrupted
// imports left behind and collects unreferenced blobs.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{dir: dir, log: opts.Logger, now: opts.Now, index: map[string]Image{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, d := range []string{s.blobDir(), s.metaDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	if err := s.clean(); err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	return s, nil
}

func (s *Store) blobDir() string { return filepath.Join(s.dir, "blobs", "sha256") }
func (s *Store) metaDir() string { return filepath.Join(s.dir, "meta") }
func (s *Store) tmpDir() string  { return filepath.Join(s.dir, "tmp") }

func (s *Store) blobPath(digest string) string { return filepath.Join(s.blobDir(), digest) }
func (s *Store) metaPath(name string) string   { return filepath.Join(s.metaDir(), name+".json") }

// load reads every record. A record that does not parse stops Open: going
// on would garbage-collect the blob it points at.
func (s *Store) load() error {
	entries, err := os.ReadDir(s.metaDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.metaDir(), e.Name()))
		if err != nil {
			return err
		}
		var img Image
		if err := json.Unmarshal(b, &img); err != nil || img.Name != name {
			return fmt.Errorf("image record %s: unreadable or misnamed (%v)", e.Name(), err)
		}
		s.index[name] = img
	}
	return nil
}

// clean empties tmp/ and collects blobs that a crash left unreferenced.
func (s *Store) clean() error {
	if err := os.RemoveAll(s.tmpDir()); err != nil {
		return err
	}
	if err := os.MkdirAll(s.tmpDir(), 0o750); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.collect()
}

// Image returns the record of the named image.
func (s *Store) Image(name string) (Image, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	img, ok := s.index[name]
	if !ok {
		return Image{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return img, nil
}

// Images returns every record, sorted by name.
func (s *Store) Images() []Image {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Image, 0, len(s.index))
	for _, img := range s.index {
		out = append(out, img)
	}
	slices.SortFunc(out, func(a, b Image) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// List returns the image names, sorted.
func (s *Store) List(context.Context) ([]string, error) {
	imgs := s.Images()
	names := make([]string, len(imgs))
	for i, img := range imgs {
		names[i] = img.Name
	}
	return names, nil
}

// Open opens the named image's blob for reading, as imported (see
// Image.Compression). The caller closes it; a removal meanwhile does not
// cut the read short.
func (s *Store) Open(name string) (*os.File, Image, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	img, ok := s.index[name]
	if !ok {
		return nil, Image{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	f, err := os.Open(s.blobPath(img.StoredSHA256))
	if err != nil {
		return nil, Image{}, fmt.Errorf("open image %q: %w", name, err)
	}
	return f, img, nil
}

// OpenBlob opens a blob by its sha256, for the kernel and initrd of an ISO
// image (BootFile.SHA256).
func (s *Store) OpenBlob(digest string) (*os.File, error) {
	if !validDigest(digest) {
		return nil, fmt.Errorf("%w: blob %q", ErrNotFound, digest)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, err := os.Open(s.blobPath(digest))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: blob %q", ErrNotFound, digest)
	}
	return f, err
}

func validDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for _, c := range d {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
