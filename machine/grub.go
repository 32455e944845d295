package machine

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/boottrace"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
)

// grubChain is boot.GRUBConfig, the first config Debian's grubnetx64 reads:
// the same for every host, so TFTP can serve it without knowing who asks;
// it loads the asking host's own, whose name carries the MAC GRUB knows.
const grubChain = `# rackboot: every host's first grub.cfg; it loads the host's own.
set timeout=0
configfile /` + boot.GRUBHostConfig + `${net_default_mac}
`

// GRUBConfig answers TFTP's requests for GRUB's configs: boot.GRUBConfig,
// and boot.GRUBHostConfig + MAC rendered from the boot decision's Plan.
// ok is false for any other name. Like every GET, it writes nothing;
// the fetch is recorded in the boot trace.
func (s *Server) GRUBConfig(ctx context.Context, name string) (data []byte, ok bool, err error) {
	if name == boot.GRUBConfig {
		return []byte(grubChain), true, nil
	}
	raw, found := strings.CutPrefix(name, boot.GRUBHostConfig)
	if !found {
		return nil, false, nil
	}
	b, err := s.grubConfig(ctx, raw)
	return b, true, err
}

// grubConfig renders the host's grub.cfg; raw is the MAC as GRUB spelled it.
func (s *Server) grubConfig(ctx context.Context, raw string) ([]byte, error) {
	mac, err := inventory.NormalizeMAC(raw)
	if err != nil {
		return nil, err
	}
	h, err := s.host(ctx, mac)
	if err != nil {
		return nil, err
	}
	b, plan, err := s.renderPlan(boot.Client{MAC: mac, Kind: boot.KindGRUB}, h, extGRUB)
	if err != nil {
		return nil, err
	}
	s.Logger.Info("grub.cfg", "mac", mac, "state", stateOf(h), "config", plan.Action.String(), "mode", plan.Mode, "why", plan.Why)
	s.Trace.Record(mac, boottrace.StepConfig, plan.Action.String(), "")
	return b, nil
}

// grubHTTP serves GRUB's configs to a GRUB that booted over HTTP.
func (s *Server) grubHTTP(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(r.URL.Path, "/")
	b, ok, err := s.GRUBConfig(r.Context(), name)
	if err != nil {
		return err
	}
	if !ok {
		return httperr.Errorf(http.StatusNotFound, "no GRUB config named %q", name)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b)
	return err
}

// shimFile serves shim and GRUB to UEFI HTTP Boot clients.
func (s *Server) shimFile(w http.ResponseWriter, r *http.Request) error {
	var path string
	switch name := chi.URLParam(r, "name"); name {
	case boot.LoaderShim:
		path = s.ShimFile
	case boot.LoaderGRUB:
		path = s.GRUBFile
	default:
		return httperr.Errorf(http.StatusNotFound, "no signed loader named %q (%s, %s)", name, boot.LoaderShim, boot.LoaderGRUB)
	}
	if path == "" {
		return httperr.Errorf(http.StatusNotFound, "the signed chain is not configured (see --shim-file and --grub-file)")
	}
	s.traceFrom(r, boottrace.StepLoader, chi.URLParam(r, "name"))
	return serveFile(w, r, chi.URLParam(r, "name"), path)
}

// grubQuote quotes s as one word of GRUB's script language: single quotes
// keep everything literal, and a single quote inside is closed, escaped
// and reopened.
func grubQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
