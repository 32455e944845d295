package resources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExecGuards(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	cmd := "echo x >> " + marker
	count := func() int { b, _ := os.ReadFile(marker); return strings.Count(string(b), "x") }

	creates := &Exec{Cmd: cmd, Creates: marker}
	converge(t, creates) // runs, then the created file stops it
	for _, tc := range []struct {
		name string
		e    *Exec
		runs bool
	}{
		{"onlyif false", &Exec{Cmd: cmd, OnlyIf: "false"}, false},
		{"onlyif true", &Exec{Cmd: cmd, OnlyIf: "true"}, true},
		{"unless true", &Exec{Cmd: cmd, Unless: "true"}, false},
		{"unless false", &Exec{Cmd: cmd, Unless: "false"}, true},
		{"refresh only", &Exec{Cmd: cmd, RefreshOnly: true}, false},
	} {
		before := count()
		ok := mustCheck(t, tc.e, true)
		if ran := count() > before; ran != tc.runs || ok == tc.runs {
			t.Errorf("%s: ran=%v ok=%v, want ran=%v", tc.name, ran, ok, tc.runs)
		}
	}
	before := count()
	if err := (&Exec{Cmd: cmd, RefreshOnly: true}).Refresh(t.Context()); err != nil || count() != before+1 {
		t.Fatalf("refresh-only Refresh: err=%v, runs=%d", err, count()-before)
	}
}

func TestExecFailureAndTimeout(t *testing.T) {
	if _, err := (&Exec{Cmd: "echo boom >&2; exit 3"}).CheckApply(t.Context(), true); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failed command error = %v, want its output", err)
	}
	start := time.Now()
	_, err := (&Exec{Cmd: "sleep 5", Timeout: 50 * time.Millisecond}).CheckApply(t.Context(), true)
	if err == nil || !strings.Contains(err.Error(), "timed out") || time.Since(start) > 2*time.Second {
		t.Fatalf("timeout error = %v after %v", err, time.Since(start))
	}
	if _, err := (&Exec{Cmd: "true", OnlyIf: "sleep 5", Timeout: 50 * time.Millisecond}).CheckApply(t.Context(), true); err == nil {
		t.Fatal("a guard that timed out was taken as false")
	}
}

func TestExecDirAndValidate(t *testing.T) {
	dir := t.TempDir()
	converge(t, &Exec{Cmd: "touch here", Dir: dir, Creates: filepath.Join(dir, "here")})
	for field, e := range map[string]*Exec{
		"cmd":     {},
		"creates": {Cmd: "x", Creates: "rel"},
		"dir":     {Cmd: "x", Dir: "rel"},
	} {
		if err := e.Validate(); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Validate = %v, want error naming %s", err, field)
		}
	}
}
