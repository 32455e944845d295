package httpboot

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/boot"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// script answers GET /boot.ipxe?mac=… with the iPXE script for the host's
// state. It only ever points an iPXE client at HTTP resources, never back
// at a TFTP loader, so a client cannot loop through the chainload.
func (s *Server) script(w http.ResponseWriter, r *http.Request) error {
	mac, err := inventory.NormalizeMAC(r.URL.Query().Get("mac"))
	if err != nil {
		return err
	}
	h, err := s.booting(r.Context(), mac)
	if err != nil {
		return err
	}
	plan := boot.Decide(boot.Client{MAC: mac, Kind: boot.KindScript}, h, s.Boot)
	name := plan.Action.String()
	d := scriptData{MAC: mac, State: "unknown", Mode: plan.Mode, URL: s.Boot.URL, ScriptURL: plan.ScriptURL,
		Kernel: plan.Kernel, Initrd: plan.Initrd, InitrdName: plan.InitrdName}
	if h != nil {
		d.State = string(h.State)
		if h.Failure != nil {
			d.Cause = h.Failure.Cause
		}
	}
	if plan.Action == boot.Installer {
		d.Cmdline = strings.Join(plan.Args, " ") + " " + machineapi.CmdlineToken + "=" + s.Tokens.Mint(mac)
	}
	b, err := render(s.templates[name], d)
	if err != nil {
		return err
	}
	s.Logger.Info("boot script", "mac", mac, "state", d.State, "script", name, "mode", plan.Mode, "why", plan.Why)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b)
	return err
}

// booting returns the host that is asking for its script (nil for an
// unknown MAC with discovery off) and records that it is booting the
// installer: an unknown MAC is enlisted as discovered, and a discovered or
// ready host moves to inspecting.
func (s *Server) booting(ctx context.Context, mac string) (*inventory.Host, error) {
	h, err := s.Store.Host(ctx, mac)
	if errors.Is(err, inventory.ErrNotFound) {
		if s.Boot.NoDiscovery {
			return nil, nil
		}
		h, err = s.Store.CreateHost(ctx, inventory.Host{MAC: mac}, "httpboot")
		if errors.Is(err, inventory.ErrExists) { // DHCP enlisted it meanwhile
			h, err = s.Store.Host(ctx, mac)
		}
	}
	if err != nil {
		return nil, err
	}
	if h.State == inventory.StateDiscovered || h.State == inventory.StateReady {
		moved, err := s.Store.Transition(ctx, mac, inventory.StateInspecting, "booting the installer", "httpboot")
		if err == nil {
			h = moved
		} else if !errors.Is(err, inventory.ErrTransition) {
			return nil, err
		}
	}
	return &h, nil
}

func (s *Server) ipxeFile(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "name")
	path, ok := s.IPXEFiles[name]
	if !ok || !slices.Contains(boot.Loaders, name) {
		return httperr.Errorf(http.StatusNotFound, "no iPXE binary named %q", name)
	}
	return serveFile(w, r, name, path)
}

func (s *Server) installerFile(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "name")
	var path string
	switch name {
	case boot.InstallerKernel:
		path = s.InstallerKernel
	case boot.InstallerInitrd:
		path = s.InstallerInitrd
	default:
		return httperr.Errorf(http.StatusNotFound, "no installer file named %q (vmlinuz, initrd.cpio.gz)", name)
	}
	if path == "" {
		return httperr.Errorf(http.StatusNotFound, "installer %s not configured (see --installer-kernel and --installer-initrd)", name)
	}
	return serveFile(w, r, name, path)
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
	http.ServeContent(w, r, name, fi.ModTime(), f)
	return nil
}
