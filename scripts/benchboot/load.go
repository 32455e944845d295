package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	pintftp "github.com/pin/tftp/v3"
)

// fetchFunc fetches the file once into w and returns the bytes received.
type fetchFunc func(ctx context.Context, w io.Writer) (int64, error)

// load runs cfg.clients clients at once, each fetching cfg.rounds times, and
// prints one report line. It fails only when no transfer succeeded; partial
// failure is in the report.
func load(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	fetch := tftpFetcher(cfg)
	if cfg.proto == "http" {
		fetch = httpFetcher(cfg)
	}
	start := time.Now()
	results := storm(ctx, cfg, fetch)
	rep := summarize(results, time.Since(start))
	fmt.Fprintln(stdout, rep.line(cfg))
	rep.printErrors(stderr)
	if rep.ok == 0 {
		return errors.New("no transfer succeeded")
	}
	return nil
}

// result is one transfer as a client saw it.
type result struct {
	bytes    int64
	duration time.Duration
	err      error
}

// storm starts every client together, so the server sees the burst a rack
// powering on gives it.
func storm(ctx context.Context, cfg config, fetch fetchFunc) []result {
	results := make(chan result, cfg.clients*cfg.rounds)
	var wg sync.WaitGroup
	for range cfg.clients {
		wg.Go(func() {
			for range cfg.rounds {
				if ctx.Err() != nil {
					return
				}
				results <- fetchOnce(ctx, cfg.sha256, fetch)
			}
		})
	}
	wg.Wait()
	close(results)
	var all []result
	for r := range results {
		all = append(all, r)
	}
	return all
}

func fetchOnce(ctx context.Context, want string, fetch fetchFunc) result {
	h := sha256.New()
	start := time.Now()
	n, err := fetch(ctx, h)
	r := result{bytes: n, duration: time.Since(start), err: err}
	if err == nil && want != "" && hex.EncodeToString(h.Sum(nil)) != want {
		r.err = fmt.Errorf("sha256 mismatch after %d bytes", n)
	}
	return r
}

// tftpFetcher uses pin/tftp's client, asking for blksize and tsize as iPXE
// and PXE ROMs do.
func tftpFetcher(cfg config) fetchFunc {
	return func(_ context.Context, w io.Writer) (int64, error) {
		c, err := pintftp.NewClient(cfg.target)
		if err != nil {
			return 0, fmt.Errorf("tftp client: %w", err)
		}
		c.SetBlockSize(cfg.blockSize)
		c.SetTimeout(cfg.timeout)
		c.RequestTSize(true)
		wt, err := c.Receive(cfg.file, "octet")
		if err != nil {
			return 0, fmt.Errorf("tftp receive: %w", err)
		}
		return wt.WriteTo(w)
	}
}

func httpFetcher(cfg config) fetchFunc {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.clients, // one kept-alive connection per client
		DisableCompression:  true,
	}}
	url := "http://" + cfg.target + "/" + cfg.file
	return func(ctx context.Context, w io.Writer) (int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, fmt.Errorf("http request: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("http get: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("http get: %s", resp.Status)
		}
		n, err := io.Copy(w, resp.Body)
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("http get: %d of %d bytes", n, resp.ContentLength)
		}
		return n, err
	}
}
