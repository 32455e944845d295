package resources

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// arm points s at the nearest existing ancestor directory of each target.
// It looks again after each Add: a directory created between the look and
// the Add would otherwise go unseen, and with it everything below it.
func (w *Watcher) arm(s *sub) error {
	w.armMu.Lock()
	defer w.armMu.Unlock()
	want := map[string]bool{}
	for t := range s.targets {
		for dir := ""; dir != nearestDir(filepath.Dir(t)); {
			dir = nearestDir(filepath.Dir(t))
			if err := w.addDir(dir); err != nil {
				return err
			}
			want[dir] = true
			w.index(s, dir, true)
		}
	}
	for dir := range s.dirs {
		if !want[dir] {
			w.index(s, dir, false)
		}
	}
	s.dirs = want
	return nil
}

// addDir adds a kernel watch unless one is active; armMu is held.
func (w *Watcher) addDir(dir string) error {
	w.mu.Lock()
	have := w.active[dir]
	w.mu.Unlock()
	if have {
		return nil
	}
	if err := w.fsw.Add(dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	w.mu.Lock()
	w.active[dir] = true
	w.mu.Unlock()
	return nil
}

// index adds or removes s under dir, dropping the kernel watch of a
// directory nobody needs any more.
func (w *Watcher) index(s *sub, dir string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on {
		if w.byDir[dir] == nil {
			w.byDir[dir] = map[*sub]bool{}
		}
		w.byDir[dir][s] = true
		return
	}
	delete(w.byDir[dir], s)
	if len(w.byDir[dir]) == 0 {
		delete(w.byDir, dir)
		if w.active[dir] {
			delete(w.active, dir)
			_ = w.fsw.Remove(dir) // may already be gone with the directory
		}
	}
}

func (w *Watcher) unsubscribe(s *sub) {
	w.armMu.Lock()
	defer w.armMu.Unlock()
	for dir := range s.dirs {
		w.index(s, dir, false)
	}
}

// dispatch routes inotify events to the subscriptions they concern.
func (w *Watcher) dispatch() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fsw.Events:
			if !ok {
				w.failAll(errClosed)
				return
			}
			w.route(ev)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				w.failAll(errClosed)
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.failAll(nil) // events were lost: everyone checks again
				continue
			}
			w.failAll(fmt.Errorf("watch: %w", err))
		}
	}
}

// route signals the subscribers of the event's directory whose target it
// is, and re-arms those for which it is an ancestor (created or deleted).
func (w *Watcher) route(ev fsnotify.Event) {
	name := filepath.Clean(ev.Name)
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		delete(w.active, name) // if it was a watched directory, the kernel dropped it
	}
	for _, dir := range []string{filepath.Dir(name), name} {
		for s := range w.byDir[dir] {
			w.match(s, name)
		}
	}
}

// match signals s when name is one of its targets or an ancestor of one;
// w.mu is held.
func (w *Watcher) match(s *sub, name string) {
	if s.targets[name] {
		notify(s.ch)
		return
	}
	for t := range s.targets {
		if strings.HasPrefix(t, name+string(filepath.Separator)) {
			s.rearm = true
			notify(s.ch)
			return
		}
	}
}

func (w *Watcher) failAll(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, subs := range w.byDir {
		for s := range subs {
			if err != nil {
				s.err = err
			}
			notify(s.ch)
		}
	}
}
