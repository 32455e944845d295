package boottrace

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const mac = "52:54:00:12:34:56"

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestRecordTakeStalled(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := &Trace{Now: c.now}
	ip := netip.MustParseAddr("10.0.0.50")
	if tr.RecordFrom(ip, StepLoader, "bootx64.efi", "tftp") {
		t.Fatal("a step from an address DHCP never gave was recorded")
	}
	tr.Record(mac, StepOffered, "bootx64.efi", "dhcp")
	tr.Bind(ip, mac)
	if !tr.RecordFrom(netip.MustParseAddr("::ffff:10.0.0.50"), StepLoader, "bootx64.efi", "tftp") {
		t.Fatal("a step from the bound address (v4-mapped) was dropped")
	}
	tr.Record(mac, StepConfig, "installer", "")
	if got := Summary(tr.Steps(mac)); got != "offered bootx64.efi (dhcp) → loader bootx64.efi (tftp) → config installer" {
		t.Fatalf("summary %q", got)
	}
	if s := tr.Stalled(time.Minute); len(s) != 0 {
		t.Fatalf("stalled before a minute passed: %v", s)
	}
	c.t = c.t.Add(time.Minute)
	s := tr.Stalled(time.Minute)
	if len(s[mac]) != 3 {
		t.Fatalf("stalled %v", s)
	}
	if d := Describe(s[mac]); !strings.Contains(d, "stopped after config at 2026-01-01T00:00:00Z, no installer claim") {
		t.Fatalf("describe %q", d)
	}
	if s := tr.Stalled(time.Minute); len(s) != 0 || tr.Take(mac) != nil {
		t.Fatalf("steps taken twice: %v", s)
	}
	if len(tr.Steps(mac)) != 3 {
		t.Fatal("taken steps are no longer shown")
	}
	tr.Record(mac, StepClaim, "", "http")
	if got := tr.Take(mac); len(got) != 1 || got[0].Step != StepClaim {
		t.Fatalf("take after a new step: %v", got)
	}
}

func TestBounds(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	tr := &Trace{MaxSteps: 4, MaxHosts: 3, Now: c.now}
	for i := range 10 {
		tr.Record(mac, fmt.Sprint(i), "", "")
	}
	steps := tr.Steps(mac)
	if len(steps) != 4 || steps[0].Step != "6" || steps[3].Step != "9" {
		t.Fatalf("steps %v, want the last 4", steps)
	}
	if got := tr.Take(mac); len(got) != 4 {
		t.Fatalf("pending %d, want 4 (bounded with the steps)", len(got))
	}
	for i := range 5 {
		c.t = c.t.Add(time.Second)
		tr.Record(fmt.Sprintf("52:54:00:00:00:%02x", i), "x", "", "")
	}
	tr.mu.Lock()
	n := len(tr.hosts)
	tr.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d hosts kept, want 3", n)
	}
	if tr.Steps(mac) != nil || tr.Steps("52:54:00:00:00:01") != nil || tr.Steps("52:54:00:00:00:04") == nil {
		t.Fatal("not the idlest hosts forgotten")
	}
}
