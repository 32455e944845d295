package tftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testLogger sends the server's records to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// startServer serves s on a free loopback port until the test ends, and
// checks that Serve then returns nil promptly.
func startServer(t *testing.T, s *Server) *net.UDPAddr {
	t.Helper()
	conn, err := Listen(context.Background(), "", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, s, conn)
}

// serveOn serves s on conn until the test ends, as startServer does.
func serveOn(t *testing.T, s *Server, conn net.PacketConn) *net.UDPAddr {
	t.Helper()
	if s.Logger == nil {
		s.Logger = testLogger(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10 s of cancel")
		}
	})
	return conn.LocalAddr().(*net.UDPAddr)
}

// writeRandomFile creates dir/name with size random bytes and returns its
// sha256 in hex.
func writeRandomFile(t testing.TB, dir, name string, size int) string {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return sum(data)
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func sumFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum(data)
}

// TFTP opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// request builds an RRQ or WRQ with options given as name, value pairs.
func request(op uint16, name string, opts ...string) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, op)
	for _, s := range append([]string{name, "octet"}, opts...) {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.Bytes()
}

func ack(block uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opACK), block)
}

func errorPacket(code uint16, msg string) []byte {
	p := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opERROR), code)
	return append(append(p, msg...), 0)
}

func opcode(p []byte) uint16 {
	if len(p) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(p)
}

// options parses the body of an OACK.
func options(p []byte) map[string]string {
	fields := strings.Split(strings.TrimSuffix(string(p[2:]), "\x00"), "\x00")
	opts := map[string]string{}
	for i := 0; i+1 < len(fields); i += 2 {
		opts[fields[i]] = fields[i+1]
	}
	return opts
}

// rawClient speaks TFTP packet by packet, so tests can see exactly what the
// server puts on the wire.
type rawClient struct {
	t      *testing.T
	conn   *net.UDPConn
	server *net.UDPAddr // the listening port, then the transfer's own port
}

func newRawClient(t *testing.T, server *net.UDPAddr) *rawClient {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, server: server}
}

func (c *rawClient) send(p []byte) {
	c.t.Helper()
	if _, err := c.conn.WriteToUDP(p, c.server); err != nil {
		c.t.Fatal(err)
	}
}

// recv returns the next packet and locks onto the port it came from.
func (c *rawClient) recv() []byte {
	c.t.Helper()
	buf := make([]byte, 65536)
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := c.conn.ReadFromUDP(buf)
	if err != nil {
		c.t.Fatalf("waiting for a packet: %v", err)
	}
	c.server = from
	return buf[:n]
}

// relay sits between one real client and the server and records the size and
// start of every packet the server sends, so a test checks the wire rather
// than the client's own report.
type relay struct {
	front, back *net.UDPConn
	server      *net.UDPAddr
	mu          sync.Mutex
	fromServer  [][]byte
}

func startRelay(t *testing.T, server *net.UDPAddr) *relay {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	front, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{front: front, back: back, server: server}
	t.Cleanup(func() { front.Close(); back.Close() })
	go r.clientToServer()
	return r
}

func (r *relay) addr() *net.UDPAddr { return r.front.LocalAddr().(*net.UDPAddr) }

// clientToServer forwards the client's packets; the first one also starts the
// pump the other way, now that the client's address is known.
func (r *relay) clientToServer() {
	buf := make([]byte, 65536)
	started := false
	for {
		n, client, err := r.front.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if !started {
			started = true
			go r.serverToClient(client)
		}
		r.mu.Lock()
		dst := r.server
		r.mu.Unlock()
		r.back.WriteToUDP(buf[:n], dst)
	}
}

func (r *relay) serverToClient(client *net.UDPAddr) {
	buf := make([]byte, 65536)
	for {
		n, from, err := r.back.ReadFromUDP(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		r.server = from // the transfer's port (TID) from now on
		r.fromServer = append(r.fromServer, bytes.Clone(buf[:n]))
		r.mu.Unlock()
		r.front.WriteToUDP(buf[:n], client)
	}
}

// seen returns the packets the server sent so far.
func (r *relay) seen() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.fromServer...)
}

// largestData returns the largest DATA payload the server sent.
func largestData(packets [][]byte) int {
	largest := 0
	for _, p := range packets {
		if opcode(p) == opDATA && len(p)-4 > largest {
			largest = len(p) - 4
		}
	}
	return largest
}
