package resources

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
)

// Exec runs a shell command (through /bin/sh -c) when its guards say so:
// Creates names a path whose existence means "done"; OnlyIf must exit 0 and
// Unless must exit non-zero for the command to run. With RefreshOnly it runs
// only when a notify edge sends a refresh. Without any guard it runs once
// each time the engine starts it.
type Exec struct {
	Named       `yaml:"-"`
	Cmd         string        `yaml:"cmd"`
	Creates     string        `yaml:"creates"`
	OnlyIf      string        `yaml:"onlyif"`
	Unless      string        `yaml:"unless"`
	RefreshOnly bool          `yaml:"refresh_only"`
	Dir         string        `yaml:"dir"`
	Timeout     time.Duration `yaml:"timeout"` // 0: no limit beyond the engine's

	Run Runner `yaml:"-"` // nil: ExecRunner
}

func (e *Exec) Kind() string { return "exec" }

// Validate checks every parameter, naming the one at fault.
func (e *Exec) Validate() error {
	switch {
	case e.Cmd == "":
		return fieldErr("cmd", "must be set")
	case e.Creates != "" && !filepath.IsAbs(e.Creates):
		return fieldErr("creates", "%q must be an absolute path", e.Creates)
	case e.Dir != "" && !filepath.IsAbs(e.Dir):
		return fieldErr("dir", "%q must be an absolute path", e.Dir)
	case e.Timeout < 0:
		return fieldErr("timeout", "must not be negative")
	}
	return nil
}

// Cmp reports whether other is an Exec with the same command and guards.
func (e *Exec) Cmp(other engine.Resource) bool {
	o, ok := other.(*Exec)
	return ok && e.ResName == o.ResName && e.Cmd == o.Cmd && e.Creates == o.Creates &&
		e.OnlyIf == o.OnlyIf && e.Unless == o.Unless && e.RefreshOnly == o.RefreshOnly &&
		e.Dir == o.Dir && e.Timeout == o.Timeout
}

// Watch has nothing to watch: a command is not a state.
func (e *Exec) Watch(ctx context.Context, events chan<- struct{}) error {
	return waitDone(ctx, events)
}

// CheckApply runs the command when the guards call for it.
func (e *Exec) CheckApply(ctx context.Context, apply bool) (bool, error) {
	if e.RefreshOnly {
		return true, nil
	}
	done, err := e.satisfied(ctx)
	if err != nil || done {
		return done, err
	}
	if !apply {
		return false, nil
	}
	return false, e.run(ctx, e.Cmd)
}

// Refresh runs the command again, still subject to its guards; for a
// refresh-only command this is the only time it runs.
func (e *Exec) Refresh(ctx context.Context) error {
	done, err := e.satisfied(ctx)
	if err != nil || done {
		return err
	}
	return e.run(ctx, e.Cmd)
}

// satisfied reports whether a guard says there is nothing to do.
func (e *Exec) satisfied(ctx context.Context) (bool, error) {
	if e.Creates != "" {
		if _, err := os.Lstat(e.Creates); err == nil {
			return true, nil
		}
	}
	if e.OnlyIf != "" {
		ok, err := e.test(ctx, e.OnlyIf)
		if err != nil || !ok {
			return err == nil, err
		}
	}
	if e.Unless != "" {
		return e.test(ctx, e.Unless)
	}
	return false, nil
}

// test runs a guard: exit 0 is true, another exit status false, anything
// else (cannot start, timeout) an error.
func (e *Exec) test(ctx context.Context, cmd string) (bool, error) {
	err := e.run(ctx, cmd)
	if err == nil {
		return true, nil
	}
	if exitedNonZero(err) {
		return false, nil
	}
	return false, err
}

func (e *Exec) run(ctx context.Context, cmd string) error {
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.Timeout)
		defer cancel()
	}
	args := []string{"-c", cmd}
	if e.Dir != "" {
		// The directory goes in as $0, so no quoting of it is needed.
		args = []string{"-c", "cd \"$0\" && " + cmd, e.Dir}
	}
	_, err := runnerOr(e.Run).Run(ctx, nil, "/bin/sh", args...)
	if err != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%q: timed out after %v", cmd, e.Timeout)
	}
	return nil
}
