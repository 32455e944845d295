package resources

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
)

// TestSharedWatcherManyFiles runs more file resources than the kernel's
// default 128 inotify instances allow, through one shared Watcher.
func TestSharedWatcherManyFiles(t *testing.T) {
	w, err := NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	dir := t.TempDir()
	var rs []engine.Resource
	for i := 0; i < 300; i++ {
		rs = append(rs, &File{Named: Named{filepath.Join(dir, fmt.Sprint(i))}, Content: ptr("x"), Watched: Watched{FS: w}})
	}
	runGraph(t, rs...)
	last := filepath.Join(dir, "299")
	within(t, 5*time.Second, "all created", func() bool { _, err := os.Stat(last); return err == nil })
	os.Remove(filepath.Join(dir, "7"))
	within(t, time.Second, "7 restored", func() bool { _, err := os.Stat(filepath.Join(dir, "7")); return err == nil })
}
