package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func openTest(t *testing.T, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mac(i int) string { return fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff) }

func TestCreateAndGet(t *testing.T) { eachStore(t, testCreateAndGet) }

func testCreateAndGet(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	h, err := db.CreateHost(ctx, Host{MAC: "52-54-00-AA-BB-CC", Hostname: "node1", Labels: map[string]string{"rack": "r1"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if h.MAC != "52:54:00:aa:bb:cc" || h.State != StateDiscovered || h.Version == 0 {
		t.Fatalf("created host = %+v, want normalised MAC, discovered, a version", h)
	}
	got, err := db.Host(ctx, h.MAC)
	if err != nil || got.Hostname != "node1" || got.Labels["rack"] != "r1" {
		t.Fatalf("Host = %+v, %v", got, err)
	}
	if _, err := db.CreateHost(ctx, Host{MAC: h.MAC}, "test"); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate create: err = %v, want ErrExists", err)
	}
	ev, err := db.Events(ctx, h.MAC, 0)
	if err != nil || len(ev) != 1 || ev[0].Type != EventCreated {
		t.Fatalf("events = %+v, %v", ev, err)
	}
}

func TestValidation(t *testing.T) { eachStore(t, testValidation) }

func testValidation(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	for name, tc := range map[string]struct {
		h     Host
		field string
	}{
		"bad mac":        {Host{MAC: "52:54:00:zz:00:01"}, "mac"},
		"eui64 mac":      {Host{MAC: "02:00:5e:10:00:00:00:01"}, "mac"},
		"bad hostname":   {Host{MAC: mac(1), Hostname: "Not_Valid"}, "hostname"},
		"ipv6 ip":        {Host{MAC: mac(1), IP: "fe80::1"}, "ip"},
		"bad label":      {Host{MAC: mac(1), Labels: map[string]string{"a b": "x"}}, "labels"},
		"unknown state":  {Host{MAC: mac(1), State: "sleeping"}, "state"},
		"bmc protocol":   {Host{MAC: mac(1), BMC: &BMC{Address: "10.0.0.1", Protocol: "telnet"}}, "bmc.protocol"},
		"bmc no address": {Host{MAC: mac(1), BMC: &BMC{Protocol: "ipmi"}}, "bmc.address"},
		"label with ESC": {Host{MAC: mac(1), Labels: map[string]string{"note": "a\x1b[2Jb"}}, "labels"},
		"label with NUL": {Host{MAC: mac(1), Labels: map[string]string{"note": "a\x00b"}}, "labels"},
		"label CR LF":    {Host{MAC: mac(1), Labels: map[string]string{"note": "a\r\nb"}}, "labels"},
		"too many labels": {Host{MAC: mac(1), Labels: func() map[string]string {
			m := map[string]string{}
			for i := range MaxLabels + 1 {
				m[fmt.Sprintf("l%d", i)] = "x"
			}
			return m
		}()}, "labels"},
		"huge uuid":                 {Host{MAC: mac(1), UUID: strings.Repeat("u", 900<<10)}, "uuid"},
		"serial with escape":        {Host{MAC: mac(1), Serial: "S1\x1b]52;c;x\x07"}, "serial"},
		"bmc url with credentials":  {Host{MAC: mac(1), BMC: &BMC{Address: "https://admin:hunter2@10.0.0.5:8443", Protocol: "redfish"}}, "bmc.address"},
		"bmc host with credentials": {Host{MAC: mac(1), BMC: &BMC{Address: "root:calvin@10.0.0.5", Protocol: "ipmi"}}, "bmc.address"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := db.CreateHost(ctx, tc.h, "test")
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("err = %v, want InvalidError on %s", err, tc.field)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "calvin") || strings.ContainsAny(err.Error(), "\x1b\x00") {
				t.Fatalf("the error echoes a secret or a control character: %q", err)
			}
		})
	}
	if p, _ := db.Hosts(ctx, Query{}); p.Total != 0 {
		t.Fatalf("invalid creates stored %d hosts", p.Total)
	}
}

func TestUpdateVersionConflict(t *testing.T) { eachStore(t, testUpdateVersionConflict) }

func testUpdateVersionConflict(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	h, _ := db.CreateHost(ctx, Host{MAC: mac(1)}, "test")
	h2, err := db.UpdateHost(ctx, h.MAC, h.Version, func(x *Host) error { x.Hostname = "a"; return nil }, Event{Actor: "test"})
	if err != nil || h2.Version <= h.Version {
		t.Fatalf("update: %+v, %v", h2, err)
	}
	_, err = db.UpdateHost(ctx, h.MAC, h.Version, func(x *Host) error { x.Hostname = "b"; return nil }, Event{Actor: "test"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("stale update: err = %v, want ErrConflict", err)
	}
	got, _ := db.Host(ctx, h.MAC)
	if got.Hostname != "a" || got.Version != h2.Version {
		t.Fatalf("after stale update host = %+v, want unchanged", got)
	}
	_, err = db.UpdateHost(ctx, h.MAC, 0, func(x *Host) error { x.State = StateActive; return nil }, Event{Actor: "test"})
	if err == nil {
		t.Fatal("update changing state was accepted")
	}
}

func TestQueryPaging(t *testing.T) { eachStore(t, testQueryPaging) }

func testQueryPaging(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	for i := 0; i < 250; i++ {
		h := Host{MAC: mac(i), Hostname: fmt.Sprintf("node%03d", i), Labels: map[string]string{"rack": fmt.Sprint("r", i%3)}}
		if i%5 == 0 {
			h.State = StateReady
		}
		if _, err := db.CreateHost(ctx, h, "test"); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	q := Query{Limit: 100}
	for pages := 0; ; pages++ {
		p, _ := db.Hosts(ctx, q)
		if p.Total != 250 {
			t.Fatalf("total = %d", p.Total)
		}
		for _, h := range p.Hosts {
			if seen[h.MAC] {
				t.Fatalf("%s on two pages", h.MAC)
			}
			seen[h.MAC] = true
		}
		if p.Next == "" {
			if pages != 2 {
				t.Fatalf("got %d pages, want 3", pages+1)
			}
			break
		}
		q.After = p.Next
	}
	if len(seen) != 250 {
		t.Fatalf("paged through %d hosts, want 250", len(seen))
	}
	for _, tc := range []struct {
		q    Query
		want int
	}{
		{Query{State: StateReady}, 50},
		{Query{Label: "rack=r1"}, 83},
		{Query{Label: "rack"}, 250},
		{Query{Label: "row"}, 0},
		{Query{Search: "NODE01"}, 10},
		{Query{Search: "00:00:0a"}, 1},
		{Query{State: StateReady, Label: "rack=r0"}, 17},
	} {
		if p, _ := db.Hosts(ctx, tc.q); p.Total != tc.want {
			t.Errorf("%+v: total = %d, want %d", tc.q, p.Total, tc.want)
		}
	}
}

func TestFeed(t *testing.T) { eachStore(t, testFeed) }

func testFeed(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := db.Subscribe(ctx)
	h, _ := db.CreateHost(ctx, Host{MAC: mac(7)}, "test")
	db.Transition(ctx, h.MAC, StateInspecting, "pxe", "test")
	for _, want := range []string{EventCreated, EventTransition} {
		select {
		case c := <-ch:
			if c.Event.Type != want || c.Host.MAC != h.MAC {
				t.Fatalf("change = %+v, want %s", c, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no %s change on the feed", want)
		}
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("feed not closed after cancel")
	}
}

func TestEventRetention(t *testing.T) { eachStore(t, testEventRetention) }

func testEventRetention(t *testing.T, f fixture) {
	db := f.Open(t, Options{EventRetention: 5})
	ctx := context.Background()
	h, _ := db.CreateHost(ctx, Host{MAC: mac(1)}, "test")
	for i := 0; i < 20; i++ {
		db.AppendEvent(ctx, h.MAC, Event{Type: "note", Cause: fmt.Sprint(i)})
	}
	ev, _ := db.Events(ctx, h.MAC, 0)
	if len(ev) != 5 || ev[0].Cause != "19" || ev[4].Cause != "15" {
		t.Fatalf("events = %+v, want the newest 5, newest first", ev)
	}
}

func BenchmarkHostsFiltered(b *testing.B) {
	db, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for i := 0; i < 10000; i++ {
		db.CreateHost(ctx, Host{MAC: mac(i), Hostname: fmt.Sprintf("node%05d", i), Labels: map[string]string{"rack": fmt.Sprintf("r%02d", i%40)}}, "b")
	}
	q := Query{Label: "rack=r07", Search: "node0"}
	b.ResetTimer()
	for b.Loop() {
		db.Hosts(ctx, q)
	}
}

func TestDeleteKeepsIndexOrdered(t *testing.T) { eachStore(t, testDeleteKeepsIndexOrdered) }

func testDeleteKeepsIndexOrdered(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	for _, i := range []int{5, 1, 9, 3, 7} {
		db.CreateHost(ctx, Host{MAC: mac(i)}, "test")
	}
	if err := db.DeleteHost(ctx, mac(3), "test"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteHost(ctx, mac(3), "test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	p, _ := db.Hosts(ctx, Query{})
	var got []string
	for _, h := range p.Hosts {
		got = append(got, h.MAC)
	}
	want := []string{mac(1), mac(5), mac(7), mac(9)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hosts = %v, want %v", got, want)
	}
	if _, err := db.Events(ctx, mac(3), 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("events of deleted host: %v", err)
	}
}

func TestUpdateUnchangedIsNotStored(t *testing.T) { eachStore(t, testUpdateUnchangedIsNotStored) }

func testUpdateUnchangedIsNotStored(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	ctx := context.Background()
	h, _ := db.CreateHost(ctx, Host{MAC: mac(1), Hostname: "a"}, "test")
	got, err := db.UpdateHost(ctx, h.MAC, 0, func(x *Host) error { x.Hostname = "a"; return nil }, Event{Actor: "test"})
	if err != nil || got.Version != h.Version {
		t.Fatalf("no-op update: %+v, %v; want version %d kept", got, err, h.Version)
	}
	got, _ = db.UpdateHost(ctx, h.MAC, 0, func(x *Host) error { x.Hostname = "b"; return nil }, Event{Type: "renamed", Cause: "a → b", Actor: "test"})
	ev, _ := db.Events(ctx, h.MAC, 0)
	if got.Version == h.Version || len(ev) != 2 || ev[0].Type != "renamed" || ev[0].Cause != "a → b" {
		t.Fatalf("update: %+v, events %+v", got, ev)
	}
}

// TestChatterKeepsTransitions: however many frequent events a host logs,
// its transitions and the operator's events stay; each class keeps its
// last EventRetention, and reading merges them newest first.
func TestChatterKeepsTransitions(t *testing.T) { eachStore(t, testChatterKeepsTransitions) }

func testChatterKeepsTransitions(t *testing.T, f fixture) {
	db := f.Open(t, Options{EventRetention: 5})
	ctx := context.Background()
	db.CreateHost(ctx, Host{MAC: mac(1)}, "test")
	db.Transition(ctx, mac(1), StateInspecting, "booted", "installer")
	db.Transition(ctx, mac(1), StateReady, "inspected", "installer")
	for i := range 1005 {
		db.AppendEvent(ctx, mac(1), Event{Type: "agent", Cause: fmt.Sprint(i)})
		if i%100 == 0 {
			db.AppendEvent(ctx, mac(1), Event{Type: "claim-refused", Cause: "x"})
		}
	}
	ev, err := db.Events(ctx, mac(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	var kept, chat []string
	for i, e := range ev {
		if i > 0 && ev[i-1].Seq <= e.Seq {
			t.Fatalf("not newest first: %d after %d", e.Seq, ev[i-1].Seq)
		}
		if e.Chatter() {
			chat = append(chat, e.Cause)
		} else {
			kept = append(kept, e.Type+":"+string(e.To))
		}
	}
	if strings.Join(kept, " ") != "transition:ready transition:inspecting created:discovered" {
		t.Fatalf("kept events: %q", kept)
	}
	if len(chat) != 5 || chat[0] != "1004" {
		t.Fatalf("chatter: %q, want the last 5, newest first", chat)
	}
	if ev, _ := db.Events(ctx, mac(1), 3); len(ev) != 3 || ev[0].Cause != "1004" {
		t.Fatalf("limited read: %+v", ev)
	}
	db.DeleteHost(ctx, mac(1), "test")
	db.CreateHost(ctx, Host{MAC: mac(1)}, "test")
	if ev, _ := db.Events(ctx, mac(1), 0); len(ev) != 1 {
		t.Fatalf("a re-created host inherited %d events", len(ev))
	}
}
