package dashboard

import (
	"bufio"
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
		if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, `"mac":"`+mac+`"`) {
			if !strings.Contains(data, `data-state=\"inspecting\"`) || !strings.Contains(data, `"inspecting":1`) {
				t.Errorf("row update: %s", data)
			}
			return
		}
	}
	t.Fatalf("stream ended without the row: %v", sc.Err())
}
