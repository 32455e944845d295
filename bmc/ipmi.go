package bmc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bmc-toolbox/bmclib/v2/providers/ipmitool"
	"github.com/go-logr/logr"
)

// Cipher suites: 17 (HMAC-SHA256, AES) is preferred; 3 (SHA1) is what
// older BMCs and OpenIPMI's ipmi_sim speak.
const (
	cipherPreferred = "17"
	cipherFallback  = "3"
)

// errCipher means the BMC does not offer the requested cipher suite.
var errCipher = errors.New("cipher suite not supported")

// ipmiSession is bmclib's ipmitool provider whose errors are classified:
// ipmitool prints the same "Unable to establish" line for a wrong password
// and for a dead BMC, so an RMCP ping tells the two apart.
type ipmiSession struct {
	conn   *ipmitool.Conn
	addr   string // host:port for the ping
	t      Target // for the reads bmclib does not offer
	cipher string
	tool   string
}

func newIPMISession(t Target, cipher, tool string, log logr.Logger) (*ipmiSession, error) {
	conn, err := ipmitool.New(t.host(), t.Username, t.Password,
		ipmitool.WithPort(strconv.Itoa(t.port())), ipmitool.WithCipherSuite(cipher),
		ipmitool.WithIpmitoolPath(tool), ipmitool.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("ipmitool: %w", err)
	}
	return &ipmiSession{conn: conn, addr: t.String(), t: t, cipher: cipher, tool: tool}, nil
}

func (s *ipmiSession) Open(ctx context.Context) error {
	return s.classify(ctx, s.conn.Open(ctx))
}

func (s *ipmiSession) Close(ctx context.Context) error { return s.conn.Close(ctx) }

func (s *ipmiSession) PowerStateGet(ctx context.Context) (string, error) {
	st, err := s.conn.PowerStateGet(ctx)
	return st, s.classify(ctx, err)
}

func (s *ipmiSession) PowerSet(ctx context.Context, state string) (bool, error) {
	ok, err := s.conn.PowerSet(ctx, state)
	return ok, s.classify(ctx, err)
}

func (s *ipmiSession) BootDeviceSet(ctx context.Context, device string, persistent, efi bool) (bool, error) {
	ok, err := s.conn.BootDeviceSet(ctx, device, persistent, efi)
	return ok, s.classify(ctx, err)
}

func (s *ipmiSession) classify(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err // the generic classifier calls a done context a timeout
	}
	msg := err.Error()
	switch {
	case containsAny(msg, "invalid authentication algorithm", "invalid integrity algorithm", "invalid confidentiality algorithm"):
		return fmt.Errorf("%w: %w", errCipher, err)
	case containsAny(msg, "Unable to establish IPMI"):
		if perr := rmcpPing(ctx, s.addr); perr != nil {
			return fmt.Errorf("%w: %w (rmcp ping: %v)", ErrUnreachable, err, perr)
		}
		return fmt.Errorf("%w: %w (the BMC answers RMCP ping: wrong user or password)", ErrAuth, err)
	case containsAny(msg, "Insufficient resources", "Node busy", "Timeout"):
		return fmt.Errorf("%w: %w", ErrBMCFault, err)
	case containsAny(msg, "Invalid data field", "Invalid command", "not supported"):
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return err
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
