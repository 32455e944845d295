package dashboard

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// TestLiveStreamSendsChangedRow checks the stream without a browser: a
// transition arrives as a rendered row for that MAC, with the counts.
func TestLiveStreamSendsChangedRow(t *testing.T) {
	dt := newDashTest(t, nil)
	const mac = "52:54:00:00:00:01"
	dt.addHost(inventory.Host{MAC: mac, Hostname: "web-01"})
	dt.login()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", dt.srv.URL+"/ui/live", nil)
	resp, err := dt.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	go func() {
		time.Sleep(50 * time.Millisecond) // let the stream subscribe
		dt.store.Transition(t.Context(), mac, inventory.StateInspecting, "pxe", "test")
	}()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || !strings.Contains(data, `"mac":"`+mac+`"`) {
			continue
		}
		if strings.Contains(data, `"inspecting":0`) { // the page as the stream opened
			if !strings.Contains(data, `data-state=\"discovered\"`) || !strings.Contains(data, `"order":["`+mac+`"]`) {
				t.Errorf("first update: %s", data)
			}
			continue
		}
		if !strings.Contains(data, `data-state=\"inspecting\"`) || !strings.Contains(data, `"inspecting":1`) {
			t.Errorf("row update: %s", data)
		}
		return
	}
	t.Fatalf("stream ended without the row: %v", sc.Err())
}

// TestLiveHostStreamStartsWithTheHost: a host page's stream sends the
// host as it is when it opens, so a page that reconnects (after a resync
// or a lost connection) catches up without any further change.
func TestLiveHostStreamStartsWithTheHost(t *testing.T) {
	dt := newDashTest(t, nil)
	const mac = "52:54:00:00:00:01"
	dt.addHost(inventory.Host{MAC: mac, Hostname: "web-01"})
	dt.store.Transition(t.Context(), mac, inventory.StateInspecting, "pxe", "test") // before the stream opens
	dt.login()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // no message: the test fails, not hangs
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", dt.srv.URL+"/ui/live?mac="+mac, nil)
	resp, err := dt.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && event == "host" {
			if !strings.Contains(data, "inspecting") {
				t.Errorf("first host message does not show the state: %s", data)
			}
			return
		}
	}
	t.Fatalf("stream ended without the host: %v", sc.Err())
}

// TestSharedPageReading: a reading of a list page is shared only with
// callers who heard of no change after it began.
func TestSharedPageReading(t *testing.T) {
	dt := newDashTest(t, nil)
	d, _ := New(Config{Store: dt.store, Token: testToken})
	q, _ := parseListQuery(nil, 50)
	dt.addHost(inventory.Host{MAC: "52:54:00:00:00:02"})
	before := time.Now()
	p1, _, _ := d.results(t.Context(), q, before)
	if p2, _, _ := d.results(t.Context(), q, before); p2.Matches != p1.Matches {
		t.Fatalf("second reading differs: %d, %d", p1.Matches, p2.Matches)
	}
	dt.addHost(inventory.Host{MAC: "52:54:00:00:00:01"})
	heard := time.Now()
	p3, shown, err := d.results(t.Context(), q, heard)
	if err != nil || p3.Matches != 2 || len(shown) != 2 || shown[0].MAC != "52:54:00:00:00:01" {
		t.Fatalf("after a change: %d matches, %d shown, %v", p3.Matches, len(shown), err)
	}
}
