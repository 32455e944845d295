// Command benchdashboard measures the web dashboard in headless Chromium
// against a running rackboot: how soon the first page of the host list is
// interactive (Navigation Timing's domInteractive), how long a filter
// takes from the keystroke to the swapped rows, and how soon a host
// created or removed through the API shows in every open tab. scripts/bench-dashboard
// fills the inventory and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "rackboot URL")
	token := flag.String("token", os.Getenv("RACKBOOT_TOKEN"), "operator token")
	runs := flag.Int("runs", 20, "measurements of each figure")
	chromium := flag.String("chromium", "", "chromium binary; found on PATH when empty")
	ca := flag.String("ca", "", "the https:// server's certificate (the data dir's tls.crt), trusted by the API client and chromium")
	tabs := flag.Int("tabs", 8, "tabs open on the list for the live figures")
	flag.Parse()
	if err := run(*server, *token, *chromium, *ca, *runs, *tabs); err != nil {
		fmt.Fprintln(os.Stderr, "benchdashboard:", err)
		os.Exit(1)
	}
}

func run(server, token, exe, ca string, runs, tabs int) error {
	if exe == "" {
		var err error
		if exe, err = exec.LookPath("chromium"); err != nil {
			return fmt.Errorf("chromium: %w", err)
		}
	}
	hc, err := apiClient(server, ca)
	if err != nil {
		return err
	}
	var extra []chromedp.ExecAllocatorOption
	if ca != "" {
		f, err := spkiFlag(ca)
		if err != nil {
			return err
		}
		extra = append(extra, f)
	}
	ctx, cancel := browser(exe, extra...)
	defer cancel()
	if err := login(ctx, server, token); err != nil {
		return err
	}
	fmt.Printf("| what (%d runs each) | p50 | max |\n|---|---|---|\n", runs)
	for _, p := range pages {
		for _, cold := range []bool{true, false} {
			ms, err := repeat(runs, func() (float64, error) { return interactive(ctx, server+p.path, cold) })
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			row(fmt.Sprintf("%s interactive (domInteractive, %s cache)", p.name, map[bool]string{true: "cold", false: "warm"}[cold]), ms)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(server+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#rows"))); err != nil {
		return err
	}
	for _, f := range filters {
		set, clear, err := filterPair(ctx, f, runs)
		if err != nil {
			return fmt.Errorf("filter %s: %w", f.name, err)
		}
		row("filter "+f.name+" (input event → rows swapped)", set)
		row("filter "+f.name+" cleared (all 10,000 again)", clear)
	}
	return live(ctx, server, token, hc, tabs, runs)
}

type page struct{ name, path string }

var pages = []page{
	{"host list, first page (50 of 10,000, MAC order)", "/ui/"},
	{"host list sorted by hostname, descending", "/ui/?sort=hostname&dir=desc"},
}

// filterCase sets one filter field and clears it again; the dashboard
// skips a query equal to the one it shows, so every run alternates.
type filterCase struct{ name, set, clear string }

var filters = []filterCase{
	{"`q=node0123` (10 hosts)", setQ("node0123"), setQ("")},
	{"`state=ready` (4,000 hosts)", setState("ready"), setState("")},
	{"`label=rack=r07` (250 hosts)", setLabel("rack=r07"), setLabel("")},
}

func filterPair(ctx context.Context, f filterCase, runs int) (set, clear []float64, err error) {
	for range runs {
		a, err := filter(ctx, f.set)
		if err != nil {
			return nil, nil, err
		}
		b, err := filter(ctx, f.clear)
		if err != nil {
			return nil, nil, err
		}
		set, clear = append(set, a), append(clear, b)
	}
	slices.Sort(set)
	slices.Sort(clear)
	return set, clear, nil
}

func setQ(v string) string     { return setInput(`input[name="q"]`, v, "input") }
func setLabel(v string) string { return setInput(`input[name="label"]`, v, "input") }
func setState(v string) string { return setInput(`select[name="state"]`, v, "change") }

func setInput(sel, v, event string) string {
	return fmt.Sprintf(`(e => { e.value = %q; e.dispatchEvent(new Event(%q, {bubbles: true})); })(document.querySelector(%q))`, v, event, sel)
}

func browser(exe string, extra ...chromedp.ExecAllocatorOption) (context.Context, context.CancelFunc) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("no-proxy-server", true),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 10*time.Minute)
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
}

func login(ctx context.Context, server, token string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(server+"/ui/login"),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("#rows")),
	)
}

// interactive loads url and returns its domInteractive in milliseconds
// from the start of navigation.
func interactive(ctx context.Context, url string, cold bool) (float64, error) {
	if cold {
		if _, err := chromedp.Call(ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
			return 0, err
		}
	}
	err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#rows")))
	for try := 0; err != nil && strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") && try < 5; try++ {
		// chromium aborts loads when the machine's interfaces change,
		// which other jobs on a shared machine do: load again.
		err = chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#rows")))
	}
	if err != nil {
		return 0, err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByType('navigation')[0].domInteractive`))
}

// filter runs script and returns the milliseconds until the dashboard
// reports the new rows in place (its rb:results event).
func filter(ctx context.Context, script string) (float64, error) {
	js := `new Promise(done => {
		const t0 = performance.now();
		document.addEventListener('rb:results', () => done(performance.now() - t0), {once: true});
		` + script + `;
	})`
	return chromedp.Run(ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
}

func repeat(n int, f func() (float64, error)) ([]float64, error) {
	out := make([]float64, 0, n)
	for range n {
		v, err := f()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

func row(name string, ms []float64) {
	fmt.Printf("| %s | %.0f ms | %.0f ms |\n", name, ms[len(ms)/2], ms[len(ms)-1])
}
