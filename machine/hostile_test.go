package machine

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// TestOversizedReports: a hundred inspect reports of 900 KB each, with a
// good token and without one, store nothing, leave the database's size as
// it was and the appliance's heap bounded; refused ones without a token
// are refused before their body is read.
func TestOversizedReports(t *testing.T) {
	dir := t.TempDir()
	b := newBootTestIn(t, dir, nil)
	ctx := context.Background()
	b.store.CreateHost(ctx, inventory.Host{MAC: testMAC, State: inventory.StateInspecting}, "test")
	tok := b.token(testMAC)
	dbFile := filepath.Join(dir, inventory.DatabaseFile)
	before, _ := os.Stat(dbFile)
	hostBefore, _ := b.store.Host(ctx, testMAC)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	big := `{"mac":"` + testMAC + `","facts":{"vendor":"` + strings.Repeat("x", 900<<10) + `"}}`
	codes := map[int]int{}
	for i := range 100 {
		token := tok
		if i%2 == 1 {
			token = "" // no credential at all
		}
		code, _ := b.post("/machine/v1/inspect?mac="+testMAC, token, big)
		codes[code]++
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	after, _ := os.Stat(dbFile)
	hostAfter, _ := b.store.Host(ctx, testMAC)
	t.Logf("answers %v; heap %d → %d KiB; database %d → %d bytes", codes, m0.HeapAlloc>>10, m1.HeapAlloc>>10, before.Size(), after.Size())
	if codes[http.StatusRequestEntityTooLarge] != 50 || codes[http.StatusUnauthorized] != 50 {
		t.Errorf("answers %v, want 50 × 413 and 50 × 401", codes)
	}
	if after.Size() != before.Size() || hostAfter.Version != hostBefore.Version {
		t.Errorf("the reports changed the store: %d → %d bytes, version %d → %d", before.Size(), after.Size(), hostBefore.Version, hostAfter.Version)
	}
	if m1.HeapAlloc > m0.HeapAlloc+16<<20 {
		t.Errorf("heap grew %d MiB", (m1.HeapAlloc-m0.HeapAlloc)>>20)
	}
	// Facts within the body limit but over machineapi's bounds are refused
	// whole and named.
	many := `{"mac":"` + testMAC + `","facts":{"disks":[` + strings.TrimSuffix(strings.Repeat(`{"name":"sd","size_bytes":1},`, 300), ",") + `]}}`
	if code, body := b.post("/machine/v1/inspect?mac="+testMAC, tok, many); code != 400 || !strings.Contains(body, "300 disks") {
		t.Errorf("300 disks: %d %s", code, body)
	}
	esc := `{"mac":"` + testMAC + `","facts":{"vendor":"QEMU\u001b]52;c;aGk=\u0007"}}`
	if code, body := b.post("/machine/v1/inspect?mac="+testMAC, tok, esc); code != 400 || !strings.Contains(body, "control character") || strings.Contains(body, "\x1b") {
		t.Errorf("vendor with an escape: %d %q", code, body)
	}
}

// TestProgressStorm: a thousand progress reports and a thousand agent
// reports keep the host's transitions in its event log.
func TestProgressStorm(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	b.importImage("testos", mbrImage())
	b.deploying(inventory.Host{MAC: testMAC}, "testos")
	tok := b.token(testMAC)
	for i := range 1005 {
		if code, body := b.post("/machine/v1/progress?mac="+testMAC, tok, fmt.Sprintf(`{"written":%d,"total":2000,"rate_bps":1}`, i)); code != 200 {
			t.Fatalf("progress %d: %d %s", i, code, body)
		}
	}
	ev, _ := b.store.Events(ctx, testMAC, 0)
	var transitions []string
	for _, e := range ev {
		if e.Type == inventory.EventTransition {
			transitions = append(transitions, string(e.From)+"→"+string(e.To))
		}
	}
	if len(ev) > 10 || strings.Join(transitions, " ") != "ready→deploying" {
		t.Fatalf("%d events after 1005 progress reports; transitions %v", len(ev), transitions)
	}
}

// TestTokenForTheAsking is the attack of the hostile-network issue, step
// by step, against a host being deployed whose installer has claimed its
// boot: the script names no token, a claim for the victim is refused (and
// logged), and every call that would follow needs a token the attacker
// does not have.
func TestTokenForTheAsking(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	b.importImage("testos", mbrImage())
	b.deploying(inventory.Host{MAC: testMAC}, "testos")
	b.token(testMAC) // the victim's installer is up and claimed its boot
	_, script := b.get("/boot.ipxe?mac=" + testMAC)
	if strings.Contains(script, "token") {
		t.Fatalf("the script hands out a credential:\n%s", script)
	}
	if code, body := b.post("/machine/v1/claim?mac="+testMAC, "", `{"nonce":"the-attacker-has-its-own-nonce"}`); code != 409 || !strings.Contains(body, "claimed at") {
		t.Fatalf("the attacker's claim: %d %s", code, body)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/machine/v1/next?mac=" + testMAC},
		{"GET", "/machine/v1/image?mac=" + testMAC},
		{"POST", "/machine/v1/seed?mac=" + testMAC},
		{"POST", "/machine/v1/deployed?mac=" + testMAC},
	} {
		var code int
		if c.method == "GET" {
			code, _ = b.get(c.path)
		} else {
			code, _ = b.post(c.path, "", `{}`)
		}
		if code != 401 {
			t.Errorf("%s %s without a token: %d, want 401", c.method, c.path, code)
		}
	}
	ev, _ := b.store.Events(ctx, testMAC, 0)
	if ev[0].Type != "claim-refused" {
		t.Errorf("newest event %+v, want the refused claim", ev[0])
	}
	if h, _ := b.store.Host(ctx, testMAC); h.State != inventory.StateDeploying {
		t.Errorf("the host is %s", h.State)
	}
}

// TestReplayAfterRelease: a boot token from a deploy, replayed on the wipe
// report after the host was released with a wipe, is refused and the wipe
// request stays; the installed OS's agent token is refused too.
func TestReplayAfterRelease(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	b.importImage("testos", mbrImage())
	b.deploying(inventory.Host{MAC: testMAC}, "testos")
	boot := b.token(testMAC)
	_, seedBody := b.post("/machine/v1/seed?mac="+testMAC, boot, `{}`)
	agentTok := tokenFromSeed(t, strings.ReplaceAll(strings.ReplaceAll(seedBody, `\n`, "\n"), `\"`, `"`))
	if code, body := b.post("/machine/v1/deployed?mac="+testMAC, boot, `{"disk":"/dev/vda"}`); code != 200 {
		t.Fatalf("deployed: %d %s", code, body)
	}
	if code, _ := b.post("/machine/v1/agent/status?mac="+testMAC, agentTok, `{"status":"converged"}`); code != 200 {
		t.Fatalf("the agent's check-in: %d", code)
	}
	if _, err := b.lc.Release(ctx, testMAC, true, "", "op"); err != nil {
		t.Fatal(err)
	}
	rep := `{"disks":[{"disk":"/dev/vda","size":1,"table":"gpt","partitions":1,"zeroed":1}],"seconds":0.1}`
	if code, _ := b.post("/machine/v1/wiped?mac="+testMAC, boot, rep); code != 401 {
		t.Fatalf("the deploy's boot token on /wiped after release: %d, want 401", code)
	}
	if code, _ := b.get("/machine/v1/agent/config?wait=0s&mac="+testMAC, "Authorization", "Bearer "+agentTok); code != 401 {
		t.Fatalf("the installation's agent token after release: %d, want 401", code)
	}
	if h, _ := b.store.Host(ctx, testMAC); h.Wipe == nil {
		t.Fatal("the replay cleared the wipe request")
	}
}
