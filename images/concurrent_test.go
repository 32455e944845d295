package images_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rackboot/rackboot/images"
)

// TestConcurrentImportsAndRemovals: imports racing removals that share
// their content never lose a blob a record needs nor keep one nobody needs,
// and one name goes to one import.
func TestConcurrentImportsAndRemovals(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	ctx := context.Background()
	disks := [][]byte{gptDisk(t, "a"), gptDisk(t, "b")}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]int{}
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("img%d", i%8) // two imports per name
			if i >= 16 {
				name = fmt.Sprintf("tmp%d", i) // imported, then removed at once
			}
			_, err := s.Import(ctx, bytes.NewReader(disks[i%2]), images.ImportOptions{Name: name})
			switch {
			case err == nil && i >= 16:
				if err := s.Remove(ctx, name); err != nil {
					t.Error(err)
				}
			case err == nil:
				mu.Lock()
				won[name]++
				mu.Unlock()
			case !errors.Is(err, images.ErrExists):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 8 {
		t.Errorf("%d names imported, want 8", len(won))
	}
	for name, n := range won {
		if n != 1 {
			t.Errorf("%s imported %d times", name, n)
		}
	}
	need := map[string]bool{}
	for _, img := range s.Images() {
		need[img.StoredSHA256] = true
		if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", img.StoredSHA256)); err != nil {
			t.Errorf("%s lost its blob: %v", img.Name, err)
		}
	}
	if got := blobs(t, dir); len(got) != len(need) {
		t.Errorf("blobs %v, want exactly %d", got, len(need))
	}
}
