package installer

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// ConsolePrefix starts every line the installer writes to the console, so a
// test or an operator can pick its lines out of the kernel's in a serial log.
const ConsolePrefix = "rackboot-installer: "

// consoleHandler is a slog.Handler writing one plain line per record:
// prefix, message, then key=value pairs. It carries no time or level: the
// console has its own clock (the kernel's) and only the installer's story
// matters there; errors say "error" in their message or attributes.
type consoleHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

// NewConsoleLogger returns a logger writing prefixed lines to w (the
// console when the installer is PID 1).
func NewConsoleLogger(w io.Writer) *slog.Logger {
	return slog.New(&consoleHandler{mu: &sync.Mutex{}, w: w})
}

func (h *consoleHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *consoleHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(ConsolePrefix)
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		b.WriteByte(' ')
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(quoteIfNeeded(a.Value.Resolve().String()))
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *consoleHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

// WithGroup is flattened: the installer's log has no nested groups.
func (h *consoleHandler) WithGroup(string) slog.Handler { return h }

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return strconv.Quote(s)
	}
	return s
}
