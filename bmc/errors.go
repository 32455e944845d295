package bmc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/stmcginnis/gofish/common"
)

// Errors callers branch on. Every error a Controller returns is an *Error
// that wraps one of these where the cause is known, and the cause itself.
var (
	// ErrAuth: the BMC refused the login. Never retried: BMCs lock
	// accounts after a few failures.
	ErrAuth = errors.New("authentication failed")
	// ErrUnreachable: no answer, or the connection was refused or reset.
	ErrUnreachable = errors.New("unreachable")
	// ErrTimeout: the operation ran out of time (Config.Timeout or the
	// caller's context), possibly after retries.
	ErrTimeout = errors.New("timed out")
	// ErrBMCFault: the BMC answered with a server-side error (HTTP 5xx,
	// IPMI out of resources). Retried.
	ErrBMCFault = errors.New("bmc fault")
	// ErrRejected: the BMC understood and said no (HTTP 4xx, IPMI invalid
	// data field). Not retried.
	ErrRejected = errors.New("rejected by bmc")
)

// Error names the BMC and the operation that failed.
type Error struct {
	BMC string // host:port
	Op  string // "power on", "status", …
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("bmc %s: %s: %v", e.BMC, e.Op, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// transient reports whether trying again later may succeed.
func transient(err error) bool {
	return errors.Is(err, ErrUnreachable) || errors.Is(err, ErrBMCFault)
}

// classify wraps err with the sentinel that describes it, if any. ctx is
// the operation's context: once it is done, whatever broke is a timeout.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if known(err) {
		return err
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if sentinel := httpSentinel(err); sentinel != nil {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	if netUnreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

func known(err error) bool {
	for _, s := range []error{ErrAuth, ErrUnreachable, ErrTimeout, ErrBMCFault, ErrRejected, ErrNotApplied} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// httpSentinel classifies the status code of a gofish error.
func httpSentinel(err error) error {
	var ce *common.Error
	if !errors.As(err, &ce) || ce.HTTPReturnedStatusCode == 0 {
		return nil
	}
	switch code := ce.HTTPReturnedStatusCode; {
	case code == 401 || code == 403:
		return ErrAuth
	case code >= 500:
		return ErrBMCFault
	case code >= 400:
		return ErrRejected
	}
	return nil
}

func netUnreachable(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.As(err, &dnsErr) || errors.As(err, &opErr) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
