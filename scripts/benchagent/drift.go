package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/agent/resources"
)

const (
	wantContent = "managed by rackboot\n"
	wantMode    = 0o644
)

// drifts are the three ways a managed file goes wrong.
func drifts(path string) []struct {
	name string
	do   func() error
} {
	return []struct {
		name string
		do   func() error
	}{
		{"content", func() error { return os.WriteFile(path, []byte("tampered\n"), wantMode) }},
		{"delete", func() error { return os.Remove(path) }},
		{"chmod", func() error { return os.Chmod(path, 0o600) }},
	}
}

func benchDrift(ctx context.Context, o options, out io.Writer) error {
	path := filepath.Join(o.dir, "drift", "managed.conf")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	r, err := startEngine(ctx, 100*time.Millisecond, 1)
	if err != nil {
		return err
	}
	defer r.stop()
	content := wantContent
	g := engine.NewGraph()
	if err := g.Add(&resources.File{Named: resources.Named{ResName: path}, Content: &content, Mode: "0644"}, engine.Meta{}); err != nil {
		return err
	}
	if err := r.apply(ctx, g); err != nil {
		return err
	}
	if err := waitConverged(ctx, r, 10*time.Second); err != nil {
		return err
	}
	if err := measureDrifts(ctx, path, o.trials, out); err != nil {
		return err
	}
	return measureIdle(ctx, r, o.idle, out)
}

func measureDrifts(ctx context.Context, path string, trials int, out io.Writer) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Add(filepath.Dir(path)); err != nil {
		return err
	}
	fmt.Fprintf(out, "drift repair, %d trials each (time from the drift until the file is correct again):\n", trials)
	for _, d := range drifts(path) {
		times := make([]time.Duration, 0, trials)
		for i := 0; i < trials; i++ {
			took, err := oneTrial(ctx, w, path, d.do)
			if err != nil {
				return fmt.Errorf("%s trial %d: %w", d.name, i, err)
			}
			times = append(times, took)
		}
		fmt.Fprintf(out, "  %-8s %s\n", d.name, summary(times))
	}
	return nil
}

// oneTrial drifts the file and waits until it is correct, checking after
// every inotify event and at least every millisecond.
func oneTrial(ctx context.Context, w *fsnotify.Watcher, path string, drift func() error) (time.Duration, error) {
	drainEvents(w)
	start := time.Now()
	if err := drift(); err != nil {
		return 0, err
	}
	for deadline := start.Add(5 * time.Second); !correct(path); {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("not repaired within 5s")
		}
		select {
		case <-w.Events:
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	took := time.Since(start)
	time.Sleep(2 * time.Millisecond) // let the engine's own re-check settle
	return took, nil
}

func drainEvents(w *fsnotify.Watcher) {
	for {
		select {
		case <-w.Events:
		default:
			return
		}
	}
}

func correct(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != wantMode {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, []byte(wantContent))
}
