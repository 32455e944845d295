package tftp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	pintftp "github.com/pin/tftp/v3"
)

// What a client is told when it tries to write, and when Serve stops under
// its transfer.
var (
	errReadOnly = errors.New("read-only server: write requests refused")
	errShutdown = errors.New("server shutting down")
)

// handler answers the requests of one Serve call; pin/tftp runs each request
// on its own goroutine.
type handler struct {
	ctx      context.Context
	src      *source
	log      *slog.Logger
	counters *counters
}

// read sends one file. The error it returns is sent to the client as the
// message of a TFTP error packet.
func (h *handler) read(name string, rf io.ReaderFrom) error {
	start := time.Now()
	client := clientAddr(rf)
	f, info, err := h.src.open(name)
	if err != nil {
		h.counters.refused.Add(1)
		h.log.Info("tftp refused", "client", client, "file", name, "err", err)
		return wireError(err)
	}
	defer f.Close()
	if ot, ok := rf.(pintftp.OutgoingTransfer); ok {
		ot.SetSize(info.Size()) // ctxReader hides Seek, so pin/tftp cannot size the file itself
	}
	n, err := rf.ReadFrom(ctxReader{ctx: h.ctx, r: f})
	h.record(client, name, n, time.Since(start), err)
	return err
}

// write refuses every write request: the boot loaders are installed by the
// operator, never uploaded by a client.
func (h *handler) write(name string, wt io.WriterTo) error {
	client := clientAddr(wt)
	h.counters.refused.Add(1)
	h.log.Info("tftp refused", "client", client, "file", name, "err", errReadOnly)
	return errReadOnly
}

// record counts and logs one transfer that got as far as sending.
func (h *handler) record(client, name string, n int64, d time.Duration, err error) {
	h.counters.bytes.Add(uint64(n))
	attrs := []any{"client", client, "file", name, "bytes", n, "duration", d}
	switch {
	case err == nil:
		h.counters.ok.Add(1)
		h.log.Info("tftp sent", attrs...)
	case isSizeProbe(n, err):
		h.counters.probes.Add(1)
		h.log.Info("tftp size probe", append(attrs, "err", err)...)
	default:
		h.counters.failed.Add(1)
		h.log.Warn("tftp failed", append(attrs, "err", err)...)
	}
}

// isSizeProbe tells a client that ended the transfer at the option
// acknowledgement (block 0) from a broken transfer. pin/tftp gives no typed
// error for it, only this message; TestSizeProbeCounted pins the format.
func isSizeProbe(n int64, err error) bool {
	return n == 0 && strings.Contains(err.Error(), "sending block 0: code=")
}

// wireError keeps host paths and system errors out of what the client sees.
func wireError(err error) error {
	if errors.Is(err, errNotFound) {
		return errNotFound
	}
	return errRefused
}

// clientAddr is the address of a transfer's client, either direction.
func clientAddr(t any) string {
	rt, ok := t.(interface{ RemoteAddr() net.UDPAddr })
	if !ok {
		return ""
	}
	addr := rt.RemoteAddr()
	return addr.String()
}

// ctxReader ends a transfer at its next block once Serve is told to stop,
// so shutdown does not wait for slow clients to finish whole files.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, errShutdown
	}
	return c.r.Read(p)
}
