package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Runner runs a command and returns its combined output. Resources that
// drive CLIs (useradd, apt-get, ...) take one, so tests can fake them.
type Runner interface {
	Run(ctx context.Context, env []string, name string, args ...string) ([]byte, error)
}

// ExecRunner runs commands for real. Its zero value is ready to use.
type ExecRunner struct{}

// Run runs name with args, adding env to the agent's own environment.
func (ExecRunner) Run(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	killGroupOnCancel(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), &CommandError{Cmd: name + " " + strings.Join(args, " "), Output: tail(out.Bytes()), Err: err}
	}
	return out.Bytes(), nil
}

// CommandError is a failed command with the end of its output.
type CommandError struct {
	Cmd    string
	Output string
	Err    error
}

func (e *CommandError) Error() string {
	if e.Output == "" {
		return fmt.Sprintf("%s: %v", e.Cmd, e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", e.Cmd, e.Err, e.Output)
}

func (e *CommandError) Unwrap() error { return e.Err }

// tail keeps the last lines of output, enough to say why a command failed.
func tail(b []byte) string {
	const keep = 512
	s := strings.TrimSpace(string(b))
	if len(s) > keep {
		s = "…" + s[len(s)-keep:]
	}
	return s
}

// exitedNonZero reports whether err is a command that ran and exited non-zero
// (as opposed to one that could not start or was cancelled). Any error with
// an ExitCode method counts, so fake runners can produce one.
func exitedNonZero(err error) bool {
	var ec interface{ ExitCode() int }
	return errors.As(err, &ec) && ec.ExitCode() > 0
}

func runnerOr(r Runner) Runner {
	if r == nil {
		return ExecRunner{}
	}
	return r
}

// killGroupOnCancel runs the command in its own process group and kills the
// whole group on cancel: killing only /bin/sh would leave its children
// holding the output pipe, and Wait would block until they exit.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
}
