package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/agent/resources"
)

// benchConverge applies a graph of n file resources, none of whose files
// exist yet, and times until every one is ok and until the engine reports
// convergence (which adds the quiet period).
func benchConverge(ctx context.Context, o options, out io.Writer) error {
	dir := filepath.Join(o.dir, "many")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	const quiet = 100 * time.Millisecond
	r, err := startEngine(ctx, quiet, o.files)
	if err != nil {
		return err
	}
	defer r.stop()
	g := engine.NewGraph()
	for i := 0; i < o.files; i++ {
		content := fmt.Sprintf("file %d\n", i)
		f := &resources.File{Named: resources.Named{ResName: filepath.Join(dir, fmt.Sprintf("f%04d.conf", i))}, Content: &content, Mode: "0640"}
		if err := g.Add(f, engine.Meta{}); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := r.apply(ctx, g); err != nil {
		return err
	}
	select {
	case <-r.allOK:
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("%d files not all ok within 2m", o.files)
	}
	allOK := time.Since(start)
	if err := waitConverged(ctx, r, 2*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(out, "converge %d new files: all ok after %v, converged event after %v (quiet period %v)\n",
		o.files, allOK.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), quiet)
	return nil
}
