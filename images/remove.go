package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/rackboot/rackboot/atomicfile"
)

// Remove deletes the named image and every blob no other image refers to.
// Reads already open keep their file until they close it.
func (s *Store) Remove(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.index[name]; !ok {
		return fmt.Errorf("remove: %w: %q", ErrNotFound, name)
	}
	if err := os.Remove(s.metaPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %q: %w", name, err)
	}
	if err := atomicfile.SyncDir(s.metaDir()); err != nil {
		return fmt.Errorf("remove %q: %w", name, err)
	}
	delete(s.index, name)
	s.log.Info("image removed", "name", name)
	return s.collect()
}

// collect deletes the blobs no record refers to. The caller holds mu for
// writing: an import renames its blob into place and writes its record
// under the same lock, so no blob is seen between the two.
func (s *Store) collect() error {
	used := map[string]bool{}
	for _, img := range s.index {
		for _, d := range img.blobs() {
			used[d] = true
		}
	}
	entries, err := os.ReadDir(s.blobDir())
	if err != nil {
		return fmt.Errorf("collect blobs: %w", err)
	}
	for _, e := range entries {
		if used[e.Name()] {
			continue
		}
		if err := os.Remove(s.blobPath(e.Name())); err != nil {
			return fmt.Errorf("collect blobs: %w", err)
		}
		s.log.Info("image blob collected", "sha256", e.Name())
	}
	return nil
}
