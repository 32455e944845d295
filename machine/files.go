package machine

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/httperr"
)

// loader serves a first-stage loader, for UEFI HTTP Boot.
func (s *Server) loader(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "name")
	path, ok := s.IPXEFiles[name]
	if !ok || !slices.Contains(boot.Loaders, name) {
		return httperr.Errorf(http.StatusNotFound, "no iPXE binary named %q", name)
	}
	s.traceFrom(r, boottrace.StepLoader, name)
	return serveFile(w, r, name, path)
}

// traceFrom records a step of the host DHCP gave the request's address:
// a fetch of a file names no MAC.
func (s *Server) traceFrom(r *http.Request, step, detail string) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && r.Method == http.MethodGet {
		s.Trace.RecordFrom(ap.Addr(), step, detail, "http")
	}
}

// installerFile serves the installer's kernel or initrd.
func (s *Server) installerFile(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "name")
	var path string
	switch name {
	case boot.InstallerKernel:
		path = s.InstallerKernel
	case boot.InstallerInitrd:
		path = s.InstallerInitrd
	default:
		return httperr.Errorf(http.StatusNotFound, "no installer file named %q (%s, %s)", name, boot.InstallerKernel, boot.InstallerInitrd)
	}
	if path == "" {
		return httperr.Errorf(http.StatusNotFound, "installer %s not configured (see --installer-kernel and --installer-initrd)", name)
	}
	s.traceFrom(r, installerStep(name), name)
	return serveFile(w, r, name, path)
}

// installerStep is the boot step of fetching installer file name.
func installerStep(name string) string {
	if name == boot.InstallerKernel {
		return boottrace.StepKernel
	}
	return boottrace.StepInitrd
}

// agentBinary serves the appliance's own executable: the agent is
// `rackboot agent`, so an installed host fetches the very binary that
// serves it and agent and appliance never disagree on the protocol. Both
// token kinds open it: the agent's (a hand-started or updating agent) and
// the boot token (the installer copying it into the new root).
func (s *Server) agentBinary(w http.ResponseWriter, r *http.Request) error {
	mac, token, err := credentials(r)
	if err != nil {
		return err
	}
	if s.Lifecycle.VerifyBootToken(r.Context(), token, mac) != nil {
		if err := s.Lifecycle.VerifyAgentToken(r.Context(), token, mac); err != nil {
			return err
		}
	}
	path, err := os.Executable()
	if err != nil {
		return fmt.Errorf("agent binary: %w", err)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="rackboot"`)
	return serveFile(w, r, "rackboot", path)
}

// serveFile serves a file with Range support; net/http hands an *os.File
// to sendfile, so the bytes never pass through user space.
func serveFile(w http.ResponseWriter, r *http.Request, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return httperr.Errorf(http.StatusNotFound, "%s: %v", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return httperr.Errorf(http.StatusNotFound, "%s: not a regular file", name)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(keepReading(w), r, name, fi.ModTime(), f)
	return nil
}

// streamStall is how long a client may leave a stream's bytes unread
// before the connection is closed.
const streamStall = time.Minute

// keepReading makes each write of a stream due within streamStall: a
// download may take as long as it needs while the client keeps reading,
// and a client that stops holds a connection for a minute, not for good.
func keepReading(w http.ResponseWriter) http.ResponseWriter {
	return &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w)}
}

type stallWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (s *stallWriter) Write(p []byte) (int, error) {
	s.rc.SetWriteDeadline(time.Now().Add(streamStall))
	return s.ResponseWriter.Write(p)
}

func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
