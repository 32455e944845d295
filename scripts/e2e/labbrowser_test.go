package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	lablib "github.com/rackboot/rackboot/lab"
	"github.com/rackboot/rackboot/tlscert"
)

// TestLabDashboardInBrowser: a lab's dashboard, with one VM enrolled
// (left off: no VM runs), opens in a browser on this machine.
func TestLabDashboardInBrowser(t *testing.T) {
	needLab(t)
	l := newLab(t)
	l.addVM(1, lablib.FirmwareBIOS)
	checkDashboardInBrowser(t, l.Lab)
}

// checkDashboardInBrowser opens the lab's dashboard in Debian's headless
// chromium on this machine (outside the namespace), trusting the lab's
// certificate by its key as an operator who accepted it would, signs in
// with the operator token and waits for the list to show the lab's VMs.
func checkDashboardInBrowser(t *testing.T, l *lablib.Lab) {
	t.Helper()
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		t.Fatal("chromium not found (scripts/ci-deps installs Debian's chromium)")
	}
	cert, err := tlscert.ReadCert(l.Cert)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	tok, err := l.Token()
	if err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		// Without these, chromium keeps dialling Google on a closed network.
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(sum[:])))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()
	// Chromium aborts a load with ERR_NETWORK_CHANGED whenever an
	// interface of the machine changes, which labs do: load again.
	var navErr error
	for range 5 {
		if navErr = chromedp.Do(ctx, chromedp.Navigate(l.DashboardURL())); navErr == nil || !strings.Contains(navErr.Error(), "ERR_NETWORK_CHANGED") {
			break
		}
	}
	if navErr != nil {
		t.Fatalf("chromium: open %s: %v", l.DashboardURL(), navErr)
	}
	err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), tok), chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("#rows")))
	if err != nil {
		t.Fatalf("chromium: sign in at %s: %v", l.DashboardURL(), err)
	}
	rows, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#rows")))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range l.VMs {
		if !strings.Contains(rows, v.MAC) {
			t.Errorf("chromium: the dashboard's list lacks %s: %q", v.MAC, rows)
		}
	}
	t.Logf("chromium on this machine opened %s over HTTPS and signed in", l.DashboardURL())
}
