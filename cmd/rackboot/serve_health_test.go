package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHealthCountsHTTPBytes(t *testing.T) {
	f := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(f, make([]byte, 3<<20), 0o644)
	hl := &health{}
	srv := httptest.NewServer(hl.countBytes(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, f) })))
	defer srv.Close()
	hl.Health() // first sample
	hl.mu.Lock()
	hl.at = hl.at.Add(-2 * time.Second)
	hl.mu.Unlock()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for i := 0; i < 100 && hl.httpBytes.Load() < 3<<20; i++ {
		time.Sleep(10 * time.Millisecond) // the handler returns just after the client has it all
	}
	if n := hl.httpBytes.Load(); n != 3<<20 {
		t.Fatalf("counted %d bytes, want %d (sendfile path included)", n, 3<<20)
	}
	items := hl.Health()
	if items[0].Name != "DHCP" || items[0].Value != "off" {
		t.Fatalf("DHCP item: %+v", items[0])
	}
	last := items[len(items)-1]
	if last.Name != "HTTP boot" || !strings.HasSuffix(last.Value, "MB/s") || last.Value == "0.0 MB/s" {
		t.Fatalf("HTTP item: %+v", last)
	}
}
