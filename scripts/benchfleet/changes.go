package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// changes makes o.changes changes one at a time, as the test suite's
// TestFleetHostsFile does: a host becomes active (a new agent checks in),
// an r1 host changes IP, the host that joined last leaves (release); each
// is timed from the change to every r1 file being right.
func (f *fleet) changes(ctx context.Context) (map[string][]time.Duration, error) {
	lat := map[string][]time.Duration{}
	r1 := slices.Clone(f.active)
	joined := ""
	for i := range f.o.changes {
		var kind string
		var t0 time.Time
		var err error
		switch {
		case i%3 == 0 || (i%3 == 2 && joined == ""):
			kind = "active"
			joined, err = f.join(ctx, i)
		case i%3 == 1:
			kind = "ip"
			t0, err = f.moveIP(ctx, r1[(i*7)%len(r1)].mac, i)
		default:
			kind = "leave"
			t0, err = f.leave(ctx, joined)
			joined = ""
		}
		if err != nil {
			return nil, err
		}
		done, err := f.waitRight(ctx, f.wantR1(), 2*time.Minute)
		if err != nil {
			return nil, fmt.Errorf("change %d (%s): %w", i, kind, err)
		}
		if kind == "active" { // from the check-in that made it active
			var h struct {
				State          string
				StateChangedAt time.Time `json:"state_changed_at"`
			}
			if err := f.app.do(ctx, "GET", "/api/v1/hosts/"+joined, nil, &h); err != nil || h.State != "active" {
				return nil, fmt.Errorf("joined host %s: %v %s", joined, err, h.State)
			}
			t0 = h.StateChangedAt
		}
		lat[kind] = append(lat[kind], done.Sub(t0))
		lat["all"] = append(lat["all"], done.Sub(t0))
		if d, ok := f.delivered(t0); ok {
			lat["delivered"] = append(lat["delivered"], d)
		}
	}
	return lat, nil
}

func (f *fleet) join(ctx context.Context, i int) (string, error) {
	h := host{mac: fmt.Sprintf("52:54:00:f3:%02x:%02x", i>>8, i&0xff), name: fmt.Sprintf("r1-join%03d", i), ip: fmt.Sprintf("10.3.0.%d", i%250+1), r1: true}
	tok, err := f.add(ctx, h)
	if err != nil {
		return "", err
	}
	f.active = append(f.active, h)
	slices.SortFunc(f.active, func(a, b host) int { return strings.Compare(a.mac, b.mac) })
	return h.mac, f.agents.start(h.mac, tok)
}

func (f *fleet) moveIP(ctx context.Context, mac string, i int) (time.Time, error) {
	ip := fmt.Sprintf("10.9.%d.%d", i%250, i/250+1)
	f.active[slices.IndexFunc(f.active, func(h host) bool { return h.mac == mac })].ip = ip
	t0 := time.Now()
	return t0, f.app.do(ctx, "PATCH", "/api/v1/hosts/"+mac, map[string]string{"ip": ip}, nil)
}

func (f *fleet) leave(ctx context.Context, mac string) (time.Time, error) {
	f.active = slices.DeleteFunc(f.active, func(h host) bool { return h.mac == mac })
	t0 := time.Now()
	err := f.app.do(ctx, "POST", "/api/v1/hosts/"+mac+"/actions/release", map[string]string{}, nil)
	f.agents.stop(mac) // the release ended its token
	return t0, err
}

// delivered is how long after t0 the last r1 agent's engine took its new
// graph (each took exactly one for the change), when the runner can see
// it: the appliance's part and the agents' parsing, without their file
// writes and reports.
func (f *fleet) delivered(t0 time.Time) (time.Duration, bool) {
	var last time.Time
	for _, h := range f.active {
		t, ok := f.agents.applied(h.mac)
		if !ok {
			return 0, false
		}
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(t0), true
}
