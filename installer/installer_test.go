package installer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

// fakeAppliance hands out the boot token "t" to a claim, refuses the
// first report (401),
// accepts the second, and answers wait to every poll, cancelling the run
// after three.
type fakeAppliance struct {
	mu      sync.Mutex
	booted  []string // the modes the installer claimed its boot in
	reports []machineapi.InspectReport
	polls   int
	cancel  context.CancelFunc
}

func (a *fakeAppliance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch r.URL.Path {
	case "/machine/v1/claim":
		var c machineapi.Claim
		json.NewDecoder(r.Body).Decode(&c)
		if len(c.Nonce) < 16 || r.Header.Get("Authorization") != "" {
			http.Error(w, "bad claim", http.StatusBadRequest)
			return
		}
		a.booted = append(a.booted, c.Mode)
		json.NewEncoder(w).Encode(machineapi.Claimed{Token: "t", State: "inspecting"})
	case "/machine/v1/inspect":
		var rep machineapi.InspectReport
		json.NewDecoder(r.Body).Decode(&rep)
		a.reports = append(a.reports, rep)
		if len(a.reports) == 1 {
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
		}
	case "/machine/v1/next":
		if a.polls++; a.polls == 3 {
			a.cancel()
		}
		w.Write([]byte(`{"action":"wait"}`))
	default:
		http.NotFound(w, r)
	}
}

func TestRunReportsThenPolls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app := &fakeAppliance{cancel: cancel}
	srv := httptest.NewServer(app)
	defer srv.Close()

	root := qemuRoot(t)
	writeFile(t, root+"/proc/cmdline", "console=ttyS0 rackboot.url="+srv.URL+" rackboot.mac=52:54:00:12:34:56 rackboot.token=t rackboot.mode=inspect\n")
	var sleeps []time.Duration
	var log strings.Builder
	err := Run(ctx, Options{
		Root: root,
		Log:  NewConsoleLogger(&log),
		Sleep: func(ctx context.Context, d time.Duration) error {
			sleeps = append(sleeps, d)
			return ctx.Err()
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want canceled", err)
	}
	if len(app.reports) != 2 || app.reports[1].MAC != "52:54:00:12:34:56" || app.reports[1].Facts.MemoryBytes != 512<<20 {
		t.Errorf("reports %+v", app.reports)
	}
	if len(app.booted) != 1 || app.booted[0] != "inspect" {
		t.Errorf("claims %q, want one, in inspect mode", app.booted)
	}
	if len(sleeps) < 2 || sleeps[0] != retrySlow || sleeps[1] != defaultPollEvery {
		t.Errorf("sleeps %v: want a slow retry after the 401, then the poll interval", sleeps)
	}
	if !strings.Contains(log.String(), "\nrackboot-installer: reported ") {
		t.Errorf("console lacks the reported line:\n%s", log.String())
	}
}

func TestRunWithoutURLFails(t *testing.T) {
	err := Run(context.Background(), Options{Root: t.TempDir(), Cmdline: "console=ttyS0"})
	if !errors.Is(err, ErrNoURL) {
		t.Fatalf("Run = %v, want ErrNoURL", err)
	}
}

func TestSafelyRecovers(t *testing.T) {
	err := Safely(func() error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("err = %v", err)
	}
}

// TestPollNoPauseAfterLongPoll: a "wait" the appliance held longer than
// PollEvery is followed by the next poll at once; one that came back at
// once is followed by the pause.
func TestPollNoPauseAfterLongPoll(t *testing.T) {
	var mu sync.Mutex
	var seq []string
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		polls++
		n := polls
		seq = append(seq, "poll")
		mu.Unlock()
		if n == 1 {
			time.Sleep(100 * time.Millisecond) // held, as a long poll is
		}
		fmt.Fprint(w, `{"action":"wait","state":"ready"}`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{PollEvery: 50 * time.Millisecond, Sleep: func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		seq = append(seq, "pause")
		done := polls >= 2
		mu.Unlock()
		if done {
			cancel()
		}
		return ctx.Err()
	}}.withDefaults()
	if err := poll(ctx, o, &Client{BaseURL: srv.URL, Token: "t", MAC: "m"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("poll = %v", err)
	}
	if got := strings.Join(seq, " "); got != "poll poll pause" {
		t.Fatalf("sequence %q, want the second poll right after the held one, then a pause", got)
	}
}
