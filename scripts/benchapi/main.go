// Command benchapi fills a rackboot inventory through its API and reports
// host creations per second. scripts/bench-api runs it before measuring
// reads with wrk.
package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/tlscert"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "rackboot API URL")
	token := flag.String("token", os.Getenv("RACKBOOT_TOKEN"), "operator token")
	n := flag.Int("n", 10000, "hosts to create")
	c := flag.Int("c", 16, "concurrent clients")
	first := flag.Int("first", 0, "index of the first host (MACs and hostnames derive from it)")
	ca := flag.String("ca", "", "PEM certificate to trust an https:// server with (the data dir's tls.crt)")
	flag.Parse()
	if *ca != "" {
		u, _ := url.Parse(*server)
		tc, err := tlscert.Trust{CAFile: *ca}.Config(u.Hostname())
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchapi:", err)
			os.Exit(1)
		}
		tlsConfig = tc
	}
	start := time.Now()
	failed := create(*server, *token, *first, *n, *c)
	d := time.Since(start)
	fmt.Printf("created %d hosts with %d clients in %.2fs: %.0f hosts/s (%d failed)\n", *n, *c, d.Seconds(), float64(*n)/d.Seconds(), failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// tlsConfig trusts the server of -ca; nil for plain HTTP.
var tlsConfig *tls.Config

// create posts hosts first..first+n-1 from c goroutines and returns how
// many requests failed.
func create(server, token string, first, n, c int) int64 {
	var next, failed atomic.Int64
	next.Store(int64(first))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, TLSClientConfig: tlsConfig}}
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < first+n; i = int(next.Add(1) - 1) {
				if err := post(client, server, token, i); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, err)
				}
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}

var states = []string{"discovered", "ready", "ready", "deployed", "active"}

func post(client *http.Client, server, token string, i int) error {
	body := fmt.Sprintf(`{"mac":"52:54:%02x:%02x:%02x:%02x","hostname":"node%05d","state":"%s","labels":{"rack":"r%02d"}}`,
		i>>24&0xff, i>>16&0xff, i>>8&0xff, i&0xff, i, states[i%len(states)], i%40)
	req, _ := http.NewRequest("POST", server+"/api/v1/hosts", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("host %d: %s", i, resp.Status)
	}
	return nil
}
