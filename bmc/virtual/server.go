package virtual

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config describes one virtual BMC.
type Config struct {
	// ListenAddr is used by ListenAndServe, e.g. "127.0.0.1:8443".
	ListenAddr string
	// Username and Password are the only account; both are required.
	Username, Password string
	// QEMUArgv and QMPSocket describe the VM (see QEMUConfig); ignored
	// when Machine is set.
	QEMUArgv  []string
	QMPSocket string
	// Machine replaces QEMU, e.g. with a *Simulated for load tests.
	Machine Machine
	// Logger is silent when nil.
	Logger *slog.Logger
	// IgnoreBootOverride makes the BMC answer a boot override PATCH with
	// success and keep the override it had, as some vendors' Redfish do
	// with one-time overrides: for testing that rackboot reads it back.
	IgnoreBootOverride bool
}

// Server is a Redfish service with one ComputerSystem backed by a Machine.
// It implements the part of Redfish that bmclib's gofish provider uses:
// service root, sessions, Systems with PowerState, Boot override and the
// Reset action, and minimal Managers and Chassis.
type Server struct {
	cfg     Config
	log     *slog.Logger
	machine Machine
	boot    *bootOverride
	auth    *sessions
	mux     *http.ServeMux
}

// New returns a Server; the machine is off until a Reset "On".
func New(cfg Config) (*Server, error) {
	if cfg.Username == "" || cfg.Password == "" {
		return nil, errors.New("virtual bmc: username and password are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := cfg.Machine
	if m == nil {
		q, err := NewQEMU(QEMUConfig{Argv: cfg.QEMUArgv, QMPSocket: cfg.QMPSocket, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("virtual bmc: %w", err)
		}
		m = q
	}
	s := &Server{cfg: cfg, log: log, machine: m, boot: newBootOverride(),
		auth: newSessions(cfg.Username, cfg.Password)}
	s.mux = s.routes()
	return s, nil
}

// ServeHTTP makes the Server usable with httptest and any listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve answers on l until ctx ends, then shuts down and returns nil.
// It does not power the machine off: call Close for that.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("virtual bmc serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(shutCtx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("virtual bmc serve: %w", err)
	}
	return nil
}

// ListenAndServe listens on Config.ListenAddr and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("virtual bmc listen: %w", err)
	}
	return s.Serve(ctx, l)
}

// Close powers the machine off (stopping QEMU) if it is on.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.machine.PowerOff(ctx); err != nil {
		return fmt.Errorf("virtual bmc close: %w", err)
	}
	return nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	open := func(pattern string, h handlerFunc) { mux.Handle(pattern, s.wrap(h)) }
	authed := func(pattern string, h handlerFunc) { mux.Handle(pattern, s.wrap(s.auth.require(h))) }

	open("GET /redfish", s.versions)
	open("GET /redfish/v1", s.serviceRoot)
	open("GET /redfish/v1/{$}", s.serviceRoot)
	open("POST /redfish/v1/SessionService/Sessions", s.createSession)
	authed("GET /redfish/v1/SessionService", s.sessionService)
	authed("GET /redfish/v1/SessionService/Sessions", s.listSessions)
	authed("GET /redfish/v1/SessionService/Sessions/{id}", s.getSession)
	authed("DELETE /redfish/v1/SessionService/Sessions/{id}", s.deleteSession)
	authed("GET /redfish/v1/Systems", s.systems)
	authed("GET "+systemPath, s.system)
	authed("PATCH "+systemPath, s.patchSystem)
	authed("POST "+systemPath+"/Actions/ComputerSystem.Reset", s.reset)
	authed("GET /redfish/v1/Managers", s.managers)
	authed("GET "+managerPath, s.manager)
	authed("GET /redfish/v1/Chassis", s.chassisList)
	authed("GET "+chassisPath, s.chassis)
	open("/", notFound)
	return mux
}
