package bmc

import (
	"context"
	"crypto/tls"
	"net/http"
	"strconv"
	"sync"
	"time"

	bmcredfish "github.com/bmc-toolbox/bmclib/v2/providers/redfish"
	"github.com/go-logr/logr"
)

// session is what the Controller needs from a bmclib provider; both the
// gofish (Redfish) and ipmitool providers have these methods.
type session interface {
	Open(ctx context.Context) error
	Close(ctx context.Context) error
	PowerStateGet(ctx context.Context) (string, error)
	PowerSet(ctx context.Context, state string) (bool, error)
	BootDeviceSet(ctx context.Context, device string, persistent, efi bool) (bool, error)
	// BootOverride reads back the boot override in force.
	BootOverride(ctx context.Context) (bootOverride, error)
}

// redfishSession is bmclib's gofish provider with an HTTP client whose
// requests all carry the operation's context: gofish itself issues them
// with context.Background, so without this a hung BMC could outlive the
// operation's timeout.
type redfishSession struct {
	*bmcredfish.Conn
	transport        *ctxTransport
	base, user, pass string // for the reads bmclib does not offer
}

func newRedfishSession(ctx context.Context, t Target, tlsConf *tls.Config, log logr.Logger) *redfishSession {
	if tlsConf == nil {
		tlsConf = &tls.Config{InsecureSkipVerify: true} // BMCs ship self-signed certificates
	}
	tr := &ctxTransport{base: &http.Transport{
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true, // gofish closes every request anyway
	}}
	tr.set(ctx)
	conn := bmcredfish.New(t.Address, t.Username, t.Password, log,
		bmcredfish.WithHttpClient(&http.Client{Transport: tr}),
		bmcredfish.WithPort(strconv.Itoa(t.port())))
	return &redfishSession{Conn: conn, transport: tr, base: redfishBase(t), user: t.Username, pass: t.Password}
}

// Close logs out under its own short deadline, so a session is released
// on the BMC even when the operation's time ran out.
func (s *redfishSession) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s.transport.set(ctx)
	err := s.Conn.Close(ctx)
	s.transport.base.CloseIdleConnections()
	return err
}

// ctxTransport replaces each request's context with the current one.
type ctxTransport struct {
	base *http.Transport
	mu   sync.Mutex
	ctx  context.Context
}

func (t *ctxTransport) set(ctx context.Context) {
	t.mu.Lock()
	t.ctx = ctx
	t.mu.Unlock()
}

func (t *ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	ctx := t.ctx
	t.mu.Unlock()
	return t.base.RoundTrip(req.WithContext(ctx))
}
