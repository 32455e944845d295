package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if got := percentile(d, 50); got != 100*time.Millisecond {
		t.Errorf("p50 = %v, want 100ms", got)
	}
	if got := percentile(d, 99); got != 198*time.Millisecond {
		t.Errorf("p99 = %v, want 198ms", got)
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v", got)
	}
}

// testFile writes 300 kB of random data and returns its directory and sha256.
func testFile(t *testing.T) (string, string) {
	dir := t.TempDir()
	data := make([]byte, 300_000)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return dir, hex.EncodeToString(sum[:])
}

// TestServeAndLoadTFTP runs both modes of the tool in-process, as the script
// runs them as processes.
func TestServeAndLoadTFTP(t *testing.T) {
	dir, sum := testFile(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-serve-tftp", dir, "-listen", "127.0.0.1:0"}, pw, io.Discard) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	addr := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	out := loadOK(t, "-proto", "tftp", "-target", addr, "-file", "f.bin", "-n", "20", "-rounds", "2", "-sha256", sum)
	if !strings.Contains(out, "ok=40 errors=0") {
		t.Errorf("report %q, want 40 ok", out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestLoadHTTP(t *testing.T) {
	dir, sum := testFile(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	target := strings.TrimPrefix(srv.URL, "http://")
	out := loadOK(t, "-proto", "http", "-target", target, "-file", "f.bin", "-n", "20", "-sha256", sum)
	if !strings.Contains(out, "ok=20 errors=0") {
		t.Errorf("report %q, want 20 ok", out)
	}
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-proto", "http", "-target", target, "-file", "f.bin", "-n", "2", "-sha256", "00"}, io.Discard, &stderr)
	if err == nil || !strings.Contains(stderr.String(), "sha256 mismatch") {
		t.Errorf("a wrong -sha256 gave err %v, stderr %q", err, stderr.String())
	}
}

func loadOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("load: %v\n%s", err, stderr.String())
	}
	t.Log(stdout.String())
	return stdout.String()
}
