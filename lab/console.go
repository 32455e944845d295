package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/term"
)

// ConsoleEscape ends an interactive console: Ctrl-].
const ConsoleEscape = 0x1d

// Console attaches in and out to the VM's serial console until in sends
// ConsoleEscape or ends, or the VM's QEMU closes the console. A terminal
// in is put in raw mode for the while, so keys reach the VM as typed.
func Console(ctx context.Context, v VM, in *os.File, out io.Writer) error {
	c, err := net.Dial("unix", v.ConsoleSocket())
	if err != nil {
		return fmt.Errorf("console of %s: %w (is it powered on?)", v.Name, err)
	}
	defer c.Close()
	if term.IsTerminal(int(in.Fd())) {
		old, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return err
		}
		defer term.Restore(int(in.Fd()), old)
	}
	done := make(chan error, 2)
	go func() {
		_, err := io.Copy(out, c)
		done <- err
	}()
	go func() { done <- copyUntilEscape(c, in) }()
	select {
	case err = <-done:
	case <-ctx.Done():
	}
	if errors.Is(err, errEscape) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

var errEscape = errors.New("escape")

func copyUntilEscape(dst io.Writer, src io.Reader) error {
	buf := make([]byte, 256)
	for {
		n, err := src.Read(buf)
		if i := bytes.IndexByte(buf[:n], ConsoleEscape); i >= 0 {
			dst.Write(buf[:i])
			return errEscape
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}
