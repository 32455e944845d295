package resources

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher shares one inotify instance among many resources. The kernel
// allows only 128 instances per user by default, so a graph of a thousand
// files must not open one each (mgmt's oldest issue). Each watched path is
// followed through its parent directory; a missing parent is followed
// through the nearest existing ancestor until it appears.
type Watcher struct {
	fsw   *fsnotify.Watcher
	armMu sync.Mutex // serialises arm, which calls into fsnotify

	mu     sync.Mutex
	byDir  map[string]map[*sub]bool // directory -> subscribers watching it
	active map[string]bool          // directories with a kernel watch
	done   chan struct{}
}

// sub is one resource's subscription.
type sub struct {
	targets map[string]bool
	dirs    map[string]bool
	ch      chan struct{} // buffered 1: "something may have changed"
	rearm   bool          // guarded by Watcher.mu: an ancestor changed
	err     error         // guarded by Watcher.mu: the watcher failed
}

// NewWatcher starts a shared watcher; Close it when done.
func NewWatcher() (*Watcher, error) {
	fsw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{fsw: fsw, byDir: map[string]map[*sub]bool{}, active: map[string]bool{}, done: make(chan struct{})}
	go w.dispatch()
	return w, nil
}

// Close stops the watcher and waits for its goroutine.
func (w *Watcher) Close() error {
	err := w.fsw.Close()
	<-w.done
	return err
}

func (w *Watcher) watch(ctx context.Context, events chan<- struct{}, tick time.Duration, paths []string) error {
	s := &sub{targets: map[string]bool{}, dirs: map[string]bool{}, ch: make(chan struct{}, 1)}
	for _, p := range paths {
		s.targets[filepath.Clean(p)] = true
	}
	defer w.unsubscribe(s)
	if err := w.arm(s); err != nil {
		return err
	}
	c := tickC(tick)
	for deliver(ctx, events) {
		select {
		case <-ctx.Done():
			return nil
		case <-c:
		case <-s.ch:
			if err := w.afterSignal(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// afterSignal re-arms a subscription whose ancestor changed and reports a
// failed watcher.
func (w *Watcher) afterSignal(s *sub) error {
	w.mu.Lock()
	rearm, err := s.rearm, s.err
	s.rearm = false
	w.mu.Unlock()
	if err != nil {
		return err
	}
	if rearm {
		return w.arm(s)
	}
	return nil
}

// nearestDir returns dir or its nearest existing ancestor.
func nearestDir(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}

var errClosed = errors.New("watch: watcher closed")
