package tftp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/boot"
)

// These tests drive the Debian clients a PXE lab and an operator use: tftp
// from tftp-hpa (RFC 1350 only: it cannot ask for blksize) and curl (asks
// for blksize and tsize). CI installs both; without them the tests skip and
// say so.

// needClient returns the path of a client binary or skips the test.
func needClient(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Logf("%s not installed (Debian package %s): skipping the real-client test", name, pkg)
		t.Skip(name + " missing")
	}
	return path
}

// run runs a client in dir and returns its combined output. Failure of the
// command itself is returned, not fatal: tftp-hpa exits 0 even on errors.
func run(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out), err
}

// hpaGet fetches remote into dir/local with tftp-hpa in binary mode.
func hpaGet(t *testing.T, dir string, port int, remote, local string) string {
	tftp := needClient(t, "tftp", "tftp-hpa")
	out, err := run(t, dir, tftp, "-v", "-m", "binary", "127.0.0.1", strconv.Itoa(port), "-c", "get", remote, local)
	if err != nil {
		t.Fatalf("tftp: %v", err)
	}
	return out
}

// curlGet fetches url into dir/local asking for blksize 1468.
func curlGet(t *testing.T, dir, url, local string, extra ...string) (string, error) {
	curl := needClient(t, "curl", "curl")
	args := append([]string{"-sS", "-v", "--tftp-blksize", "1468", "-o", local}, extra...)
	return run(t, dir, curl, append(args, url)...)
}

func TestTFTPHPAGetsWholeFile(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	want := writeRandomFile(t, root, "big.bin", 1<<20)
	s := &Server{Roots: []string{root}}
	r := startRelay(t, startServer(t, s))
	hpaGet(t, out, r.addr().Port, "big.bin", "big.bin")
	if got := sumFile(t, filepath.Join(out, "big.bin")); got != want {
		t.Fatalf("sha256 %s, want %s", got, want)
	}
	// tftp-hpa sends no options, so RFC 1350's 512 is right here.
	if got := largestData(r.seen()); got != 512 {
		t.Errorf("largest DATA block %d bytes, want 512", got)
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 1 })
}

// TestCurlNegotiatesBlockSize proves blksize 1468 twice over: curl reports
// the OACK it parsed, and the relay sees the OACK and the DATA sizes on the
// wire.
func TestCurlNegotiatesBlockSize(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	want := writeRandomFile(t, root, "big.bin", 1<<20)
	r := startRelay(t, startServer(t, &Server{Roots: []string{root}}))
	log, err := curlGet(t, out, "tftp://"+r.addr().String()+"/big.bin", "big.bin")
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	if got := sumFile(t, filepath.Join(out, "big.bin")); got != want {
		t.Fatalf("sha256 %s, want %s", got, want)
	}
	if !strings.Contains(log, "blksize parsed from OACK (1468)") {
		t.Error("curl did not report blksize 1468 from the OACK")
	}
	packets := r.seen()
	if len(packets) == 0 {
		t.Fatal("the relay saw no packet from the server")
	}
	if opcode(packets[0]) != opOACK {
		t.Fatalf("first packet from the server has opcode %d, want OACK", opcode(packets[0]))
	}
	if opts := options(packets[0]); opts["blksize"] != "1468" || opts["tsize"] != "1048576" {
		t.Errorf("OACK on the wire %v, want blksize 1468 and tsize 1048576", opts)
	}
	if got := largestData(packets); got != 1468 {
		t.Errorf("largest DATA block on the wire %d bytes, want 1468", got)
	}
}

func TestRealClientsRefused(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	writeRandomFile(t, root, "ok.bin", 1000)
	must(t, os.Symlink("/etc/passwd", filepath.Join(root, "passwd-link")))
	must(t, os.Symlink("../../../../../../etc/passwd", filepath.Join(root, "passwd-rel")))
	s := &Server{Roots: []string{root}}
	port := startServer(t, s).Port
	for _, name := range []string{"../etc/passwd", "../../../../etc/passwd", "/etc/passwd", "passwd-link", "passwd-rel", "missing.bin"} {
		t.Run("tftp-hpa/"+name, func(t *testing.T) {
			start := time.Now()
			log := hpaGet(t, out, port, name, "got")
			if !strings.Contains(log, "Error code 1:") {
				t.Errorf("tftp-hpa got no TFTP error for %q", name)
			}
			if info, err := os.Stat(filepath.Join(out, "got")); err == nil && info.Size() != 0 {
				t.Errorf("%q: %d bytes arrived", name, info.Size())
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%q: answer took %v", name, d)
			}
		})
	}
	t.Run("curl/../etc/passwd", func(t *testing.T) {
		// --path-as-is keeps curl from cleaning the ".." away itself.
		url := "tftp://127.0.0.1:" + strconv.Itoa(port) + "/../etc/passwd"
		_, err := curlGet(t, out, url, "curl-got", "--path-as-is")
		// 68 is curl's exit for a TFTP error packet with code 1, as opposed
		// to a timeout (28): the refusal came promptly, as a TFTP error.
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 68 {
			t.Errorf("curl ended with %v, want exit status 68", err)
		}
	})
	t.Run("tftp-hpa/put", func(t *testing.T) {
		tftp := needClient(t, "tftp", "tftp-hpa")
		must(t, os.WriteFile(filepath.Join(out, "up.bin"), []byte("payload"), 0o644))
		log, _ := run(t, out, tftp, "-m", "binary", "127.0.0.1", strconv.Itoa(port), "-c", "put", "up.bin", "up.bin")
		if !strings.Contains(log, "read-only server") {
			t.Error("put was not refused")
		}
		if _, err := os.Stat(filepath.Join(root, "up.bin")); err == nil {
			t.Error("put created a file in the root")
		}
	})
}

// TestRealIPXELoaders serves Debian's own loaders as the appliance does:
// boot.Loaders in /usr/lib/ipxe, where ipxe.efi is a symlink out of the
// directory, so only Files serves it.
func TestRealIPXELoaders(t *testing.T) {
	if _, err := os.Stat(filepath.Join(boot.LoaderDir, boot.LoaderBIOS)); err != nil {
		if testing.Short() {
			t.Skip("ipxe missing")
		}
		t.Fatalf("%s has no %s (Debian package ipxe; scripts/ci-deps installs it)", boot.LoaderDir, boot.LoaderBIOS)
	}
	files := map[string]string{}
	for _, name := range boot.Loaders {
		files[name] = filepath.Join(boot.LoaderDir, name)
	}
	port := startServer(t, &Server{Roots: []string{boot.LoaderDir}, Files: files}).Port
	for _, name := range boot.Loaders {
		want := sumFile(t, filepath.Join(boot.LoaderDir, name))
		t.Run("tftp-hpa/"+name, func(t *testing.T) {
			out := t.TempDir()
			hpaGet(t, out, port, name, name)
			if got := sumFile(t, filepath.Join(out, name)); got != want {
				t.Errorf("sha256 %s, want %s", got, want)
			}
		})
		t.Run("curl/"+name, func(t *testing.T) {
			out := t.TempDir()
			log, err := curlGet(t, out, "tftp://127.0.0.1:"+strconv.Itoa(port)+"/"+name, name)
			if err != nil {
				t.Fatalf("curl: %v", err)
			}
			if got := sumFile(t, filepath.Join(out, name)); got != want {
				t.Errorf("sha256 %s, want %s", got, want)
			}
			if !strings.Contains(log, "blksize parsed from OACK (1468)") {
				t.Error("blksize 1468 not negotiated")
			}
		})
	}
}

// TestAnticipateRealClients checks that pin/tftp's windowed sender, which the
// clients never asked for, still delivers whole files to both real clients.
func TestAnticipateRealClients(t *testing.T) {
	root := t.TempDir()
	want := writeRandomFile(t, root, "big.bin", 1<<20)
	port := startServer(t, &Server{Roots: []string{root}, Anticipate: 8}).Port
	t.Run("tftp-hpa", func(t *testing.T) {
		out := t.TempDir()
		hpaGet(t, out, port, "big.bin", "big.bin")
		if got := sumFile(t, filepath.Join(out, "big.bin")); got != want {
			t.Errorf("sha256 %s, want %s", got, want)
		}
	})
	t.Run("curl", func(t *testing.T) {
		out := t.TempDir()
		if _, err := curlGet(t, out, "tftp://127.0.0.1:"+strconv.Itoa(port)+"/big.bin", "big.bin"); err != nil {
			t.Fatalf("curl: %v", err)
		}
		if got := sumFile(t, filepath.Join(out, "big.bin")); got != want {
			t.Errorf("sha256 %s, want %s", got, want)
		}
	})
}
