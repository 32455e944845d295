package machine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/fleetconfig"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/provision"
)

type bootTest struct {
	t     *testing.T
	srv   *httptest.Server
	store *inventory.DB
	imgs  *images.Store
	lc    *provision.Lifecycle
	boot  *Server
}

// newBootTest serves the machine side of a fresh store and image store;
// configure adjusts the Server, lcMods the lifecycle's Config.
func newBootTest(t *testing.T, configure func(*Server), lcMods ...func(*provision.Config)) *bootTest {
	t.Helper()
	return newBootTestIn(t, t.TempDir(), configure, lcMods...)
}

// newBootTestIn is newBootTest with the inventory in dir.
func newBootTestIn(t *testing.T, dir string, configure func(*Server), lcMods ...func(*provision.Config)) *bootTest {
	t.Helper()
	store, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := images.Open(t.TempDir(), images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := provision.Config{Store: store, Images: imgs, Boot: boot.Config{URL: "http://10.9.0.1:8081"}}
	for _, m := range lcMods {
		m(&cfg)
	}
	lc := provision.New(cfg)
	t.Cleanup(func() { store.Close() }) // last: after the renderer and the server stopped
	s := &Server{Lifecycle: lc, Images: imgs, Graphs: runGraphs(t, store)}
	if configure != nil {
		configure(s)
	}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &bootTest{t: t, srv: srv, store: store, imgs: imgs, lc: lc, boot: s}
}

// runGraphs runs the agent's config renderer on store until the test ends.
func runGraphs(tb testing.TB, store inventory.Store) *fleetconfig.Graphs {
	g := &fleetconfig.Graphs{Store: store}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Graphs.Run: %v", err)
		}
	})
	return g
}

// token is the boot token of mac's installer, which the test pretends is
// up: a host stored as it is gets its boot marked claimed by that
// installer (as if it had claimed it before its state was set), an
// unknown MAC is claimed (and enlisted) for real; the installer's claim,
// repeated with its nonce, then hands out the token.
func (b *bootTest) token(mac string) string {
	b.t.Helper()
	ctx := context.Background()
	nonce := "the-test-installer-" + mac
	if h, err := b.store.Host(ctx, mac); err == nil && h.Credentials.BootClaimedAt.IsZero() {
		sum := sha256.Sum256([]byte(nonce))
		_, err := b.store.ModifyHost(ctx, mac, 0, func(h *inventory.Host) (inventory.Edit, error) {
			cr := &h.Credentials
			cr.BootArmed, cr.BootClaimedAt, cr.BootClaimedFrom, cr.BootNonce = false, time.Now(), "127.0.0.1", hex.EncodeToString(sum[:])
			return inventory.Edit{Type: "test", Cause: "the test's installer is up"}, nil
		})
		if err != nil {
			b.t.Fatal(err)
		}
	}
	_, tok, err := b.lc.Claim(ctx, mac, machineapi.Claim{Nonce: nonce}, "127.0.0.1")
	if err != nil {
		b.t.Fatalf("claim %s: %v", mac, err)
	}
	return tok
}

func (b *bootTest) get(path string, hdr ...string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *bootTest) post(path, token, body string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

const testMAC = "52:54:00:12:34:56"

func TestScriptByState(t *testing.T) {
	cases := []struct {
		state    inventory.State // "" = unknown MAC
		want     []string
		newState inventory.State
	}{
		{"", []string{"kernel http://10.9.0.1:8081/boot/installer/vmlinuz initrd=initrd.cpio.gz", "initrd --name initrd.cpio.gz http://10.9.0.1:8081/boot/installer/initrd.cpio.gz", "rackboot.mode=inspect", "rackboot.mac=" + testMAC}, ""},
		{inventory.StateDiscovered, []string{"rackboot.mode=inspect"}, inventory.StateDiscovered},
		{inventory.StateInspecting, []string{"rackboot.mode=inspect"}, inventory.StateInspecting},
		{inventory.StateReady, []string{"rackboot.mode=inspect"}, inventory.StateReady},
		{inventory.StateDeploying, []string{"rackboot.mode=deploy"}, inventory.StateDeploying},
		{inventory.StateDeployed, []string{"exit 1", "sanboot --no-describe --drive 0x80", "iseq ${platform} efi"}, inventory.StateDeployed},
		{inventory.StateActive, []string{"exit", "sanboot"}, inventory.StateActive},
		{inventory.StateFailed, []string{"waiting for an operator", "(disk on fire)", "chain --replace --autofree http://10.9.0.1:8081/boot.ipxe?mac=52:54:00:12:34:56"}, inventory.StateFailed},
	}
	for _, tc := range cases {
		t.Run(cmp.Or(string(tc.state), "unknown"), func(t *testing.T) {
			b := newBootTest(t, nil)
			if tc.state != "" {
				h := inventory.Host{MAC: testMAC, State: tc.state}
				if tc.state == inventory.StateFailed {
					h.Failure = &inventory.Failure{Cause: "disk on fire", From: inventory.StateDeploying}
				}
				if _, err := b.store.CreateHost(context.Background(), h, "test"); err != nil {
					t.Fatal(err)
				}
			}
			rev := b.store.Revision()
			code, script := b.get("/boot.ipxe?mac=52-54-00-12-34-56")
			if code != 200 || !strings.HasPrefix(script, "#!ipxe\n") {
				t.Fatalf("%d %q", code, script)
			}
			for _, w := range tc.want {
				if !strings.Contains(script, w) {
					t.Errorf("script lacks %q:\n%s", w, script)
				}
			}
			// An iPXE client must never be sent back to a TFTP loader.
			for _, loop := range []string{"tftp://", "undionly", "ipxe.efi", "snponly"} {
				if strings.Contains(script, loop) {
					t.Errorf("script mentions %q, a chainload loop:\n%s", loop, script)
				}
			}
			// Asking for a script writes nothing.
			if r := b.store.Revision(); r != rev {
				t.Fatalf("the script request wrote (revision %d → %d)", rev, r)
			}
			h, err := b.store.Host(context.Background(), testMAC)
			if tc.newState == "" && !errors.Is(err, inventory.ErrNotFound) || tc.newState != "" && h.State != tc.newState {
				t.Fatalf("host after script: %+v, %v; want %q", h, err, tc.newState)
			}
			// Naming a MAC is not a credential: no script carries one.
			if strings.Contains(script, "token") {
				t.Fatalf("script hands out a token:\n%s", script)
			}
		})
	}
}

func TestScriptDiscoveryOff(t *testing.T) {
	b := newBootTest(t, nil, func(c *provision.Config) { c.Boot.NoDiscovery = true })
	code, script := b.get("/boot.ipxe?mac=" + testMAC)
	if code != 200 || !strings.Contains(script, "local disk") {
		t.Fatalf("%d %s", code, script)
	}
	if _, err := b.store.Host(context.Background(), testMAC); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("discovery off but host enlisted: %v", err)
	}
}

func TestScriptBadMAC(t *testing.T) {
	b := newBootTest(t, nil)
	for _, q := range []string{"", "?mac=", "?mac=zz", "?mac=${mac}", "?mac=52:54:00:12:34"} {
		if code, body := b.get("/boot.ipxe" + q); code != 400 || !strings.Contains(body, "mac") {
			t.Errorf("%q: %d %s", q, code, body)
		}
	}
}

func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "localboot.ipxe"), []byte("#!ipxe\necho custom {{.MAC}}\nexit\n"), 0o644)
	b := newBootTest(t, func(s *Server) { s.TemplatesDir = dir })
	b.store.CreateHost(context.Background(), inventory.Host{MAC: testMAC, State: inventory.StateActive}, "test")
	if _, script := b.get("/boot.ipxe?mac=" + testMAC); script != "#!ipxe\necho custom "+testMAC+"\nexit\n" {
		t.Fatalf("override not used: %q", script)
	}
	os.WriteFile(filepath.Join(dir, "hold.ipxe"), []byte("#!ipxe\n{{.Nope"), 0o644)
	s := &Server{Lifecycle: b.lc, Graphs: b.boot.Graphs, TemplatesDir: dir}
	if _, err := s.Handler(); err == nil || !strings.Contains(err.Error(), "hold.ipxe") {
		t.Fatalf("broken override: err = %v", err)
	}
}

const goodReport = `{"mac":"52:54:00:12:34:56","facts":{"vendor":"QEMU","uuid":"0b9ac8f6-6c8f-4b7e-9d3a-1f0d8e2a4c11","serial":"S123","firmware":"uefi","cpus":2,"memory_bytes":536870912,"disks":[{"name":"vda","size_bytes":1073741824}],"nics":[{"name":"eth0","mac":"52:54:00:12:34:56"}]}}`

func TestInspectReport(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	code, body := b.post("/machine/v1/claim?mac="+testMAC, "", `{"nonce":"0123456789abcdef0123","mode":"inspect"}`)
	var c machineapi.Claimed
	if json.Unmarshal([]byte(body), &c); code != 200 || c.State != "inspecting" || c.Token == "" {
		t.Fatalf("claim: %d %s", code, body) // enlists straight into inspecting
	}
	token := c.Token
	other := b.token("52:54:00:00:00:99")
	before, _ := b.store.Host(ctx, testMAC)
	bad := []struct {
		name, token, body string
		code              int
	}{
		{"no token", "", goodReport, 401},
		{"garbage token", "nonsense", goodReport, 401},
		{"token of another host", other, goodReport, 401},
		{"malformed", token, `{"mac":`, 400},
		{"unknown field", token, `{"mac":"52:54:00:12:34:56","facts":{},"extra":1}`, 400},
		{"no facts", token, `{"mac":"52:54:00:12:34:56"}`, 400},
		{"wrong type", token, `{"mac":"52:54:00:12:34:56","facts":{"cpus":"two"}}`, 400},
		{"oversized", token, `{"mac":"52:54:00:12:34:56","facts":{"vendor":"` + strings.Repeat("x", 2<<20) + `"}}`, 413},
	}
	for _, tc := range bad {
		if code, body := b.post("/machine/v1/inspect?mac="+testMAC, tc.token, tc.body); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
		}
	}
	if after, _ := b.store.Host(ctx, testMAC); after.Version != before.Version {
		t.Fatalf("refused reports changed the host: %+v", after)
	}
	if code, body := b.post("/machine/v1/inspect", token, goodReport); code != 400 {
		t.Fatalf("report without ?mac=: %d %s, want 400 (the token is checked before the body is read)", code, body)
	}
	if code, body := b.post("/machine/v1/inspect?mac="+testMAC, token, strings.Replace(goodReport, "52:54:00:12:34:56", "52:54:00:00:00:99", 1)); code != 400 {
		t.Fatalf("report for another MAC: %d %s", code, body)
	}
	if code, body := b.post("/machine/v1/inspect?mac="+testMAC, token, goodReport); code != 200 {
		t.Fatalf("good report: %d %s", code, body)
	}
	h, _ := b.store.Host(ctx, testMAC)
	if h.State != inventory.StateReady || h.Facts == nil || h.Facts.MemoryBytes != 512<<20 || h.UUID != "0b9ac8f6-6c8f-4b7e-9d3a-1f0d8e2a4c11" || h.Serial != "S123" {
		t.Fatalf("host after report: %+v", h)
	}
	ev, _ := b.store.Events(ctx, testMAC, 0)
	var path []string
	for i := len(ev) - 1; i >= 0; i-- {
		if ev[i].Type == inventory.EventTransition {
			path = append(path, string(ev[i].From)+"→"+string(ev[i].To))
		}
	}
	if strings.Join(path, " ") != "inspecting→ready" || ev[len(ev)-1].Type != inventory.EventCreated || ev[len(ev)-1].To != inventory.StateInspecting {
		t.Fatalf("transitions = %v", path)
	}
	if code, _ := b.post("/machine/v1/inspect?mac="+testMAC, token, goodReport); code != 409 {
		t.Fatalf("report from a ready host (no reboot): %d, want 409", code)
	}
}

func TestNextLongPolls(t *testing.T) {
	b := newBootTest(t, nil)
	b.store.CreateHost(context.Background(), inventory.Host{MAC: testMAC, State: inventory.StateReady}, "test")
	tok := b.token(testMAC)
	start := time.Now()
	code, body := b.get("/machine/v1/next?mac="+testMAC+"&wait=200ms", "Authorization", "Bearer "+tok)
	if code != 200 || !strings.Contains(body, `"action":"wait"`) || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("%d %s after %v", code, body, time.Since(start))
	}
	if code, _ := b.get("/machine/v1/next?mac="+testMAC, "Authorization", "Bearer "+b.token("52:54:00:00:00:01")); code != 401 {
		t.Fatalf("next with another host's token: %d", code)
	}
	// A wipe asked while the poll waits answers it at once, not at the
	// end of its 10 s.
	go func() {
		time.Sleep(100 * time.Millisecond)
		b.store.UpdateHost(context.Background(), testMAC, 0, func(h *inventory.Host) error {
			h.Wipe = &inventory.WipeRequest{Actor: "op"}
			return nil
		}, inventory.Event{Type: "wipe-requested"})
	}()
	start = time.Now()
	code, body = b.get("/machine/v1/next?mac="+testMAC+"&wait=10s", "Authorization", "Bearer "+tok)
	if code != 200 || !strings.Contains(body, `"action":"wipe"`) || time.Since(start) > 5*time.Second {
		t.Fatalf("%d %s after %v, want the wipe as soon as it was asked", code, body, time.Since(start))
	}
}

func TestInstallerFilesWithRange(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	data := bytes.Repeat([]byte("0123456789"), 1000)
	os.WriteFile(kernel, data, 0o644)
	b := newBootTest(t, func(s *Server) { s.InstallerKernel = kernel })
	code, body := b.get("/boot/installer/vmlinuz", "Range", "bytes=100-109")
	if code != http.StatusPartialContent || body != string(data[100:110]) {
		t.Fatalf("range: %d %q", code, body)
	}
	if code, body := b.get("/boot/installer/vmlinuz"); code != 200 || body != string(data) {
		t.Fatalf("whole: %d, %d bytes", code, len(body))
	}
	if code, body := b.get("/boot/installer/initrd.cpio.gz"); code != 404 || !strings.Contains(body, "--installer-initrd") {
		t.Fatalf("unconfigured initrd: %d %s", code, body)
	}
	if code, _ := b.get("/boot/installer/..%2f..%2fetc%2fpasswd"); code != 404 {
		t.Fatalf("traversal: %d", code)
	}
	if code, _ := b.get("/boot/ipxe/" + url.PathEscape("../../etc/passwd")); code != 404 {
		t.Fatalf("ipxe traversal: %d", code)
	}
}
