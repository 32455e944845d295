package resources

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// publisher records what was published; refuse makes it fail.
type publisher struct {
	mu     sync.Mutex
	got    []string
	refuse error
}

func (p *publisher) Publish(_ context.Context, key, value string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refuse != nil {
		return p.refuse
	}
	p.got = append(p.got, key+"="+value)
	return nil
}

func (p *publisher) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

func TestExportValidate(t *testing.T) {
	for name, e := range map[string]*Export{
		"no source":     {Named: Named{"k"}},
		"both sources":  {Named: Named{"k"}, File: "/a", Cmd: "true"},
		"relative file": {Named: Named{"k"}, File: "a"},
		"bad key":       {Named: Named{"k"}, Key: "a/b", Cmd: "true"},
		"bad name":      {Named: Named{"-k"}, Cmd: "true"},
	} {
		if err := e.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	if err := (&Export{Named: Named{"wg-pubkey"}, Cmd: "true"}).Validate(); err != nil {
		t.Errorf("a good export: %v", err)
	}
}

func TestExportPublishesOnce(t *testing.T) {
	p := &publisher{}
	file := filepath.Join(t.TempDir(), "public.key")
	writeFile(t, file, "  abc=\n")
	e := &Export{Named: Named{"wg-pubkey"}, File: file, Publisher: p}
	if mustCheck(t, e, false) {
		t.Fatal("noop check of an unpublished value says correct")
	}
	if len(p.all()) != 0 {
		t.Fatal("a noop check published")
	}
	converge(t, e)
	writeFile(t, file, "def=\n")
	converge(t, e)
	cmd := &Export{Named: Named{"fp"}, Key: "ssh", Cmd: "echo ' SHA256:xyz '; echo noise >&2", Publisher: p}
	converge(t, cmd)
	if got, want := strings.Join(p.all(), " "), "wg-pubkey=abc= wg-pubkey=def= ssh=SHA256:xyz"; got != want {
		t.Fatalf("published %q, want %q", got, want)
	}
}

func TestExportErrors(t *testing.T) {
	p := &publisher{refuse: errors.New("HTTP 400: invalid value: holds '\\n'")}
	for name, e := range map[string]*Export{
		"refused":          {Named: Named{"k"}, Cmd: "printf 'a\\nb'", Publisher: p},
		"command fails":    {Named: Named{"k"}, Cmd: "echo oops >&2; exit 3", Publisher: &publisher{}},
		"missing file":     {Named: Named{"k"}, File: "/nonexistent/x", Publisher: &publisher{}},
		"no appliance":     {Named: Named{"k"}, Cmd: "echo x"},
		"command too slow": {Named: Named{"k"}, Cmd: "sleep 5", Timeout: 50 * time.Millisecond, Publisher: &publisher{}},
	} {
		if _, err := e.CheckApply(t.Context(), true); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestExportWatchesItsFile: run by the engine, an export publishes again
// when its file changes.
func TestExportWatchesItsFile(t *testing.T) {
	p := &publisher{}
	file := filepath.Join(t.TempDir(), "key")
	writeFile(t, file, "one\n")
	runGraph(t, &Export{Named: Named{"k"}, File: file, Publisher: p})
	waitUntil(t, func() bool { return len(p.all()) == 1 })
	writeFile(t, file, "two\n")
	waitUntil(t, func() bool { got := p.all(); return got[len(got)-1] == "k=two" })
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
