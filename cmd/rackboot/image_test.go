package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// gptImage writes a 4 MiB GPT disk image, gzip-compressed, under a name
// that does not say so; it returns the path and the sha256 of the disk.
func gptImage(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	d, err := diskfs.Create(raw, 4<<20, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Partition(&gpt.Table{ProtectiveMBR: true, Partitions: []*gpt.Partition{
		{Index: 1, Start: 2048, End: 8000, Type: gpt.LinuxFilesystem, Name: "root"}}}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	b, _ := os.ReadFile(raw)
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	w.Close()
	p := filepath.Join(dir, "disk.img")
	os.WriteFile(p, z.Bytes(), 0o644)
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

func TestImageCommandsAgainstServe(t *testing.T) {
	dir := t.TempDir()
	url, stop := startServe(t, dir)
	defer stop()
	image := func(args ...string) (string, int) {
		return cli(t, append(append([]string{"image"}, args...), "--server", url, "--data-dir", dir)...)
	}
	file, sum := gptImage(t)

	out, code := image("import", file, "--name", "deb12")
	if code != 0 || !strings.Contains(out, "imported deb12: raw gzip, 4.0 MiB, sha256 "+sum) || !strings.Contains(out, "uploaded disk.img") {
		t.Fatalf("import: %d %s", code, out)
	}
	if out, code := image("import", file, "--name", "deb12"); code != 1 || !strings.Contains(out, "already exists") || !strings.Contains(out, "HTTP 409") {
		t.Fatalf("duplicate: %d %s", code, out)
	}
	self, _ := os.Executable()
	if out, code := image("import", self, "--name", "elf"); code != 1 || !strings.Contains(out, "found an ELF executable (HTTP 415)") {
		t.Fatalf("ELF: %d %s", code, out)
	}
	out, code = image("list")
	if code != 0 || !strings.Contains(out, "COMPRESSION") || !strings.Contains(out, "deb12") || !strings.Contains(out, sum[:12]) {
		t.Fatalf("list: %d %s", code, out)
	}
	out, _ = image("list", "-o", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0]["sha256"] != sum {
		t.Fatalf("list -o json: %v %s", err, out)
	}
	if out, code := image("show", "deb12"); code != 0 || !strings.Contains(out, "Stored SHA256:") || !strings.Contains(out, "disk.img") {
		t.Fatalf("show: %d %s", code, out)
	}
	if out, code := image("rm", "deb12"); code != 0 || !strings.Contains(out, "removed deb12") {
		t.Fatalf("rm: %d %s", code, out)
	}
	if out, code := image("show", "deb12"); code != 1 || !strings.Contains(out, "not found") || !strings.Contains(out, "HTTP 404") {
		t.Fatalf("show after rm: %d %s", code, out)
	}
}

func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, "disk.img", 400<<20)
	start := p.start
	p.now = func() time.Time { return start.Add(2 * time.Second) }
	p.add(100 << 20)
	if got, want := p.line(p.now()), "disk.img   25%  100.0 MiB / 400.0 MiB  52.4 MB/s  ETA 6s"; got != want {
		t.Fatalf("line = %q, want %q", got, want)
	}
	if out.Len() != 0 {
		t.Fatalf("not a terminal, yet drawn: %q", out.String())
	}
	p.finish(true)
	if !strings.HasPrefix(out.String(), "uploaded disk.img (100.0 MiB) in 2.0s, 52.4 MB/s") {
		t.Fatalf("final line: %q", out.String())
	}
}
