// Package tftp is rackboot's read-only TFTP server for the first-stage network
// boot loaders (the appliance gives it boot.Loaders in the iPXE directory).
//
// It serves files from a short list of directories and refuses everything
// else: write requests, names that climb out of a directory, and symlinks that
// point out of one. It negotiates the blksize and tsize options (RFC 2348,
// RFC 2349) through github.com/pin/tftp.
//
// Limits, all inherited from pin/tftp v3: no windowsize (RFC 7440), so a
// transfer is lockstep, one block per round trip, unless Anticipate is set
// (pin/tftp's own windowed sender); every TFTP error goes out
// with code 1 whatever its cause (the message says which); per-transfer
// sockets are bound to the request's destination address but not to the
// listening socket's interface. TFTP is slow by nature: keep it to the
// first-stage loader and chain everything else over HTTP.
package tftp

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	pintftp "github.com/pin/tftp/v3"
)

// Defaults used when the matching Server field is zero.
const (
	// DefaultBlockSize fits one block in a 1500-byte Ethernet frame:
	// 1500 - 20 (IPv4) - 8 (UDP) - 4 (TFTP header).
	DefaultBlockSize = 1468
	DefaultTimeout   = time.Second
	DefaultRetries   = 5
)

// Block sizes pin/tftp accepts as a server maximum; anything else it ignores
// silently and falls back to the interface MTU.
const (
	minBlockSize = 513
	maxBlockSize = 65464
)

// Server is a read-only TFTP server of the files in Roots and Files, with
// the defaults above. A Server must not be copied after first use (it holds
// its counters).
type Server struct {
	// Roots are the directories searched, in order, for a requested name: the
	// iPXE directory first, then any extra one. A name must resolve inside
	// the root it is found in, symlinks included.
	Roots []string

	// Files maps request names to host paths served as they are, symlinks
	// followed, ahead of the roots. They exist because Debian ships
	// /usr/lib/ipxe/ipxe.efi as a symlink to /boot/ipxe.efi, which the root
	// rule refuses. Only the operator names them; a client cannot add one.
	Files map[string]string

	// BlockSize is the largest block offered to a client that asks for a
	// bigger one (blksize option); it is also capped by the interface MTU.
	// Clients that ask for nothing get 512, as RFC 1350 requires.
	// Zero means DefaultBlockSize; otherwise it must be 513–65464.
	BlockSize int

	// Timeout is how long a block waits for its ACK before it is sent again.
	// Zero means DefaultTimeout.
	Timeout time.Duration

	// Retries is how many times a block is sent again before the transfer is
	// given up. Zero means DefaultRetries.
	Retries int

	// Anticipate, when above 1, sends that many blocks before waiting for the
	// ACK of the last one (pin/tftp's experimental sender, capped at 60). It
	// is not RFC 7440: the client is not asked, so a lost block costs a whole
	// window after a timeout. Zero or 1 means lockstep.
	Anticipate uint

	// Generate answers names it owns with bytes made for the request
	// (GRUB's per-host configs), ahead of Files and Roots; ok false passes
	// the name on. It gets the name as a root-relative path ("grub/x").
	// Nil generates nothing.
	Generate func(ctx context.Context, name string) (data []byte, ok bool, err error)

	// Sent is told of every file sent whole, with the client's address
	// (the boot trace); nil is told nothing.
	Sent func(client netip.Addr, name string)

	// Logger receives one record per request. Nil means silent.
	Logger *slog.Logger

	counters counters
}

// Serve answers requests arriving on conn until ctx is cancelled, then returns
// nil. conn should come from Listen (see there why). Cancelling also breaks
// off transfers in flight at their next block (the client gets an error and
// retries its boot); Serve waits for them, which a client that stopped
// answering can stretch to Retries × (Timeout + up to 1 s of backoff). It closes
// conn when it returns.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	defer conn.Close()
	if err := s.validate(); err != nil {
		return err
	}
	src, err := openSource(s.roots(), s.files())
	if err != nil {
		return fmt.Errorf("tftp: %w", err)
	}
	defer src.close()
	h := &handler{ctx: ctx, src: src, log: s.logger(), counters: &s.counters, generate: s.Generate, sent: s.Sent}
	ps := pintftp.NewServer(h.read, h.write)
	s.configure(ps)
	return serveUntilDone(ctx, ps, conn)
}

// serveUntilDone runs pin/tftp's loop until ctx ends. Shutdown, not closing
// conn, is what stops that loop: on a closed socket it would spin.
func serveUntilDone(ctx context.Context, ps *pintftp.Server, conn net.PacketConn) error {
	done := make(chan error, 1)
	go func() { done <- ps.Serve(conn) }()
	select {
	case <-ctx.Done():
		ps.Shutdown()
		<-done
		return nil
	case err := <-done:
		ps.Shutdown()
		if err != nil {
			return fmt.Errorf("tftp: serve: %w", err)
		}
		return nil
	}
}

func (s *Server) validate() error {
	if s.BlockSize != 0 && (s.BlockSize < minBlockSize || s.BlockSize > maxBlockSize) {
		return fmt.Errorf("tftp: block size %d outside %d–%d", s.BlockSize, minBlockSize, maxBlockSize)
	}
	return nil
}

func (s *Server) configure(ps *pintftp.Server) {
	ps.SetBlockSize(cmp.Or(s.BlockSize, DefaultBlockSize))
	ps.SetTimeout(cmp.Or(s.Timeout, DefaultTimeout))
	ps.SetRetries(cmp.Or(s.Retries, DefaultRetries))
	ps.SetAnticipate(s.Anticipate)
}

func (s *Server) roots() []string { return s.Roots }

func (s *Server) files() map[string]string { return s.Files }

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
