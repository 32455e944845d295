package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rackboot/rackboot/tlscert"
)

// apiClient is the Go side of the live measurement: it creates and
// removes hosts through the REST API, trusting -ca.
func apiClient(server, ca string) (*http.Client, error) {
	tr := &http.Transport{ForceAttemptHTTP2: true}
	if ca != "" {
		u, err := url.Parse(server)
		if err != nil {
			return nil, err
		}
		if tr.TLSClientConfig, err = (tlscert.Trust{CAFile: ca}).Config(u.Hostname()); err != nil {
			return nil, err
		}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// spkiFlag trusts the certificate of ca, and only it, in chromium.
func spkiFlag(ca string) (chromedp.ExecAllocatorOption, error) {
	c, err := tlscert.ReadCert(ca)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(sum[:])), nil
}

// watch records, in the page, when the row of window.__watch appears on
// the list and when it goes, by the page's clock (Date.now, the same
// machine clock as the Go side's).
const watch = `(() => {
	window.__t = {};
	const rows = document.getElementById('rows');
	new MutationObserver(() => {
		const m = window.__watch;
		if (!m) return;
		const here = !!rows.querySelector('tr[data-mac="' + m + '"]');
		if (here && !window.__t[m + '+']) window.__t[m + '+'] = Date.now();
		if (!here && window.__t[m + '+'] && !window.__t[m + '-']) window.__t[m + '-'] = Date.now();
	}).observe(rows, {childList: true});
})()`

// live opens tabs tabs on the list's first page, then, runs times,
// creates a host that sorts first through the API and waits for its row in
// every tab, removes it and waits for the row to go. Each figure is from
// just before the API call to the row's change in a tab, over all tabs.
// The peer is what an operator did before: reload the page (domInteractive).
func live(ctx context.Context, server, token string, hc *http.Client, tabs, runs int) error {
	ctxs := []context.Context{ctx}
	for len(ctxs) < tabs {
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		ctxs = append(ctxs, tab)
	}
	for i, c := range ctxs {
		err := chromedp.Do(c, chromedp.Navigate(server+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#rows")),
			poll(`document.getElementById('live-state').textContent === 'live'`),
			chromedp.Evaluate[chromedp.Void](watch))
		if err != nil {
			return fmt.Errorf("tab %d: %w", i+1, err)
		}
	}
	proto, err := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType('navigation')[0].nextHopProtocol`))
	if err != nil {
		return err
	}
	var appear, gone []float64
	for r := range runs {
		mac := fmt.Sprintf("02:00:00:00:%02x:%02x", r>>8&0xff, r&0xff)
		for _, c := range ctxs {
			if err := chromedp.Do(c, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("window.__watch = %q", mac))); err != nil {
				return err
			}
		}
		t0 := time.Now()
		if err := call(hc, "POST", server+"/api/v1/hosts", token, fmt.Sprintf(`{"mac":%q,"hostname":"live%03d"}`, mac, r)); err != nil {
			return err
		}
		ms, err := seen(ctxs, mac+"+", t0)
		if err != nil {
			return fmt.Errorf("create %s: %w", mac, err)
		}
		appear = append(appear, ms...)
		t0 = time.Now()
		if err := call(hc, "DELETE", server+"/api/v1/hosts/"+mac, token, ""); err != nil {
			return err
		}
		if ms, err = seen(ctxs, mac+"-", t0); err != nil {
			return fmt.Errorf("remove %s: %w", mac, err)
		}
		gone = append(gone, ms...)
	}
	slices.Sort(appear)
	slices.Sort(gone)
	row(fmt.Sprintf("live: a created host's row appears in each of %d tabs (%s, API call → row inserted)", tabs, proto), appear)
	row(fmt.Sprintf("live: a removed host's row goes in each of %d tabs (%s)", tabs, proto), gone)
	reload, err := repeat(runs, func() (float64, error) { return interactive(ctx, server+"/ui/", false) })
	if err != nil {
		return err
	}
	row("peer: reloading the list instead (domInteractive, warm cache)", reload)
	return nil
}

// seen waits for key in every tab's record and returns the milliseconds
// from t0 to each.
func seen(ctxs []context.Context, key string, t0 time.Time) ([]float64, error) {
	var out []float64
	for i, c := range ctxs {
		if err := chromedp.Do(c, poll(fmt.Sprintf("!!window.__t[%q]", key))); err != nil {
			return nil, fmt.Errorf("tab %d: %w", i+1, err)
		}
		at, err := chromedp.Run(c, chromedp.Evaluate[float64](fmt.Sprintf("window.__t[%q]", key)))
		if err != nil {
			return nil, err
		}
		out = append(out, at-float64(t0.UnixMilli()))
	}
	return out, nil
}

func poll(expr string) chromedp.Action[chromedp.Void] {
	p := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(5*time.Millisecond))
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := p(ctx, t)
		return err
	})
}

func call(hc *http.Client, method, u, token, body string) error {
	req, err := http.NewRequest(method, u, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, u, resp.Status)
	}
	return nil
}
