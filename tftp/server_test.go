package tftp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	pintftp "github.com/pin/tftp/v3"
)

// fetch downloads name with pin/tftp's client asking for blksize 1468.
func fetch(t *testing.T, addr string, name string) ([]byte, error) {
	t.Helper()
	c, err := pintftp.NewClient(addr)
	must(t, err)
	c.SetBlockSize(1468)
	c.SetTimeout(2 * time.Second)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_, err = wt.WriteTo(&buf)
	return buf.Bytes(), err
}

func TestServeFetchWhole(t *testing.T) {
	dir := t.TempDir()
	want := writeRandomFile(t, dir, "big.bin", 1<<20)
	s := &Server{Roots: []string{dir}}
	addr := startServer(t, s)
	got, err := fetch(t, addr.String(), "/big.bin")
	must(t, err)
	if sum(got) != want {
		t.Fatalf("got %d bytes with sha256 %s, want %s", len(got), sum(got), want)
	}
	// The client is done once it sends the last ACK; the server counts
	// when it has read that ACK.
	waitFor(t, func() bool { return s.Stats().TransfersOK == 1 })
	st := s.Stats()
	if st.TransfersOK != 1 || st.BytesSent != 1<<20 || st.TransfersFailed != 0 {
		t.Errorf("stats = %+v, want 1 ok and %d bytes", st, 1<<20)
	}
}

// TestBlockSizeOnWire proves the negotiation from the packets themselves:
// the OACK grants what was asked up to BlockSize, and the first DATA block
// carries exactly that many bytes.
func TestBlockSizeOnWire(t *testing.T) {
	dir := t.TempDir()
	writeRandomFile(t, dir, "f.bin", 100_000)
	addr := startServer(t, &Server{Roots: []string{dir}})
	tests := []struct {
		ask      string // blksize option sent, "" for none
		wantOACK string // blksize granted, "" for no OACK
		wantData int
	}{
		{ask: "1468", wantOACK: "1468", wantData: 1468},
		{ask: "9000", wantOACK: "1468", wantData: 1468}, // capped at BlockSize
		{ask: "1024", wantOACK: "1024", wantData: 1024},
		{ask: "", wantData: 512}, // RFC 1350 client
	}
	for _, tt := range tests {
		t.Run("blksize="+tt.ask, func(t *testing.T) {
			c := newRawClient(t, addr)
			var opts []string
			if tt.ask != "" {
				opts = []string{"blksize", tt.ask, "tsize", "0"}
			}
			c.send(request(opRRQ, "f.bin", opts...))
			p := c.recv()
			if tt.wantOACK != "" {
				if opcode(p) != opOACK {
					t.Fatalf("first packet opcode %d, want OACK", opcode(p))
				}
				got := options(p)
				if got["blksize"] != tt.wantOACK || got["tsize"] != "100000" {
					t.Fatalf("OACK %v, want blksize %s and tsize 100000", got, tt.wantOACK)
				}
				c.send(ack(0))
				p = c.recv()
			}
			if opcode(p) != opDATA || len(p)-4 != tt.wantData {
				t.Fatalf("first DATA: opcode %d, %d bytes, want %d", opcode(p), len(p)-4, tt.wantData)
			}
			c.send(errorPacket(0, "test done"))
		})
	}
}

// TestSizeProbeCounted follows a PXE ROM that asks for tsize, reads the OACK
// and ends the transfer: it is counted as a probe, not a failure. It also
// pins the pin/tftp error format that isSizeProbe relies on.
func TestSizeProbeCounted(t *testing.T) {
	dir := t.TempDir()
	writeRandomFile(t, dir, "f.bin", 5000)
	s := &Server{Roots: []string{dir}}
	addr := startServer(t, s)
	c := newRawClient(t, addr)
	c.send(request(opRRQ, "f.bin", "tsize", "0"))
	if p := c.recv(); opcode(p) != opOACK || options(p)["tsize"] != "5000" {
		t.Fatalf("got %q, want OACK with tsize 5000", p)
	}
	c.send(errorPacket(8, "TFTP Aborted"))
	waitFor(t, func() bool { return s.Stats().SizeProbes == 1 })
	if st := s.Stats(); st.TransfersFailed != 0 {
		t.Errorf("stats = %+v, want no failure", st)
	}
}

func TestRefusals(t *testing.T) {
	tr := newTestTree(t)
	s := &Server{Roots: []string{tr.r1, tr.r2}}
	addr := startServer(t, s)
	tests := []struct {
		op      uint16
		name    string
		wantMsg string
	}{
		{opRRQ, "missing.bin", "file not found"},
		{opRRQ, "../outside/secret", "access refused"},
		{opRRQ, "link-out", "access refused"},
		{opRRQ, "fifo", "access refused"},
		{opWRQ, "a.bin", "read-only server"},
		{opWRQ, "new.bin", "read-only server"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(int(tt.op))+"/"+tt.name, func(t *testing.T) {
			c := newRawClient(t, addr)
			start := time.Now()
			c.send(request(tt.op, tt.name))
			p := c.recv()
			if opcode(p) != opERROR || !strings.Contains(string(p[4:]), tt.wantMsg) {
				t.Fatalf("got %q, want an ERROR saying %q", p, tt.wantMsg)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("answer took %v", d)
			}
		})
	}
	if got := s.Stats().TransfersRefused; got != uint64(len(tests)) {
		t.Errorf("TransfersRefused = %d, want %d", got, len(tests))
	}
	if got, _ := readFileIfAny(tr.r1 + "/new.bin"); got != nil {
		t.Error("a refused write created a file")
	}
}

func TestWriteRefusedPinClient(t *testing.T) {
	addr := startServer(t, &Server{Roots: []string{t.TempDir()}})
	c, err := pintftp.NewClient(addr.String())
	must(t, err)
	_, err = c.Send("x.bin", "octet")
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("Send error = %v, want read-only refusal", err)
	}
}

// TestServeStopsMidTransfer leaves a client that never ACKs: cancel must
// still end Serve within about one retransmit cycle.
func TestServeStopsMidTransfer(t *testing.T) {
	dir := t.TempDir()
	writeRandomFile(t, dir, "f.bin", 100_000)
	s := &Server{Roots: []string{dir}, Timeout: 100 * time.Millisecond, Retries: 1, Logger: testLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := Listen(ctx, "", "127.0.0.1:0")
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	c := newRawClient(t, conn.LocalAddr().(*net.UDPAddr))
	c.send(request(opRRQ, "f.bin"))
	c.recv() // block 1, never acknowledged
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
		t.Logf("Serve returned %v after cancel", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running 5 s after cancel")
	}
	if st := s.Stats(); st.TransfersFailed != 1 {
		t.Errorf("stats = %+v, want the stalled transfer failed", st)
	}
}

func TestServeConfigErrors(t *testing.T) {
	tests := map[string]*Server{
		"block size too small": {Roots: []string{t.TempDir()}, BlockSize: 512},
		"block size too large": {Roots: []string{t.TempDir()}, BlockSize: 70000},
		"missing root":         {Roots: []string{t.TempDir() + "/nope"}},
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			conn, err := Listen(context.Background(), "", "127.0.0.1:0")
			must(t, err)
			if err := s.Serve(context.Background(), conn); err == nil {
				t.Fatal("Serve accepted a bad configuration")
			}
		})
	}
}

func TestListenOnInterface(t *testing.T) {
	ctx := context.Background()
	conn, err := Listen(ctx, "lo", "0.0.0.0:0")
	if err != nil {
		t.Skipf("SO_BINDTODEVICE not permitted here: %v", err)
	}
	// Binding is permitted, so a failure now is the missing interface's.
	if _, err := Listen(ctx, "no-such-if0", "0.0.0.0:0"); !errors.Is(err, syscall.ENODEV) {
		t.Errorf("Listen on an interface that does not exist: %v, want ENODEV", err)
	}
	dir := t.TempDir()
	want := writeRandomFile(t, dir, "f.bin", 10_000)
	port := serveOn(t, &Server{Roots: []string{dir}}, conn).Port
	got, err := fetch(t, "127.0.0.1:"+strconv.Itoa(port), "f.bin")
	must(t, err)
	if sum(got) != want {
		t.Fatal("file differs")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}

func readFileIfAny(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return data, nil
}
