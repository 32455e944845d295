package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// httpSide is how one HTTP listener of serve is bounded. Every side has
// read and idle timeouts and its own cap on open connections, so idle or
// slow clients of one side can hold only that side's share of the
// process's file descriptors: the machine side, which anyone on the
// provisioning network reaches, can never starve the operator side.
type httpSide struct {
	name string
	// share is the part of the file-descriptor limit this side may hold
	// as connections.
	share float64
	// idle closes a keep-alive connection that sent nothing for so long.
	idle time.Duration
	// tls, when set, makes the side HTTPS (and HTTP/2, which its
	// NextProtos offer).
	tls *tls.Config
}

// Neither side has a whole-request read timeout: it would also cut the
// long polls (and the operator's image uploads), which the server cannot
// tell apart from a slow client. Headers are bounded here
// (ReadHeaderTimeout); JSON bodies by httperr.DecodeJSON's deadline.
var (
	machineSide  = httpSide{name: "machine", share: 0.5, idle: 15 * time.Second}
	operatorSide = httpSide{name: "operator", share: 0.25, idle: 2 * time.Minute}
)

// maxConns is the side's cap on open connections: its share of the soft
// limit on file descriptors (which Go raises to the hard limit at start),
// at least 16.
func (s httpSide) maxConns() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == 0 {
		return 256
	}
	return max(16, int(float64(lim.Cur)*s.share))
}

// serveHTTP serves h on ln, bounded as side says, until ctx ends, then
// gives open requests a bounded time to finish.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, side httpSide) error {
	cl := newConnLimit(ln, side.maxConns(), side.tls)
	ln = cl
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: side.idle, ConnState: cl.track}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// connLimit caps a listener's open connections. At the cap, a new
// connection makes room by closing the connection that has been idle
// (connected without a request, or kept alive between requests) the
// longest; only when every connection is busy with a request does it wait
// for one to end. So idle connections, however many a client opens, can
// neither exhaust the process's descriptors nor keep a client with a
// request out.
type connLimit struct {
	net.Listener
	max int
	// tls wraps each accepted connection, so the connection the server
	// reports states for is the one counted here.
	tls    *tls.Config
	mu     sync.Mutex
	room   *sync.Cond
	conns  map[net.Conn]connInfo
	closed bool
}

type connInfo struct {
	state http.ConnState
	since time.Time
}

func newConnLimit(ln net.Listener, max int, tc *tls.Config) *connLimit {
	l := &connLimit{Listener: ln, max: max, tls: tc, conns: map[net.Conn]connInfo{}}
	l.room = sync.NewCond(&l.mu)
	return l
}

// Accept accepts, then makes room for the connection: the longest-idle one
// is closed, or, with none idle, Accept waits for one to end.
func (l *connLimit) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.tls != nil {
		c = tls.Server(c, l.tls)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.conns) >= l.max && !l.closed {
		if v := l.longestIdle(); v != nil {
			delete(l.conns, v)
			v.Close()
			continue
		}
		l.room.Wait()
	}
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[c] = connInfo{http.StateNew, time.Now()}
	return c, nil
}

// Close closes the listener and wakes an Accept waiting for room.
func (l *connLimit) Close() error {
	l.mu.Lock()
	l.closed = true
	l.room.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

func (l *connLimit) longestIdle() net.Conn {
	var v net.Conn
	var since time.Time
	for c, in := range l.conns {
		if (in.state == http.StateNew || in.state == http.StateIdle) && (v == nil || in.since.Before(since)) {
			v, since = c, in.since
		}
	}
	return v
}

// track follows each connection's state (http.Server.ConnState).
func (l *connLimit) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		if _, ok := l.conns[c]; ok {
			delete(l.conns, c)
			l.room.Signal()
		}
	default:
		if _, ok := l.conns[c]; ok {
			l.conns[c] = connInfo{st, time.Now()}
		}
	}
}
