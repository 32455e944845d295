package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/machineapi"
)

// exportTick is how often an export read from a command runs it again: a
// command's output cannot be watched.
const exportTick = 30 * time.Second

// Publisher sends a value the host exports to the appliance (the agent's
// client does).
type Publisher interface {
	Publish(ctx context.Context, key, value string) error
}

// Export publishes a value to the appliance, where other hosts' configs
// read it (`value "HOST" "KEY"`): the content of File, or what Cmd
// (through /bin/sh -c) prints on its standard output, with the white space
// around it trimmed. The appliance takes one line of printable text, at
// most machineapi.MaxExportValueBytes, and refuses anything else with the
// reason, which becomes the resource's error. A file is watched; a command
// runs again every 30 s (the poll metaparameter changes that).
//
// The agent remembers what it published, so an unchanged value is not
// sent again until the agent restarts; the appliance keeps a host's
// values until the host is deleted, even after the export leaves the
// graph.
type Export struct {
	Named   `yaml:"-"`
	Watched `yaml:"-"`
	Key     string        `yaml:"key"` // defaults to the resource name
	File    string        `yaml:"file"`
	Cmd     string        `yaml:"cmd"`
	Timeout time.Duration `yaml:"timeout"` // for Cmd; 0: none beyond the engine's

	Publisher Publisher `yaml:"-"` // nil: nowhere to publish (an error)

	mu        sync.Mutex
	published string // what the appliance accepted last; "" before that
}

var exportKeyRE = regexp.MustCompile(machineapi.ExportKeyPattern)

func (e *Export) Kind() string { return "export" }

func (e *Export) key() string {
	if e.Key == "" {
		return e.ResName
	}
	return e.Key
}

// UsePublisher makes the export publish through p.
func (e *Export) UsePublisher(p Publisher) { e.Publisher = p }

// SharePublisher makes every export of g publish through p. Call it
// before Engine.Apply.
func SharePublisher(g *engine.Graph, p Publisher) {
	for _, k := range g.Keys() {
		if u, ok := g.Vertex(k).Res.(interface{ UsePublisher(Publisher) }); ok {
			u.UsePublisher(p)
		}
	}
}

// Validate checks every parameter, naming the one at fault.
func (e *Export) Validate() error {
	switch {
	case !exportKeyRE.MatchString(e.key()):
		return fieldErr("key", "%q must be 1-64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit", e.key())
	case (e.File == "") == (e.Cmd == ""):
		return fieldErr("file", "set file or cmd (one of them)")
	case e.File != "" && !filepath.IsAbs(e.File):
		return fieldErr("file", "%q must be an absolute path", e.File)
	case e.Timeout < 0:
		return fieldErr("timeout", "must not be negative")
	}
	return nil
}

// Cmp reports whether other exports the same key from the same source.
func (e *Export) Cmp(other engine.Resource) bool {
	o, ok := other.(*Export)
	return ok && e.ResName == o.ResName && e.key() == o.key() && e.File == o.File && e.Cmd == o.Cmd && e.Timeout == o.Timeout
}

// Watch watches the file, or ticks for a command.
func (e *Export) Watch(ctx context.Context, events chan<- struct{}) error {
	if e.File != "" {
		return watchPaths(ctx, e.FS, events, 0, e.File)
	}
	return watchPaths(ctx, nil, events, exportTick)
}

// CheckApply reads the value and publishes it when the appliance does not
// have it yet.
func (e *Export) CheckApply(ctx context.Context, apply bool) (bool, error) {
	v, err := e.read(ctx)
	if err != nil {
		return false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.published != "" && e.published == v {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if e.Publisher == nil {
		return false, errors.New("no appliance to publish to")
	}
	if err := e.Publisher.Publish(ctx, e.key(), v); err != nil {
		return false, err
	}
	e.published = v
	return false, nil
}

// read returns the value, trimmed.
func (e *Export) read(ctx context.Context) (string, error) {
	if e.File != "" {
		b, err := os.ReadFile(e.File)
		if err != nil {
			return "", fmt.Errorf("file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", e.Cmd)
	killGroupOnCancel(cmd)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if e.Timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("%q: timed out after %v", e.Cmd, e.Timeout)
		}
		return "", &CommandError{Cmd: e.Cmd, Output: tail(stderr.Bytes()), Err: err}
	}
	return strings.TrimSpace(out.String()), nil
}
